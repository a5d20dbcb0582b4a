package model

import (
	"fmt"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestDiscriminatorParity runs the multi-scale discriminator on the
// reference input and compares every intermediate feature with PyTorch's.
func TestDiscriminatorParity(t *testing.T) {
	dir := "testdata/parity/d64"
	p, err := loadPTH(filepath.Join(dir, "netD.pth"))
	if err != nil {
		t.Fatal(err)
	}
	c := Config{LabelNC: 8, ContainDontCare: true, NDF: 4, NumD: 2, NLayersD: 4}
	if err := CheckParams(p, DiscriminatorSpecs(c)); err != nil {
		t.Fatal(err)
	}
	in := readNpy(t, filepath.Join(dir, "d_input.npy"))
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(in.Shape...), G.WithName("d_in"),
		G.WithValue(tensor.New(tensor.WithShape(in.Shape...), tensor.WithBacking(in.F32))))
	net, err := newBuilder(g, p, Eval, Params{}).discriminator(c, x)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for d, feats := range net.Features {
		for n, f := range feats {
			want := readNpy(t, filepath.Join(dir, fmt.Sprintf("d_out_%d_%d.npy", d, n)))
			if !shapeEq(f.Shape(), want.Shape) {
				t.Errorf("D%d layer %d: shape %v, want %v", d, n, f.Shape(), want.Shape)
				continue
			}
			assertClose(t, fmt.Sprintf("D%d layer %d", d, n), f.Value().Data().([]float32), want)
		}
	}
}

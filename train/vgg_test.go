package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model"
	"spadepaint/model/npy"
)

// The fixture (testdata/vgg, written by gen.py with PyTorch) is a
// VGG19-shaped state dict of widths 4 … 8, inputs x and y
// [2, 3, 16, 16], x's five slice outputs and the VGG loss L(x, y).
const vggFixture = "testdata/vgg/vgg_tiny.pth"

func readNpy(t *testing.T, name string) []float32 {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join("testdata/vgg", name))
	if err != nil {
		t.Fatal(err)
	}
	return a.F32
}

func input(g *G.ExprGraph, name string, v []float32, shape ...int) *G.Node {
	return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name),
		G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))))
}

func TestVGGMatchesTorch(t *testing.T) {
	v, err := LoadVGG(vggFixture)
	if err != nil {
		t.Fatal(err)
	}
	g := G.NewGraph()
	n := v.in(g)
	x := input(g, "x", readNpy(t, "x.npy"), 2, 3, 16, 16)
	fs, err := n.features(x)
	if err != nil {
		t.Fatal(err)
	}
	// The loss in a graph of its own: the tape machine may compute the
	// differences in the features' memory.
	g2 := G.NewGraph()
	loss, err := v.in(g2).loss(input(g2, "x", readNpy(t, "x.npy"), 2, 3, 16, 16), input(g2, "y", readNpy(t, "y.npy"), 2, 3, 16, 16))
	if err != nil {
		t.Fatal(err)
	}
	vm2 := G.NewTapeMachine(g2)
	defer vm2.Close()
	if err := vm2.RunAll(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		want := readNpy(t, "f"+string(rune('1'+i))+".npy")
		got := f.Value().Data().([]float32)
		if len(got) != len(want) {
			t.Fatalf("slice %d: %d values, want %d", i+1, len(got), len(want))
		}
		var worst float64
		for j := range got {
			worst = math.Max(worst, math.Abs(float64(got[j]-want[j])))
		}
		if worst > 1e-5 {
			t.Errorf("slice %d (shape %v): max |Δ| %g", i+1, f.Shape(), worst)
		}
	}
	want := float64(readNpy(t, "loss.npy")[0])
	if got := float64(scalarOf(loss.Value())); math.Abs(got-want) > 1e-6*math.Max(1, want) {
		t.Errorf("loss %g, torch %g", got, want)
	}
}

// TestMaxPool2D: gorgonia's MaxPool2D with a 2×2 window and stride 2 is
// PyTorch's max_pool2d(2, 2) on even sizes, and its gradient goes to the
// maximum of each window.
func TestMaxPool2D(t *testing.T) {
	g := G.NewGraph()
	xs := []float32{
		1, 5, 2, 0,
		3, 4, -1, -2,
		-3, -4, 9, 8,
		-5, -1, 7, 6,
	}
	x := input(g, "x", xs, 1, 1, 4, 4)
	y, err := G.MaxPool2D(x, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2})
	if err != nil {
		t.Fatal(err)
	}
	c := input(g, "c", []float32{1, 2, 3, 4}, 1, 1, 2, 2)
	p, err := G.HadamardProd(y, c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sumAll(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := G.Grad(s, x); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got, want := y.Value().Data().([]float32), []float32{5, 2, -1, 9}; !equalF32(got, want) {
		t.Errorf("pool %v, want %v", got, want)
	}
	dx, _ := x.Grad()
	want := []float32{
		0, 1, 2, 0,
		0, 0, 0, 0,
		0, 0, 4, 0,
		0, 3, 0, 0,
	}
	if got := dx.Data().([]float32); !equalF32(got, want) {
		t.Errorf("pool gradient %v, want %v", got, want)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVGGLossGradient: the gradient of the VGG loss with respect to the
// fake image matches central finite differences.
func TestVGGLossGradient(t *testing.T) {
	v, err := LoadVGG(vggFixture)
	if err != nil {
		t.Fatal(err)
	}
	xs, ys := readNpy(t, "x.npy")[:3*16*16], readNpy(t, "y.npy")[:3*16*16]
	eval := func(xv []float32, grad bool) (float64, []float32) {
		g := G.NewGraph()
		n := v.in(g)
		x := input(g, "x", append([]float32(nil), xv...), 1, 3, 16, 16)
		y := input(g, "y", ys, 1, 3, 16, 16)
		l, err := n.loss(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if grad {
			if _, err := G.Grad(l, x); err != nil {
				t.Fatal(err)
			}
		}
		vm := G.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		var dx []float32
		if grad {
			d, err := x.Grad()
			if err != nil {
				t.Fatal(err)
			}
			dx = append(dx, d.Data().([]float32)...)
		}
		return float64(scalarOf(l.Value())), dx
	}
	_, dx := eval(xs, true)
	idx := make([]int, len(dx))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return math.Abs(float64(dx[idx[a]])) > math.Abs(float64(dx[idx[b]])) })
	const h = 1e-3
	for _, i := range append(idx[:6], idx[len(idx)/2], idx[len(idx)/3]) {
		p := append([]float32(nil), xs...)
		p[i] += h
		lp, _ := eval(p, false)
		p[i] -= 2 * h
		lm, _ := eval(p, false)
		fd := (lp - lm) / (2 * h)
		if d := math.Abs(fd - float64(dx[i])); d > 0.05*math.Abs(fd)+2e-5 {
			t.Errorf("∂L/∂x[%d]: backprop %g, finite difference %g", i, dx[i], fd)
		} else {
			t.Logf("∂L/∂x[%d]: backprop %g, finite difference %g", i, dx[i], fd)
		}
	}
}

func TestLoadVGGErrors(t *testing.T) {
	v, err := LoadVGG(vggFixture)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.w) != 16 || v.w[0].Shape()[0] != 4 || v.w[34].Shape()[0] != 8 {
		t.Fatalf("widths not inferred: %d layers", len(v.w))
	}
	if _, err := LoadVGG(filepath.Join(t.TempDir(), "none.pth")); err == nil {
		t.Error("a missing file loaded")
	}
	// The model package's own .pth fixture is no VGG19: the error names
	// the first key missing.
	_, err = LoadVGG("../model/pth/testdata/checkpoint.pth")
	if err == nil || !strings.Contains(err.Error(), "features.0.weight") {
		t.Errorf("error %v does not name features.0.weight", err)
	}
}

// TestTrainWithVGG: two steps of a tiny run with --vgg log a G_VGG term
// that the generator's loss includes; without it none is logged.
func TestTrainWithVGG(t *testing.T) {
	src := newMemSource(2, 32, 32, 5)
	for _, vgg := range []string{"", vggFixture} {
		c := ConfigForData(tinyConfig(model.InstanceNorm, true), src.Info())
		opt := DefaultOptions(c)
		opt.Steps, opt.Batch, opt.Workers, opt.Samples, opt.Styles = 2, 1, 1, 1, 1
		opt.Augment = Augment{LoadScale: 1, NoFlip: true}
		opt.VGG = vgg
		dir := filepath.Join(t.TempDir(), "run")
		tr, err := New(dir, src, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		log, err := os.ReadFile(filepath.Join(dir, LogFile))
		if err != nil {
			t.Fatal(err)
		}
		es, err := ReadLog(dir)
		if err != nil || len(es) != 2 {
			t.Fatalf("log: %d entries, %v", len(es), err)
		}
		has := strings.Contains(string(log), `"G_VGG"`)
		t.Logf("vgg %q: %s", vgg, strings.TrimSpace(string(log)))
		if vgg == "" {
			if has || es[0].VGG != 0 {
				t.Errorf("a G_VGG term without --vgg")
			}
			continue
		}
		for _, e := range es {
			if !has || !(e.VGG > 0) || math.IsInf(e.VGG, 0) {
				t.Errorf("step %d: G_VGG %g", e.Step, e.VGG)
			}
		}
	}
}

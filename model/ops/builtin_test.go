package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestGorgoniaBuiltins records how gorgonia's own versions of these ops
// compare with ours (values and gradients of Σ y·r). Built-ins known to be
// right must agree with ours; known-wrong ones are only logged, with a
// note if a gorgonia upgrade fixed them.
func TestGorgoniaBuiltins(t *testing.T) {
	s := []int{2, 3, 20, 18}
	c := s[1]
	cases := []struct {
		name        string
		shapes      [][]int
		wrong       bool // gorgonia's is known to be wrong
		ours, their func(g *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error)
	}{
		{"LeakyRelu", [][]int{s}, false,
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return LeakyReLU(ins[0], 0.2)
			},
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.LeakyRelu(ins[0], 0.2)
			}},
		{"BroadcastAdd bias", [][]int{s, {c}}, false,
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return AddBias(ins[0], ins[1])
			},
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				b, err := gorgonia.Reshape(ins[1], []int{1, c, 1, 1})
				if err != nil {
					return nil, err
				}
				return gorgonia.BroadcastAdd(ins[0], b, nil, []byte{0, 2, 3})
			}},
		{"Modulate from Add/HadamardProd", [][]int{s, s, s}, false,
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return Modulate(ins[0], ins[1], ins[2])
			},
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				g1, err := gorgonia.Add(ins[1], gorgonia.NewConstant(float32(1)))
				if err != nil {
					return nil, err
				}
				h, err := gorgonia.HadamardProd(ins[0], g1)
				if err != nil {
					return nil, err
				}
				return gorgonia.Add(h, ins[2])
			}},
		{"Upsample2D", [][]int{s}, false,
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return UpsampleNearest(ins[0], 2)
			},
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.Upsample2D(ins[0], 2)
			}},
		{"AveragePool2D", [][]int{s}, true,
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return AvgPool2D(ins[0], 3, 2, 1)
			},
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.AveragePool2D(ins[0], []int{3, 3}, []int{1, 1}, []int{2, 2})
			}},
		{"AveragePool2D unpadded", [][]int{s}, true,
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return AvgPool2D(ins[0], 2, 2, 0)
			},
			func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.AveragePool2D(ins[0], []int{2, 2}, []int{0, 0}, []int{2, 2})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			var ins [][]float32
			var wrt []int
			for i, sh := range tc.shapes {
				ins = append(ins, randn(rng, size(sh)))
				wrt = append(wrt, i)
			}
			run := func(build func(*gorgonia.ExprGraph, []*gorgonia.Node) (*gorgonia.Node, error)) ([]float32, [][]float32) {
				lg := newLossGraph(t, tc.shapes, wrt, func(n []*gorgonia.Node) (*gorgonia.Node, error) { return build(nil, n) })
				r := randn(rand.New(rand.NewPCG(5, 5)), lg.y.Shape().TotalSize())
				return lg.run(t, ins, r)
			}
			yo, go_ := run(tc.ours)
			yt, gt := run(tc.their)
			errs := []error{closeTo(yt, yo, 1e-5, 1e-5)}
			for i := range go_ {
				errs = append(errs, closeTo(gt[i], go_[i], 1e-4, 1e-4))
			}
			agree := true
			for i, err := range errs {
				if err == nil {
					continue
				}
				agree = false
				what := "forward"
				if i > 0 {
					what = fmt.Sprintf("gradient %d", i-1)
				}
				if tc.wrong {
					t.Logf("gorgonia's %s differs, as known: %v", what, err)
				} else {
					t.Errorf("gorgonia's %s differs: %v", what, err)
				}
			}
			if agree && tc.wrong {
				t.Logf("gorgonia's version now agrees: the op here may no longer be needed")
			}
		})
	}
}

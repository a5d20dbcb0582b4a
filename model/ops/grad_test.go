package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

type gradCase struct {
	name   string
	shapes [][]int
	// awayFromZero shifts inputs to |x| ≥ 0.2 so that central differences
	// do not straddle LeakyReLU's kink.
	awayFromZero bool
	build        func(ins []*gorgonia.Node) (*gorgonia.Node, error)
}

func gradCases() []gradCase {
	one := func(f func(x *gorgonia.Node) (*gorgonia.Node, error)) func([]*gorgonia.Node) (*gorgonia.Node, error) {
		return func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return f(ins[0]) }
	}
	return []gradCase{
		{name: "InstanceNorm", shapes: [][]int{{2, 3, 4, 5}},
			build: one(func(x *gorgonia.Node) (*gorgonia.Node, error) { return InstanceNorm(x, 1e-5) })},
		{name: "BatchNormTrain", shapes: [][]int{{3, 2, 3, 4}},
			build: one(func(x *gorgonia.Node) (*gorgonia.Node, error) {
				y, _, err := BatchNormTrain(x, 1e-5)
				return y, err
			})},
		{name: "BatchNormEval", shapes: [][]int{{2, 3, 3, 4}},
			build: one(func(x *gorgonia.Node) (*gorgonia.Node, error) {
				return BatchNormEval(x, []float32{0.1, -0.3, 0.7}, []float32{0.5, 2, 1.3}, 1e-5)
			})},
		{name: "UpsampleNearest2", shapes: [][]int{{2, 2, 3, 4}},
			build: one(func(x *gorgonia.Node) (*gorgonia.Node, error) { return UpsampleNearest(x, 2) })},
		{name: "UpsampleNearest3", shapes: [][]int{{1, 2, 2, 3}},
			build: one(func(x *gorgonia.Node) (*gorgonia.Node, error) { return UpsampleNearest(x, 3) })},
		{name: "AvgPool2D_3_2_1", shapes: [][]int{{2, 2, 7, 6}},
			build: one(func(x *gorgonia.Node) (*gorgonia.Node, error) { return AvgPool2D(x, 3, 2, 1) })},
		{name: "AvgPool2D_2_2_0", shapes: [][]int{{1, 2, 5, 4}},
			build: one(func(x *gorgonia.Node) (*gorgonia.Node, error) { return AvgPool2D(x, 2, 2, 0) })},
		{name: "LeakyReLU", shapes: [][]int{{2, 3, 4, 5}}, awayFromZero: true,
			build: one(func(x *gorgonia.Node) (*gorgonia.Node, error) { return LeakyReLU(x, 0.2) })},
		{name: "AddBias", shapes: [][]int{{2, 3, 4, 5}, {3}},
			build: func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return AddBias(ins[0], ins[1]) }},
		{name: "AddChannels", shapes: [][]int{{2, 3, 4, 5}, {2, 3}},
			build: func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return AddChannels(ins[0], ins[1]) }},
		{name: "ModulateStyled", shapes: [][]int{{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3}},
			build: func(ins []*gorgonia.Node) (*gorgonia.Node, error) {
				// SPADE's modulation with a per-sample offset on γ (StyleMod).
				g, err := AddChannels(ins[1], ins[2])
				if err != nil {
					return nil, err
				}
				return Modulate(ins[0], g, ins[1])
			}},
		{name: "Modulate", shapes: [][]int{{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}},
			build: func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return Modulate(ins[0], ins[1], ins[2]) }},
		{name: "SharedInput", shapes: [][]int{{1, 2, 3, 4}},
			build: func(ins []*gorgonia.Node) (*gorgonia.Node, error) {
				// x·(1 + x) + x: gorgonia must add the three gradient terms,
				// one of which is the incoming gradient node itself.
				return Modulate(ins[0], ins[0], ins[0])
			}},
		{name: "Chain", shapes: [][]int{{2, 3, 6, 6}, {2, 3, 6, 6}, {2, 3, 6, 6}},
			build: func(ins []*gorgonia.Node) (*gorgonia.Node, error) {
				// A SPADE block in miniature: norm, modulate, activate, resample.
				h, err := InstanceNorm(ins[0], 1e-5)
				if err != nil {
					return nil, err
				}
				if h, err = Modulate(h, ins[1], ins[2]); err != nil {
					return nil, err
				}
				if h, err = AvgPool2D(h, 3, 2, 1); err != nil {
					return nil, err
				}
				return UpsampleNearest(h, 2)
			}},
	}
}

// TestGradFiniteDifferences compares the gradients gorgonia.Grad builds
// from the ops' SymDiff with central differences of Σ y·r, accumulated in
// float64.
func TestGradFiniteDifferences(t *testing.T) {
	const h = 1e-2
	for _, c := range gradCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(c.name))))
			var ins [][]float32
			var wrt []int
			for i, s := range c.shapes {
				in := randn(rng, size(s))
				if c.awayFromZero {
					for j, v := range in {
						in[j] = float32(math.Copysign(0.2+math.Abs(float64(v)), float64(v)))
					}
				}
				ins = append(ins, in)
				wrt = append(wrt, i)
			}
			lg := newLossGraph(t, c.shapes, wrt, c.build)
			r := randn(rng, lg.y.Shape().TotalSize())
			_, grads := lg.run(t, ins, r)

			loss := func() float64 {
				y, _ := lg.run(t, ins, r)
				var s float64
				for i, v := range y {
					s += float64(v) * float64(r[i])
				}
				return s
			}
			for i := range ins {
				var worst float64
				for j := range ins[i] {
					orig := ins[i][j]
					ins[i][j] = orig + h
					up := loss()
					ins[i][j] = orig - h
					down := loss()
					ins[i][j] = orig
					// The perturbation actually applied, in float32.
					step := float64(orig+h) - float64(orig-h)
					num := (up - down) / step
					ana := float64(grads[i][j])
					diff := math.Abs(num - ana)
					if diff > 1e-2*math.Max(math.Abs(num), math.Abs(ana))+2e-3 {
						t.Errorf("input %d element %d: analytic %.6g, numeric %.6g", i, j, ana, num)
					}
					worst = math.Max(worst, diff)
				}
				t.Logf("input %d: largest |analytic − numeric| %.2g", i, worst)
			}
		})
	}
}

package ops

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestBindDualValues trains the way gorgonia's examples do: learnables
// with values, a TapeMachine with BindDualValues, gradients read from
// the learnables' dual values and a solver step. The gradients must equal
// those of the explicit gradient nodes, on every run.
func TestBindDualValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	s := []int{2, 3, 6, 6}
	g := gorgonia.NewGraph()
	learn := func(name string, shape ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, gorgonia.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name),
			gorgonia.WithValue(dense(shape, randn(rng, size(shape)))))
	}
	x := input(g, "x", s...)
	bias, gamma, beta := learn("bias", s[1]), learn("gamma", s...), learn("beta", s...)
	h, err := AddBias(x, bias)
	if err != nil {
		t.Fatal(err)
	}
	xhat, err := InstanceNorm(h, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	if h, err = Modulate(xhat, gamma, beta); err != nil {
		t.Fatal(err)
	}
	if h, err = LeakyReLU(h, 0.2); err != nil {
		t.Fatal(err)
	}
	flat, err := gorgonia.Reshape(h, tensor.Shape{size(s)})
	if err != nil {
		t.Fatal(err)
	}
	sq, err := gorgonia.Square(flat)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(sq)
	if err != nil {
		t.Fatal(err)
	}
	learnables := gorgonia.Nodes{bias, gamma, beta}
	grads, err := gorgonia.Grad(loss, learnables...)
	if err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(learnables...))
	defer m.Close()
	solver := gorgonia.NewVanillaSolver(gorgonia.WithLearnRate(0.01))
	var losses []float32
	for step := 0; step < 3; step++ {
		if err := gorgonia.Let(x, dense(s, randn(rng, size(s)))); err != nil {
			t.Fatal(err)
		}
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		for i, n := range learnables {
			dv, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			got, _, _ := float32s(dv)
			if err := closeTo(got, values(t, grads[i]), 1e-6, 1e-5); err != nil {
				t.Errorf("step %d, %s: dual value vs gradient node: %v", step, n.Name(), err)
			}
		}
		losses = append(losses, loss.Value().Data().(float32))
		if err := solver.Step(gorgonia.NodesToValueGrads(learnables)); err != nil {
			t.Fatal(err)
		}
		m.Reset()
	}
	t.Logf("losses %v", losses)
}

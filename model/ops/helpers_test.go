package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// input makes an input node of the given shape; names must differ within
// a graph, or gorgonia merges the nodes.
func input(g *gorgonia.ExprGraph, name string, shape ...int) *gorgonia.Node {
	return gorgonia.NewTensor(g, gorgonia.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name))
}

func dense(shape []int, data []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))
}

// values copies a node's value out: the machine writes over it next run.
func values(t testing.TB, n *gorgonia.Node) []float32 {
	t.Helper()
	if n.Value() == nil {
		t.Fatalf("node %v has no value", n)
	}
	data, _, err := float32s(n.Value())
	if err != nil {
		t.Fatalf("node %v: %v", n, err)
	}
	return append([]float32(nil), data...)
}

func randn(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// close reports the first element where got and want differ by more than
// atol + rtol·|want|.
func closeTo(got, want []float32, atol, rtol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d values, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.Abs(g-w) > atol+rtol*math.Abs(w) {
			return fmt.Errorf("element %d: got %.7g, want %.7g (diff %.3g)", i, g, w, g-w)
		}
	}
	return nil
}

// graphWithLoss builds y = build(inputs) and loss = Σ y·r, where r is an
// input node too, and returns the gradients of loss w.r.t. the inputs
// listed in wrt. The sum goes through a flat reshape because gorgonia's
// Sum over several axes at once is wrong.
type lossGraph struct {
	g      *gorgonia.ExprGraph
	ins    []*gorgonia.Node
	y, r   *gorgonia.Node
	grads  gorgonia.Nodes
	m      gorgonia.VM
	shapes [][]int
}

func newLossGraph(t testing.TB, shapes [][]int, wrt []int, build func(ins []*gorgonia.Node) (*gorgonia.Node, error)) *lossGraph {
	t.Helper()
	lg := &lossGraph{g: gorgonia.NewGraph(), shapes: shapes}
	for i, s := range shapes {
		lg.ins = append(lg.ins, input(lg.g, fmt.Sprintf("in%d", i), s...))
	}
	y, err := build(lg.ins)
	if err != nil {
		t.Fatal(err)
	}
	lg.y = y
	lg.r = input(lg.g, "r", y.Shape()...)
	prod, err := gorgonia.HadamardProd(y, lg.r)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := gorgonia.Reshape(prod, tensor.Shape{y.Shape().TotalSize()})
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(flat)
	if err != nil {
		t.Fatal(err)
	}
	var wrtNodes gorgonia.Nodes
	for _, i := range wrt {
		wrtNodes = append(wrtNodes, lg.ins[i])
	}
	if lg.grads, err = gorgonia.Grad(loss, wrtNodes...); err != nil {
		t.Fatal(err)
	}
	lg.m = gorgonia.NewTapeMachine(lg.g)
	t.Cleanup(func() { lg.m.Close() })
	return lg
}

// run sets the inputs and r, runs the machine and returns y and the
// gradients, copied.
func (lg *lossGraph) run(t testing.TB, ins [][]float32, r []float32) (y []float32, grads [][]float32) {
	t.Helper()
	for i, n := range lg.ins {
		if err := gorgonia.Let(n, dense(lg.shapes[i], ins[i])); err != nil {
			t.Fatal(err)
		}
	}
	if err := gorgonia.Let(lg.r, dense(lg.y.Shape(), r)); err != nil {
		t.Fatal(err)
	}
	if err := lg.m.RunAll(); err != nil {
		t.Fatal(err)
	}
	defer lg.m.Reset()
	y = values(t, lg.y)
	for _, g := range lg.grads {
		grads = append(grads, values(t, g))
	}
	return y, grads
}

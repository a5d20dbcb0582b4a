package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Benchmarks run whole TapeMachines (RunAll + Reset per iteration) so our
// ops and gorgonia's built-ins pay the same machine overhead. "fwd" runs
// the op; "fwdbwd" also runs its gradient, via Backpropagate with a fixed
// output gradient (no loss nodes to skew the comparison). Keep them short
// on a shared machine, e.g.
//
//	go test ./model/ops -run '^$' -bench . -benchtime 10x

// spadeShape is a SPADE generator activation at 256×256 output.
var spadeShape = []int{1, 64, 128, 128}

type builder func(g *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error)

func benchGraph(b *testing.B, shapes [][]int, backward bool, build builder) {
	g := gorgonia.NewGraph()
	rng := rand.New(rand.NewPCG(1, 1))
	var ins gorgonia.Nodes
	for i, s := range shapes {
		n := input(g, fmt.Sprintf("in%d", i), s...)
		if err := gorgonia.Let(n, dense(s, randn(rng, size(s)))); err != nil {
			b.Fatal(err)
		}
		ins = append(ins, n)
	}
	y, err := build(g, ins)
	if err != nil {
		b.Fatal(err)
	}
	if backward {
		// An output gradient in the graph: a NewConstant has no graph, and
		// an op whose only input is graph-less cannot be applied.
		r := gorgonia.NewTensor(g, gorgonia.Float32, y.Dims(), gorgonia.WithShape(y.Shape()...), gorgonia.WithName("r"),
			gorgonia.WithValue(dense(y.Shape(), randn(rng, y.Shape().TotalSize()))))
		if _, err := gorgonia.Backpropagate(gorgonia.Nodes{y}, gorgonia.Nodes{r}, ins); err != nil {
			b.Fatal(err)
		}
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	// One run first, so that allocations report the steady state in which
	// the ops reuse their output buffers.
	if err := m.RunAll(); err != nil {
		b.Fatal(err)
	}
	m.Reset()
	b.ReportAllocs()
	b.SetBytes(int64(4 * size(shapes[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
		m.Reset()
	}
}

// bench runs build forward, and forward and backward.
func bench(b *testing.B, shapes [][]int, build builder) {
	b.Run("fwd", func(b *testing.B) { benchGraph(b, shapes, false, build) })
	b.Run("fwdbwd", func(b *testing.B) { benchGraph(b, shapes, true, build) })
}

func unary(f func(x *gorgonia.Node) (*gorgonia.Node, error)) builder {
	return func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) { return f(ins[0]) }
}

// channelParam is a [1, C, 1, 1] node for gorgonia's broadcasting ops.
func channelParam(g *gorgonia.ExprGraph, name string, c int, v float32) *gorgonia.Node {
	data := make([]float32, c)
	for i := range data {
		data[i] = v
	}
	return gorgonia.NewTensor(g, gorgonia.Float32, 4, gorgonia.WithShape(1, c, 1, 1), gorgonia.WithName(name),
		gorgonia.WithValue(dense([]int{1, c, 1, 1}, data)))
}

func BenchmarkInstanceNorm(b *testing.B) {
	bench(b, [][]int{spadeShape}, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) { return InstanceNorm(x, 1e-5) }))
}

// BenchmarkGorgoniaGroupNorm is GroupNorm with a group per channel, the
// built-in that would be instance norm (wrong above 16×16), for speed only.
func BenchmarkGorgoniaGroupNorm(b *testing.B) {
	c := spadeShape[1]
	benchGraph(b, [][]int{spadeShape}, false, func(g *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
		return gorgonia.GroupNorm(ins[0], channelParam(g, "scale", c, 1), channelParam(g, "bias", c, 0), c, c, 1e-5)
	})
}

func BenchmarkBatchNormTrain(b *testing.B) {
	bench(b, [][]int{spadeShape}, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) {
		y, _, err := BatchNormTrain(x, 1e-5)
		return y, err
	}))
}

func BenchmarkBatchNormEval(b *testing.B) {
	c := spadeShape[1]
	mean, variance := make([]float32, c), make([]float32, c)
	for i := range variance {
		variance[i] = 1
	}
	bench(b, [][]int{spadeShape}, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) {
		return BatchNormEval(x, mean, variance, 1e-5)
	}))
}

// BenchmarkGorgoniaBatchNorm is gorgonia's BatchNorm with scale 1 and bias
// 0 as [1, C, 1, 1] nodes (it cannot leave them out).
func BenchmarkGorgoniaBatchNorm(b *testing.B) {
	c := spadeShape[1]
	bench(b, [][]int{spadeShape}, func(g *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
		y, _, _, _, err := gorgonia.BatchNorm(ins[0], channelParam(g, "scale", c, 1), channelParam(g, "bias", c, 0), 0.1, 1e-5)
		return y, err
	})
}

// upsampleShape is smaller than spadeShape: gorgonia's Upsample2D takes
// seconds at spadeShape.
var upsampleShape = []int{1, 64, 64, 64}

func BenchmarkUpsampleNearest(b *testing.B) {
	bench(b, [][]int{upsampleShape}, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) { return UpsampleNearest(x, 2) }))
}

func BenchmarkGorgoniaUpsample2D(b *testing.B) {
	bench(b, [][]int{upsampleShape}, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Upsample2D(x, 2) }))
}

func BenchmarkAvgPool2D(b *testing.B) {
	bench(b, [][]int{spadeShape}, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) { return AvgPool2D(x, 3, 2, 1) }))
}

// BenchmarkGorgoniaAveragePool2D: forward only, its backward is wrong.
func BenchmarkGorgoniaAveragePool2D(b *testing.B) {
	benchGraph(b, [][]int{spadeShape}, false, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) {
		return gorgonia.AveragePool2D(x, tensor.Shape{3, 3}, []int{1, 1}, []int{2, 2})
	}))
}

func BenchmarkLeakyReLU(b *testing.B) {
	bench(b, [][]int{spadeShape}, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) { return LeakyReLU(x, 0.2) }))
}

func BenchmarkGorgoniaLeakyRelu(b *testing.B) {
	bench(b, [][]int{spadeShape}, unary(func(x *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.LeakyRelu(x, 0.2) }))
}

func BenchmarkAddBias(b *testing.B) {
	bench(b, [][]int{spadeShape, {spadeShape[1]}}, func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
		return AddBias(ins[0], ins[1])
	})
}

// BenchmarkGorgoniaBroadcastAdd adds the bias the gorgonia way: a [C]
// input reshaped to [1, C, 1, 1] and broadcast.
func BenchmarkGorgoniaBroadcastAdd(b *testing.B) {
	c := spadeShape[1]
	bench(b, [][]int{spadeShape, {c}}, func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
		bias, err := gorgonia.Reshape(ins[1], tensor.Shape{1, c, 1, 1})
		if err != nil {
			return nil, err
		}
		return gorgonia.BroadcastAdd(ins[0], bias, nil, []byte{0, 2, 3})
	})
}

func BenchmarkModulate(b *testing.B) {
	bench(b, [][]int{spadeShape, spadeShape, spadeShape}, func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
		return Modulate(ins[0], ins[1], ins[2])
	})
}

// BenchmarkGorgoniaModulate builds xhat·(1 + gamma) + beta from gorgonia's
// elementwise ops.
func BenchmarkGorgoniaModulate(b *testing.B) {
	bench(b, [][]int{spadeShape, spadeShape, spadeShape}, func(_ *gorgonia.ExprGraph, ins []*gorgonia.Node) (*gorgonia.Node, error) {
		g1, err := gorgonia.Add(ins[1], gorgonia.NewConstant(float32(1)))
		if err != nil {
			return nil, err
		}
		h, err := gorgonia.HadamardProd(ins[0], g1)
		if err != nil {
			return nil, err
		}
		return gorgonia.Add(h, ins[2])
	})
}

func BenchmarkResizeNearest(b *testing.B) {
	src := randn(rand.New(rand.NewPCG(1, 1)), 1*35*256*256)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ResizeNearest(src, 1, 35, 256, 256, 64, 64)
	}
}

func BenchmarkResizeBilinear(b *testing.B) {
	src := randn(rand.New(rand.NewPCG(1, 1)), 1*3*512*512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ResizeBilinear(src, 1, 3, 512, 512, 256, 256)
	}
}

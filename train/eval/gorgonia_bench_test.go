package eval

import (
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model/ops"
)

// The segmenter's forward and backward pass hand-written (segnet.go)
// against the same U-Net as a gorgonia graph, batch 8 at 128², on fixed
// inputs (no data generation): the reason the network is hand-written.
// Run with -cpu 1,2 (and OPENBLAS_NUM_THREADS=1 under -tags openblas).

func BenchmarkSegFwdBwdHand(b *testing.B) {
	net, _ := NewSegNet(DefaultSegConfig(16), 1)
	const batch = 8
	ws := make([]*segWork, batch)
	rng := rand.New(rand.NewSource(1))
	o := net.Config.OutSize()
	labels := make([]uint8, o*o)
	for i := range labels {
		labels[i] = uint8(rng.Intn(16))
	}
	for i := range ws {
		ws[i] = net.work()
		ws[i].grad = make([]float32, len(net.Params))
		for j := range ws[i].x {
			ws[i].x[j] = float32(rng.Float64()*2 - 1)
		}
	}
	for b.Loop() {
		forEach(batch, func(i int) {
			w := ws[i]
			net.forward(w)
			softmaxCE(w.act[lHead], 16, o*o, labels, 1, nil, w.dact[lHead])
			net.backward(w)
		})
	}
}

func BenchmarkSegFwdBwdGorgonia(b *testing.B) {
	c := DefaultSegConfig(16)
	const batch = 8
	g := G.NewGraph()
	rng := rand.New(rand.NewSource(1))
	var params G.Nodes
	newConv := func(x *G.Node, in, out, k, stride int, relu bool) *G.Node {
		wd := make([]float32, out*in*k*k)
		for i := range wd {
			wd[i] = float32(rng.NormFloat64() * 0.1)
		}
		w := G.NewTensor(g, G.Float32, 4, G.WithShape(out, in, k, k), G.WithValue(tensor.New(tensor.WithShape(out, in, k, k), tensor.WithBacking(wd))))
		bias := G.NewVector(g, G.Float32, G.WithShape(out), G.WithInit(G.Zeroes()))
		params = append(params, w, bias)
		y := G.Must(G.Conv2d(x, w, tensor.Shape{k, k}, []int{k / 2, k / 2}, []int{stride, stride}, []int{1, 1}))
		y = G.Must(ops.AddBias(y, bias))
		if relu {
			y = G.Must(G.Rectify(y))
		}
		return y
	}
	s, wd := c.Size, c.Widths
	x := G.NewTensor(g, G.Float32, 4, G.WithShape(batch, 3, s, s), G.WithInit(G.Gaussian(0, 1)))
	a1 := newConv(x, 3, wd[0], 3, 1, true)
	a2 := newConv(a1, wd[0], wd[1], 3, 2, true)
	a3 := newConv(a2, wd[1], wd[2], 3, 2, true)
	a4 := newConv(a3, wd[2], wd[3], 3, 2, true)
	a5 := newConv(a4, wd[3], wd[4], 3, 2, true)
	up := func(x, skip *G.Node) *G.Node {
		return G.Must(G.Concat(1, G.Must(ops.UpsampleNearest(x, 2)), skip))
	}
	d4 := newConv(up(a5, a4), wd[4]+wd[3], wd[3], 3, 1, true)
	d3 := newConv(up(d4, a3), wd[3]+wd[2], wd[2], 3, 1, true)
	d2 := newConv(up(d3, a2), wd[2]+wd[1], wd[1], 3, 1, true)
	head := newConv(d2, wd[1], c.Classes, 1, 1, false)
	loss := G.Must(G.Mean(G.Must(G.Square(head))))
	if _, err := G.Grad(loss, params...); err != nil {
		b.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(params...))
	defer vm.Close()
	for b.Loop() {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
	}
}

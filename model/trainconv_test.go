package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestTrainConv compares the training convolution with gorgonia's
// Conv2d, values and both gradients, for every kind of convolution the
// networks use.
func TestTrainConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randT := func(shape ...int) *tensor.Dense {
		n := 1
		for _, d := range shape {
			n *= d
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	}
	for _, tc := range []struct{ n, c, h, w, o, k, s, p, block int }{
		{2, 3, 9, 7, 4, 3, 1, 1, 0},     // SPADE convs
		{2, 5, 6, 6, 3, 1, 1, 0, 0},     // learned shortcut
		{2, 3, 17, 13, 4, 4, 2, 2, 0},   // discriminator, strided
		{1, 4, 5, 6, 2, 4, 1, 2, 0},     // discriminator, last layers
		{2, 3, 16, 16, 5, 3, 2, 1, 0},   // encoder
		{1, 2, 30, 20, 3, 3, 1, 1, 100}, // im2col in blocks of a few rows
		{2, 3, 17, 13, 4, 4, 2, 2, 200}, // the same, strided
		{2, 5, 6, 6, 3, 1, 1, 0, 10},    // blocks do not apply to 1×1
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			if tc.block > 0 {
				defer func(b int) { tcBlockFloats = b }(tcBlockFloats)
				tcBlockFloats = tc.block
			}
			x, w := randT(tc.n, tc.c, tc.h, tc.w), randT(tc.o, tc.c, tc.k, tc.k)
			oh, ow := (tc.h+2*tc.p-tc.k)/tc.s+1, (tc.w+2*tc.p-tc.k)/tc.s+1
			r := randT(tc.n, tc.o, oh, ow)
			run := func(mine bool) (y, dx, dw []float32) {
				g := G.NewGraph()
				xn := G.NodeFromAny(g, x, G.WithName("x"))
				wn := G.NodeFromAny(g, w, G.WithName("w"))
				rn := G.NodeFromAny(g, r, G.WithName("r"))
				var yn *G.Node
				var err error
				if mine {
					yn, err = trainConv2d(xn, wn, tc.s, tc.p)
				} else {
					yn, err = G.Conv2d(xn, wn, tensor.Shape{tc.k, tc.k}, []int{tc.p, tc.p}, []int{tc.s, tc.s}, []int{1, 1})
				}
				if err != nil {
					t.Fatal(err)
				}
				prod, err := G.HadamardProd(yn, rn)
				if err != nil {
					t.Fatal(err)
				}
				flat, _ := G.Reshape(prod, tensor.Shape{prod.Shape().TotalSize()})
				loss, _ := G.Sum(flat, 0)
				grads, err := G.Grad(loss, xn, wn)
				if err != nil {
					t.Fatal(err)
				}
				vm := G.NewTapeMachine(g)
				defer vm.Close()
				for i := 0; i < 2; i++ { // the second run reuses the buffers
					vm.Reset()
					if err := vm.RunAll(); err != nil {
						t.Fatal(err)
					}
				}
				cp := func(n *G.Node) []float32 { return append([]float32(nil), n.Value().Data().([]float32)...) }
				return cp(yn), cp(grads[0]), cp(grads[1])
			}
			y1, dx1, dw1 := run(true)
			y0, dx0, dw0 := run(false)
			for _, c := range []struct {
				name      string
				got, want []float32
			}{{"y", y1, y0}, {"dx", dx1, dx0}, {"dw", dw1, dw0}} {
				if len(c.got) != len(c.want) {
					t.Fatalf("%s: %d values, want %d", c.name, len(c.got), len(c.want))
				}
				for i := range c.got {
					if d := math.Abs(float64(c.got[i] - c.want[i])); d > 1e-4*(1+math.Abs(float64(c.want[i]))) {
						t.Fatalf("%s[%d] = %g, gorgonia %g", c.name, i, c.got[i], c.want[i])
					}
				}
			}
		})
	}
}

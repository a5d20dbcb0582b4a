package model

import (
	"math/rand"
	"testing"
)

// TestWino2Conv checks the F(2×2) conv against im2col + GEMM on random
// inputs, with and without the fused modulation (batch norm folded or
// instance norm statistics), bias, and accumulation into out.
func TestWino2Conv(t *testing.T) {
	cases := []struct {
		name          string
		h, w, in, out int
		pre, inst     bool
		beta          float32
		bias          bool
	}{
		{"plain", 16, 16, 8, 12, false, false, 0, false},
		{"bias_accumulate", 16, 16, 20, 7, false, false, 1, true},
		{"batch_pre", 16, 16, 33, 40, true, false, 0, true},
		{"inst_pre_rect", 8, 24, 16, 16, true, true, 1, true},
		{"wide", 16, 16, 96, 64, true, false, 1, true},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(ci)))
			g := newEngGeom(tc.h, tc.w)
			rnd := func(n int) []float32 {
				s := make([]float32, n)
				for i := range s {
					s[i] = rng.Float32()*2 - 1
				}
				return s
			}
			// Inputs and A, B with zero borders, as the engine keeps them.
			border := func(buf []float32, c int) []float32 {
				g.clearBorder(buf, 0, c)
				return buf
			}
			x := border(rnd(tc.in*g.Plane), tc.in)
			w := rnd(tc.out * tc.in * 9)
			var bias []float32
			if tc.bias {
				bias = rnd(tc.out)
			}
			var pre *winoPre
			if tc.pre {
				pre = &winoPre{ab: border(rnd(2*tc.in*g.Plane), 2*tc.in), C: tc.in, relu: true}
				if tc.inst {
					pre.mean, pre.rstd = rnd(tc.in), rnd(tc.in)
				}
			}
			const alpha = 0.7
			init := border(rnd(tc.out*g.Plane), tc.out)
			want := append([]float32(nil), init...)
			in := x
			if pre != nil {
				in = make([]float32, len(x))
				engModulate(g, x, pre.ab, tc.in, pre.mean, pre.rstd, pre.relu, in)
			}
			col := make([]float32, 9*tc.in*g.span())
			engIm2colConv3(g, [][]float32{w}, tc.out, tc.in, alpha, in, tc.beta, want, col)
			g.finish(want, bias, 0, tc.out)

			ww := newWino2Weights(tc.out, tc.in, alpha, func(o, i int) []float32 { return w[(o*tc.in+i)*9 : (o*tc.in+i)*9+9] })
			got := append([]float32(nil), init...)
			var s winoScratch
			wino2Conv(g, ww, x, pre, bias, tc.beta, got, &s)
			if tc.beta == 0 {
				g.clearBorder(got, 0, tc.out)
			}
			if d := engineDiff(got, want); d > 1e-4 {
				t.Fatalf("F(2×2) vs im2col: max abs diff %.3g", d)
			}
		})
	}
}

// TestIm2colCompact checks the compact im2col conv of small maps against
// the span-wide one.
func TestIm2colCompact(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, tc := range []struct {
		h, w, in, out int
		beta          float32
	}{{8, 8, 16, 24, 0}, {4, 6, 9, 5, 1}, {1, 1, 3, 2, 0.5}} {
		g := newEngGeom(tc.h, tc.w)
		rnd := func(n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = rng.Float32()*2 - 1
			}
			return s
		}
		x, w := rnd(tc.in*g.Plane), rnd(tc.out*tc.in*9)
		g.clearBorder(x, 0, tc.in)
		init := rnd(tc.out * g.Plane)
		g.clearBorder(init, 0, tc.out)
		want, got := append([]float32(nil), init...), append([]float32(nil), init...)
		engIm2colConv3(g, [][]float32{w}, tc.out, tc.in, 0.5, x, tc.beta, want, make([]float32, 9*tc.in*g.span()))
		engIm2colConv3Compact(g, w, tc.out, tc.in, 0.5, x, tc.beta, got, make([]float32, 9*tc.in*tc.h*tc.w), make([]float32, tc.out*tc.h*tc.w))
		g.finish(want, nil, 0, tc.out)
		g.finish(got, nil, 0, tc.out)
		if d := engineDiff(got, want); d > 1e-5 {
			t.Errorf("%dx%d %d→%d: compact vs span im2col: max abs diff %.3g", tc.h, tc.w, tc.in, tc.out, d)
		}
	}
}

package model

import (
	"math"
	"math/rand"
	"testing"
)

// TestConvImgDirect compares convImgDirect (the AVX-512 blocks and the Go
// remainder) with a float64 direct conv of the leaky-ReLU'd input, tanh'd.
func TestConvImgDirect(t *testing.T) {
	for _, tc := range []struct{ h, w, in int }{
		{5, 160, 5},  // one kernel block and 32 pixels in Go
		{3, 128, 64}, // kernel blocks only
		{7, 20, 3},   // Go only
		{9, 256, 16},
	} {
		g := newEngGeom(tc.h, tc.w)
		rng := rand.New(rand.NewSource(int64(tc.h*1000 + tc.w)))
		src := make([]float32, tc.in*g.Plane)
		for c := 0; c < tc.in; c++ {
			for y := 0; y < tc.h; y++ {
				for x := 0; x < tc.w; x++ {
					src[c*g.Plane+g.pos(y, x)] = float32(rng.NormFloat64())
				}
			}
		}
		w := make([]float32, 3*tc.in*9)
		for i := range w {
			w[i] = float32(rng.NormFloat64()) * 0.1
		}
		cv := &engConv{out: 3, in: tc.in, k: 3, w: w, alpha: 0.7, bias: []float32{0.1, -0.2, 0.3}}
		cv.direct = newImgWeights(w, tc.in, cv.alpha)
		e := &engine{}
		dst := make([]float32, 3*tc.h*tc.w)
		e.convImgDirect(g, cv, src, dst)
		at := func(c, y, x int) float64 {
			if y < 0 || y >= tc.h || x < 0 || x >= tc.w {
				return 0
			}
			v := float64(src[c*g.Plane+g.pos(y, x)])
			if v < 0 {
				v *= leakySlope
			}
			return v
		}
		var worst float64
		for o := 0; o < 3; o++ {
			for y := 0; y < tc.h; y++ {
				for x := 0; x < tc.w; x++ {
					s := float64(cv.bias[o])
					for c := 0; c < tc.in; c++ {
						for t := 0; t < 9; t++ {
							s += float64(cv.alpha) * float64(w[(o*tc.in+c)*9+t]) * at(c, y+t/3-1, x+t%3-1)
						}
					}
					worst = max(worst, math.Abs(math.Tanh(s)-float64(dst[(o*tc.h+y)*tc.w+x])))
				}
			}
		}
		if worst > 1e-5 {
			t.Errorf("%d×%d, %d channels: max error %g", tc.h, tc.w, tc.in, worst)
		}
	}
}

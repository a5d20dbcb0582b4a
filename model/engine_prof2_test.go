package model

import (
	"os"
	"testing"
	"time"
)

func TestEngineGemmShapes(t *testing.T) {
	if os.Getenv("ENGINE_PROFILE") == "" {
		t.Skip("set ENGINE_PROFILE")
	}
	g := newEngGeom(256, 256)
	K, M := 128, 256
	in := make([]float32, K*g.Plane)
	for i := range in {
		in[i] = float32(i%7) * 0.1
	}
	w := make([]float32, 9*M*K)
	out := make([]float32, M*g.Plane)
	ms := func(f func()) float64 {
		f()
		st := time.Now()
		f()
		f()
		return float64(time.Since(st).Microseconds()) / 2000
	}
	for rep := 0; rep < 2; rep++ {
		for _, band := range []int{1 << 20, 2 << 20, 4 << 20, 16 << 20, 1 << 30} {
			d := ms(func() {
				rows := max(1, min(g.H, band/(M*g.PW*4)))
				for y0 := 0; y0 < g.H; y0 += rows {
					q0 := y0 * g.PW
					n := min(rows*g.PW, g.span()-q0)
					for tp := 0; tp < 9; tp++ {
						b := float32(0)
						if tp > 0 {
							b = 1
						}
						engSgemm(M, n, K, 1, w[tp*M*K:], K, in[g.tapOffset(tp)+q0:], g.Plane, b, out[g.origin()+q0:], g.Plane)
					}
				}
			})
			t.Logf("band %5d KB: %.1f ms = %.0f GFLOP/s", band>>10, d, 2*float64(M*K*9*65536)/d/1e6)
		}
		col := make([]float32, 9*K*4096)
		d := ms(func() {
			for q0 := 0; q0 < g.span(); q0 += 4096 {
				n := min(4096, g.span()-q0)
				for ci := 0; ci < K; ci++ {
					for tp := 0; tp < 9; tp++ {
						copy(col[(ci*9+tp)*n:(ci*9+tp+1)*n], in[ci*g.Plane+q0+g.tapOffset(tp):])
					}
				}
				engSgemm(M, n, 9*K, 1, w, 9*K, col, n, 0, out[g.origin()+q0:], g.Plane)
			}
		})
		t.Logf("im2col 4096: %.1f ms = %.0f GFLOP/s", d, 2*float64(M*K*9*65536)/d/1e6)
	}
}

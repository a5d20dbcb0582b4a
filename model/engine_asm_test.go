package model

import (
	"fmt"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// TestWinoKernels checks the SIMD transform kernels against Go.
func TestWinoKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{1, 7, 8, 9, 16, 37, 64} {
		stride := n + 3
		var src [6][]float32
		for c := range src {
			src[c] = make([]float32, n)
			for i := range src[c] {
				src[c][i] = float32(rng.NormFloat64())
			}
		}
		for _, k := range []struct {
			name string
			rows int
			f, g func(dst []float32)
		}{
			{"B6", 6, func(d []float32) { winoB6(d, stride, &src, n) }, func(d []float32) { winoB6Go(d, stride, &src, 0, n) }},
			{"A4", 4, func(d []float32) { winoA4(d, stride, &src, n) }, func(d []float32) { winoA4Go(d, stride, &src, 0, n) }},
		} {
			a, b := make([]float32, k.rows*stride), make([]float32, k.rows*stride)
			k.f(a)
			k.g(b)
			if d := maxAbsDiff(a, b); d > 1e-5 {
				t.Errorf("%s n=%d: max diff %g", k.name, n, d)
			}
		}
		// Phase split with and without modulation.
		// Modes: 0 copy, 1 modulate, 2 modulate + leaky ReLU, 3 leaky ReLU.
		for _, mode := range []int{0, 1, 2, 3} {
			L := (n+3)/4 + 1
			x := make([]float32, n+40)
			ab := make([]float32, 2*(n+40))
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for i := range ab {
				ab[i] = float32(rng.NormFloat64())
			}
			for _, m := range []int{n, n + 33} {
				L := max(L, (m+3)/4+1)
				var a, b []float32
				if mode == 1 || mode == 2 {
					a, b = ab[:m], ab[n+40:n+40+m]
				}
				got, want := make([]float32, 4*L), make([]float32, 4*L)
				winoLoadRow(got, L, x[:m], a, b, 0.3, 1.7, mode >= 2)
				for i := 0; i < m; i++ {
					v := x[i]
					if a != nil {
						v = (v-0.3)*1.7*a[i] + b[i]
					}
					if mode >= 2 {
						v = engLeaky(v)
					}
					want[(i%4)*L+i/4] = v
				}
				if d := maxAbsDiff(got, want); d > 1e-6 {
					t.Errorf("winoLoadRow mode %d n=%d: max diff %g", mode, m, d)
				}
			}
		}
		var rows [9][]float32
		for i := range rows {
			rows[i] = src[i%6]
		}
		a, b := make([]float32, n), make([]float32, n)
		engSum9(a, &rows, 0)
		engSum9Go(b, &rows, 0, 0)
		if d := maxAbsDiff(a, b); d > 1e-5 {
			t.Errorf("sum9 n=%d: max diff %g", n, d)
		}
	}
}

// TestEngineGemm checks the engine's own SGEMM against gonum's, with the
// AVX-512 kernel where the CPU has it and with the AVX2 one.
func TestEngineGemm(t *testing.T) {
	if !engGemmKernel() {
		t.Skip("no AVX2/FMA")
	}
	testEngineGemm(t)
	if gemmMR == 12 {
		mr, nr, mc := gemmMR, gemmNR, gemmMC
		drain := func() {
			for len(gemmFree) > 0 {
				<-gemmFree
			}
		}
		defer func() { gemmMR, gemmNR, gemmMC = mr, nr, mc; drain() }()
		gemmMR, gemmNR, gemmMC = 6, 16, 72
		drain()
		testEngineGemm(t)
	}
}

func testEngineGemm(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, s := range [][3]int{{1, 1, 1}, {6, 16, 1}, {7, 17, 3}, {13, 40, 300}, {80, 300, 520}, {64, 2100, 33}, {25, 70, 260}} {
		m, n, k := s[0], s[1], s[2]
		lda, ldb, ldc := k+3, n+5, n+7
		a := make([]float32, m*lda)
		b := make([]float32, k*ldb)
		c := make([]float32, m*ldc)
		for _, x := range [][]float32{a, b, c} {
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
		}
		for _, beta := range []float32{0, 1, 0.5} {
			got, want := append([]float32(nil), c...), append([]float32(nil), c...)
			engSgemmGo(m, n, k, 0.7, a, lda, b, ldb, beta, got, ldc)
			gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 0.7, a, lda, b, ldb, beta, want, ldc)
			if d := maxAbsDiff(got, want); d > 1e-3 {
				t.Errorf("%v beta %g: max diff %g", s, beta, d)
			}
		}
	}
}

func BenchmarkEngineGemm(b *testing.B) {
	for _, s := range [][3]int{{256, 640, 128}, {1024, 288, 9216}, {64, 4096, 576}} {
		m, n, k := s[0], s[1], s[2]
		a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for _, x := range [][]float32{a, bb} {
			for i := range x {
				x[i] = float32(i%7) - 3
			}
		}
		for _, impl := range []string{"engine", "blas"} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", impl, m, n, k), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if impl == "engine" {
						engSgemmGo(m, n, k, 1, a, k, bb, n, 0, c, n)
					} else {
						engSgemm(m, n, k, 1, a, k, bb, n, 0, c, n)
					}
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestEngMod checks the SIMD modulation against Go, for lengths around
// the vector widths, with and without statistics and leaky ReLU, and that
// it writes nothing past dst.
func TestEngMod(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 24, 33, 100} {
		for _, tc := range []struct {
			m, rs float32
			relu  bool
		}{{0, 1, false}, {0, 1, true}, {0.3, 1.7, false}, {-0.2, 0.6, true}} {
			x, a, b := rnd(n), rnd(n), rnd(n)
			got, want := make([]float32, n+1), make([]float32, n)
			got[n] = 42
			engMod(got[:n], x, a, b, tc.m, tc.rs, tc.relu)
			engModGo(want, x, a, b, tc.m, tc.rs, tc.relu)
			if d := maxAbsDiff(got[:n], want); d > 1e-6 {
				t.Errorf("n=%d %+v: max diff %g", n, tc, d)
			}
			if got[n] != 42 {
				t.Errorf("n=%d: wrote past dst", n)
			}
		}
	}
}

//go:build gpu

package gpu

import (
	"fmt"
	"math"
	"math/rand"
	"sync"
	"testing"

	"spadepaint/model"
)

var testDev struct {
	once sync.Once
	d    *Device
	err  error
}

// device opens the test binary's device once, or skips the test.
func device(t testing.TB) *Device {
	testDev.once.Do(func() { testDev.d, testDev.err = Open() })
	if testDev.err != nil {
		t.Skipf("skipping (needs a GPU): %v", testDev.err)
	}
	return testDev.d
}

// compare reports every value of got that differs from want by more than
// tol(i), with the count and the largest error, and logs the largest error
// either way.
func compare(t *testing.T, name string, got, want []float32, tol func(i int) float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	var worst float64
	bad, shown := 0, 0
	for i := range got {
		e := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(float64(got[i])) != math.IsNaN(float64(want[i])) {
			e = math.Inf(1)
		}
		if e > worst || math.IsNaN(e) {
			worst = e
		}
		if e > tol(i) || math.IsNaN(e) {
			bad++
			if shown < 8 {
				shown++
				t.Errorf("%s: [%d] = %g, want %g (error %.3g)", name, i, got[i], want[i], e)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values wrong, max abs error %.3g", name, bad, len(got), worst)
	} else {
		t.Logf("%s: %d values, max abs error %.3g", name, len(got), worst)
	}
}

func exact(int) float64 { return 0 }

func within(tol float64) func(int) float64 { return func(int) float64 { return tol } }

func randSlice(rng *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64()) * scale
	}
	return s
}

// onDevice runs f on the device goroutine with fresh buffers holding the
// given host slices (freed after); f gets their handles.
func onDevice(t *testing.T, d *Device, in [][]float32, f func(bufs []devBuf) error) {
	t.Helper()
	err := d.do(func() error {
		bufs := make([]devBuf, len(in))
		defer func() {
			for i := range bufs {
				d.free(&bufs[i])
			}
		}()
		for i, s := range in {
			if err := d.ensure(&bufs[i], len(s)); err != nil {
				return err
			}
			if err := upload(bufs[i], 0, s); err != nil {
				return err
			}
		}
		if err := f(bufs); err != nil {
			return err
		}
		if err := d.sync(); err != nil {
			return err
		}
		for i := range in {
			if err := download(in[i], bufs[i], 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// refGemm is row-major op(A)·op(B) in float64, with Σ|a·b| per entry for
// the tolerance.
func refGemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (out []float32, mag []float64) {
	out = append([]float32(nil), c...)
	mag = make([]float64, len(c))
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			v := float64(alpha) * s
			mag[i*ldc+j] = math.Abs(float64(alpha)) * sa
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
				mag[i*ldc+j] += math.Abs(float64(beta) * float64(c[i*ldc+j]))
			}
			out[i*ldc+j] = float32(v)
		}
	}
	return out, mag
}

func TestSgemm(t *testing.T) {
	d := device(t)
	rng := rand.New(rand.NewSource(1))
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {37, 53, 29}, {130, 259, 17}, {300, 300, 40}, // single pass, edge tiles
		{5, 300, 1000}, {200, 64, 1152}, {129, 1, 777}, // split-K (few tiles, deep K)
		{3, 7, 0}, // K = 0: C = beta·C
	}
	for _, s := range shapes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {0.7, 0.3}} {
				name := fmt.Sprintf("%dx%dx%d_tA%v_tB%v_a%g_b%g", s.m, s.n, s.k, tr[0], tr[1], ab[0], ab[1])
				t.Run(name, func(t *testing.T) {
					ra, ca := s.m, s.k
					if tr[0] {
						ra, ca = s.k, s.m
					}
					rb, cb := s.k, s.n
					if tr[1] {
						rb, cb = s.n, s.k
					}
					lda, ldb, ldc := ca+3, cb+1, s.n+2
					a := randSlice(rng, max(ra*lda, 1), 1)
					b := randSlice(rng, max(rb*ldb, 1), 1)
					c := randSlice(rng, s.m*ldc, 1)
					if ab[1] == 0 {
						for i := range c {
							if i%ldc < s.n {
								c[i] = float32(math.NaN()) // must not be read
							}
						}
					}
					want, mag := refGemm(tr[0], tr[1], s.m, s.n, s.k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					got := append([]float32(nil), c...)
					if err := d.Sgemm(tr[0], tr[1], s.m, s.n, s.k, ab[0], a, lda, b, ldb, ab[1], got, ldc); err != nil {
						t.Fatal(err)
					}
					// Values between rows (j ≥ n) must stay as they were: want holds them.
					compare(t, "C", got, want, func(i int) float64 { return 1e-5*mag[i] + 1e-6 })
				})
			}
		}
	}
}

func TestSgemmErrors(t *testing.T) {
	d := device(t)
	a := make([]float32, 6)
	if err := d.Sgemm(false, false, 2, 3, 3, 1, a, 2, a, 3, 0, a, 3); err == nil {
		t.Error("lda below the columns of A: no error")
	}
	if err := d.Sgemm(false, false, 3, 3, 3, 1, a, 3, a, 3, 0, a, 3); err == nil {
		t.Error("A too short: no error")
	}
}

func TestGemmSplits(t *testing.T) {
	for _, s := range []struct{ m, n, k, sms int }{
		{1024, 64, 9216, 132}, {1024, 256, 9216, 132}, {4096, 1, 256, 132}, {256, 65536, 1152, 132}, {5, 300, 1000, 132}, {64, 64, 64, 1},
	} {
		sp := gemmSplits(s.m, s.n, s.k, s.sms)
		tiles := ((s.m + 127) / 128) * ((s.n + 127) / 128)
		if sp < 1 || sp > 64 || (tiles >= s.sms && sp != 1) || (sp > 1 && s.k/sp < 128) {
			t.Errorf("gemmSplits(%d, %d, %d, %d) = %d", s.m, s.n, s.k, s.sms, sp)
		}
	}
	if sp := gemmSplits(1024, 64, 9216, 132); sp < 16 {
		t.Errorf("8×8 conv of ADE20K's head_0: %d K slices, want ≥ 16 to fill the GPU", sp)
	}
}

func refIm2col(x []float32, C, H, W, k, stride, pad, OH, OW int) []float32 {
	col := make([]float32, C*k*k*OH*OW)
	for c := 0; c < C; c++ {
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				for oy := 0; oy < OH; oy++ {
					for ox := 0; ox < OW; ox++ {
						iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
						var v float32
						if iy >= 0 && iy < H && ix >= 0 && ix < W {
							v = x[(c*H+iy)*W+ix]
						}
						col[(((c*k+ky)*k+kx)*OH+oy)*OW+ox] = v
					}
				}
			}
		}
	}
	return col
}

// TestKernels checks every element-wise and convolution helper kernel
// against a Go reference on small odd sizes.
func TestKernels(t *testing.T) {
	d := device(t)
	rng := rand.New(rand.NewSource(2))
	slope := float32(model.LeakySlope)

	t.Run("im2col", func(t *testing.T) {
		for _, p := range []struct{ C, H, W, k, stride, pad int }{
			{3, 7, 9, 3, 1, 1}, {3, 7, 9, 3, 2, 1}, {2, 8, 8, 3, 2, 1}, {4, 5, 3, 1, 1, 0},
		} {
			OH := (p.H+2*p.pad-p.k)/p.stride + 1
			OW := (p.W+2*p.pad-p.k)/p.stride + 1
			x := randSlice(rng, p.C*p.H*p.W, 1)
			want := refIm2col(x, p.C, p.H, p.W, p.k, p.stride, p.pad, OH, OW)
			got := make([]float32, len(want))
			onDevice(t, d, [][]float32{x, got}, func(b []devBuf) error {
				return d.launchN(d.k.im2col, len(got), b[0].ptr, p.C, p.H, p.W, p.k, p.k, p.stride, p.pad, OH, OW, b[1].ptr)
			})
			compare(t, fmt.Sprintf("im2col %+v", p), got, want, exact)
		}
	})

	t.Run("plane_stats", func(t *testing.T) {
		C, HW := 5, 37
		x := randSlice(rng, C*HW, 2)
		for i := range x {
			x[i] += 3
		}
		mean, rstd := make([]float32, C), make([]float32, C)
		onDevice(t, d, [][]float32{x, mean, rstd}, func(b []devBuf) error {
			return d.launch(d.k.planeStats, C, 1, 1, 256, b[0].ptr, HW, float32(model.NormEps), b[1].ptr, b[2].ptr)
		})
		wm, wr := make([]float32, C), make([]float32, C)
		for c := 0; c < C; c++ {
			var s1, s2 float64
			for _, v := range x[c*HW : (c+1)*HW] {
				s1 += float64(v)
				s2 += float64(v) * float64(v)
			}
			m := s1 / float64(HW)
			wm[c] = float32(m)
			wr[c] = float32(1 / math.Sqrt(s2/float64(HW)-m*m+model.NormEps))
		}
		compare(t, "mean", mean, wm, within(1e-6))
		compare(t, "rstd", rstd, wr, within(1e-5))
	})

	t.Run("modulate", func(t *testing.T) {
		C, HW := 3, 29
		x := randSlice(rng, C*HW, 1)
		ab := randSlice(rng, 2*C*HW, 1)
		mean := randSlice(rng, C, 1)
		rstd := []float32{0.5, 2, 1.5}
		for _, inst := range []bool{false, true} {
			for _, relu := range []int{0, 1} {
				want := make([]float32, C*HW)
				for i := range want {
					v := x[i]
					if inst {
						c := i / HW
						v = (v - mean[c]) * rstd[c]
					}
					v = v*ab[i] + ab[C*HW+i]
					if relu == 1 && v < 0 {
						v *= slope
					}
					want[i] = v
				}
				got := make([]float32, C*HW)
				onDevice(t, d, [][]float32{x, ab, mean, rstd, got}, func(b []devBuf) error {
					m, r := b[2].ptr, b[3].ptr
					if !inst {
						m, r = 0, 0
					}
					return d.launchN(d.k.modulate, C*HW, b[0].ptr, b[1].ptr, C, HW, m, r, relu, slope, b[4].ptr)
				})
				compare(t, fmt.Sprintf("modulate inst=%v relu=%d", inst, relu), got, want, within(1e-6))
			}
		}
	})

	t.Run("spade_fold", func(t *testing.T) {
		C, HW := 3, 13
		gb := randSlice(rng, 2*C*HW, 1)
		bias := randSlice(rng, 2*C, 1)
		mean := randSlice(rng, C, 1)
		rstd := []float32{0.5, 2, 1.5}
		for _, bn := range []bool{false, true} {
			want := make([]float32, 2*C*HW)
			for i := 0; i < C*HW; i++ {
				c := i / HW
				r, m := float32(1), float32(0)
				if bn {
					r, m = rstd[c], mean[c]
				}
				a := (1 + gb[i] + bias[c]) * r
				want[i] = a
				want[C*HW+i] = gb[C*HW+i] + bias[C+c] - m*a
			}
			got := append([]float32(nil), gb...)
			onDevice(t, d, [][]float32{got, bias, mean, rstd}, func(b []devBuf) error {
				m, r := b[2].ptr, b[3].ptr
				if !bn {
					m, r = 0, 0
				}
				return d.launchN(d.k.spadeFold, C*HW, b[0].ptr, C, HW, b[1].ptr, m, r)
			})
			compare(t, fmt.Sprintf("spade_fold bn=%v", bn), got, want, within(1e-6))
		}
	})

	t.Run("norm_apply", func(t *testing.T) {
		C, HW := 4, 11
		x := randSlice(rng, C*HW, 1)
		mean := randSlice(rng, C, 1)
		rstd := []float32{0.5, 2, 1.5, 3}
		want := make([]float32, C*HW)
		for i := range want {
			v := (x[i] - mean[i/HW]) * rstd[i/HW]
			if v < 0 {
				v *= slope
			}
			want[i] = v
		}
		got := append([]float32(nil), x...)
		onDevice(t, d, [][]float32{got, mean, rstd}, func(b []devBuf) error {
			return d.launchN(d.k.normApply, C*HW, b[0].ptr, C, HW, b[1].ptr, b[2].ptr, 1, slope)
		})
		compare(t, "norm_apply", got, want, within(1e-6))
	})

	t.Run("upsample2", func(t *testing.T) {
		C, H, W := 3, 5, 7
		x := randSlice(rng, C*H*W, 1)
		want := make([]float32, C*4*H*W)
		for c := 0; c < C; c++ {
			for y := 0; y < 2*H; y++ {
				for xx := 0; xx < 2*W; xx++ {
					want[(c*2*H+y)*2*W+xx] = x[(c*H+y/2)*W+xx/2]
				}
			}
		}
		got := make([]float32, len(want))
		onDevice(t, d, [][]float32{x, got}, func(b []devBuf) error {
			return d.launchN(d.k.upsample2, len(got), b[0].ptr, C, H, W, b[1].ptr)
		})
		compare(t, "upsample2", got, want, exact)
	})

	t.Run("add_bias_leaky_tanh", func(t *testing.T) {
		C, HW := 5, 17
		x := randSlice(rng, C*HW, 2)
		bias := randSlice(rng, C, 1)
		wb, wl, wt := make([]float32, len(x)), make([]float32, len(x)), make([]float32, len(x))
		for i, v := range x {
			wb[i] = v + bias[i/HW]
			wl[i] = v
			if v < 0 {
				wl[i] = v * slope
			}
			wt[i] = float32(math.Tanh(float64(v)))
		}
		gb, gl, gt := append([]float32(nil), x...), append([]float32(nil), x...), append([]float32(nil), x...)
		onDevice(t, d, [][]float32{gb, bias, gl, gt}, func(b []devBuf) error {
			if err := d.launchN(d.k.addBias, C*HW, b[0].ptr, C, HW, b[1].ptr); err != nil {
				return err
			}
			if err := d.launchN(d.k.leaky, C*HW, b[2].ptr, C*HW, slope); err != nil {
				return err
			}
			return d.launchN(d.k.tanh, C*HW, b[3].ptr, C*HW)
		})
		compare(t, "add_bias", gb, wb, exact)
		compare(t, "leaky", gl, wl, exact)
		compare(t, "tanh", gt, wt, within(1e-6))
	})

	t.Run("gather3", func(t *testing.T) {
		for _, c := range gatherConfigs() {
			l := testLabels(c, 1, rand.New(rand.NewSource(3)))
			nout := 6
			w := randSlice(rng, nout*c.SemanticNC()*9, 1)
			bias := randSlice(rng, nout, 1)
			tab := gatherTable(c, w, bias, nout)
			sizes := []model.Size{{H: l.H, W: l.W}, {H: (l.H + 1) / 2, W: (l.W + 1) / 2}}
			codes := model.LabelCodes(c, l, 0, sizes)
			for si, s := range sizes {
				for _, relu := range []int{0, 1} {
					want := refLabelConv(c, l, s, w, bias, nout, relu == 1)
					got := make([]float32, nout*s.H*s.W)
					err := d.do(func() error {
						var cb, tb, ob devBuf
						defer d.free(&cb)
						defer d.free(&tb)
						defer d.free(&ob)
						if err := d.ensure(&cb, len(codes[si])); err != nil {
							return err
						}
						if err := upload(cb, 0, codes[si]); err != nil {
							return err
						}
						if err := d.ensure(&tb, len(tab)); err != nil {
							return err
						}
						if err := upload(tb, 0, tab); err != nil {
							return err
						}
						if err := d.ensure(&ob, len(got)); err != nil {
							return err
						}
						if err := d.launch(d.k.gather3, (s.H*s.W+255)/256, nout, 1, 256, cb.ptr, s.H, s.W, tb.ptr, model.LabelCodeCount(c)+1, relu, ob.ptr); err != nil {
							return err
						}
						if err := d.sync(); err != nil {
							return err
						}
						return download(got, ob, 0)
					})
					if err != nil {
						t.Fatal(err)
					}
					compare(t, fmt.Sprintf("gather3 %s %dx%d relu=%d", c.Name, s.W, s.H, relu), got, want, within(1e-5))
				}
			}
		}
	})
}

package model

import "time"

// Winograd F(2×2, 3×3) for the widest 3×3 convs on small maps (ADE20K's
// G_middle blocks: 1024 → 1024 channels at 16×16). Each 2×2 block of
// outputs comes from a 4×4 input tile as Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A,
// so the conv becomes 16 GEMMs [out × in]·[in × tiles] with 16/36 of the
// direct multiplies. Its transformed weights take 16/9 of the stored
// ones (F(4×4)'s take 4×, too much for these layers' memory), and with
// so few pixels the transforms cost little next to the GEMMs.

// wino2Weights are U = alpha · G g Gᵀ of F(2, 3), [16][out][in].
type wino2Weights struct {
	out, in int
	u       []float32
}

// wino2G is G of F(2, 3) (interpolation points 0, ±1, ∞).
var wino2G = [4][3]float64{
	{1, 0, 0},
	{0.5, 0.5, 0.5},
	{0.5, -0.5, 0.5},
	{0, 0, 1},
}

// engUseWino2 says whether a 3×3 conv with out×in weights on maps of
// layout g, which does not run as F(4×4), runs as F(2×2): on maps with
// even sides of at least 16×16, while the transformed weights stay under
// engWino2Budget floats.
func engUseWino2(g engGeom, out, in int) bool {
	return g.H%2 == 0 && g.W%2 == 0 && g.H*g.W >= 16*16 && 16*out*in <= engWino2Budget
}

// engWino2Budget caps the F(2×2) weights of one conv: ADE20K's 1024×1024
// convs (64 MB each) fit.
const engWino2Budget = 16 << 20

// newWino2Weights transforms out×in 3×3 kernels; kernel(o, i) returns the
// 9 weights of output o, input i, row-major.
func newWino2Weights(out, in int, alpha float64, kernel func(o, i int) []float32) *wino2Weights {
	ww := &wino2Weights{out: out, in: in, u: make([]float32, 16*out*in)}
	engParallel(out, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for i := 0; i < in; i++ {
				g := kernel(o, i)
				var t [4][3]float64
				for a := 0; a < 4; a++ {
					for c := 0; c < 3; c++ {
						t[a][c] = wino2G[a][0]*float64(g[c]) + wino2G[a][1]*float64(g[3+c]) + wino2G[a][2]*float64(g[6+c])
					}
				}
				for a := 0; a < 4; a++ {
					for b := 0; b < 4; b++ {
						v := t[a][0]*wino2G[b][0] + t[a][1]*wino2G[b][1] + t[a][2]*wino2G[b][2]
						ww.u[((a*4+b)*out+o)*in+i] = float32(alpha * v)
					}
				}
			}
		}
	})
	return ww
}

// wino2Conv writes out = conv(pre(src)) + bias + beta·out over the pixels
// of layout g (even sides) for the in channels of src, through 16 GEMMs
// over all tiles at once. v and m are scratch of at least 16·in·tiles and
// 16·out·tiles floats; mod holds a modulated plane per worker.
func wino2Conv(g engGeom, ww *wino2Weights, src []float32, pre *winoPre, bias []float32, beta float32, out []float32, s *winoScratch) {
	th, tw := g.H/2, g.W/2
	nt := th * tw
	if n := 16 * ww.in * nt; len(s.v) < n {
		s.v = make([]float32, n)
	}
	if n := 16 * ww.out * nt; len(s.m) < n {
		s.m = make([]float32, n)
	}
	if len(s.rows) < engWorkers() {
		s.rows = make([][]float32, engWorkers())
		s.out = make([][]float32, engWorkers())
	}
	v, m := s.v[:16*ww.in*nt], s.m[:16*ww.out*nt]
	stride := ww.in * nt
	ts := time.Now()
	engParallelW(ww.in, func(wk, lo, hi int) {
		if len(s.rows[wk]) < g.Plane {
			s.rows[wk] = make([]float32, g.Plane)
		}
		for k := lo; k < hi; k++ {
			p := src[k*g.Plane : (k+1)*g.Plane]
			if pre != nil {
				// A and B are zero on the border, so the modulated
				// plane keeps its zero border.
				d := s.rows[wk][:g.Plane]
				a := pre.ab[k*g.Plane : (k+1)*g.Plane]
				b := pre.ab[(pre.C+k)*g.Plane : (pre.C+k+1)*g.Plane]
				var pm, rs float32 = 0, 1
				if pre.mean != nil {
					pm, rs = pre.mean[k], pre.rstd[k]
				}
				for i, x := range p {
					y := (x-pm)*rs*a[i] + b[i]
					if pre.relu {
						y = engLeaky(y)
					}
					d[i] = y
				}
				p = d
			}
			// Tile (i, j) reads padded rows 2i..2i+3, columns 2j..2j+3.
			vk := v[k*nt:]
			for i := 0; i < th; i++ {
				r0 := p[(2*i)*g.PW:]
				r1 := p[(2*i+1)*g.PW:]
				r2 := p[(2*i+2)*g.PW:]
				r3 := p[(2*i+3)*g.PW:]
				for j := 0; j < tw; j++ {
					c := 2 * j
					// t = Bᵀ d (rows), then V = t B (columns).
					var t [4][4]float32
					for x := 0; x < 4; x++ {
						d0, d1, d2, d3 := r0[c+x], r1[c+x], r2[c+x], r3[c+x]
						t[0][x], t[1][x], t[2][x], t[3][x] = d0-d2, d1+d2, d2-d1, d1-d3
					}
					ti := i*tw + j
					for a := 0; a < 4; a++ {
						e := t[a]
						o := a * 4 * stride
						vk[o+ti] = e[0] - e[2]
						vk[o+stride+ti] = e[1] + e[2]
						vk[o+2*stride+ti] = e[2] - e[1]
						vk[o+3*stride+ti] = e[1] - e[3]
					}
				}
			}
		}
	})
	ts = engTraceStep("wino2 in", ts)
	engParallel(16, func(lo, hi int) {
		for xi := lo; xi < hi; xi++ {
			engSgemm(ww.out, nt, ww.in, 1, ww.u[xi*ww.out*ww.in:], ww.in, v[xi*stride:], nt, 0, m[xi*ww.out*nt:], nt)
		}
	})
	ts = engTraceStep("wino2 gemm", ts)
	defer engTraceStep("wino2 out", ts)
	ms := ww.out * nt
	engParallel(ww.out, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			var b float32
			if bias != nil {
				b = bias[o]
			}
			mo := m[o*nt:]
			dst := out[o*g.Plane : (o+1)*g.Plane]
			for i := 0; i < th; i++ {
				for j := 0; j < tw; j++ {
					ti := i*tw + j
					// r = Aᵀ M (rows), then Y = r A (columns).
					var r [2][4]float32
					for x := 0; x < 4; x++ {
						m0, m1, m2, m3 := mo[(x)*ms+ti], mo[(4+x)*ms+ti], mo[(8+x)*ms+ti], mo[(12+x)*ms+ti]
						r[0][x], r[1][x] = m0+m1+m2, m1-m2-m3
					}
					for a := 0; a < 2; a++ {
						e := r[a]
						y0, y1 := e[0]+e[1]+e[2]+b, e[1]-e[2]-e[3]+b
						q := g.pos(2*i+a, 2*j)
						if beta == 0 {
							dst[q], dst[q+1] = y0, y1
						} else {
							dst[q] = y0 + beta*dst[q]
							dst[q+1] = y1 + beta*dst[q+1]
						}
					}
				}
			}
		}
	})
}

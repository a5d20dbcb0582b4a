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
// over all tiles at once, with pre's modulation of src applied first (a
// plane at a time). s's v and m hold the transformed inputs and the GEMM
// outputs (16·in and 16·out rows of tiles), rows and out per-worker planes
// and rows.
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
		if len(s.rows[wk]) < g.Plane+4*g.PW {
			s.rows[wk] = make([]float32, g.Plane+4*g.PW)
		}
		buf := s.rows[wk]
		t0, t1, t2, t3 := buf[g.Plane:g.Plane+g.PW], buf[g.Plane+g.PW:g.Plane+2*g.PW], buf[g.Plane+2*g.PW:g.Plane+3*g.PW], buf[g.Plane+3*g.PW:g.Plane+4*g.PW]
		for k := lo; k < hi; k++ {
			p := src[k*g.Plane : (k+1)*g.Plane]
			if pre != nil {
				// A and B are zero on the border, so the modulated
				// plane keeps its zero border.
				d := buf[:g.Plane]
				a := pre.ab[k*g.Plane : (k+1)*g.Plane]
				b := pre.ab[(pre.C+k)*g.Plane : (pre.C+k+1)*g.Plane]
				var pm, rs float32 = 0, 1
				if pre.mean != nil {
					pm, rs = pre.mean[k], pre.rstd[k]
				}
				engMod(d, p, a, b, pm, rs, pre.relu)
				p = d
			}
			// Tile (i, j) reads padded rows 2i..2i+3, columns 2j..2j+3:
			// t = Bᵀ d over whole rows, then V = t B per tile.
			vk := v[k*nt:]
			for i := 0; i < th; i++ {
				r0 := p[(2*i)*g.PW : (2*i+1)*g.PW]
				r1 := p[(2*i+1)*g.PW : (2*i+2)*g.PW]
				r2 := p[(2*i+2)*g.PW : (2*i+3)*g.PW]
				r3 := p[(2*i+3)*g.PW : (2*i+4)*g.PW]
				for x := range t0 {
					d0, d1, d2, d3 := r0[x], r1[x], r2[x], r3[x]
					t0[x], t1[x], t2[x], t3[x] = d0-d2, d1+d2, d2-d1, d1-d3
				}
				for a, e := range [4][]float32{t0, t1, t2, t3} {
					o := a*4*stride + i*tw
					v0, v1, v2, v3 := vk[o:o+tw], vk[o+stride:o+stride+tw], vk[o+2*stride:o+2*stride+tw], vk[o+3*stride:o+3*stride+tw]
					for j := range v0 {
						c := e[2*j : 2*j+4 : 2*j+4]
						v0[j], v1[j], v2[j], v3[j] = c[0]-c[2], c[1]+c[2], c[2]-c[1], c[1]-c[3]
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
	engParallelW(ww.out, func(wk, lo, hi int) {
		if len(s.out[wk]) < 8*tw {
			s.out[wk] = make([]float32, 8*tw)
		}
		var r [2][4][]float32 // r = Aᵀ M over tile rows, [a][x][j]
		for a := range r {
			for x := range r[a] {
				r[a][x] = s.out[wk][(a*4+x)*tw : (a*4+x+1)*tw]
			}
		}
		for o := lo; o < hi; o++ {
			var b float32
			if bias != nil {
				b = bias[o]
			}
			mo := m[o*nt:]
			dst := out[o*g.Plane : (o+1)*g.Plane]
			for i := 0; i < th; i++ {
				for x := 0; x < 4; x++ {
					q := x*ms + i*tw
					m0, m1, m2, m3 := mo[q:q+tw], mo[q+4*ms:q+4*ms+tw], mo[q+8*ms:q+8*ms+tw], mo[q+12*ms:q+12*ms+tw]
					ra, rb := r[0][x][:tw], r[1][x][:tw]
					for j := range ra {
						ra[j], rb[j] = m0[j]+m1[j]+m2[j], m1[j]-m2[j]-m3[j]
					}
				}
				for a := 0; a < 2; a++ {
					e0, e1, e2, e3 := r[a][0][:tw], r[a][1][:tw], r[a][2][:tw], r[a][3][:tw]
					q := g.pos(2*i+a, 0)
					row := dst[q : q+2*tw]
					if beta == 0 {
						for j := range e0 {
							d := row[2*j : 2*j+2 : 2*j+2]
							d[0], d[1] = e0[j]+e1[j]+e2[j]+b, e1[j]-e2[j]-e3[j]+b
						}
					} else {
						for j := range e0 {
							d := row[2*j : 2*j+2 : 2*j+2]
							d[0] = e0[j] + e1[j] + e2[j] + b + beta*d[0]
							d[1] = e1[j] - e2[j] - e3[j] + b + beta*d[1]
						}
					}
				}
			}
		}
	})
}

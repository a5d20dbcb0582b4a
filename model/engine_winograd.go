package model

import "time"

// Winograd F(4×4, 3×3) convolution (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", CVPR 2016): each 4×4 block of outputs
// comes from a 6×6 input tile as
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// so a 3×3 conv becomes 36 GEMMs [out × in] · [in × tiles] with 36/144 =
// 1/4 of the direct multiplications; the transforms are additions and
// small-integer multiplies done in Go. The weights are transformed once
// (in float64); the engine uses it where maps are large and weights small.

// winoWeights are the transformed weights U = alpha · G g Gᵀ, [36][out][in].
type winoWeights struct {
	out, in int
	u       []float32
}

// winoG is G of F(4, 3) (interpolation points 0, ±1, ±2, ∞).
var winoG = [6][3]float64{
	{1.0 / 4, 0, 0},
	{-1.0 / 6, -1.0 / 6, -1.0 / 6},
	{-1.0 / 6, 1.0 / 6, -1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6},
	{1.0 / 24, -1.0 / 12, 1.0 / 6},
	{0, 0, 1},
}

// newWinoWeights transforms out×in 3×3 kernels; kernel(o, i) returns the
// 9 weights of output o, input i, row-major.
func newWinoWeights(out, in int, alpha float64, kernel func(o, i int) []float32) *winoWeights {
	ww := &winoWeights{out: out, in: in, u: make([]float32, 36*out*in)}
	engParallel(out, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for i := 0; i < in; i++ {
				g := kernel(o, i)
				// t = G·g (6×3), then u = t·Gᵀ (6×6).
				var t [6][3]float64
				for a := 0; a < 6; a++ {
					for c := 0; c < 3; c++ {
						t[a][c] = winoG[a][0]*float64(g[c]) + winoG[a][1]*float64(g[3+c]) + winoG[a][2]*float64(g[6+c])
					}
				}
				for a := 0; a < 6; a++ {
					for b := 0; b < 6; b++ {
						v := t[a][0]*winoG[b][0] + t[a][1]*winoG[b][1] + t[a][2]*winoG[b][2]
						ww.u[((a*6+b)*out+o)*in+i] = float32(alpha * v)
					}
				}
			}
		}
	})
	return ww
}

// winoOut says what the output transform does with each output value y
// of channel o at pixel (y, x): plain (dst = y + bias + beta·dst) or the
// SPADE fold, where channels o and C+o are γ and β of one layer and the
// values written are A = (1+γ+bγ)·r and B = β+bβ − m·A.
type winoOut struct {
	dst          []float32
	plane, pw    int
	off          int // index of output pixel (0, 0) in each plane
	bias         []float32
	beta         float32
	fold         bool
	foldC        int
	mean, rstd   []float32 // fold: batch-norm statistics, nil for instance norm
	foldB        []float32 // fold: mlp_gamma ⊕ mlp_beta biases [2C]
	foldDstPlane int
}

// winoPre is a modulation applied to the conv's input as it is read:
// [lrelu](norm(x)·A + B), with A and B in ab's planes [0, C) and [C, 2C)
// and norm (x−mean)·rstd for instance norm (mean nil: identity).
type winoPre struct {
	ab         []float32
	C          int
	mean, rstd []float32
	relu       bool
}

// winoScratch holds the per-band buffers of winoConv.
type winoScratch struct {
	v, m []float32
	rows [][]float32 // per worker: 6 input rows, then 6 transformed rows
	out  [][]float32 // per worker: output rows and pass-1 values
}

// winoBandTiles is how many tiles a band holds at most, so that the
// transformed inputs and GEMM outputs of a band stay a few MB.
func winoBandTiles(out, in, tw int) int {
	n := max(1, (6<<20)/(36*max(out, in)))
	rows := max(1, n/tw)
	return rows * tw
}

// winoConv runs a 3×3 conv (padding 1) of the in channels of src (padded
// layout g) with weights ww, through o.
func winoConv(g engGeom, ww *winoWeights, src []float32, o *winoOut, s *winoScratch, pre *winoPre) {
	th, tw := (g.H+3)/4, (g.W+3)/4
	band := winoBandTiles(ww.out, ww.in, tw)
	bandRows := band / tw
	nv, nm := 36*ww.in*band, 36*ww.out*band
	if len(s.v) < nv {
		s.v = make([]float32, nv)
	}
	if len(s.m) < nm {
		s.m = make([]float32, nm)
	}
	if len(s.rows) < engWorkers() {
		s.rows = make([][]float32, engWorkers())
		s.out = make([][]float32, engWorkers())
	}
	rowW := 4*tw + 2
	for i0 := 0; i0 < th; i0 += bandRows {
		i1 := min(th, i0+bandRows)
		nt := (i1 - i0) * tw
		v, m := s.v[:36*ww.in*nt], s.m[:36*ww.out*nt]
		ts := time.Now()
		engParallelW(ww.in, func(wk, lo, hi int) {
			if len(s.rows[wk]) < 12*rowW {
				s.rows[wk] = make([]float32, 12*rowW)
			}
			buf := s.rows[wk]
			for k := lo; k < hi; k++ {
				winoInput(g, src, k, pre, i0, i1, tw, buf, v, ww.in, nt)
			}
		})
		ts = engTraceStep("wino in", ts)
		engParallel(36, func(lo, hi int) {
			for xi := lo; xi < hi; xi++ {
				engSgemm(ww.out, nt, ww.in, 1, ww.u[xi*ww.out*ww.in:], ww.in, v[xi*ww.in*nt:], nt, 0, m[xi*ww.out*nt:], nt)
			}
		})
		ts = engTraceStep("wino gemm", ts)
		nch := ww.out
		if o.fold {
			nch = o.foldC
		}
		engParallelW(nch, func(wk, lo, hi int) {
			if len(s.out[wk]) < 56*tw {
				s.out[wk] = make([]float32, 56*tw)
			}
			for ch := lo; ch < hi; ch++ {
				winoOutput(g, m, ch, ww.out, nt, i0, i1, tw, o, s.out[wk])
			}
		})
		engTraceStep("wino out", ts)
	}
}

// winoInput transforms the tiles of tile rows [i0, i1) of input channel k
// of src (modulated by pre when given) into v[ξ][k][t] (K channels, nt
// tiles per band).
func winoInput(g engGeom, src []float32, k int, pre *winoPre, i0, i1, tw int, buf []float32, v []float32, K, nt int) {
	p := src[k*g.Plane : (k+1)*g.Plane]
	var pa, pb []float32
	var pm, rs float32
	if pre != nil {
		pa = pre.ab[k*g.Plane : (k+1)*g.Plane]
		pb = pre.ab[(pre.C+k)*g.Plane : (pre.C+k+1)*g.Plane]
		rs = 1
		if pre.mean != nil {
			pm, rs = pre.mean[k], pre.rstd[k]
		}
	}
	rowW := 4*tw + 2
	d := buf[:6*rowW]
	e := buf[6*rowW : 12*rowW]
	n := min(rowW, g.PW)
	var rows [6][]float32
	for r := range rows {
		rows[r] = d[r*rowW : (r+1)*rowW]
	}
	loaded := -1 // padded row held by rows[4] and rows[5] (as rows 4i+4, 4i+5)
	for i := i0; i < i1; i++ {
		// The 6 padded rows of this tile row, modulated, zero past the
		// map; the last two of the previous tile row are its first two.
		r0 := 0
		if loaded == 4*i {
			rows[0], rows[1], rows[4], rows[5] = rows[4], rows[5], rows[0], rows[1]
			r0 = 2
		}
		for r := r0; r < 6; r++ {
			row := rows[r]
			pr := 4*i + r
			if pr >= g.H+2 {
				clear(row)
				continue
			}
			src := p[pr*g.PW : pr*g.PW+n]
			dst := row[:n]
			switch {
			case pre == nil:
				copy(dst, src)
			case pre.relu:
				a, b := pa[pr*g.PW:pr*g.PW+n], pb[pr*g.PW:pr*g.PW+n]
				for x, v := range src {
					dst[x] = engLeaky((v-pm)*rs*a[x] + b[x])
				}
			default:
				a, b := pa[pr*g.PW:pr*g.PW+n], pb[pr*g.PW:pr*g.PW+n]
				for x, v := range src {
					dst[x] = (v-pm)*rs*a[x] + b[x]
				}
			}
			clear(row[n:])
		}
		loaded = 4*i + 4
		d0, d1, d2, d3, d4, d5 := rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]
		e0, e1, e2, e3, e4, e5 := e[0:rowW], e[rowW:2*rowW], e[2*rowW:3*rowW], e[3*rowW:4*rowW], e[4*rowW:5*rowW], e[5*rowW:6*rowW]
		d0, d1, d2, d3, d4, d5 = d0[:len(e0)], d1[:len(e0)], d2[:len(e0)], d3[:len(e0)], d4[:len(e0)], d5[:len(e0)]
		e1, e2, e3, e4, e5 = e1[:len(e0)], e2[:len(e0)], e3[:len(e0)], e4[:len(e0)], e5[:len(e0)]
		// e = Bᵀ·d over whole rows.
		for x := range e0 {
			a0, a1, a2, a3, a4, a5 := d0[x], d1[x], d2[x], d3[x], d4[x], d5[x]
			e0[x] = 4*a0 - 5*a2 + a4
			e1[x] = -4*(a1+a2) + a3 + a4
			e2[x] = 4*(a1-a2) - a3 + a4
			e3[x] = 2*(a3-a1) - a2 + a4
			e4[x] = 2*(a1-a3) - a2 + a4
			e5[x] = 4*a1 - 5*a3 + a5
		}
		// V = e·B per tile: the same combination across the 6 columns.
		base := k*nt + (i-i0)*tw
		stride := K * nt
		for r, er := range [6][]float32{e0, e1, e2, e3, e4, e5} {
			o := base + r*6*stride
			v0 := v[o : o+tw]
			v1 := v[o+stride : o+stride+tw]
			v2 := v[o+2*stride : o+2*stride+tw]
			v3 := v[o+3*stride : o+3*stride+tw]
			v4 := v[o+4*stride : o+4*stride+tw]
			v5 := v[o+5*stride : o+5*stride+tw]
			for j := range v0 {
				c := er[4*j : 4*j+6 : 4*j+6]
				a0, a1, a2, a3, a4, a5 := c[0], c[1], c[2], c[3], c[4], c[5]
				v0[j] = 4*a0 - 5*a2 + a4
				v1[j] = -4*(a1+a2) + a3 + a4
				v2[j] = 4*(a1-a2) - a3 + a4
				v3[j] = 2*(a3-a1) - a2 + a4
				v4[j] = 2*(a1-a3) - a2 + a4
				v5[j] = 4*a1 - 5*a3 + a5
			}
		}
	}
}

// winoOutput transforms the GEMM outputs m[ξ][o][t] of channel ch (and,
// folding, ch+C) back to pixels and writes them through o.
func winoOutput(g engGeom, m []float32, ch, M, nt, i0, i1, tw int, o *winoOut, ybuf []float32) {
	stride := M * nt
	var bias, m0, r0 float32 = 0, 0, 1
	var bb float32
	if o.fold {
		bias, bb = o.foldB[ch], o.foldB[o.foldC+ch]
		if o.rstd != nil {
			m0, r0 = o.mean[ch], o.rstd[ch]
		}
	} else if o.bias != nil {
		bias = o.bias[ch]
	}
	// One row of tiles at a time: y holds its 4 output rows (4·tw wide).
	var yb, yb2 [4][]float32
	tmp := ybuf[32*tw : 56*tw]
	for a := 0; a < 4; a++ {
		yb[a] = ybuf[a*4*tw : (a+1)*4*tw]
		yb2[a] = ybuf[(4+a)*4*tw : (5+a)*4*tw]
	}
	for i := i0; i < i1; i++ {
		base := (i - i0) * tw
		winoRowOut(m[ch*nt+base:], stride, tw, &yb, tmp)
		if o.fold {
			winoRowOut(m[(o.foldC+ch)*nt+base:], stride, tw, &yb2, tmp)
		}
		rows := min(4, g.H-4*i)
		for a := 0; a < rows; a++ {
			ai := o.off + (4*i+a)*o.pw
			if o.fold {
				da := o.dst[ch*o.foldDstPlane+ai : ch*o.foldDstPlane+ai+g.W]
				db := o.dst[(o.foldC+ch)*o.foldDstPlane+ai : (o.foldC+ch)*o.foldDstPlane+ai+g.W]
				ya, yb := yb[a][:len(da)], yb2[a][:len(da)]
				for x := range da {
					av := (1 + ya[x] + bias) * r0
					da[x] = av
					db[x] = yb[x] + bb - m0*av
				}
				continue
			}
			dr := o.dst[ch*o.plane+ai : ch*o.plane+ai+g.W]
			ya := yb[a][:len(dr)]
			if o.beta == 0 {
				for x := range dr {
					dr[x] = ya[x] + bias
				}
			} else {
				for x := range dr {
					dr[x] += ya[x] + bias
				}
			}
		}
	}
}

// winoRowOut computes y = Aᵀ·m·A for the tw tiles of one tile row, whose
// 36 values are m[ξ·stride + j], into 4 output rows y[a][4j+b]. Both
// passes run along the row of tiles, so every loop is a contiguous
// stream.
func winoRowOut(m []float32, stride, tw int, y *[4][]float32, tmp []float32) {
	// Pass 1 (rows): t[a][c][j] = Σ_r Aᵀ[a][r]·m[r·6+c][j].
	t := tmp[:24*tw]
	for c := 0; c < 6; c++ {
		m0 := m[c*stride : c*stride+tw]
		m1 := m[(6+c)*stride : (6+c)*stride+tw]
		m2 := m[(12+c)*stride : (12+c)*stride+tw]
		m3 := m[(18+c)*stride : (18+c)*stride+tw]
		m4 := m[(24+c)*stride : (24+c)*stride+tw]
		m5 := m[(30+c)*stride : (30+c)*stride+tw]
		t0 := t[(0*6+c)*tw : (0*6+c+1)*tw]
		t1 := t[(1*6+c)*tw : (1*6+c+1)*tw]
		t2 := t[(2*6+c)*tw : (2*6+c+1)*tw]
		t3 := t[(3*6+c)*tw : (3*6+c+1)*tw]
		for j := range m0 {
			s12, d12 := m1[j]+m2[j], m1[j]-m2[j]
			s34, d34 := m3[j]+m4[j], m3[j]-m4[j]
			t0[j] = m0[j] + s12 + s34
			t1[j] = d12 + 2*d34
			t2[j] = s12 + 4*s34
			t3[j] = d12 + 8*d34 + m5[j]
		}
	}
	// Pass 2 (columns): y[a][4j+b] = Σ_c t[a][c][j]·A[c][b].
	for a := 0; a < 4; a++ {
		r0 := t[(a*6+0)*tw : (a*6+1)*tw]
		r1 := t[(a*6+1)*tw : (a*6+2)*tw]
		r2 := t[(a*6+2)*tw : (a*6+3)*tw]
		r3 := t[(a*6+3)*tw : (a*6+4)*tw]
		r4 := t[(a*6+4)*tw : (a*6+5)*tw]
		r5 := t[(a*6+5)*tw : (a*6+6)*tw]
		yr := y[a][:4*tw]
		for j := range r0 {
			s12, d12 := r1[j]+r2[j], r1[j]-r2[j]
			s34, d34 := r3[j]+r4[j], r3[j]-r4[j]
			q := yr[4*j : 4*j+4 : 4*j+4]
			q[0] = r0[j] + s12 + s34
			q[1] = d12 + 2*d34
			q[2] = s12 + 4*s34
			q[3] = d12 + 8*d34 + r5[j]
		}
	}
}

// clearBorder zeroes everything but the pixels of channels [c0, c1).
func (g engGeom) clearBorder(buf []float32, c0, c1 int) {
	for c := c0; c < c1; c++ {
		p := buf[c*g.Plane : (c+1)*g.Plane]
		clear(p[:g.origin()])
		for y := 0; y < g.H; y++ {
			i := g.pos(y, g.W)
			p[i], p[i+1] = 0, 0
		}
		clear(p[g.pos(g.H-1, g.W)+2:])
	}
}

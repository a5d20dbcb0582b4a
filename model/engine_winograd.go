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
	band    winoBand
}

// winoBand is how winoConv cuts a map into bands of tiles: at most
// floats transformed inputs or GEMM outputs per band, but no fewer than
// minTiles tiles (thinner GEMMs run slowly).
type winoBand struct{ floats, minTiles int }

var (
	// winoBandSpade serves the γ/β convs (2C outputs from nhidden
	// inputs): large bands.
	winoBandSpade = winoBand{floats: 2 << 20, minTiles: 1}
	// winoBandTrunk serves the main path's convs, which measured faster
	// with smaller bands, whose transformed inputs and GEMM outputs stay
	// in cache (ADE20K: up_1..up_3's convs 5–15% faster), but not thinner
	// than 128 tiles (4 GEMM panels). The γ/β convs keep winoBandSpade
	// for now: these bands measured faster for them too (ADE20K's cold
	// render ~8%), a change not made here.
	winoBandTrunk = winoBand{floats: 1 << 20, minTiles: 128}
)

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
	ww := &winoWeights{out: out, in: in, u: make([]float32, 36*out*in), band: winoBandSpade}
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
// and norm (x−mean)·rstd for instance norm (mean nil: identity); with ab
// nil, lrelu(x) alone (F(4×4) only).
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

// winoBandRows is how many rows of tiles (of th rows of tw tiles) a band
// of ww holds, so that the transformed inputs and GEMM outputs of a band
// stay a few MB (or twice that where the whole map then is one band:
// ADE20K's up_0 at 32×32 runs one band of 64 tiles rather than two thin
// ones); the rows are spread evenly over the bands, as a last band of a
// few tiles would make thin, slow GEMMs.
func winoBandRows(ww *winoWeights, th, tw int) int {
	n := ww.band.tiles(ww.out, ww.in)
	rows := max(1, n/tw)
	if th*tw <= 2*n {
		return th
	}
	nb := (th + rows - 1) / rows
	return (th + nb - 1) / nb
}

// tiles is the number of tiles n of a band for an out×in conv.
func (b winoBand) tiles(out, in int) int {
	return max(1, b.minTiles, b.floats/(36*max(out, in)))
}

// winoScratchNeed is how many floats winoConv's v and m take at most
// for ww on maps of layout g or any box of them: a band holds at most
// max(2n, tw) tiles for winoBandRows' n, and no more than the map.
func winoScratchNeed(g engGeom, ww *winoWeights) (nv, nm int) {
	th, tw := (g.H+3)/4, (g.W+3)/4
	n := ww.band.tiles(ww.out, ww.in)
	nt := min(th*tw, max(2*n, tw))
	return 36 * ww.in * nt, 36 * ww.out * nt
}

// winoConv runs a 3×3 conv (padding 1) of the in channels of src (padded
// layout g) with weights ww, through o.
func winoConv(g engGeom, ww *winoWeights, src []float32, o *winoOut, s *winoScratch, pre *winoPre) {
	th, tw := (g.H+3)/4, (g.W+3)/4
	bandRows := winoBandRows(ww, th, tw)
	nv, nm := winoScratchNeed(g, ww)
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
	rowW := 4 * (tw + 1)
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
			if len(s.out[wk]) < 56*nt {
				s.out[wk] = make([]float32, 56*nt)
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
// tiles per band). Rows are held split by column mod 4 (4 "phases" of
// tw+1 values), so that both passes of Bᵀ·d·B run on contiguous vectors:
// column c of tile j is phase c at j for c < 4, phase c−4 at j+1 after.
func winoInput(g engGeom, src []float32, k int, pre *winoPre, i0, i1, tw int, buf []float32, v []float32, K, nt int) {
	p := src[k*g.Plane : (k+1)*g.Plane]
	var pa, pb []float32
	var pm, rs float32
	relu := pre != nil && pre.relu
	if pre != nil && pre.ab != nil {
		pa = pre.ab[k*g.Plane : (k+1)*g.Plane]
		pb = pre.ab[(pre.C+k)*g.Plane : (pre.C+k+1)*g.Plane]
		rs = 1
		if pre.mean != nil {
			pm, rs = pre.mean[k], pre.rstd[k]
		}
	}
	L := tw + 1
	rw := 4 * L
	var rows [6][]float32
	for r := range rows {
		rows[r] = buf[r*rw : (r+1)*rw]
	}
	e := buf[6*rw : 12*rw]
	stride := K * nt
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
			pr := 4*i + r
			if pr >= g.H+2 {
				clear(rows[r])
				continue
			}
			o := pr * g.PW
			if pa == nil {
				winoLoadRow(rows[r], L, p[o:o+g.PW], nil, nil, 0, 0, relu)
			} else {
				winoLoadRow(rows[r], L, p[o:o+g.PW], pa[o:o+g.PW], pb[o:o+g.PW], pm, rs, relu)
			}
		}
		loaded = 4*i + 4
		// e = Bᵀ·d over whole rows, then V = e·B per tile.
		winoB6(e, rw, &rows, rw)
		base := k*nt + (i-i0)*tw
		for r := 0; r < 6; r++ {
			er := e[r*rw : (r+1)*rw]
			cols := [6][]float32{er, er[L:], er[2*L:], er[3*L:], er[1:], er[L+1:]}
			winoB6(v[base+r*6*stride:], stride, &cols, tw)
		}
	}
}

// winoLoadRow writes src (modulated when a is given: lrelu((x−m)·rs·a+b)
// or without lrelu; else lrelu(x) or x) into row split by column mod 4
// into phases of L values, zero past len(src).
func winoLoadRow(row []float32, L int, src, a, b []float32, m, rs float32, relu bool) {
	n := len(src)
	p0, p1, p2, p3 := row[0:L], row[L:2*L], row[2*L:3*L], row[3*L:4*L]
	j0 := winoLoadSIMD(row, L, src, a, b, m, rs, relu) / 4
	q := n / 4
	switch {
	case a == nil && relu:
		for j := j0; j < q; j++ {
			s := src[4*j : 4*j+4 : 4*j+4]
			p0[j], p1[j], p2[j], p3[j] = engLeaky(s[0]), engLeaky(s[1]), engLeaky(s[2]), engLeaky(s[3])
		}
	case a == nil:
		for j := j0; j < q; j++ {
			s := src[4*j : 4*j+4 : 4*j+4]
			p0[j], p1[j], p2[j], p3[j] = s[0], s[1], s[2], s[3]
		}
	case relu:
		for j := j0; j < q; j++ {
			s, sa, sb := src[4*j:4*j+4:4*j+4], a[4*j:4*j+4:4*j+4], b[4*j:4*j+4:4*j+4]
			v0 := (s[0]-m)*rs*sa[0] + sb[0]
			v1 := (s[1]-m)*rs*sa[1] + sb[1]
			v2 := (s[2]-m)*rs*sa[2] + sb[2]
			v3 := (s[3]-m)*rs*sa[3] + sb[3]
			p0[j], p1[j], p2[j], p3[j] = max(v0, v0*leakySlope), max(v1, v1*leakySlope), max(v2, v2*leakySlope), max(v3, v3*leakySlope)
		}
	default:
		for j := j0; j < q; j++ {
			s, sa, sb := src[4*j:4*j+4:4*j+4], a[4*j:4*j+4:4*j+4], b[4*j:4*j+4:4*j+4]
			p0[j] = (s[0]-m)*rs*sa[0] + sb[0]
			p1[j] = (s[1]-m)*rs*sa[1] + sb[1]
			p2[j] = (s[2]-m)*rs*sa[2] + sb[2]
			p3[j] = (s[3]-m)*rs*sa[3] + sb[3]
		}
	}
	phase := [4][]float32{p0, p1, p2, p3}
	for x := 4 * q; x < 4*L; x++ {
		var v float32
		if x < n {
			v = src[x]
			if a != nil {
				v = (v-m)*rs*a[x] + b[x]
			}
			if relu {
				v = engLeaky(v)
			}
		}
		phase[x&3][x>>2] = v
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
	// The whole band at once (long contiguous vectors): y[a][b][t] is
	// pixel (4i+a, 4j+b) of tile t = (i−i0)·tw + j.
	y, y2, tmp := ybuf[:16*nt], ybuf[16*nt:32*nt], ybuf[32*nt:56*nt]
	winoRowOut(m[ch*nt:], stride, nt, y, tmp)
	if o.fold {
		winoRowOut(m[(o.foldC+ch)*nt:], stride, nt, y2, tmp)
	}
	W := g.W
	q := W / 4
	for i := i0; i < i1; i++ {
		base := (i - i0) * tw
		rows := min(4, g.H-4*i)
		for a := 0; a < rows; a++ {
			ai := o.off + (4*i+a)*o.pw
			ya := [4][]float32{y[(a*4)*nt+base : (a*4)*nt+base+tw], y[(a*4+1)*nt+base : (a*4+1)*nt+base+tw], y[(a*4+2)*nt+base : (a*4+2)*nt+base+tw], y[(a*4+3)*nt+base : (a*4+3)*nt+base+tw]}
			if o.fold {
				yb := [4][]float32{y2[(a*4)*nt+base : (a*4)*nt+base+tw], y2[(a*4+1)*nt+base : (a*4+1)*nt+base+tw], y2[(a*4+2)*nt+base : (a*4+2)*nt+base+tw], y2[(a*4+3)*nt+base : (a*4+3)*nt+base+tw]}
				da := o.dst[ch*o.foldDstPlane+ai : ch*o.foldDstPlane+ai+W]
				db := o.dst[(o.foldC+ch)*o.foldDstPlane+ai : (o.foldC+ch)*o.foldDstPlane+ai+W]
				for x := range da {
					av := (1 + ya[x&3][x>>2] + bias) * r0
					da[x] = av
					db[x] = yb[x&3][x>>2] + bb - m0*av
				}
				continue
			}
			dr := o.dst[ch*o.plane+ai : ch*o.plane+ai+W]
			y0, y1, y2, y3 := ya[0][:q], ya[1][:q], ya[2][:q], ya[3][:q]
			if o.beta == 0 {
				for j := range y0 {
					d := dr[4*j : 4*j+4 : 4*j+4]
					d[0], d[1], d[2], d[3] = y0[j]+bias, y1[j]+bias, y2[j]+bias, y3[j]+bias
				}
				for x := 4 * q; x < W; x++ {
					dr[x] = ya[x&3][x>>2] + bias
				}
			} else {
				for j := range y0 {
					d := dr[4*j : 4*j+4 : 4*j+4]
					d[0] += y0[j] + bias
					d[1] += y1[j] + bias
					d[2] += y2[j] + bias
					d[3] += y3[j] + bias
				}
				for x := 4 * q; x < W; x++ {
					dr[x] += ya[x&3][x>>2] + bias
				}
			}
		}
	}
}

// winoRowOut computes Y = Aᵀ·m·A for tw tiles, whose 36 values are
// m[ξ·stride + j], into y[a][b][j] (pixel (a, b) of tile j); t holds the
// first pass, t[a][c][j].
func winoRowOut(m []float32, stride, tw int, y, t []float32) {
	for c := 0; c < 6; c++ {
		src := [6][]float32{m[c*stride:], m[(6+c)*stride:], m[(12+c)*stride:], m[(18+c)*stride:], m[(24+c)*stride:], m[(30+c)*stride:]}
		winoA4(t[c*tw:], 6*tw, &src, tw)
	}
	for a := 0; a < 4; a++ {
		r := t[a*6*tw:]
		src := [6][]float32{r, r[tw:], r[2*tw:], r[3*tw:], r[4*tw:], r[5*tw:]}
		winoA4(y[a*4*tw:], tw, &src, tw)
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

// winoB6Go is winoB6 for i in [i0, n).
func winoB6Go(dst []float32, stride int, src *[6][]float32, i0, n int) {
	if i0 >= n {
		return
	}
	a0s, a1s, a2s := src[0][i0:n], src[1][i0:n], src[2][i0:n]
	a3s, a4s, a5s := src[3][i0:n], src[4][i0:n], src[5][i0:n]
	e0, e1, e2 := dst[i0:n], dst[stride+i0:stride+n], dst[2*stride+i0:2*stride+n]
	e3, e4, e5 := dst[3*stride+i0:3*stride+n], dst[4*stride+i0:4*stride+n], dst[5*stride+i0:5*stride+n]
	for x := range e0 {
		a0, a1, a2, a3, a4, a5 := a0s[x], a1s[x], a2s[x], a3s[x], a4s[x], a5s[x]
		e0[x] = 4*a0 - 5*a2 + a4
		e1[x] = (a3 + a4) - 4*(a1+a2)
		e2[x] = (a4 - a3) + 4*(a1-a2)
		e3[x] = (a4 - a2) + 2*(a3-a1)
		e4[x] = (a4 - a2) - 2*(a3-a1)
		e5[x] = a5 + 4*a1 - 5*a3
	}
}

// winoA4Go is winoA4 for i in [i0, n).
func winoA4Go(dst []float32, stride int, src *[6][]float32, i0, n int) {
	if i0 >= n {
		return
	}
	m0s, m1s, m2s := src[0][i0:n], src[1][i0:n], src[2][i0:n]
	m3s, m4s, m5s := src[3][i0:n], src[4][i0:n], src[5][i0:n]
	y0, y1 := dst[i0:n], dst[stride+i0:stride+n]
	y2, y3 := dst[2*stride+i0:2*stride+n], dst[3*stride+i0:3*stride+n]
	for j := range y0 {
		s12, d12 := m1s[j]+m2s[j], m1s[j]-m2s[j]
		s34, d34 := m3s[j]+m4s[j], m3s[j]-m4s[j]
		y0[j] = m0s[j] + s12 + s34
		y1[j] = d12 + 2*d34
		y2[j] = s12 + 4*s34
		y3[j] = d12 + m5s[j] + 8*d34
	}
}

package model

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// engBLAS runs the engine's GEMMs: gonum's pure-Go blas32 implementation,
// or OpenBLAS through netlib in builds tagged openblas
// (engine_openblas.go).
var engBLAS blas.Float32 = gonum.Implementation{}

// engSgemm is C = alpha·A·B + beta·C on row-major matrices (A m×k, B k×n).
// A, B and C may be windows of larger buffers: their leading dimensions
// are the distances between rows.
func engSgemm(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if engOwnGemm && engGemmKernel() {
		engSgemmGo(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	engBLAS.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// EngineGEMM names the GEMM that Generate's engine runs: its own AVX-512
// or AVX2 kernel, or the BLAS of the build (OpenBLAS with the openblas
// tag, gonum's pure Go otherwise).
func EngineGEMM() string {
	if engOwnGemm && engGemmKernel() {
		if engHaveAVX512 {
			return "engine AVX-512 kernel"
		}
		return "engine AVX2 kernel"
	}
	if engBLASName != "" {
		return engBLASName
	}
	return BLASName
}

// engBLASName describes engBLAS when set by the build (OpenBLAS's core).
var engBLASName string

// engOwnGemm selects the engine's own SGEMM kernel (engine_gemm.go) over
// engBLAS where the CPU has one: in builds without OpenBLAS, where engBLAS
// is gonum's pure-Go code.
var engOwnGemm = true

// engBLASSerial, where set, makes engBLAS single-threaded until the
// returned function is called (the engine parallelises GEMMs itself).
var engBLASSerial func() (restore func())

// engPsgemm is engSgemm split over the workers along the larger of m and n
// (each part a single-threaded GEMM under engBLASSerial).
func engPsgemm(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	w := engWorkers()
	if w <= 1 || m*n*k < 1<<20 {
		engSgemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if n >= m {
		engParallel(w, func(lo, hi int) {
			j0, j1 := n*lo/w, n*hi/w
			engSgemm(m, j1-j0, k, alpha, a, lda, b[j0:], ldb, beta, c[j0:], ldc)
		})
		return
	}
	engParallel(w, func(lo, hi int) {
		i0, i1 := m*lo/w, m*hi/w
		engSgemm(i1-i0, n, k, alpha, a[i0*lda:], lda, b, ldb, beta, c[i0*ldc:], ldc)
	})
}

// engWorkers is how many goroutines the engine's own loops use.
func engWorkers() int { return runtime.GOMAXPROCS(0) }

// engParallel runs f over [0, n) split into one contiguous range per worker.
func engParallel(n int, f func(lo, hi int)) {
	w := min(engWorkers(), n)
	if w <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for i := 1; i < w; i++ {
		lo, hi := n*i/w, n*(i+1)/w
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	f(0, n/w)
	wg.Wait()
}

// engParallelW is engParallel that also passes the worker index, for per-worker
// scratch space.
func engParallelW(n int, f func(w, lo, hi int)) {
	nw := min(engWorkers(), n)
	if nw <= 1 {
		if n > 0 {
			f(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(nw - 1)
	for i := 1; i < nw; i++ {
		lo, hi := n*i/nw, n*(i+1)/nw
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	f(0, 0, n/nw)
	wg.Wait()
}

// engRect is a half-open box [X0, X1)×[Y0, Y1) of pixels.
type engRect struct{ X0, Y0, X1, Y1 int }

func (r engRect) empty() bool { return r.X0 >= r.X1 || r.Y0 >= r.Y1 }
func (r engRect) dx() int     { return r.X1 - r.X0 }
func (r engRect) dy() int     { return r.Y1 - r.Y0 }

func (r engRect) union(o engRect) engRect {
	if r.empty() {
		return o
	}
	if o.empty() {
		return r
	}
	return engRect{min(r.X0, o.X0), min(r.Y0, o.Y0), max(r.X1, o.X1), max(r.Y1, o.Y1)}
}

func (r engRect) dilate(d int) engRect { return engRect{r.X0 - d, r.Y0 - d, r.X1 + d, r.Y1 + d} }

func (r engRect) clip(h, w int) engRect {
	r = engRect{max(r.X0, 0), max(r.Y0, 0), min(r.X1, w), min(r.Y1, h)}
	if r.empty() {
		return engRect{}
	}
	return r
}

// engGeom is the padded layout of one H×W feature map: every channel is a
// plane of (H+2)×(W+2) values with a zero border, plus 2 values of slack,
// so that a 3×3 convolution is 9 GEMMs over shifted windows of the same
// buffer (no im2col), and the outputs of a GEMM over H rows of W+2
// values land on the next layer's padded positions (the 2 extra columns
// per row are junk written over the border, zeroed afterwards).
type engGeom struct{ H, W, PW, Plane int }

func newEngGeom(h, w int) engGeom { return engGeom{H: h, W: w, PW: w + 2, Plane: (h+2)*(w+2) + 2} }

// pos is the index of pixel (y, x) in a plane.
func (g engGeom) pos(y, x int) int { return (y+1)*g.PW + x + 1 }

// origin is pos(0, 0), where GEMM outputs start.
func (g engGeom) origin() int { return g.PW + 1 }

// span is the GEMM width covering all rows: H rows of PW values.
func (g engGeom) span() int { return g.H * g.PW }

// tapOffset is where the window of tap (dy, dx) starts, relative to the
// output window at origin.
func (g engGeom) tapOffset(t int) int { return (t/3)*g.PW + t%3 }

// engShiftConv3 accumulates a 3×3 convolution (padding 1) over the padded
// input in (inC channels, layout g) into out (outC channels, same
// layout), as 9 GEMMs with the tap-major weights w [9][outC][inC]:
// out = alpha·conv + beta·out. Junk border values are left for the
// caller to clear.
func engShiftConv3(g engGeom, w []float32, outC, inC int, alpha float32, in []float32, beta float32, out []float32) {
	span := g.span()
	o := g.origin()
	// Bands of rows keep the output block in cache across the 9 taps.
	rows := g.H
	if per := outC * g.PW * 4; per > 0 {
		rows = max(1, min(g.H, (4<<20)/per))
	}
	for y0 := 0; y0 < g.H; y0 += rows {
		q0 := y0 * g.PW
		n := min(rows*g.PW, span-q0)
		for t := 0; t < 9; t++ {
			b := beta
			if t > 0 {
				b = 1
			}
			engPsgemm(outC, n, inC, alpha, w[t*outC*inC:], inC, in[g.tapOffset(t)+q0:], g.Plane, b, out[o+q0:], g.Plane)
		}
	}
}

// engIm2colConv3 is engShiftConv3 for weights in PyTorch's layout
// [outC][inC][3][3], used where a tap-major or Winograd copy of the
// weights would cost too much memory (the wide layers at low resolution):
// it copies bands of the 9 shifted windows into col (contiguous copies
// thanks to the padded layout) and runs one GEMM per band and weight,
// K = 9·inC. Each weight in ws has outC rows and writes the next outC
// channels of out.
func engIm2colConv3(g engGeom, ws [][]float32, outC, inC int, alpha float32, in []float32, beta float32, out []float32, col []float32) {
	span := g.span()
	o := g.origin()
	k := 9 * inC
	nb := min(span, max(len(col)/k, 1))
	for q0 := 0; q0 < span; q0 += nb {
		n := min(nb, span-q0)
		engParallel(inC, func(lo, hi int) {
			for ci := lo; ci < hi; ci++ {
				src := in[ci*g.Plane+q0:]
				for t := 0; t < 9; t++ {
					off := g.tapOffset(t)
					copy(col[(ci*9+t)*n:(ci*9+t)*n+n], src[off:off+n])
				}
			}
		})
		for i, w := range ws {
			engPsgemm(outC, n, k, alpha, w, k, col, n, beta, out[i*outC*g.Plane+o+q0:], g.Plane)
		}
	}
}

// engIm2colConv3Compact is engIm2colConv3 for one weight on a small map
// whose whole im2col fits col (9·inC·H·W floats): the columns hold only
// the H·W pixels, not the 2 border columns per row that the padded span
// adds (a quarter more GEMM work at 8×8), and the GEMM writes tmp
// (outC·H·W) before out = tmp + beta·out over the pixels.
func engIm2colConv3Compact(g engGeom, w []float32, outC, inC int, alpha float32, in []float32, beta float32, out, col, tmp []float32) {
	hw := g.H * g.W
	engParallel(inC, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			src := in[ci*g.Plane:]
			for t := 0; t < 9; t++ {
				off := g.tapOffset(t)
				c := col[(ci*9+t)*hw : (ci*9+t+1)*hw]
				for y := 0; y < g.H; y++ {
					copy(c[y*g.W:(y+1)*g.W], src[off+y*g.PW:])
				}
			}
		}
	})
	k := 9 * inC
	engPsgemm(outC, hw, k, alpha, w, k, col, hw, 0, tmp, hw)
	engParallel(outC, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for y := 0; y < g.H; y++ {
				s := tmp[o*hw+y*g.W : o*hw+(y+1)*g.W]
				d := out[o*g.Plane+g.pos(y, 0) : o*g.Plane+g.pos(y, 0)+g.W]
				if beta == 0 {
					copy(d, s)
					continue
				}
				for x, v := range s {
					d[x] = v + beta*d[x]
				}
			}
		}
	})
}

// engConv1x1 is out = alpha·W·in + beta·out over the GEMM span.
func engConv1x1(g engGeom, w []float32, outC, inC int, alpha float32, in []float32, beta float32, out []float32) {
	o := g.origin()
	engPsgemm(outC, g.span(), inC, alpha, w, inC, in[o:], g.Plane, beta, out[o:], g.Plane)
}

// engLeaky is the SPADE leaky ReLU (slope 0.2).
func engLeaky(v float32) float32 {
	if v < 0 {
		return v * leakySlope
	}
	return v
}

// engUpsample2 writes the nearest ×2 upsampling of src (layout gs) into dst
// (layout gd = 2×gs) for channels [c0, c1), with dst's zero border.
func engUpsample2(gs, gd engGeom, src, dst []float32, c0, c1 int) {
	for c := c0; c < c1; c++ {
		s := src[c*gs.Plane : (c+1)*gs.Plane]
		d := dst[c*gd.Plane : (c+1)*gd.Plane]
		clear(d[:gd.origin()])
		for y := 0; y < gd.H; y++ {
			drow := d[gd.pos(y, 0) : gd.pos(y, 0)+gd.W+2]
			if y&1 == 1 {
				copy(drow, d[gd.pos(y-1, 0):]) // the row above, border included
				continue
			}
			srow := s[gs.pos(y>>1, 0) : gs.pos(y>>1, 0)+gs.W]
			if gd.W == 2*gs.W {
				for x, v := range srow {
					p := drow[2*x : 2*x+2 : 2*x+2]
					p[0], p[1] = v, v
				}
			} else {
				for x := range drow[:gd.W] {
					drow[x] = srow[x>>1]
				}
			}
			drow[gd.W], drow[gd.W+1] = 0, 0
		}
		clear(d[gd.origin()+gd.span():])
	}
}

// engPlaneStats returns the mean and 1/sqrt(var+eps) of channel planes over
// their pixels (the border is zero, so sums over the plane are sums over
// the pixels), as instance norm needs; float64 sums.
func engPlaneStats(g engGeom, buf []float32, c int, mean, rstd []float32) {
	engParallel(c, func(lo, hi int) {
		n := float64(g.H * g.W)
		for ch := lo; ch < hi; ch++ {
			p := buf[ch*g.Plane : (ch+1)*g.Plane]
			var s1, s2 float64
			for _, v := range p {
				f := float64(v)
				s1 += f
				s2 += f * f
			}
			m := s1 / n
			v := max(s2/n-m*m, 0)
			mean[ch] = float32(m)
			rstd[ch] = float32(1 / math.Sqrt(v+normEps))
		}
	})
}

// engModulate writes dst = [lrelu](norm(x)·A + B) for channels [0, c) where
// ab holds A in its first c planes and B in the next c; norm is the
// identity for batch norm (folded into A and B) or (x−mean)·rstd for
// instance norm. A and B are zero on the border, so dst's border is too.
func engModulate(g engGeom, x, ab []float32, c int, mean, rstd []float32, relu bool, dst []float32) {
	engModulateRange(g, x, ab, c, 0, c, mean, rstd, relu, dst)
}

// engModulateRange is engModulate for channels [c0, c1) of x (of c), into
// channels [0, c1−c0) of dst.
func engModulateRange(g engGeom, x, ab []float32, c, c0, c1 int, mean, rstd []float32, relu bool, dst []float32) {
	pl := g.Plane
	engParallel(c1-c0, func(lo, hi int) {
		for ch := c0 + lo; ch < c0+hi; ch++ {
			xs := x[ch*pl : (ch+1)*pl]
			as := ab[ch*pl : (ch+1)*pl]
			bs := ab[(c+ch)*pl : (c+ch+1)*pl]
			ds := dst[(ch-c0)*pl : (ch-c0+1)*pl]
			var m, r float32 = 0, 1
			if mean != nil {
				m, r = mean[ch], rstd[ch]
			}
			engMod(ds[:len(xs)], xs, as, bs, m, r, relu)
		}
	})
}

// engModGo is engMod in Go. With m = 0 and rs = 1 it is x·a + b exactly.
func engModGo(dst, x, a, b []float32, m, rs float32, relu bool) {
	x, a, b = x[:len(dst)], a[:len(dst)], b[:len(dst)]
	if relu {
		for i, v := range x {
			dst[i] = engLeaky((v-m)*rs*a[i] + b[i])
		}
		return
	}
	for i, v := range x {
		dst[i] = (v-m)*rs*a[i] + b[i]
	}
}

// engSum9Go is engSum9 in Go for dst = the values from index off on.
func engSum9Go(dst []float32, rows *[9][]float32, off int, floor float32) {
	n := len(dst)
	r0, r1, r2 := rows[0][off:off+n], rows[1][off:off+n], rows[2][off:off+n]
	r3, r4, r5 := rows[3][off:off+n], rows[4][off:off+n], rows[5][off:off+n]
	r6, r7, r8 := rows[6][off:off+n], rows[7][off:off+n], rows[8][off:off+n]
	for i := range dst {
		s := (r0[i] + r2[i] + r4[i] + r6[i] + r8[i]) + (r1[i] + r3[i] + r5[i] + r7[i])
		dst[i] = max(s, floor)
	}
}

// engGather is a 3×3 convolution (padding 1) whose input is a one-hot
// label map, possibly with the instance edge channel: instead of
// im2col+GEMM over semantic_nc channels it sums, for each pixel, the
// weight columns of the class found under each of the 9 taps:
//
//	out[·, y, x] = b + Σ_taps W[·, class(y+dy, x+dx), tap] (+ W[·, edge, tap] on edges)
//
// Pixels are coded as class·2 + edge with instance edges, class without.
// The table holds, per tap and code, the nout weights (a row), plus a
// zero row per tap for taps that fall outside the image; the bias is
// folded into the centre tap, which is always inside.
type engGather struct {
	nout   int
	ncodes int
	tab    []float32 // [9][ncodes+1][nout]
	floor  float32   // 0 for a ReLU, −Inf for none
	rowBuf [][]float32
}

// newEngGather builds the table from a conv weight [nout][snc][3][3].
func newEngGather(c Config, w, bias []float32, nout int, relu bool) *engGather {
	ncodes := LabelCodeCount(c)
	g := &engGather{nout: nout, ncodes: ncodes, tab: make([]float32, 9*(ncodes+1)*nout), floor: float32(math.Inf(-1))}
	if relu {
		g.floor = 0
	}
	for t := 0; t < 9; t++ {
		for code := 0; code < ncodes; code++ {
			row := g.tab[(t*(ncodes+1)+code)*nout : (t*(ncodes+1)+code+1)*nout]
			for o := range row {
				row[o] = GatherEntry(c, w, bias, o, t, code)
			}
		}
	}
	return g
}

// run writes the outputs at the positions of box sub (which may extend
// past the h×w code map: those positions get 0) into dst, where pixel
// (y, x) of channel o is dst[o·plane + off + (y−sub.Y0)·pw + (x−sub.X0)].
func (gc *engGather) run(codes []uint16, h, w int, sub engRect, dst []float32, plane, pw, off int) {
	nc1 := gc.ncodes + 1
	bw := sub.dx()
	nout := gc.nout
	if len(gc.rowBuf) < engWorkers() {
		gc.rowBuf = make([][]float32, engWorkers())
	}
	engParallelW(sub.dy(), func(wk, lo, hi int) {
		if len(gc.rowBuf[wk]) < bw*nout {
			gc.rowBuf[wk] = make([]float32, bw*nout)
		}
		buf := gc.rowBuf[wk][:bw*nout]
		var rows [9][]float32
		for yy := lo; yy < hi; yy++ {
			y := sub.Y0 + yy
			rowOff := off + yy*pw
			if y < 0 || y >= h {
				for o := 0; o < nout; o++ {
					clear(dst[o*plane+rowOff : o*plane+rowOff+bw])
				}
				continue
			}
			// Pixels of this row inside the image: [xa, xb) of the box.
			xa, xb := max(0, -sub.X0), min(bw, w-sub.X0)
			for j := xa; j < xb; j++ {
				x := sub.X0 + j
				for t := 0; t < 9; t++ {
					sy, sx := y+t/3-1, x+t%3-1
					code := gc.ncodes
					if sy >= 0 && sy < h && sx >= 0 && sx < w {
						code = int(codes[sy*w+sx])
					}
					r := (t*nc1 + code) * nout
					rows[t] = gc.tab[r : r+nout]
				}
				engSum9(buf[j*nout:(j+1)*nout], &rows, gc.floor)
			}
			// Transpose the row [bw][nout] into the planes, 8 at a time.
			o := 0
			for ; o+8 <= nout; o += 8 {
				var d [8][]float32
				for k := range d {
					d[k] = dst[(o+k)*plane+rowOff : (o+k)*plane+rowOff+bw]
					clear(d[k][:xa])
					clear(d[k][xb:])
				}
				d0, d1, d2, d3, d4, d5, d6, d7 := d[0][:xb], d[1][:xb], d[2][:xb], d[3][:xb], d[4][:xb], d[5][:xb], d[6][:xb], d[7][:xb]
				for j := xa; j < xb; j++ {
					s := buf[j*nout+o : j*nout+o+8 : j*nout+o+8]
					d0[j], d1[j], d2[j], d3[j] = s[0], s[1], s[2], s[3]
					d4[j], d5[j], d6[j], d7[j] = s[4], s[5], s[6], s[7]
				}
			}
			for ; o < nout; o++ {
				d := dst[o*plane+rowOff : o*plane+rowOff+bw]
				clear(d[:xa])
				clear(d[xb:])
				for j := xa; j < xb; j++ {
					d[j] = buf[j*nout+o]
				}
			}
		}
	})
}

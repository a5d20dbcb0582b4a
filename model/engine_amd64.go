package model

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var engHaveAVX2 = cpu.X86.HasAVX2

//go:noescape
func engSum9AVX2(dst *float32, rows *[9]*float32, n int, floor float32)

// engSum9 writes dst[i] = max(Σ_t rows[t][i], floor) for i < len(dst).
func engSum9(dst []float32, rows *[9][]float32, floor float32) {
	n := len(dst)
	done := 0
	if engHaveAVX2 && n >= 8 {
		var p [9]*float32
		for t := range p {
			p[t] = unsafe.SliceData(rows[t])
		}
		engSum9AVX2(unsafe.SliceData(dst), &p, n, floor)
		done = n &^ 7
	}
	engSum9Go(dst[done:], rows, done, floor)
}

var engHaveFMA = engHaveAVX2 && cpu.X86.HasFMA

//go:noescape
func winoB6AVX2(dst *float32, stride int, src *[6]*float32, n int)

//go:noescape
func winoA4AVX2(dst *float32, stride int, src *[6]*float32, n int)

// winoB6 writes dst[r·stride+i] = Σ_c Bᵀ[r][c]·src[c][i] for r < 6, i < n.
func winoB6(dst []float32, stride int, src *[6][]float32, n int) {
	done := 0
	if engHaveFMA && n >= 8 {
		var p [6]*float32
		for c := range p {
			p[c] = unsafe.SliceData(src[c])
		}
		winoB6AVX2(unsafe.SliceData(dst), stride, &p, n)
		done = n &^ 7
	}
	winoB6Go(dst, stride, src, done, n)
}

// winoA4 writes dst[a·stride+i] = Σ_c Aᵀ[a][c]·src[c][i] for a < 4, i < n.
func winoA4(dst []float32, stride int, src *[6][]float32, n int) {
	done := 0
	if engHaveFMA && n >= 8 {
		var p [6]*float32
		for c := range p {
			p[c] = unsafe.SliceData(src[c])
		}
		winoA4AVX2(unsafe.SliceData(dst), stride, &p, n)
		done = n &^ 7
	}
	winoA4Go(dst, stride, src, done, n)
}

//go:noescape
func winoLoadAVX2(dst *float32, L int, x, a, b *float32, nblk int, m, rs float32, mode int)

// winoLoadSIMD does the first blocks of 32 values of winoLoadRow, returns
// how many values it did.
func winoLoadSIMD(row []float32, L int, src, a, b []float32, m, rs float32, relu bool) int {
	nblk := len(src) / 32
	if !engHaveAVX2 || nblk == 0 {
		return 0
	}
	mode := 0
	if relu {
		mode = 3
	}
	var pa, pb *float32
	if a != nil {
		mode = 1
		if relu {
			mode = 2
		}
		pa, pb = unsafe.SliceData(a), unsafe.SliceData(b)
	}
	_ = row[3*L+8*nblk-1]
	winoLoadAVX2(unsafe.SliceData(row), L, unsafe.SliceData(src), pa, pb, nblk, m, rs, mode)
	return 32 * nblk
}

//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int, alpha float32)

//go:noescape
func sgemmKernel12x32(k int, a, b, c *float32, ldc int, alpha float32)

//go:noescape
func sgemmKernel12x32U(k int, a *float32, lda int, b, c *float32, ldc int, alpha float32)

//go:noescape
func sgemmKernel6x16U(k int, a *float32, lda int, b, c *float32, ldc int, alpha float32)

// gemmKernelU is gemmKernel reading a full panel of A in place (rows
// a[r·lda : r·lda+kc] for r < gemmMR), without packing.
func gemmKernelU(kc int, a []float32, lda int, bp, c []float32, ldc int, alpha float32) {
	_ = a[(gemmMR-1)*lda+kc-1]
	_ = bp[kc*gemmNR-1]
	_ = c[(gemmMR-1)*ldc+gemmNR-1]
	if gemmMR == 12 {
		sgemmKernel12x32U(kc, unsafe.SliceData(a), lda, unsafe.SliceData(bp), unsafe.SliceData(c), ldc, alpha)
		return
	}
	sgemmKernel6x16U(kc, unsafe.SliceData(a), lda, unsafe.SliceData(bp), unsafe.SliceData(c), ldc, alpha)
}

// engHaveAVX512 selects the 12×32 AVX-512 GEMM kernel.
var engHaveAVX512 = engHaveFMA && cpu.X86.HasAVX512F

// gemmKernel adds alpha·(packed A panel · packed B panel) to the
// gemmMR×gemmNR tile of c at its start.
func gemmKernel(kc int, ap, bp, c []float32, ldc int, alpha float32) {
	_ = ap[kc*gemmMR-1]
	_ = bp[kc*gemmNR-1]
	_ = c[(gemmMR-1)*ldc+gemmNR-1]
	if gemmMR == 12 {
		sgemmKernel12x32(kc, unsafe.SliceData(ap), unsafe.SliceData(bp), unsafe.SliceData(c), ldc, alpha)
		return
	}
	sgemmKernel6x16(kc, unsafe.SliceData(ap), unsafe.SliceData(bp), unsafe.SliceData(c), ldc, alpha)
}

//go:noescape
func engModAVX2(dst, x, a, b *float32, n int, m, rs float32, relu int)

// engMod writes dst[i] = [lrelu]((x[i]−m)·rs·a[i] + b[i]) for i < len(dst).
func engMod(dst, x, a, b []float32, m, rs float32, relu bool) {
	n := len(dst)
	x, a, b = x[:n], a[:n], b[:n]
	done := 0
	if engHaveAVX2 && n >= 8 {
		r := 0
		if relu {
			r = 1
		}
		engModAVX2(unsafe.SliceData(dst), unsafe.SliceData(x), unsafe.SliceData(a), unsafe.SliceData(b), n, m, rs, r)
		done = n &^ 7
	}
	engModGo(dst[done:], x[done:], a[done:], b[done:], m, rs, relu)
}

//go:noescape
func convImgAVX512(r0, r1, r2 *float32, cs int, w *float32, nin int, out *float32, os int)

// engConvImgBlock is the 3-output direct conv of convImgAVX512 over the
// 128 pixels at rows[dy][x0:] (dy < 3; channel c at c·cs), weights w
// [nin][9][3], into out[o·os + j]; false without AVX-512.
func engConvImgBlock(rows *[3][]float32, x0, cs int, w []float32, nin int, out []float32, os int) bool {
	if !engHaveAVX512 {
		return false
	}
	for dy := range rows {
		_ = rows[dy][(nin-1)*cs+x0+129]
	}
	_ = w[27*nin-1]
	_ = out[2*os+127]
	convImgAVX512(&rows[0][x0], &rows[1][x0], &rows[2][x0], cs, unsafe.SliceData(w), nin, unsafe.SliceData(out), os)
	return true
}

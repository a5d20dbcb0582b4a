package model

import "sync"

// The engine's own single-threaded SGEMM for builds without OpenBLAS: the
// classic packed design (Goto & van de Geijn) around a 6×16 AVX2/FMA
// micro-kernel (engine_amd64.s), several times faster than gonum's pure-Go
// kernels; the engine parallelises over GEMM calls itself (engPsgemm,
// Winograd's 36 GEMMs). Without AVX2 it falls back to gonum.

const (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256
	gemmMC = 72
	gemmNC = 2048
)

// gemmBufs are the packing buffers, one set per concurrent call.
var gemmBufs = sync.Pool{New: func() any {
	return &gemmBuf{a: make([]float32, gemmMC*gemmKC), b: make([]float32, gemmKC*gemmNC), c: make([]float32, gemmMR*gemmNR)}
}}

type gemmBuf struct{ a, b, c []float32 }

// engGemmKernel reports whether engSgemmGo can run (amd64 with AVX2 and FMA).
func engGemmKernel() bool { return engHaveFMA }

// engSgemmGo is C = alpha·A·B + beta·C (row-major, no transposes).
func engSgemmGo(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta != 1 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	buf := gemmBufs.Get().(*gemmBuf)
	defer gemmBufs.Put(buf)
	for j0 := 0; j0 < n; j0 += gemmNC {
		nc := min(gemmNC, n-j0)
		for k0 := 0; k0 < k; k0 += gemmKC {
			kc := min(gemmKC, k-k0)
			packB(buf.b, b, ldb, k0, kc, j0, nc)
			for i0 := 0; i0 < m; i0 += gemmMC {
				mc := min(gemmMC, m-i0)
				packA(buf.a, a, lda, i0, mc, k0, kc)
				for jp := 0; jp < nc; jp += gemmNR {
					nr := min(gemmNR, nc-jp)
					bp := buf.b[(jp/gemmNR)*kc*gemmNR:]
					for ip := 0; ip < mc; ip += gemmMR {
						mr := min(gemmMR, mc-ip)
						ap := buf.a[(ip/gemmMR)*kc*gemmMR:]
						ci := (i0+ip)*ldc + j0 + jp
						if mr == gemmMR && nr == gemmNR {
							gemmKernel(kc, ap, bp, c[ci:], ldc, alpha)
							continue
						}
						// Edge tile: through a full-size scratch tile.
						t := buf.c
						clear(t)
						gemmKernel(kc, ap, bp, t, gemmNR, alpha)
						for r := 0; r < mr; r++ {
							row := c[ci+r*ldc : ci+r*ldc+nr]
							for j := range row {
								row[j] += t[r*gemmNR+j]
							}
						}
					}
				}
			}
		}
	}
}

// packB copies B[k0:k0+kc][j0:j0+nc] into panels of 16 columns,
// [panel][kk][16], zero-padded.
func packB(dst, b []float32, ldb, k0, kc, j0, nc int) {
	for jp := 0; jp < nc; jp += gemmNR {
		nr := min(gemmNR, nc-jp)
		p := dst[(jp/gemmNR)*kc*gemmNR : (jp/gemmNR+1)*kc*gemmNR]
		for kk := 0; kk < kc; kk++ {
			src := b[(k0+kk)*ldb+j0+jp : (k0+kk)*ldb+j0+jp+nr]
			d := p[kk*gemmNR : kk*gemmNR+gemmNR]
			copy(d, src)
			clear(d[nr:])
		}
	}
}

// packA copies A[i0:i0+mc][k0:k0+kc] into panels of 6 rows,
// [panel][kk][6], zero-padded.
func packA(dst, a []float32, lda, i0, mc, k0, kc int) {
	for ip := 0; ip < mc; ip += gemmMR {
		mr := min(gemmMR, mc-ip)
		p := dst[(ip/gemmMR)*kc*gemmMR : (ip/gemmMR+1)*kc*gemmMR]
		for r := 0; r < gemmMR; r++ {
			if r >= mr {
				for kk := 0; kk < kc; kk++ {
					p[kk*gemmMR+r] = 0
				}
				continue
			}
			src := a[(i0+ip+r)*lda+k0 : (i0+ip+r)*lda+k0+kc]
			for kk, v := range src {
				p[kk*gemmMR+r] = v
			}
		}
	}
}

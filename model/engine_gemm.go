package model

// The engine's own single-threaded SGEMM: the classic blocked design
// (Goto & van de Geijn) around a 6×16 AVX2/FMA or 12×32 AVX-512
// micro-kernel (engine_amd64.s). Without OpenBLAS it replaces gonum's
// pure-Go kernels (4–7× faster); with AVX-512 it also beats OpenBLAS
// 0.3.21's AVX2 kernels, which it runs on AMD Zen 4/5 (1.2–1.7×). The
// engine parallelises over GEMM calls itself (engPsgemm, Winograd's 36
// GEMMs). Without AVX2 the engine uses the build's BLAS.

// The micro-kernel's tile (gemmMR×gemmNR: 6×16 with AVX2, 12×32 with
// AVX-512) and the cache blocks around it.
var (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256
	gemmMC = 72
	gemmNC = 2048
)

func init() {
	if engHaveAVX512 {
		gemmMR, gemmNR, gemmMC = 12, 32, 96
	}
}

// gemmFree keeps the packing buffers, one set per concurrent call, for
// good (a sync.Pool would drop them at every GC).
var gemmFree = make(chan *gemmBuf, 64)

func gemmGet() *gemmBuf {
	select {
	case b := <-gemmFree:
		return b
	default:
		return &gemmBuf{a: make([]float32, gemmMC*gemmKC), b: make([]float32, gemmKC*gemmNC), c: make([]float32, gemmMR*gemmNR)}
	}
}

func gemmPut(b *gemmBuf) {
	select {
	case gemmFree <- b:
	default:
	}
}

type gemmBuf struct{ a, b, c []float32 }

// engGemmKernel reports whether engSgemmGo can run (amd64 with AVX2 and FMA).
func engGemmKernel() bool { return engHaveFMA }

// engSgemmGo is C = alpha·A·B + beta·C (row-major, no transposes).
func engSgemmGo(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	engSgemmGoB(m, n, k, alpha, a, lda, func(dst []float32, k0, kc, j0, nc int) { packB(dst, b, ldb, k0, kc, j0, nc) }, beta, c, ldc)
}

// gemmPacker writes rows [k0, k0+kc) × columns [j0, j0+nc) of a GEMM's
// B into dst in panels of gemmNR columns, [panel][kk][gemmNR], zero-padded
// (as packB does for a stored B): it lets a caller build B as it packs it.
type gemmPacker func(dst []float32, k0, kc, j0, nc int)

// engSgemmGoB is engSgemmGo with B given by its packer.
func engSgemmGoB(m, n, k int, alpha float32, a []float32, lda int, pack gemmPacker, beta float32, c []float32, ldc int) {
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
	buf := gemmGet()
	defer gemmPut(buf)
	for j0 := 0; j0 < n; j0 += gemmNC {
		nc := min(gemmNC, n-j0)
		for k0 := 0; k0 < k; k0 += gemmKC {
			kc := min(gemmKC, k-k0)
			pack(buf.b, k0, kc, j0, nc)
			// Full panels of 6 or 12 rows of A are read in place (A is
			// often the stored weights: packing them each call would cost
			// as much as half the multiplies); the last, partial panel is
			// packed with zero rows.
			for i0 := 0; i0 < m; i0 += gemmMC {
				mc := min(gemmMC, m-i0)
				full := mc / gemmMR * gemmMR
				if full < mc {
					packA(buf.a, a, lda, i0+full, mc-full, k0, kc)
				}
				for jp := 0; jp < nc; jp += gemmNR {
					nr := min(gemmNR, nc-jp)
					bp := buf.b[(jp/gemmNR)*kc*gemmNR:]
					for ip := 0; ip < mc; ip += gemmMR {
						mr := min(gemmMR, mc-ip)
						ci := (i0+ip)*ldc + j0 + jp
						if mr == gemmMR && nr == gemmNR {
							gemmKernelU(kc, a[(i0+ip)*lda+k0:], lda, bp, c[ci:], ldc, alpha)
							continue
						}
						// Edge tile: through a full-size scratch tile.
						t := buf.c
						clear(t)
						if mr == gemmMR {
							gemmKernelU(kc, a[(i0+ip)*lda+k0:], lda, bp, t, gemmNR, alpha)
						} else {
							gemmKernel(kc, buf.a, bp, t, gemmNR, alpha)
						}
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

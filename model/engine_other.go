//go:build !amd64

package model

// engSum9 writes dst[i] = max(Σ_t rows[t][i], floor) for i < len(dst).
func engSum9(dst []float32, rows *[9][]float32, floor float32) { engSum9Go(dst, rows, 0, floor) }

func winoB6(dst []float32, stride int, src *[6][]float32, n int) { winoB6Go(dst, stride, src, 0, n) }
func winoA4(dst []float32, stride int, src *[6][]float32, n int) { winoA4Go(dst, stride, src, 0, n) }

func winoLoadSIMD(row []float32, L int, src, a, b []float32, m, rs float32, relu bool) int { return 0 }

var engHaveFMA, engHaveAVX512 = false, false

func gemmKernel(kc int, ap, bp, c []float32, ldc int, alpha float32) { panic("no GEMM kernel") }

func gemmKernelU(kc int, a []float32, lda int, bp, c []float32, ldc int, alpha float32) {
	panic("no GEMM kernel")
}

// engMod writes dst[i] = [lrelu]((x[i]−m)·rs·a[i] + b[i]) for i < len(dst).
func engMod(dst, x, a, b []float32, m, rs float32, relu bool) { engModGo(dst, x, a, b, m, rs, relu) }

func engConvImgBlock(rows *[3][]float32, x0, cs int, w []float32, nin int, out []float32, os int) bool {
	return false
}

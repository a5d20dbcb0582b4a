//go:build openblas

package model

import (
	"strings"

	"gonum.org/v1/netlib/blas/netlib"

	"spadepaint/model/engineblas"
)

// The engine's GEMMs use OpenBLAS in builds tagged openblas, as gorgonia
// does (blas_openblas.go). The engine splits its GEMMs over its own
// goroutines, so during a render OpenBLAS runs single-threaded: its own
// worker threads would otherwise spin between the engine's many GEMM
// calls and take a core from the engine's transforms.
func init() {
	engBLAS = netlib.Implementation{}
	// The engine's AVX-512 kernel beats OpenBLAS's AVX2 kernels (which
	// OpenBLAS 0.3.21 runs on AMD Zen 4/5, or where OPENBLAS_CORETYPE
	// asks for them) by 1.2–1.7×; OpenBLAS's own AVX-512 kernels win.
	engOwnGemm = engHaveAVX512 && !openblasAVX512(engineblas.Core())
	engBLASName = "OpenBLAS (" + engineblas.Core() + ")"
	engBLASSerial = func() func() {
		n := engineblas.Threads()
		if n == 1 {
			return func() {}
		}
		engineblas.SetThreads(1)
		return func() { engineblas.SetThreads(n) }
	}
}

// openblasAVX512 reports whether an OpenBLAS core runs AVX-512 kernels.
func openblasAVX512(core string) bool {
	switch strings.ToLower(core) {
	case "skylakex", "cooperlake", "sapphirerapids", "zen4", "zen5":
		return true
	}
	return false
}

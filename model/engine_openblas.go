//go:build openblas

package model

import (
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
	engOwnGemm = false
	engBLASSerial = func() func() {
		n := engineblas.Threads()
		if n == 1 {
			return func() {}
		}
		engineblas.SetThreads(1)
		return func() { engineblas.SetThreads(n) }
	}
}

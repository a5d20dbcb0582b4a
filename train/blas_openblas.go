//go:build openblas

package train

import "spadepaint/model/engineblas"

// serialBLAS makes OpenBLAS single-threaded while training and returns
// the restore. A training step interleaves hundreds of GEMMs with the
// im2col, norm and elementwise work that runs on every core in Go;
// OpenBLAS's own threads spin between calls and take those cores (on 2
// cores a 128² step takes 0.47 CPU-s single-threaded, 0.5–1.0 with two
// OpenBLAS threads, and longer on the clock).
func serialBLAS() (restore func()) {
	n := engineblas.Threads()
	if n == 1 {
		return func() {}
	}
	engineblas.SetThreads(1)
	return func() { engineblas.SetThreads(n) }
}

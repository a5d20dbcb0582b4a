//go:build !openblas

package train

// serialBLAS: gonum's BLAS has no threads of its own to tame.
func serialBLAS() (restore func()) { return func() {} }

//go:build !openblas

package eval

import "gonum.org/v1/gonum/blas/gonum"

// segBLAS runs the segmentation network's GEMMs: gonum's pure-Go kernels,
// or OpenBLAS in builds tagged openblas (blas_openblas.go), as the model
// package does.
var segBLAS = gonum.Implementation{}

// BLASName says which BLAS the segmentation network uses.
const BLASName = "gonum (pure Go)"

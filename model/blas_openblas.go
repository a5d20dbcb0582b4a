//go:build openblas

package model

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// Convolutions are im2col + GEMM; OpenBLAS runs the GEMMs 3–5× faster
// than gonum's pure-Go kernels on this class of machine. gorgonia keeps
// its BLAS choice process-wide, so it is made once here, at start-up, in
// builds tagged openblas (the Makefile adds the tag when the library is
// installed).
func init() { G.Use(netlib.Implementation{}) }

// BLASName says which BLAS runs the convolutions.
const BLASName = "OpenBLAS"

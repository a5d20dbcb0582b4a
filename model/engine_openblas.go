//go:build openblas

package model

import "gonum.org/v1/netlib/blas/netlib"

// The engine's GEMMs use OpenBLAS in builds tagged openblas, as gorgonia
// does (blas_openblas.go).
func init() { engBLAS = netlib.Implementation{} }

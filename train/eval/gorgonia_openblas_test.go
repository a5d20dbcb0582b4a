//go:build openblas

package eval

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// gorgonia on OpenBLAS too, as the model package sets it up, for a fair
// BenchmarkSegFwdBwdGorgonia.
func init() { G.Use(netlib.Implementation{}) }

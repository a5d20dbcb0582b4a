//go:build openblas

package eval

import "gonum.org/v1/netlib/blas/netlib"

// segBLAS runs the segmentation network's GEMMs on OpenBLAS.
var segBLAS = netlib.Implementation{}

// BLASName says which BLAS the segmentation network uses.
const BLASName = "OpenBLAS"

//go:build !openblas

package model

// BLASName says which BLAS runs the convolutions.
const BLASName = "gonum (pure Go)"

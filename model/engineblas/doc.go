// Package engineblas controls OpenBLAS's own threading for the model
// package's inference engine, in builds tagged openblas; without the tag
// it is empty.
package engineblas

//go:build !amd64

package model

// engSum9 writes dst[i] = max(Σ_t rows[t][i], floor) for i < len(dst).
func engSum9(dst []float32, rows *[9][]float32, floor float32) { engSum9Go(dst, rows, 0, floor) }

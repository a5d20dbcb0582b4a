package model

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var haveAVX2 = cpu.X86.HasAVX2

//go:noescape
func sum9AVX2(dst *float32, rows *[9]*float32, n int, floor float32)

// sum9 writes dst[i] = max(Σ_t rows[t][i], floor) for i < len(dst).
func sum9(dst []float32, rows *[9][]float32, floor float32) {
	n := len(dst)
	done := 0
	if haveAVX2 && n >= 8 {
		var p [9]*float32
		for t := range p {
			p[t] = unsafe.SliceData(rows[t])
		}
		sum9AVX2(unsafe.SliceData(dst), &p, n, floor)
		done = n &^ 7
	}
	sum9Go(dst[done:], rows, done, floor)
}

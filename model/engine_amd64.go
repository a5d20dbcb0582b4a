package model

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var engHaveAVX2 = cpu.X86.HasAVX2

//go:noescape
func engSum9AVX2(dst *float32, rows *[9]*float32, n int, floor float32)

// engSum9 writes dst[i] = max(Σ_t rows[t][i], floor) for i < len(dst).
func engSum9(dst []float32, rows *[9][]float32, floor float32) {
	n := len(dst)
	done := 0
	if engHaveAVX2 && n >= 8 {
		var p [9]*float32
		for t := range p {
			p[t] = unsafe.SliceData(rows[t])
		}
		engSum9AVX2(unsafe.SliceData(dst), &p, n, floor)
		done = n &^ 7
	}
	engSum9Go(dst[done:], rows, done, floor)
}

// Package nd holds the plain n-dimensional array that the file formats
// (npy, safetensors, PyTorch .pth) read and write. It knows nothing of
// gorgonia, so the loaders stay small and fuzzable.
package nd

import (
	"fmt"
	"math"
)

// DType is the element type of an Array.
type DType int

const (
	Float32 DType = iota
	Int64
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Array is a dense row-major array. Exactly one of F32 and I64 holds the
// data, chosen by DType.
type Array struct {
	Shape []int
	DType DType
	F32   []float32
	I64   []int64
}

// Size is the number of elements the shape describes.
func (a *Array) Size() int { return ShapeSize(a.Shape) }

// ShapeSize multiplies the dimensions; a scalar (no dimensions) has one element.
func ShapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// NewF32 wraps data in a float32 array, checking that the shape fits.
func NewF32(shape []int, data []float32) (*Array, error) {
	if ShapeSize(shape) != len(data) {
		return nil, fmt.Errorf("shape %v needs %d elements, have %d", shape, ShapeSize(shape), len(data))
	}
	return &Array{Shape: append([]int(nil), shape...), DType: Float32, F32: data}, nil
}

// NewI64 wraps data in an int64 array, checking that the shape fits.
func NewI64(shape []int, data []int64) (*Array, error) {
	if ShapeSize(shape) != len(data) {
		return nil, fmt.Errorf("shape %v needs %d elements, have %d", shape, ShapeSize(shape), len(data))
	}
	return &Array{Shape: append([]int(nil), shape...), DType: Int64, I64: data}, nil
}

// ShapeString formats a shape the way PyTorch prints it, for error messages.
func ShapeString(shape []int) string {
	s := "("
	for i, d := range shape {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(d)
	}
	if len(shape) == 1 {
		s += ","
	}
	return s + ")"
}

// HalfToFloat32 converts IEEE 754 binary16 bits to a float32 (the float16
// tensors of npy, safetensors and .pth files).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0: // signed zero
		return math.Float32frombits(sign)
	}
	e := uint32(113) // subnormal half: normalise it, float32 has the range
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
}

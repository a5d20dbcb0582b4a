// Package nd holds the plain n-dimensional array that the file formats
// (npy, safetensors, PyTorch .pth) read and write. It knows nothing of
// gorgonia, so the loaders stay small and fuzzable.
package nd

import (
	"fmt"
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

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

// Float32ToHalf converts a float32 to IEEE 754 binary16 bits, rounding to
// nearest with ties to even as hardware conversions (F16C, CUDA __float2half)
// and PyTorch's .half() do. Values too large for float16 (|f| ≥ 65520 after
// rounding) become ±Inf, values too small for its subnormals round to a
// signed zero. A NaN stays NaN: the top 10 bits of its payload are kept,
// and when those are all zero the quiet bit is set so the result is not
// mistaken for Inf. Every float16 value, NaNs included, survives
// HalfToFloat32 followed by Float32ToHalf unchanged.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if mant == 0 {
			return sign | 0x7c00
		}
		m := uint16(mant >> 13)
		if m == 0 {
			m = 0x200
		}
		return sign | 0x7c00 | m
	}
	e := exp - 127 + 15 // float16's biased exponent
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e >= 1: // normal: drop 13 mantissa bits; a carry out of the
		// mantissa correctly bumps the exponent, up to Inf at the top
		return sign | uint16(uint32(e)<<10+roundShift(mant, 13))
	case e >= -10: // float16 subnormal (m·2⁻²⁴): shift in the implicit 1;
		// rounding up from the largest subnormal gives the smallest
		// normal's bits, 0x400
		return sign | uint16(roundShift(mant|0x800000, uint32(14-e)))
	}
	return sign // below half the smallest subnormal (2⁻²⁵): zero
}

// roundShift returns x >> s rounded to nearest, ties to even (1 ≤ s ≤ 24).
func roundShift(x, s uint32) uint32 {
	q := x >> s
	r := x & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if r > half || r == half && q&1 == 1 {
		q++
	}
	return q
}

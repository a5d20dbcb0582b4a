package ops

import (
	"fmt"
	"math"
)

// ResizeNearest resizes the NCHW array src ([n, c, h, w], row-major) to
// [n, c, oh, ow] by nearest neighbour, exactly as PyTorch's
// F.interpolate(src, size=(oh, ow), mode='nearest'), which SPADE uses to
// bring the label map to each layer's size. It is for inputs outside a
// graph. PyTorch's rule (OpenCV's INTER_NEAREST) takes source index
// min(floor(dst·scale), in − 1) with scale = in/out, both in float32; a
// float64 or integer formula picks other pixels for some sizes. It panics
// if len(src) is not n·c·h·w or a size is not positive.
func ResizeNearest(src []float32, n, c, h, w, oh, ow int) []float32 {
	checkResize("ResizeNearest", src, n, c, h, w, oh, ow)
	rows, cols := nearestIndex(h, oh), nearestIndex(w, ow)
	dst := make([]float32, n*c*oh*ow)
	ParallelFor(n*c, len(dst), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			sp, dp := src[p*h*w:(p+1)*h*w], dst[p*oh*ow:(p+1)*oh*ow]
			for i, r := range rows {
				s, d := sp[r*w:(r+1)*w], dp[i*ow:(i+1)*ow]
				for j, col := range cols {
					d[j] = s[col]
				}
			}
		}
	})
	return dst
}

// nearestIndex is PyTorch's nearest_idx for every output index.
func nearestIndex(in, out int) []int {
	idx := make([]int, out)
	scale := float32(in) / float32(out)
	for i := range idx {
		switch {
		case out == in:
			idx[i] = i
		case out == 2*in:
			idx[i] = i >> 1
		default:
			idx[i] = min(int(math.Floor(float64(float32(i)*scale))), in-1)
		}
	}
	return idx
}

// ResizeBilinear resizes the NCHW array src ([n, c, h, w], row-major) to
// [n, c, oh, ow] by bilinear interpolation as PyTorch's
// F.interpolate(src, size=(oh, ow), mode='bilinear', align_corners=False)
// without antialiasing: the source coordinate of output index i is
// (i + 0.5)·in/out − 0.5, clamped at 0, between its two neighbours. When
// shrinking by more than 2 it skips pixels, as PyTorch does. It is for
// inputs outside a graph (images). It panics if len(src) is not n·c·h·w or
// a size is not positive.
func ResizeBilinear(src []float32, n, c, h, w, oh, ow int) []float32 {
	dst := make([]float32, n*c*oh*ow)
	ResizeBilinearInto(dst, src, n, c, h, w, oh, ow)
	return dst
}

// ResizeBilinearInto is ResizeBilinear writing into dst, which must hold
// n·c·oh·ow values (for callers that reuse a buffer).
func ResizeBilinearInto(dst, src []float32, n, c, h, w, oh, ow int) {
	checkResize("ResizeBilinear", src, n, c, h, w, oh, ow)
	if len(dst) < n*c*oh*ow {
		panic(fmt.Sprintf("ResizeBilinearInto: dst holds %d values, want %d", len(dst), n*c*oh*ow))
	}
	rows, cols := linearTaps(h, oh), linearTaps(w, ow)
	ParallelFor(n*c, len(dst), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			sp, dp := src[p*h*w:(p+1)*h*w], dst[p*oh*ow:(p+1)*oh*ow]
			for i, r := range rows {
				s0, s1, d := sp[r.i0*w:(r.i0+1)*w], sp[r.i1*w:(r.i1+1)*w], dp[i*ow:(i+1)*ow]
				for j, t := range cols {
					top := s0[t.i0]*t.l0 + s0[t.i1]*t.l1
					bottom := s1[t.i0]*t.l0 + s1[t.i1]*t.l1
					d[j] = top*r.l0 + bottom*r.l1
				}
			}
		}
	})
}

// tap is one output index's two source indices and their weights.
type tap struct {
	i0, i1 int
	l0, l1 float32
}

// linearTaps follows PyTorch's compute_source_index_and_lambda: scale in
// float32, source coordinate in float64 (its CPU accumulation type).
func linearTaps(in, out int) []tap {
	taps := make([]tap, out)
	scale := float32(in) / float32(out)
	for i := range taps {
		if in == out {
			taps[i] = tap{i0: i, i1: i, l0: 1}
			continue
		}
		real := float64(scale)*(float64(i)+0.5) - 0.5
		if real < 0 {
			real = 0
		}
		i0 := int(real)
		i1 := i0
		if i0 < in-1 {
			i1++
		}
		l1 := float32(real - float64(i0))
		taps[i] = tap{i0: i0, i1: i1, l0: 1 - l1, l1: l1}
	}
	return taps
}

func checkResize(name string, src []float32, n, c, h, w, oh, ow int) {
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 || oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("ops.%s: sizes must be positive: [%d %d %d %d] to %d×%d", name, n, c, h, w, oh, ow))
	}
	if len(src) != n*c*h*w {
		panic(fmt.Sprintf("ops.%s: %d values for shape [%d %d %d %d]", name, len(src), n, c, h, w))
	}
}

package model

import (
	"fmt"
	"math"
)

// Labels is a batch of label maps: class ids per pixel, row-major, and an
// optional instance id map (for models with instance edges).
type Labels struct {
	N, H, W  int
	Class    []uint8 // [N·H·W]
	Instance []int32 // [N·H·W] or nil
}

// Check verifies the labels suit c: size, class range, instance map.
func (l *Labels) Check(c Config) error {
	if l.N < 1 {
		return fmt.Errorf("empty label batch")
	}
	if l.H != c.Height() || l.W != c.Width {
		return fmt.Errorf("label map is %d×%d, the model takes %d×%d (width×height)", l.W, l.H, c.Width, c.Height())
	}
	if len(l.Class) != l.N*l.H*l.W {
		return fmt.Errorf("label data has %d values, want %d", len(l.Class), l.N*l.H*l.W)
	}
	limit := c.NumClasses()
	for i, id := range l.Class {
		if int(id) >= limit {
			p := i % (l.H * l.W)
			return fmt.Errorf("class id %d at x=%d y=%d (item %d) is not below the model's %d classes", id, p%l.W, p/l.W, i/(l.H*l.W), limit)
		}
	}
	if c.Instance && l.Instance != nil && len(l.Instance) != len(l.Class) {
		return fmt.Errorf("instance map has %d values, want %d", len(l.Instance), len(l.Class))
	}
	return nil
}

// nearestIndex maps each output coordinate to its source as PyTorch's
// F.interpolate(mode='nearest') does: src = min(floor(dst·in/out), in−1),
// with the scale computed in float32.
func nearestIndex(in, out int) []int {
	idx := make([]int, out)
	scale := float32(in) / float32(out)
	for d := range idx {
		s := int(math.Floor(float64(float32(d) * scale)))
		idx[d] = min(s, in-1)
	}
	return idx
}

// edges returns the instance boundary map of one item as the official
// get_edges: a pixel is an edge when its instance id differs from a
// 4-neighbour's.
func edges(inst []int32, h, w int) []bool {
	e := make([]bool, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if x+1 < w && inst[i] != inst[i+1] {
				e[i], e[i+1] = true, true
			}
			if y+1 < h && inst[i] != inst[i+w] {
				e[i], e[i+w] = true, true
			}
		}
	}
	return e
}

// OneHot writes the generator's semantic input at size (oh, ow) into dst
// [N, semantic_nc, oh, ow]: the one-hot class map (with the "don't care"
// channel when the model has it) and the instance edge channel last,
// nearest-resized from the labels as every SPADE layer does.
func (l *Labels) OneHot(c Config, oh, ow int, dst []float32) {
	snc := c.SemanticNC()
	clear(dst)
	ys, xs := nearestIndex(l.H, oh), nearestIndex(l.W, ow)
	plane := oh * ow
	for n := 0; n < l.N; n++ {
		cls := l.Class[n*l.H*l.W : (n+1)*l.H*l.W]
		var e []bool
		if c.Instance {
			if l.Instance != nil {
				e = edges(l.Instance[n*l.H*l.W:(n+1)*l.H*l.W], l.H, l.W)
			} else {
				e = make([]bool, l.H*l.W)
			}
		}
		base := dst[n*snc*plane : (n+1)*snc*plane]
		for y, sy := range ys {
			for x, sx := range xs {
				src := sy*l.W + sx
				o := y*ow + x
				base[int(cls[src])*plane+o] = 1
				if e != nil && e[src] {
					base[(snc-1)*plane+o] = 1
				}
			}
		}
	}
}

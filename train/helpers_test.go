package train

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"spadepaint/model"
)

// memSource is an in-memory data set of simple scenes: a horizon
// between class 0 (sky, blue) and class 1 (ground, green) and a disc of
// class 2 (red), each class a flat colour with a little noise, so that
// the mapping from labels to photos is trivially learnable.
type memSource struct {
	info Info
	ex   []*Example
}

func newMemSource(n, w, h int, seed uint64) *memSource {
	rng := rand.New(rand.NewPCG(seed, 2))
	s := &memSource{info: Info{Format: "memory", LabelNC: 3, AspectRatio: float64(w) / float64(h), Preprocess: ResizeAndCrop,
		Classes: []Class{{0, "sky", [3]uint8{60, 120, 220}}, {1, "ground", [3]uint8{40, 160, 60}}, {2, "sun", [3]uint8{230, 60, 40}}}}}
	for i := 0; i < n; i++ {
		l := &model.Labels{N: 1, H: h, W: w, Class: make([]uint8, w*h)}
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		horizon := h/3 + rng.IntN(h/3)
		cx, cy, r := rng.IntN(w), rng.IntN(horizon+1), 2+rng.IntN(max(1, w/6))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				id := 0
				if y > horizon {
					id = 1
				}
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
					id = 2
				}
				l.Class[y*w+x] = uint8(id)
				c := s.info.Classes[id].Color
				n := uint8(rng.IntN(8))
				img.SetNRGBA(x, y, color.NRGBA{c[0] + n, c[1] + n, c[2] + n, 255})
			}
		}
		s.ex = append(s.ex, &Example{Name: fmt.Sprintf("mem%d", i), Image: img, Labels: l})
	}
	return s
}

func (s *memSource) Info() Info { return s.info }
func (s *memSource) Len() int   { return len(s.ex) }
func (s *memSource) Example(i int) (*Example, error) {
	e := *s.ex[i]
	return &e, nil
}

func math32bits(f float32) uint32 { return math.Float32bits(f) }

package landscape

import (
	"fmt"
	"image"

	"spadepaint/model"
	"spadepaint/train"
)

// SourceName is the name the generator is registered under for the
// trainer: `spadepaint train --data synthetic`.
const SourceName = "synthetic"

// DefaultLen is the number of examples of the registered data set: one
// "epoch" of generated landscapes.
const DefaultLen = 20000

func init() {
	train.RegisterSource(SourceName, func(size int, seed int64) (train.Source, error) {
		return NewSource(size, seed, DefaultLen)
	})
}

// Source serves generated landscapes to the trainer: example i is
// Example(seed, i, size, size), drawn on demand (safe for concurrent use,
// the same example for the same index every time).
type Source struct {
	size int
	seed int64
	n    int
	info train.Info
}

// NewSource returns n examples at size×size for data set seed.
func NewSource(size int, seed int64, n int) (*Source, error) {
	if size == 0 {
		size = 256
	}
	if size < 8 || size > 8192 {
		return nil, fmt.Errorf("synthetic landscapes: size %d, want 8 to 8192", size)
	}
	if n < 1 {
		return nil, fmt.Errorf("synthetic landscapes: %d examples, want at least one", n)
	}
	s := &Source{size: size, seed: seed, n: n}
	s.info = train.Info{
		Format:      SourceName,
		LabelNC:     int(NumClasses),
		AspectRatio: 1,
		// Generated at the model's size: nothing to resize or crop.
		Preprocess: train.Fixed,
	}
	pal, err := classes()
	if err != nil {
		return nil, err
	}
	s.info.Classes = pal
	return s, nil
}

func classes() ([]train.Class, error) {
	cols := Palette()
	out := make([]train.Class, len(cols))
	for i, c := range cols {
		r, g, b, _ := c.RGBA()
		out[i] = train.Class{ID: i, Name: ClassNames[i], Color: [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}}
	}
	return out, nil
}

// Info describes the data: 16 classes, square, no don't-care, no instances.
func (s *Source) Info() train.Info { return s.info }

// Len is the number of examples.
func (s *Source) Len() int { return s.n }

// Example draws example i.
func (s *Source) Example(i int) (*train.Example, error) {
	if i < 0 || i >= s.n {
		return nil, fmt.Errorf("synthetic landscape %d out of range 0..%d", i, s.n-1)
	}
	labels, photo, _ := Example(s.seed, i, s.size, s.size)
	l := &model.Labels{N: 1, H: s.size, W: s.size, Class: labels.Pix}
	return &train.Example{Name: fmt.Sprintf("synthetic/%d/%d", s.seed, i), Image: photo, Labels: l}, nil
}

// partnerSalt separates the scenes of style partners from the data set's
// own (ExampleSeed's stream).
const partnerSalt = 0x5a17_9a1e_d0c4

// StylePartner draws another scene in example i's style, at the data
// set's size: the style encoder's input for `train --style-pairs`.
func (s *Source) StylePartner(i int) (image.Image, error) {
	if i < 0 || i >= s.n {
		return nil, fmt.Errorf("synthetic landscape %d out of range 0..%d", i, s.n-1)
	}
	_, photo := Generate(ExampleSeed(s.seed^partnerSalt, i), s.size, s.size, ExampleStyle(s.seed, i))
	return photo, nil
}

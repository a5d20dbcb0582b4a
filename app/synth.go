package app

import (
	"context"
	"fmt"
	"image"
	"sync"

	"spadepaint/model"
)

// Style says which style code a render uses: a style photo, encoded by
// the model's style encoder, or a random code drawn from Seed.
type Style struct {
	Seed int64
	// Image is the style photo, or nil for a random style.
	Image image.Image
	// Name labels the style in the UI (file name, preset name, "seed N").
	Name string
}

// Synthesizer is all the UI knows of the model: it turns a label map
// (pixel value = class id) and a style into a picture.
type Synthesizer interface {
	Synthesize(ctx context.Context, labels *image.Paletted, style Style) (image.Image, error)
}

// ModelSynth adapts a model.Model to the UI.
type ModelSynth struct {
	M *model.Model

	mu       sync.Mutex
	styleImg image.Image // the last encoded style photo …
	styleMu  []float32   // … and its μ, so strokes don't re-encode it
}

// NewModelSynth wraps m.
func NewModelSynth(m *model.Model) *ModelSynth { return &ModelSynth{M: m} }

// Synthesize renders labels at the model's size (a canvas of another size
// is resampled nearest, which keeps class ids exact) with the style's μ
// for a photo, or a random z for a seed.
func (s *ModelSynth) Synthesize(ctx context.Context, labels *image.Paletted, style Style) (image.Image, error) {
	c := s.M.Config
	l := labelsFrom(labels, c.Width, c.Height())
	var z []float32
	if c.UseVAE {
		if style.Image != nil {
			mu, err := s.encode(ctx, style.Image)
			if err != nil {
				return nil, err
			}
			z = mu
		} else {
			z = s.M.RandomZ(1, style.Seed)
		}
	} else if style.Image != nil {
		return nil, model.ErrNoEncoder
	}
	img, err := s.M.Generate(ctx, l, z)
	if err != nil {
		return nil, err
	}
	return img.RGBA(0), nil
}

func (s *ModelSynth) encode(ctx context.Context, im image.Image) ([]float32, error) {
	if !s.M.HasEncoder() {
		return nil, model.ErrNoEncoder
	}
	s.mu.Lock()
	if s.styleImg == im && s.styleMu != nil {
		mu := s.styleMu
		s.mu.Unlock()
		return mu, nil
	}
	s.mu.Unlock()
	size := s.M.Config.EncoderSize()
	mu, _, err := s.M.Encode(ctx, model.ImageFrom(im, size, size))
	if err != nil {
		return nil, fmt.Errorf("encode style: %w", err)
	}
	s.mu.Lock()
	s.styleImg, s.styleMu = im, mu
	s.mu.Unlock()
	return mu, nil
}

// labelsFrom copies a paletted label map into model labels of size w×h,
// resampling nearest (never blending: ids stay ids).
func labelsFrom(p *image.Paletted, w, h int) *model.Labels {
	b := p.Bounds()
	l := &model.Labels{N: 1, H: h, W: w, Class: make([]uint8, w*h)}
	for y := 0; y < h; y++ {
		sy := b.Min.Y + y*b.Dy()/h
		row := p.Pix[(sy-b.Min.Y)*p.Stride:]
		for x := 0; x < w; x++ {
			l.Class[y*w+x] = row[x*b.Dx()/w]
		}
	}
	return l
}

package train

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"

	"spadepaint/model"
)

// Samples renders a grid with the current weights (inference mode) and
// writes it to samples/step-N.png: one row per sample example (the data
// set's first examples, centre-cropped, not flipped), showing its labels
// in colour, the image generated in the style of the real photo (z = μ
// of its encoding; without a VAE the only image), the real photo, then
// Options.Styles random styles (fixed seeds, so rows compare across
// steps).
func (t *Trainer) Samples() (string, error) {
	img, err := t.SampleGrid()
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	dir := filepath.Join(t.Dir, SampleDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("step-%08d.png", t.st.step))
	return path, writeFileAtomic(path, buf.Bytes())
}

// SampleGrid renders the sample grid (see Samples).
func (t *Trainer) SampleGrid() (*image.NRGBA, error) {
	opt := t.Options
	c := opt.Model
	k := min(max(1, opt.Samples), t.src.Len())
	w, h := c.Width, c.Height()
	l := &model.Labels{N: k, H: h, W: w}
	var real []float32
	for i := 0; i < k; i++ {
		it, err := t.ld.example(i, nil)
		if err != nil {
			return nil, err
		}
		l.Class = append(l.Class, it.labels.Class...)
		if c.Instance {
			inst := it.labels.Instance
			if inst == nil {
				inst = make([]int32, w*h)
			}
			l.Instance = append(l.Instance, inst...)
		}
		real = append(real, it.image...)
	}
	m, err := t.Model()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	var cols []*model.Image
	realImg := &model.Image{N: k, H: h, W: w, Pix: real}
	if c.UseVAE {
		mu, _, err := m.Encode(ctx, realImg)
		if err != nil {
			return nil, err
		}
		g, err := m.Generate(ctx, l, mu)
		if err != nil {
			return nil, err
		}
		cols = append(cols, g, realImg)
		for j := 0; j < opt.Styles; j++ {
			z := m.RandomZ(k, int64(1000+j))
			g, err := m.Generate(ctx, l, z)
			if err != nil {
				return nil, err
			}
			cols = append(cols, g)
		}
	} else {
		g, err := m.Generate(ctx, l, nil)
		if err != nil {
			return nil, err
		}
		cols = append(cols, g, realImg)
	}
	const gap = 2
	out := image.NewNRGBA(image.Rect(0, 0, (1+len(cols))*(w+gap)-gap, k*(h+gap)-gap))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.NRGBA{255, 255, 255, 255}), image.Point{}, draw.Src)
	pal := t.palette()
	for i := 0; i < k; i++ {
		y0 := i * (h + gap)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				col := pal[l.Class[i*h*w+y*w+x]]
				out.SetNRGBA(x, y0+y, color.NRGBA{col[0], col[1], col[2], 255})
			}
		}
		for j, im := range cols {
			tile := im.RGBA(i)
			x0 := (j + 1) * (w + gap)
			draw.Draw(out, image.Rect(x0, y0, x0+w, y0+h), tile, image.Point{}, draw.Src)
		}
	}
	return out, nil
}

// palette colours every class id: the data set's colours where it has
// them, a fixed palette otherwise, dark grey for "don't care".
func (t *Trainer) palette() [256][3]uint8 {
	var p [256][3]uint8
	for id := range p {
		p[id] = defaultColor(id)
	}
	for _, c := range t.info.Classes {
		if c.ID >= 0 && c.ID < 256 {
			p[c.ID] = c.Color
		}
	}
	if t.info.DontCare {
		p[t.info.LabelNC] = [3]uint8{40, 40, 40}
	}
	return p
}

package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disintegration/imaging"

	"spadepaint/assets"
	"spadepaint/model"
	"spadepaint/train/landscape"
)

// gallerySeedBase keeps the gallery's scenes apart from the training set
// (landscape.ExampleSeed of data set seed 1).
const gallerySeedBase = 1 << 42

// runGallery renders a contact sheet of the model on held-out generated
// landscapes: labels | real photo | output in the real photo's style |
// random styles | outputs in the style preset photos.
func runGallery(args []string, stdout io.Writer) error {
	fs := newFlags("gallery")
	modelPath := fs.String("model", "", "model file (.safetensors); default: the embedded default model")
	n := fs.Int("n", 4, "rows: held-out label maps")
	randoms := fs.Int("random", 3, "random styles per row")
	seed := fs.Int64("seed", 1, "seed of the random styles")
	out := fs.String("out", "", "PNG to write")
	styles := fs.String("styles", "sunset,life,gen-dawn,gen-night,gen-winter,gen-haze", "comma-separated style presets for the columns (assets/styles names)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	m, err := loadEvalModel(*modelPath)
	if err != nil {
		return err
	}
	c := m.Config
	if c.NumClasses() != int(landscape.NumClasses) {
		return fmt.Errorf("the gallery draws landscape scenes (%d classes); this model has %d", landscape.NumClasses, c.NumClasses())
	}
	all, err := assets.StylePresets()
	if err != nil {
		return err
	}
	var presets []assets.StylePreset
	for _, name := range strings.Split(*styles, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		i := slices.IndexFunc(all, func(p assets.StylePreset) bool { return p.Name == name })
		if i < 0 {
			return fmt.Errorf("--styles: no style preset %q", name)
		}
		presets = append(presets, all[i])
	}
	if !m.HasEncoder() {
		presets = nil
	}
	w, h := c.Width, c.Height()
	cols := 2 + *randoms
	if m.HasEncoder() {
		cols += 1 + len(presets)
	}
	const gap = 4
	sheet := image.NewNRGBA(image.Rect(0, 0, cols*(w+gap)-gap, *n*(h+gap)-gap))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	ctx := context.Background()
	enc := c.EncoderSize()
	for row := 0; row < *n; row++ {
		labels, photo, _ := landscape.Example(gallerySeedBase, row, w, h)
		l := &model.Labels{N: 1, H: h, W: w, Class: append([]uint8(nil), labels.Pix...)}
		tiles := []image.Image{labels, photo}
		render := func(z []float32) error {
			img, err := m.Generate(ctx, l, z)
			if err != nil {
				return err
			}
			tiles = append(tiles, img.RGBA(0))
			return nil
		}
		if m.HasEncoder() {
			for _, st := range append([]image.Image{photo}, presetImages(presets)...) {
				mu, _, err := m.Encode(ctx, model.ImageFrom(st, enc, enc))
				if err != nil {
					return err
				}
				if err := render(mu); err != nil {
					return err
				}
			}
		}
		for k := 0; k < *randoms; k++ {
			if err := render(m.RandomZ(1, *seed+int64(k))); err != nil {
				return err
			}
		}
		for col, t := range tiles {
			t = imaging.Resize(t, w, h, imaging.NearestNeighbor)
			at := image.Pt(col*(w+gap), row*(h+gap))
			draw.Draw(sheet, image.Rectangle{at, at.Add(image.Pt(w, h))}, t, t.Bounds().Min, draw.Src)
		}
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	return writePNG(*out, sheet, stdout, cols)
}

func presetImages(ps []assets.StylePreset) []image.Image {
	out := make([]image.Image, len(ps))
	for i, p := range ps {
		out[i] = p.Image
	}
	return out
}

func writePNG(path string, img image.Image, stdout io.Writer, cols int) error {
	if err := imaging.Save(img, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d columns)\n", path, cols)
	return nil
}

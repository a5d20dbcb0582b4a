package app

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"spadepaint/assets"
	"spadepaint/canvas"
	"spadepaint/model"
)

func tinyModel(t *testing.T, vae bool) *model.Model {
	t.Helper()
	c := model.Preset(model.Landscape).Config()
	c.NGF, c.NHidden, c.Width, c.UseVAE = 2, 4, 64, vae
	m, err := model.RandomModel(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLabelsFromKeepsIDs(t *testing.T) {
	p := image.NewPaletted(image.Rect(0, 0, 4, 2), make(color.Palette, 16))
	copy(p.Pix, []uint8{0, 1, 2, 3, 4, 5, 6, 7})
	cases := []struct {
		w, h int
		want []uint8
	}{
		{4, 2, []uint8{0, 1, 2, 3, 4, 5, 6, 7}},
		{2, 1, []uint8{0, 2}},
		{8, 2, []uint8{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7}},
	}
	for _, tc := range cases {
		l := labelsFrom(p, tc.w, tc.h)
		if !bytes.Equal(l.Class, tc.want) {
			t.Errorf("%d×%d: %v, want %v", tc.w, tc.h, l.Class, tc.want)
		}
	}
}

func TestModelSynth(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(t, true)
	s := NewModelSynth(m)
	pal, _ := assets.Palette(assets.Landscape)
	lm, _ := canvas.NewLabelMap(128, 128, pal, 0) // twice the model's size
	lm.FillRect(image.Rect(0, 64, 128, 128), 9)
	a, err := s.Synthesize(ctx, lm.Image(), Style{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Synthesize(ctx, lm.Image(), Style{Seed: 2})
	if a.Bounds() != image.Rect(0, 0, 64, 64) {
		t.Fatalf("output %v, want the model's 64×64", a.Bounds())
	}
	if bytes.Equal(a.(*image.NRGBA).Pix, b.(*image.NRGBA).Pix) {
		t.Error("two seeds gave the same picture")
	}
	presets, _ := assets.StylePresets()
	c, err := s.Synthesize(ctx, lm.Image(), Style{Image: presets[0].Image})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.(*image.NRGBA).Pix, c.(*image.NRGBA).Pix) {
		t.Error("style image did not change the picture")
	}
	// Without an encoder a style image is refused with a clear error.
	plain := NewModelSynth(tinyModel(t, false))
	if _, err := plain.Synthesize(ctx, lm.Image(), Style{Image: presets[0].Image}); err != model.ErrNoEncoder {
		t.Errorf("err = %v, want ErrNoEncoder", err)
	}
}

func TestProjectRoundTrip(t *testing.T) {
	pal, _ := assets.Palette(assets.Landscape)
	lm, _ := canvas.NewLabelMap(32, 16, pal, 0)
	lm.FillRect(image.Rect(3, 4, 20, 9), 10)
	presets, _ := assets.StylePresets()
	for _, s := range []Style{{Seed: 42, Name: "seed 42"}, {Seed: 7, Image: presets[1].Image, Name: presets[1].Name}} {
		var buf bytes.Buffer
		if err := EncodeProject(&buf, lm, s, "/models/x.safetensors"); err != nil {
			t.Fatal(err)
		}
		got, gs, ref, err := DecodeProject(&buf, pal)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Image().Pix, lm.Image().Pix) || ref != "/models/x.safetensors" || gs.Seed != s.Seed {
			t.Errorf("round trip changed the project")
		}
		if (gs.Image == nil) != (s.Image == nil) || gs.Name != s.Name {
			t.Errorf("style %q/%v came back as %q/%v", s.Name, s.Image != nil, gs.Name, gs.Image != nil)
		}
	}
	if _, _, _, err := DecodeProject(bytes.NewReader([]byte("{nope")), pal); err == nil {
		t.Error("corrupt project accepted")
	}
}

// TestWindowPaintsAndRenders drives the real window headlessly: a drag
// on the canvas changes exact label pixels and brings a new photo.
func TestWindowPaintsAndRenders(t *testing.T) {
	a := test.NewTempApp(t)
	m := tinyModel(t, true)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	u := newUI(a)
	defer u.cancel()
	got := make(chan Result, 16)
	u.renderer.deliver = func(r Result) { got <- r }
	u.start(Options{ModelPath: path})
	u.win.Resize(fyne.NewSize(1200, 700))
	first := <-got
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	before := append([]uint8(nil), u.cw.Map().Image().Pix...)
	u.cw.SetClass(10) // tree
	pos := a.Driver().AbsolutePositionForObject(u.cw)
	test.Drag(u.win.Canvas(), pos.Add(fyne.NewPos(u.cw.Size().Width/2, u.cw.Size().Height/2)), 60, 30)
	after := u.cw.Map().Image().Pix
	changed := 0
	for i := range after {
		if after[i] != before[i] {
			changed++
			if after[i] != 10 {
				t.Fatalf("pixel %d became %d, want class 10", i, after[i])
			}
		}
	}
	if changed == 0 {
		t.Fatal("the drag painted nothing")
	}
	r := <-got
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if bytes.Equal(r.Image.(*image.NRGBA).Pix, first.Image.(*image.NRGBA).Pix) {
		t.Error("the photo did not change after the stroke")
	}
	// Random style changes the seed and the picture.
	seed := u.style.Seed
	u.randomStyle()
	r2 := <-got
	if u.style.Seed == seed || bytes.Equal(r2.Image.(*image.NRGBA).Pix, r.Image.(*image.NRGBA).Pix) {
		t.Error("random style changed nothing")
	}
}

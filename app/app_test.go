package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

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

// newTestUI makes a headless app and a window-less ui on it with a
// temporary autosave folder, and saves a tiny model to open (path); the
// caller sets renderer.deliver and starts u.
func newTestUI(t *testing.T) (fyne.App, *ui, string) {
	t.Helper()
	a := test.NewTempApp(t)
	m := tinyModel(t, true)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	u := newUI(a)
	u.store = storage.NewFileURI(t.TempDir())
	t.Cleanup(u.cancel)
	return a, u, path
}

// TestWindowPaintsAndRenders drives the real window headlessly: a drag
// on the canvas changes exact label pixels and brings a new photo.
func TestWindowPaintsAndRenders(t *testing.T) {
	a, u, path := newTestUI(t)
	got := make(chan Result, 16)
	u.renderer.deliver = func(r Result) { got <- r }
	u.start(Options{ModelPath: path})
	u.win.Resize(fyne.NewSize(1200, 700))
	first := <-got
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	before := append([]uint8(nil), u.cw.Map().Image().Pix...)
	t.Logf("canvas at %v size %v", a.Driver().AbsolutePositionForObject(u.cw), u.cw.Size())
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
	// Start-up may deliver more than one render of the same labels (a
	// request finishing before the next is made): wait for the stroke's.
	r := awaitRender(t, got, latestSeq(u.renderer))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if bytes.Equal(r.Image.(*image.NRGBA).Pix, first.Image.(*image.NRGBA).Pix) {
		t.Error("the photo did not change after the stroke")
	}
	// Random style changes the seed and the picture.
	seed := u.style.Seed
	u.randomStyle()
	r2 := awaitRender(t, got, latestSeq(u.renderer))
	if u.style.Seed == seed || bytes.Equal(r2.Image.(*image.NRGBA).Pix, r.Image.(*image.NRGBA).Pix) {
		t.Error("random style changed nothing")
	}

	// The stroke was autosaved; a new window on the same storage offers it back.
	u2 := newUI(a)
	u2.store = u.store
	defer u2.cancel()
	u2.renderer.deliver = func(Result) {}
	u2.start(Options{ModelPath: path})
	checkDialog(t, u2, "restore", "Restore it?")
}

// TestBadStyleAndLabelFiles: a non-image, a corrupt or truncated image, a
// 20000×20000 image and a label PNG with unknown ids each bring an error
// dialog and leave the painting and the style untouched.
func TestBadStyleAndLabelFiles(t *testing.T) {
	_, u, path := newTestUI(t)
	u.renderer.deliver = func(Result) {}
	u.start(Options{ModelPath: path})
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var good bytes.Buffer
	png.Encode(&good, image.NewNRGBA(image.Rect(0, 0, 8, 8)))
	huge := append([]byte(nil), good.Bytes()...)
	binary.BigEndian.PutUint32(huge[16:], 20000)
	binary.BigEndian.PutUint32(huge[20:], 20000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	gray := make(color.Palette, 256)
	for i := range gray {
		gray[i] = color.Gray{uint8(i)}
	}
	badIDs := image.NewPaletted(image.Rect(0, 0, 64, 64), gray)
	badIDs.Pix[5] = 200
	var badLabels bytes.Buffer
	png.Encode(&badLabels, badIDs)

	style := u.style
	pix := append([]uint8(nil), u.cw.Map().Image().Pix...)
	for _, tc := range []struct{ name, file, want string }{
		{"not an image", write("notes.txt", []byte("hello")), "not a PNG or JPEG"},
		{"truncated", write("cut.png", good.Bytes()[:40]), "style image cut.png"},
		{"huge", write("huge.png", huge), "20000×20000"},
	} {
		u.loadStyleURI(storage.NewFileURI(tc.file))
		checkDialog(t, u, tc.name, tc.want)
		if u.style.Name != style.Name || u.style.Image != style.Image {
			t.Errorf("%s: style changed to %q", tc.name, u.style.Name)
		}
	}
	if _, err := canvas.Load(bytes.NewReader(badLabels.Bytes()), u.pal); err == nil {
		t.Error("label PNG with id 200 accepted")
	}
	if !bytes.Equal(pix, u.cw.Map().Image().Pix) {
		t.Error("a failed open changed the painting")
	}
}

func checkDialog(t *testing.T, u *ui, name, want string) {
	t.Helper()
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Errorf("%s: no dialog", name)
		return
	}
	found := false
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Label:
			found = found || strings.Contains(strings.ToLower(v.Text), strings.ToLower(want))
		case *widget.RichText:
			found = found || strings.Contains(strings.ToLower(v.String()), strings.ToLower(want))
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			r := test.WidgetRenderer(v)
			for _, c := range r.Objects() {
				walk(c)
			}
		}
	}
	walk(top)
	if !found {
		t.Errorf("%s: dialog does not say %q", name, want)
	}
	u.win.Canvas().Overlays().Remove(top)
}

func TestPresetLabel(t *testing.T) {
	for in, want := range map[string]string{"gen-golden-hour": "golden hour (generated look)", "sunset": "sunset", "gen-night": "night (generated look)"} {
		if got := presetLabel(in); got != want {
			t.Errorf("presetLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// latestSeq is the renderer's newest request.
func latestSeq(r *Renderer) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest
}

// awaitRender reads delivered renders until the one for request seq (or a
// newer one) arrives.
func awaitRender(t *testing.T, got <-chan Result, seq uint64) Result {
	t.Helper()
	for {
		select {
		case r := <-got:
			if r.Seq >= seq {
				return r
			}
		case <-time.After(time.Minute):
			t.Fatalf("no render for request %d within a minute", seq)
		}
	}
}

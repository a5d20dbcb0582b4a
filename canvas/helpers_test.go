package canvas

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden PNGs in testdata/")

// Class ids of the test palettes, with the characters that stand for them
// in the ASCII maps of the tests.
const (
	sky   = 0 // '.'
	sea   = 1 // '~'
	grass = 2 // 'g'
	tree  = 3 // 'T'
	dc    = 4 // 'x', don't care in dcPalette
)

const glyphs = ".~gTx"

// testPalette has no don't-care class.
func testPalette() Palette {
	return Palette{
		Classes: []Class{
			{ID: sky, Name: "sky", Color: color.NRGBA{0x8c, 0xc8, 0xf0, 0xff}, Group: SkyWater},
			{ID: sea, Name: "sea", Color: color.NRGBA{0x1e, 0x50, 0xa0, 0xff}, Group: SkyWater},
			{ID: grass, Name: "grass", Color: color.NRGBA{0x5a, 0xb4, 0x3c, 0xff}, Group: Plants},
			{ID: tree, Name: "tree", Color: color.NRGBA{0x14, 0x64, 0x14, 0xff}, Group: Plants},
		},
		DontCare: -1,
	}
}

// dcPalette is testPalette plus a don't-care class.
func dcPalette() Palette {
	p := testPalette()
	p.Classes = append(p.Classes, Class{ID: dc, Name: "unknown", Color: color.NRGBA{A: 0xff}, Group: Other})
	p.DontCare = dc
	return p
}

func newMap(t testing.TB, w, h int, pal Palette, fill uint8) *LabelMap {
	t.Helper()
	m, err := NewLabelMap(w, h, pal, fill)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parseMap builds a map from rows of glyphs.
func parseMap(t testing.TB, pal Palette, rows ...string) *LabelMap {
	t.Helper()
	m := newMap(t, len(rows[0]), len(rows), pal, pal.Classes[0].ID)
	for y, row := range rows {
		if len(row) != len(rows[0]) {
			t.Fatalf("row %d has %d glyphs, want %d", y, len(row), len(rows[0]))
		}
		for x, g := range []byte(row) {
			id := strings.IndexByte(glyphs, g)
			if id < 0 || !m.Valid(uint8(id)) {
				t.Fatalf("bad glyph %q at (%d, %d)", g, x, y)
			}
			m.Set(image.Pt(x, y), uint8(id))
		}
	}
	return m
}

// ascii draws a map with one glyph per pixel, for failure messages.
func ascii(m *LabelMap) string {
	var b strings.Builder
	r := m.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		b.WriteByte('\n')
		for x := r.Min.X; x < r.Max.X; x++ {
			id, _ := m.ClassAt(image.Pt(x, y))
			if int(id) < len(glyphs) {
				b.WriteByte(glyphs[id])
			} else {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

func samePixels(a, b *LabelMap) bool {
	return a.Bounds() == b.Bounds() && bytes.Equal(a.img.Pix, b.img.Pix)
}

// checkGolden compares m with testdata/<name>.png, or rewrites that file
// under -update.
func checkGolden(t *testing.T, name string, m *LabelMap) {
	t.Helper()
	path := filepath.Join("testdata", name+".png")
	if *update {
		var buf bytes.Buffer
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	defer f.Close()
	want, err := Load(f, m.Palette())
	if err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	if !samePixels(m, want) {
		t.Errorf("pixels differ from %s\ngot:%s\nwant:%s", path, ascii(m), ascii(want))
	}
}

// changedRect returns the bounding box of the pixels that differ.
func changedRect(a, b *LabelMap) image.Rectangle {
	var r image.Rectangle
	for y := 0; y < a.Bounds().Dy(); y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			p := image.Pt(x, y)
			ca, _ := a.ClassAt(p)
			cb, _ := b.ClassAt(p)
			if ca != cb {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

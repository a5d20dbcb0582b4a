package canvas

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"
)

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func saveMap(t testing.TB, m *LabelMap) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// setIHDR rewrites the width and height in a PNG's header, fixing its CRC,
// to forge files whose header lies about their size.
func setIHDR(data []byte, w, h uint32) []byte {
	data = bytes.Clone(data)
	binary.BigEndian.PutUint32(data[16:], w)
	binary.BigEndian.PutUint32(data[20:], h)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, pal := range []Palette{testPalette(), dcPalette()} {
		m := parseMap(t, pal,
			".~gT.",
			"TTgg~",
			"~~~~.",
		)
		if pal.DontCare >= 0 {
			m.Set(image.Pt(4, 2), dc)
		}
		data := saveMap(t, m)
		if depth, ct := data[ihdrBitDepth], data[ihdrColorType]; depth != 8 || ct != pngPaletted {
			t.Fatalf("saved bit depth %d, colour type %d; want 8-bit paletted", depth, ct)
		}
		// A generic decoder sees class ids as indices and class colours in
		// the palette.
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		p, ok := img.(*image.Paletted)
		if !ok {
			t.Fatalf("decoded as %T", img)
		}
		if !bytes.Equal(p.Pix, m.img.Pix) {
			t.Fatalf("indices %v, want %v", p.Pix, m.img.Pix)
		}
		for _, c := range pal.Classes {
			if got := color.NRGBAModel.Convert(p.Palette[c.ID]); got != c.Color {
				t.Errorf("palette[%d] = %v, want %v", c.ID, got, c.Color)
			}
		}
		back, err := Load(bytes.NewReader(data), pal)
		if err != nil {
			t.Fatal(err)
		}
		if !samePixels(back, m) {
			t.Fatalf("round trip:%s\nwant:%s", ascii(back), ascii(m))
		}
	}
}

func TestLoadAccepts(t *testing.T) {
	pix := []uint8{0, 1, 2, 3, 3, 2}
	gray := &image.Gray{Pix: bytes.Clone(pix), Stride: 3, Rect: image.Rect(0, 0, 3, 2)}
	// A paletted PNG from another tool: 4-bit, with its own colours and more
	// entries than classes.
	other := make(color.Palette, 9)
	for i := range other {
		other[i] = color.Gray{Y: uint8(i * 20)}
	}
	pal4 := &image.Paletted{Pix: bytes.Clone(pix), Stride: 3, Rect: image.Rect(0, 0, 3, 2), Palette: other}
	for name, data := range map[string][]byte{
		"8-bit gray":     encodePNG(t, gray),
		"4-bit paletted": encodePNG(t, pal4),
		"8-bit paletted": saveMap(t, parseMap(t, testPalette(), ".~g", "TTg")),
	} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(bytes.NewReader(data), testPalette())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.img.Pix, pix) {
				t.Errorf("pixels %v, want %v", m.img.Pix, pix)
			}
			// The map shows the palette's colours, not the file's.
			if got := m.Image().At(1, 0); color.NRGBAModel.Convert(got) != testPalette().Classes[sea].Color {
				t.Errorf("colour %v", got)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	valid := saveMap(t, parseMap(t, testPalette(), "....", ".~g.", "TTTT"))
	badID := &image.Gray{Pix: make([]uint8, 12), Stride: 4, Rect: image.Rect(0, 0, 4, 3)}
	badID.Pix[2*4+3] = 7 // (3, 2)
	gap := Palette{Classes: []Class{{ID: 0, Name: "a"}, {ID: 2, Name: "c"}}, DontCare: -1}
	gapID := &image.Gray{Pix: []uint8{0, 2, 1, 0}, Stride: 2, Rect: image.Rect(0, 0, 2, 2)}
	flipped := bytes.Clone(valid)
	flipped[len(flipped)-20] ^= 0xff // inside IDAT: checksum/zlib error
	huge := setIHDR(encodePNG(t, &image.Gray{Pix: make([]uint8, 4), Stride: 2, Rect: image.Rect(0, 0, 2, 2)}), 9000, 10)
	tall := setIHDR(valid, 1, MaxSize+1)
	rgb := encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 2, 2)))
	gray16 := encodePNG(t, image.NewGray16(image.Rect(0, 0, 2, 2)))
	// Go encodes an image.Paletted with a 2-colour palette as 1-bit; a
	// 1-bit grayscale file must be forged by patching the header.
	gray1 := encodePNG(t, &image.Gray{Pix: make([]uint8, 4), Stride: 2, Rect: image.Rect(0, 0, 2, 2)})
	gray1[ihdrBitDepth] = 1
	binary.BigEndian.PutUint32(gray1[29:], crc32.ChecksumIEEE(gray1[12:29]))

	tests := []struct {
		name    string
		data    []byte
		pal     Palette
		is      error
		class   *ClassError
		message []string
	}{
		{name: "id out of range", data: encodePNG(t, badID),
			class:   &ClassError{ID: 7, X: 3, Y: 2, Limit: 4},
			message: []string{"7", "(3, 2)", "0..3"}},
		{name: "id in a palette gap", data: encodePNG(t, gapID), pal: gap,
			class:   &ClassError{ID: 1, X: 0, Y: 1, Limit: 3},
			message: []string{"class id 1", "(0, 1)", "not a class"}},
		{name: "empty", data: nil},
		{name: "not a PNG", data: []byte("GIF89a, obviously not a PNG file at all")},
		{name: "truncated header", data: valid[:20]},
		{name: "truncated data", data: valid[:len(valid)-30]},
		{name: "no IEND", data: valid[:len(valid)-12]},
		{name: "corrupt IDAT", data: flipped},
		{name: "too wide", data: huge, is: ErrTooLarge, message: []string{"9000"}},
		{name: "too tall", data: tall, is: ErrTooLarge},
		{name: "RGB", data: rgb, is: ErrFormat},
		{name: "16-bit gray", data: gray16, is: ErrFormat},
		{name: "1-bit gray", data: gray1, is: ErrFormat},
		{name: "invalid palette", data: valid, pal: Palette{DontCare: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pal := tt.pal
			if pal.Classes == nil && tt.name != "invalid palette" {
				pal = testPalette()
			}
			m, err := Load(bytes.NewReader(tt.data), pal)
			if err == nil {
				t.Fatalf("loaded a %v map", m.Bounds())
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if tt.class != nil {
				var ce *ClassError
				if !errors.As(err, &ce) {
					t.Fatalf("error %q is not a *ClassError", err)
				}
				if *ce != *tt.class {
					t.Errorf("ClassError %+v, want %+v", *ce, *tt.class)
				}
			}
			for _, s := range tt.message {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if !strings.HasPrefix(err.Error(), "load label map: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

// TestLoadOversizeReadsOnlyHeader feeds a header claiming 8193×8193 followed
// by a reader that fails the test if Load reads on: the size check must come
// from the header alone.
func TestLoadOversizeReadsOnlyHeader(t *testing.T) {
	head := setIHDR(encodePNG(t, &image.Gray{Pix: make([]uint8, 1), Stride: 1, Rect: image.Rect(0, 0, 1, 1)}), MaxSize+1, MaxSize+1)
	head = head[:pngHeaderLen+4] // signature, IHDR chunk and its CRC
	_, err := Load(io.MultiReader(bytes.NewReader(head), failReader{t}), testPalette())
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("Load read past the header of an oversize image")
	return 0, errors.New("read past header")
}

func TestLoadTruncatedEverywhere(t *testing.T) {
	m := newMap(t, 40, 30, testPalette(), sky)
	RoundBrush{Size: 7}.Stroke(m, image.Pt(3, 3), image.Pt(36, 25), tree)
	data := saveMap(t, m)
	for n := range len(data) {
		if _, err := Load(bytes.NewReader(data[:n]), testPalette()); err == nil {
			t.Fatalf("a %d of %d byte prefix loaded", n, len(data))
		}
	}
}

func TestNewLabelMapRejects(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		pal  Palette
		fill uint8
	}{
		{"zero width", 0, 5, testPalette(), sky},
		{"negative height", 5, -1, testPalette(), sky},
		{"too large", MaxSize + 1, 1, testPalette(), sky},
		{"fill not a class", 5, 5, testPalette(), 9},
		{"empty palette", 5, 5, Palette{DontCare: -1}, 0},
		{"duplicate id", 5, 5, Palette{Classes: []Class{{ID: 1}, {ID: 1}}, DontCare: -1}, 1},
		{"bad don't care", 5, 5, Palette{Classes: []Class{{ID: 1}}, DontCare: 0}, 1},
	}
	for _, tt := range tests {
		if m, err := NewLabelMap(tt.w, tt.h, tt.pal, tt.fill); err == nil {
			t.Errorf("%s: got a %v map", tt.name, m.Bounds())
		}
	}
}

func FuzzLoad(f *testing.F) {
	pal := dcPalette()
	m := newMap(f, 13, 7, pal, sky)
	RoundBrush{Size: 3}.Stroke(m, image.Pt(1, 1), image.Pt(11, 5), dc)
	valid := saveMap(f, m)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(encodePNG(f, &image.Gray{Pix: []uint8{0, 1, 2, 3, 4, 5}, Stride: 3, Rect: image.Rect(0, 0, 3, 2)}))
	f.Add(setIHDR(valid, 100000, 3))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(bytes.NewReader(data), pal)
		if err != nil {
			return
		}
		b := m.Bounds()
		if b.Min != (image.Point{}) || b.Dx() > MaxSize || b.Dy() > MaxSize || b.Empty() {
			t.Fatalf("loaded map with bounds %v", b)
		}
		for i, v := range m.img.Pix {
			if !m.Valid(v) {
				t.Fatalf("pixel %d holds id %d, not in the palette", i, v)
			}
		}
		back, err := Load(bytes.NewReader(saveMap(t, m)), pal)
		if err != nil {
			t.Fatalf("reloading a saved map: %v", err)
		}
		if !samePixels(back, m) {
			t.Fatal("save/load changed pixels")
		}
	})
}

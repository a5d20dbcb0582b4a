package model

import (
	"bytes"
	"context"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tinyConfig() Config {
	c := Preset(Landscape).Config()
	c.NGF, c.NHidden, c.Width, c.LabelNC = 2, 4, 64, 5
	return c
}

// TestBadInputErrors: every bad input is an error that says what is
// wrong, never a panic.
func TestBadInputErrors(t *testing.T) {
	c := tinyConfig()
	m, err := RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join(dir, "good.safetensors")
	if err := m.Save(good); err != nil {
		t.Fatal(err)
	}
	goodBytes, _ := os.ReadFile(good)
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewNRGBA(image.Rect(0, 0, 4, 4)))
	ctx := context.Background()
	labels := func(w, h int, id uint8) *Labels {
		l := &Labels{N: 1, H: h, W: w, Class: make([]uint8, w*h)}
		l.Class[len(l.Class)-1] = id
		return l
	}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"class id too large", func() error { _, err := m.Generate(ctx, labels(64, 64, 5), m.RandomZ(1, 1)); return err }, "class id 5 at x=63 y=63"},
		{"wrong label size", func() error { _, err := m.Generate(ctx, labels(32, 64, 0), m.RandomZ(1, 1)); return err }, "the model takes 64×64"},
		{"short z", func() error { _, err := m.Generate(ctx, labels(64, 64, 0), make([]float32, 3)); return err }, "style code has 3 values"},
		{"truncated safetensors", func() error { _, err := Load(write("t.safetensors", goodBytes[:len(goodBytes)/2])); return err }, "load"},
		{"not safetensors", func() error { _, err := Load(write("x.safetensors", []byte("hello world, not a model"))); return err }, "load"},
		{"missing file", func() error { _, err := Load(filepath.Join(dir, "nope.safetensors")); return err }, "no such file"},
		{"corrupt pth", func() error {
			_, err := ImportPTH(write("c.pth", []byte("PK\x03\x04garbage")), "", ImportOptions{})
			return err
		}, "import"},
		{"truncated pth", func() error {
			b, _ := os.ReadFile("testdata/parity/c64_inst_vae/netE.pth")
			_, err := ImportPTH(write("tr.pth", b[:len(b)/3]), "", ImportOptions{})
			return err
		}, "import"},
		{"pth that is not a generator", func() error {
			_, err := ImportPTH("testdata/parity/c64_inst_vae/netE.pth", "", ImportOptions{})
			return err
		}, "not a SPADE generator"},
		{"encoder given as generator's partner with wrong ngf", func() error {
			_, err := ImportPTH("testdata/parity/c64_inst_vae/netG.pth", "testdata/parity/c256_batch_vae/netE.pth", ImportOptions{})
			return err
		}, "encoder"},
		{"label PNG in RGB", func() error { _, err := ReadLabels(write("rgb.png", pngBuf.Bytes())); return err }, "8-bit gray or paletted"},
		{"corrupt label PNG", func() error { _, err := ReadLabels(write("bad.png", pngBuf.Bytes()[:20])); return err }, "labels"},
		{"float labels npy", func() error { _, err := ReadLabels("testdata/parity/c64_inst_vae/z.npy"); return err }, "must be integers"},
		{"style npy of ids", func() error { _, err := ReadStyle("testdata/parity/c64_inst_vae/labels.npy", 256); return err }, "want float32 (N,3,H,W)"},
		{"style not an image", func() error { _, err := ReadStyle(write("s.jpg", []byte("nope")), 256); return err }, "not a PNG or JPEG"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestOversizeImageRefusedFromHeader: a 20000×20000 PNG is refused
// before its pixels are decoded.
func TestOversizeImageRefusedFromHeader(t *testing.T) {
	var buf bytes.Buffer
	// A valid PNG header claiming 20000×20000; the body never decodes.
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := buf.Bytes()
	// IHDR width/height live at bytes 16..23, its CRC at 29..32.
	put := func(off int, v uint32) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(16, 20000)
	put(20, 20000)
	put(29, crc32.ChecksumIEEE(b[12:29]))
	_, err := DecodeImage(bytes.NewReader(b))
	if err == nil || !strings.Contains(err.Error(), "20000×20000") {
		t.Fatalf("err = %v, want a size refusal", err)
	}
}

func FuzzDecodeLabelPNG(f *testing.F) {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 2)))
	f.Add(buf.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := DecodeLabelPNG(bytes.NewReader(data))
		if err == nil && len(l.Class) != l.W*l.H {
			t.Fatalf("%d values for %d×%d", len(l.Class), l.W, l.H)
		}
	})
}

func FuzzLoadBytes(f *testing.F) {
	m, err := RandomModel(tinyConfig(), 1)
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "m.safetensors")
	if err := m.Save(path); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	f.Add(b)
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, data []byte) {
		LoadBytes(data) // must not panic
	})
}

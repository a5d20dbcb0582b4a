package assets

import "testing"

func TestStylePresets(t *testing.T) {
	ps, err := StylePresets()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 4 {
		t.Fatalf("%d style presets, want at least 4", len(ps))
	}
	for _, p := range ps {
		if b := p.Image.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
			t.Errorf("%s is %v, want 256×256", p.Name, b)
		}
	}
}

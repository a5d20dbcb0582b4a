package assets

import (
	"strings"
	"testing"
)

func TestStylePresets(t *testing.T) {
	ps, err := StylePresets()
	if err != nil {
		t.Fatal(err)
	}
	// 4 real photos and the generator's looks (gen-*).
	gen := 0
	for _, p := range ps {
		if strings.HasPrefix(p.Name, "gen-") {
			gen++
		}
	}
	if len(ps)-gen < 4 || gen < 8 {
		t.Fatalf("%d photos and %d generated style presets, want at least 4 and 8", len(ps)-gen, gen)
	}
	for _, p := range ps {
		if b := p.Image.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
			t.Errorf("%s is %v, want 256×256", p.Name, b)
		}
	}
}

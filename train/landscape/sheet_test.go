package landscape

import (
	"image"
	"image/draw"
	"image/png"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestContactSheet writes a contact sheet (labels | photo in several
// styles, one seed a row) when LANDSCAPE_SHEET names the output PNG.
// LANDSCAPE_SEEDS (first seed, default 1), LANDSCAPE_SIZE (cell size,
// default 192) and LANDSCAPE_STYLES (comma-separated preset names, or
// "random") tune it.
func TestContactSheet(t *testing.T) {
	out := os.Getenv("LANDSCAPE_SHEET")
	if out == "" {
		t.Skip("set LANDSCAPE_SHEET=/tmp/sheet.png to write a contact sheet")
	}
	first := envInt("LANDSCAPE_SEEDS", 1)
	size := envInt("LANDSCAPE_SIZE", 192)
	rows := envInt("LANDSCAPE_ROWS", 8)
	names := strings.Split(envStr("LANDSCAPE_STYLES", "noon,golden-hour,overcast,autumn"), ",")
	presets := map[string]Style{}
	for _, p := range Presets() {
		presets[p.Name] = p.Style
	}
	cols := 1 + len(names)
	sheet := image.NewNRGBA(image.Rect(0, 0, cols*(size+4), rows*(size+4)))
	for r := 0; r < rows; r++ {
		seed := int64(first + r)
		for c, n := range names {
			st, ok := presets[n]
			if n == "random" || !ok {
				st = RandomStyle(newRand(seed*31 + int64(c)))
			}
			lab, ph := Generate(seed, size, size, st)
			if c == 0 {
				draw.Draw(sheet, image.Rect(0, r*(size+4), size, r*(size+4)+size), lab, image.Point{}, draw.Src)
			}
			x := (c + 1) * (size + 4)
			draw.Draw(sheet, image.Rect(x, r*(size+4), x+size, r*(size+4)+size), ph, image.Point{}, draw.Src)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, sheet); err != nil {
		t.Fatal(err)
	}
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func envStr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

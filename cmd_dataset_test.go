package main

import (
	"bytes"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spadepaint/train/landscape"
)

func TestCLIDatasetSynth(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := runDataset([]string{"synth", "--n", "3", "--size", "32", "--seed", "4", "--format", "png", "--out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wrote 3 pairs") {
		t.Errorf("stdout %q", out.String())
	}
	for _, p := range []string{"images/00000.png", "images/00002.png", "labels/00002.png", "classes.txt", "styles.csv"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	if err := runDataset([]string{"synth", "--n", "2"}, &out); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("missing --out: %v", err)
	}
	if err := runDataset([]string{"nope"}, &out); err == nil {
		t.Error("unknown subcommand accepted")
	}
}

// TestCLIDatasetPresets checks that `dataset presets` writes one photo per
// look, that the looks differ, and that the shipped assets/styles/gen-*.jpg
// are what the command writes (regenerate with `make style-presets`).
func TestCLIDatasetPresets(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := runDataset([]string{"presets", "--out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	looks := landscape.Presets()
	if n := strings.Count(out.String(), "\n"); n != len(looks) {
		t.Fatalf("wrote %d files, want %d", n, len(looks))
	}
	means := make([][3]float64, len(looks))
	for i, p := range looks {
		name := "gen-" + p.Name + ".jpg"
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		shipped, err := os.ReadFile(filepath.Join("assets", "styles", name))
		if err != nil {
			t.Errorf("%s not shipped: %v", name, err)
		} else if !bytes.Equal(b, shipped) {
			t.Errorf("assets/styles/%s differs from `dataset presets` output: run make style-presets", name)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		bd := img.Bounds()
		if bd.Dx() != 256 || bd.Dy() != 256 {
			t.Errorf("%s is %v", name, bd)
		}
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			for x := bd.Min.X; x < bd.Max.X; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				means[i][0] += float64(r>>8) / float64(bd.Dx()*bd.Dy())
				means[i][1] += float64(g>>8) / float64(bd.Dx()*bd.Dy())
				means[i][2] += float64(b>>8) / float64(bd.Dx()*bd.Dy())
			}
		}
	}
	// Distinct looks: every pair differs in mean colour by a visible step.
	for i := range means {
		for j := i + 1; j < len(means); j++ {
			d := math.Hypot(math.Hypot(means[i][0]-means[j][0], means[i][1]-means[j][1]), means[i][2]-means[j][2])
			if d < 2 {
				t.Errorf("%s and %s look alike (mean colour distance %.2f)", looks[i].Name, looks[j].Name, d)
			}
		}
	}
	if err := runDataset([]string{"presets"}, &out); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("missing --out: %v", err)
	}
}

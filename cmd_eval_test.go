package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spadepaint/model"
	"spadepaint/train/eval"
)

// TestEvalCLI runs `spadepaint eval --json` end to end on a random tiny
// model and an untrained tiny segmenter over 4 held-out landscapes, then
// the table form: every key the issue names is printed.
func TestEvalCLI(t *testing.T) {
	dir := t.TempDir()
	c := model.Landscape.Config()
	c.Width, c.NGF, c.NHidden, c.ZDim, c.EncoderLayers = 32, 4, 8, 8, 5
	m, err := model.RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(dir, "m.safetensors")
	if err := m.Save(mp); err != nil {
		t.Fatal(err)
	}
	seg, err := eval.NewSegNet(eval.SegConfig{Classes: 16, Size: 32, Widths: [5]int{4, 4, 4, 4, 4}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	sp := filepath.Join(dir, "seg.safetensors")
	if err := seg.Save(sp); err != nil {
		t.Fatal(err)
	}
	args := []string{"--model", mp, "--seg", sp, "--n", "4", "--size", "64", "--div-n", "2", "--div-k", "2", "--quiet", "--samples", filepath.Join(dir, "s.png")}
	var out bytes.Buffer
	if err := runEval(append(args, "--json"), &out); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	for _, k := range []string{"miou_real", "miou_generated", "pixel_acc_real", "pixel_acc_generated", "style_fidelity", "diversity", "diversity_real"} {
		if v, ok := got[k].(float64); !ok || v < 0 || v > 1 {
			t.Errorf("%s = %v", k, got[k])
		}
	}
	f, err := os.Open(filepath.Join(dir, "s.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width != 6*64 || cfg.Height != 2*64 {
		t.Errorf("contact sheet %+v, %v: want 384×128 (labels, photo, reference, output, 2 random z; 2 rows)", cfg, err)
	}
	out.Reset()
	if err := runEval(args, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "segmentation mIoU") || !strings.Contains(out.String(), "sky-other") {
		t.Errorf("table:\n%s", out.String())
	}
	out.Reset()
	if err := runEval([]string{"seg", "--seg", sp, "--n", "2", "--size", "64"}, &out); err != nil || !strings.Contains(out.String(), "mIoU") {
		t.Errorf("eval seg: %v\n%s", err, out.String())
	}
}

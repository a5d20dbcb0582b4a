package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spadepaint/model"
	"spadepaint/model/device"
)

// TestDeviceFlag: --device gpu without a usable GPU renders on the CPU
// after one line on stderr, except for the benchmark, which stops: it
// must not time the CPU when asked for the GPU.
func TestDeviceFlag(t *testing.T) {
	if _, err := device.Available(); err == nil {
		t.Skip("this machine has a usable GPU: the fallback cannot be seen")
	}
	dir := t.TempDir()
	c := model.Preset(model.Landscape).Config()
	c.NGF, c.Width = 4, 64
	m, err := model.RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(dir, "m.safetensors")
	if err := m.Save(mp); err != nil {
		t.Fatal(err)
	}
	l := model.BenchLabels(c, 1)
	gray := &image.Gray{Pix: l.Class, Stride: l.W, Rect: image.Rect(0, 0, l.W, l.H)}
	var pb bytes.Buffer
	if err := png.Encode(&pb, gray); err != nil {
		t.Fatal(err)
	}
	lp := filepath.Join(dir, "l.png")
	if err := os.WriteFile(lp, pb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.png")

	stderr, code := runMain(t, "render", "--device", "gpu", "--model", mp, "--labels", lp, "--out", out)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var warn []string
	for _, l := range lines {
		if strings.HasPrefix(l, "spadepaint") {
			warn = append(warn, l)
		}
	}
	if code != 0 || len(warn) != 1 || !strings.HasPrefix(warn[0], "spadepaint: GPU unavailable (") || !strings.HasSuffix(warn[0], "); rendering on the CPU") {
		t.Errorf("render --device gpu: exit %d, stderr %q; want exit 0 and one GPU-unavailable line", code, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("render --device gpu wrote nothing: %v", err)
	}

	stderr, code = runMain(t, "bench", "--device", "gpu", "--model", mp, "--iters", "1", "--torch-script=")
	if code == 0 || !strings.Contains(stderr, "spadepaint bench: --device gpu: ") {
		t.Errorf("bench --device gpu: exit %d, stderr %q; want a failure naming the device", code, stderr)
	}

	var buf bytes.Buffer
	if err := runBench([]string{"--device", "cpu", "--model", mp, "--iters", "1", "--torch-script", "", "--json"}, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"device":"CPU"`) {
		t.Errorf("bench --json has no device: %s", buf.String())
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"syscall"
	"time"

	"spadepaint/model"
)

// benchResult is what `spadepaint bench --json` prints.
type benchResult struct {
	Model       string  `json:"model"`
	Size        string  `json:"size"`
	BLAS        string  `json:"blas"`
	FirstMS     float64 `json:"first_ms"`
	ColdMS      float64 `json:"cold_ms"`
	StyleMS     float64 `json:"style_ms"`
	StrokeMS    float64 `json:"stroke_ms"`
	EncodeMS    float64 `json:"encode_ms,omitempty"`
	PeakMB      float64 `json:"peak_mb"`
	TorchColdMS float64 `json:"torch_cold_ms,omitempty"`
	TorchPeakMB float64 `json:"torch_peak_mb,omitempty"`
	Ratio       float64 `json:"ratio_vs_torch,omitempty"`
}

func runBench(args []string, stdout io.Writer) error {
	fs := newFlags("bench")
	modelPath := fs.String("model", "", "model file (.safetensors); default: --preset on random weights")
	presetName := fs.String("preset", "landscape", "preset to benchmark on random weights when no --model is given")
	size := fs.Int("size", 256, "output width for presets")
	iters := fs.Int("iters", 5, "timed runs (the median is reported)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	torchScript := fs.String("torch-script", "scripts/torch_bench.py", "PyTorch reference timer, run with /usr/bin/python3 when torch is installed; empty to skip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var m *model.Model
	var err error
	if *modelPath != "" {
		if m, err = model.Load(*modelPath); err != nil {
			return err
		}
	} else {
		p, err := model.ParsePreset(*presetName)
		if err != nil {
			return err
		}
		c := p.Config()
		c.Width = *size
		if m, err = model.RandomModel(c, 1); err != nil {
			return err
		}
	}
	c := m.Config
	res := benchResult{Model: c.Name, Size: fmt.Sprintf("%dx%d", c.Width, c.Height()), BLAS: model.EngineGEMM()}
	labels := model.BenchLabels(c, 1)
	z := m.RandomZ(1, 1)
	ctx := context.Background()
	// First render of a new model: prepares the engine's weights and
	// buffers once (as the app does at start), then renders.
	start := time.Now()
	if _, err := m.Generate(ctx, labels, z); err != nil {
		return err
	}
	res.FirstMS = float64(time.Since(start).Microseconds()) / 1000
	// Cold: labels never seen (the model's label cache dropped), new z.
	seed := int64(1)
	res.ColdMS, err = medianMS(*iters, func() error {
		m.DropCache()
		seed++
		_, err := m.Generate(ctx, labels, m.RandomZ(1, seed))
		return err
	})
	if err != nil {
		return err
	}
	// New style: same labels, new z (without a VAE: the same render again,
	// main path only).
	if _, err := m.Generate(ctx, labels, z); err != nil {
		return err
	}
	res.StyleMS, err = medianMS(*iters, func() error {
		seed++
		_, err := m.Generate(ctx, labels, m.RandomZ(1, seed))
		return err
	})
	if err != nil {
		return err
	}
	// Stroke: a 32×32 dab changes the labels, same z.
	stroke := 0
	res.StrokeMS, err = medianMS(*iters, func() error {
		stroke++
		model.BenchStroke(c, labels, stroke)
		_, err := m.Generate(ctx, labels, z)
		return err
	})
	if err != nil {
		return err
	}
	if m.HasEncoder() {
		style := &model.Image{N: 1, H: 256, W: 256, Pix: make([]float32, 3*256*256)}
		for i := range style.Pix {
			style.Pix[i] = float32(i%97)/48 - 1
		}
		if _, _, err := m.Encode(ctx, style); err != nil {
			return err
		}
		if res.EncodeMS, err = medianMS(*iters, func() error { _, _, err := m.Encode(ctx, style); return err }); err != nil {
			return err
		}
	}
	res.PeakMB = peakRSSMB()
	if *torchScript != "" {
		if t, err := torchBench(*torchScript, c, *iters); err == nil {
			res.TorchColdMS, res.TorchPeakMB = t.ColdMS, t.PeakMB
			res.Ratio = (res.ColdMS + res.EncodeMS) / t.ColdMS
		} else {
			fmt.Fprintln(stdout, "PyTorch reference skipped:", err)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "model %s %s (%s, ngf %d, %d classes, encoder %v), BLAS %s\n", res.Model, res.Size, c.Norm, c.NGF, c.NumClasses(), m.HasEncoder(), res.BLAS)
	fmt.Fprintf(stdout, "  first render   %8.1f ms (new model: engine set-up + cold forward)\n", res.FirstMS)
	fmt.Fprintf(stdout, "  cold forward   %8.1f ms (median of %d; new labels, new z)\n", res.ColdMS, *iters)
	fmt.Fprintf(stdout, "  new style      %8.1f ms (%.2f× cold)\n", res.StyleMS, res.StyleMS/res.ColdMS)
	fmt.Fprintf(stdout, "  stroke 32×32   %8.1f ms (%.2f× cold)\n", res.StrokeMS, res.StrokeMS/res.ColdMS)
	if res.EncodeMS > 0 {
		fmt.Fprintf(stdout, "  encode style   %8.1f ms\n", res.EncodeMS)
	}
	fmt.Fprintf(stdout, "  peak memory    %8.0f MB\n", res.PeakMB)
	if res.TorchColdMS > 0 {
		fmt.Fprintf(stdout, "  PyTorch        %8.1f ms, %.0f MB peak (same config, 2 threads; G+E)\n", res.TorchColdMS, res.TorchPeakMB)
		fmt.Fprintf(stdout, "  ratio          %8.2f× PyTorch's time\n", res.Ratio)
	}
	return nil
}

func medianMS(iters int, f func() error) (float64, error) {
	ts := make([]float64, 0, iters)
	for i := 0; i < max(iters, 1); i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts = append(ts, float64(time.Since(start).Microseconds())/1000)
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}

func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

type torchTiming struct {
	ColdMS float64 `json:"torch_cold_ms"`
	PeakMB float64 `json:"torch_peak_mb"`
}

// torchBench times the PyTorch reference of the same config (2 threads).
func torchBench(script string, c model.Config, iters int) (torchTiming, error) {
	var t torchTiming
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		return t, fmt.Errorf("no torch at %s", py)
	}
	args := []string{script, "--ngf", strconv.Itoa(c.NGF), "--label-nc", strconv.Itoa(c.SemanticNC()),
		"--size", strconv.Itoa(c.Width), "--aspect", strconv.FormatFloat(c.AspectRatio, 'g', -1, 64),
		"--upsampling", c.Upsampling.String(), "--norm", c.Norm.String(), "--nhidden", strconv.Itoa(c.NHidden),
		"--iters", strconv.Itoa(iters)}
	if c.UseVAE {
		args = append(args, "--vae", "--encoder")
	} else {
		args = append(args, "--no-vae")
	}
	out, err := exec.Command(py, args...).Output()
	if err != nil {
		return t, fmt.Errorf("%s: %w", script, err)
	}
	if err := json.Unmarshal(out, &t); err != nil {
		return t, fmt.Errorf("%s printed %q: %w", script, out, err)
	}
	return t, nil
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strconv"

	"spadepaint/model"
	"spadepaint/model/device"
)

// benchResult is what `spadepaint bench --json` prints: the timings and
// the PyTorch reference's.
type benchResult struct {
	device.BenchResult
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
	torchScript := fs.String("torch-script", "scripts/torch_bench.py", "PyTorch reference timer, run with /usr/bin/python3 when torch is installed; empty to skip (skipped on --device gpu unless given)")
	dev := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
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
	// A benchmark asked for the GPU must not quietly time the CPU.
	if *dev != device.CPU {
		if _, err := device.Attach(m, *dev); err != nil {
			return fmt.Errorf("--device %v: %w", *dev, err)
		}
		defer m.SetBackend(nil)
	}
	r, err := device.Bench(context.Background(), m, *iters)
	if err != nil {
		return err
	}
	res := benchResult{BenchResult: r}
	// The PyTorch reference runs on the CPU (2 threads): against a GPU
	// it compares unlike with unlike unless asked for.
	if *torchScript != "" && (*dev == device.CPU || set["torch-script"]) {
		if t, err := torchBench(*torchScript, m.Config, *iters); err == nil {
			res.TorchColdMS, res.TorchPeakMB = t.ColdMS, t.PeakMB
			res.Ratio = (res.ColdMS + res.EncodeMS) / t.ColdMS
		} else {
			fmt.Fprintln(stdout, "PyTorch reference skipped:", err)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	res.WriteTable(stdout)
	if res.TorchColdMS > 0 {
		what := "same config"
		if c := m.Config; c.StyleMod || c.EncoderStats {
			// The reference script builds the paper's networks only.
			what = "the paper's networks of this size, without the style modulation and colour statistics"
		}
		fmt.Fprintf(stdout, "  PyTorch        %8.1f ms, %.0f MB peak (%s, 2 threads; G+E)\n", res.TorchColdMS, res.TorchPeakMB, what)
		fmt.Fprintf(stdout, "  ratio          %8.2f× PyTorch's time\n", res.Ratio)
	}
	return nil
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

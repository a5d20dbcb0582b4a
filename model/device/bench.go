package device

import (
	"context"
	"fmt"
	"io"
	"sort"
	"syscall"
	"time"

	"spadepaint/model"
)

// BenchResult is one model's inference timings, as `spadepaint bench`
// prints them (its JSON adds the PyTorch reference).
type BenchResult struct {
	Model    string  `json:"model"`
	Size     string  `json:"size"`
	Device   string  `json:"device"`
	BLAS     string  `json:"blas,omitempty"` // the CPU engine's GEMM
	FirstMS  float64 `json:"first_ms"`
	ColdMS   float64 `json:"cold_ms"`
	StyleMS  float64 `json:"style_ms"`
	StrokeMS float64 `json:"stroke_ms"`
	EncodeMS float64 `json:"encode_ms,omitempty"`
	PeakMB   float64 `json:"peak_mb"`

	// For the table.
	Config  model.Config `json:"-"`
	Encoder bool         `json:"-"`
	Iters   int          `json:"-"`
}

// Bench times m where it runs now (the CPU engine, or the backend Attach
// gave it): the first render of the model (set-up included), a cold
// forward (new labels, new z: the label cache dropped), a new style (same
// labels, new z), a 32×32 stroke (same z) and, with an encoder, encoding a
// 256² style image. Each timing is the median of iters runs.
func Bench(ctx context.Context, m *model.Model, iters int) (BenchResult, error) {
	c := m.Config
	res := BenchResult{Model: c.Name, Size: fmt.Sprintf("%dx%d", c.Width, c.Height()), Device: m.Device(),
		Config: c, Encoder: m.HasEncoder(), Iters: max(iters, 1)}
	if res.Device == CPUName {
		res.BLAS = model.EngineGEMM()
	}
	labels := model.BenchLabels(c, 1)
	z := m.RandomZ(1, 1)
	// First render of a new model: prepares the weights and buffers once
	// (as the app does at start), then renders.
	start := time.Now()
	if _, err := m.Generate(ctx, labels, z); err != nil {
		return res, err
	}
	res.FirstMS = ms(time.Since(start))
	var err error
	seed := int64(1)
	if res.ColdMS, err = medianMS(iters, func() error {
		m.DropCache()
		seed++
		_, err := m.Generate(ctx, labels, m.RandomZ(1, seed))
		return err
	}); err != nil {
		return res, fmt.Errorf("cold forward: %w", err)
	}
	// New style: same labels, new z (without a VAE: the same render
	// again, main path only).
	if _, err := m.Generate(ctx, labels, z); err != nil {
		return res, err
	}
	if res.StyleMS, err = medianMS(iters, func() error {
		seed++
		_, err := m.Generate(ctx, labels, m.RandomZ(1, seed))
		return err
	}); err != nil {
		return res, fmt.Errorf("new style: %w", err)
	}
	// Stroke: a 32×32 dab changes the labels, same z.
	stroke := 0
	if res.StrokeMS, err = medianMS(iters, func() error {
		stroke++
		model.BenchStroke(c, labels, stroke)
		_, err := m.Generate(ctx, labels, z)
		return err
	}); err != nil {
		return res, fmt.Errorf("stroke: %w", err)
	}
	if m.HasEncoder() {
		style := &model.Image{N: 1, H: 256, W: 256, Pix: make([]float32, 3*256*256)}
		for i := range style.Pix {
			style.Pix[i] = float32(i%97)/48 - 1
		}
		if _, _, err := m.Encode(ctx, style); err != nil {
			return res, err
		}
		if res.EncodeMS, err = medianMS(iters, func() error { _, _, err := m.Encode(ctx, style); return err }); err != nil {
			return res, fmt.Errorf("encode: %w", err)
		}
	}
	res.PeakMB = peakRSSMB()
	return res, nil
}

// WriteTable prints r as `spadepaint bench` does.
func (r BenchResult) WriteTable(w io.Writer) {
	c := r.Config
	where := r.Device
	if r.BLAS != "" {
		where += ", BLAS " + r.BLAS
	}
	fmt.Fprintf(w, "model %s %s (%s, ngf %d, %d classes, encoder %v), %s\n", r.Model, r.Size, c.Norm, c.NGF, c.NumClasses(), r.Encoder, where)
	fmt.Fprintf(w, "  first render   %8.1f ms (new model: set-up + cold forward)\n", r.FirstMS)
	fmt.Fprintf(w, "  cold forward   %8.1f ms (median of %d; new labels, new z)\n", r.ColdMS, r.Iters)
	fmt.Fprintf(w, "  new style      %8.1f ms (%.2f× cold)\n", r.StyleMS, r.StyleMS/r.ColdMS)
	fmt.Fprintf(w, "  stroke 32×32   %8.1f ms (%.2f× cold)\n", r.StrokeMS, r.StrokeMS/r.ColdMS)
	if r.EncodeMS > 0 {
		fmt.Fprintf(w, "  encode style   %8.1f ms\n", r.EncodeMS)
	}
	fmt.Fprintf(w, "  peak memory    %8.0f MB (host)\n", r.PeakMB)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func medianMS(iters int, f func() error) (float64, error) {
	ts := make([]float64, 0, iters)
	for i := 0; i < max(iters, 1); i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts = append(ts, ms(time.Since(start)))
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}

// peakRSSMB is the process's peak resident memory.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

//go:build !gpu

package device

import (
	"errors"
	"testing"

	G "gorgonia.org/gorgonia"

	"spadepaint/model"
)

// TestNoGPUSupport: without the gpu tag every GPU request says how to
// get one, and the model stays on the CPU, still rendering.
func TestNoGPUSupport(t *testing.T) {
	c := model.Preset(model.Landscape).Config()
	c.NGF, c.Width = 4, 64
	m, err := model.RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Attach(m, GPU); !errors.Is(err, ErrNoGPUSupport) {
		t.Errorf("Attach(GPU) = %v, want ErrNoGPUSupport", err)
	}
	if d := m.Device(); d != CPUName {
		t.Errorf("after a failed Attach the model runs on %q", d)
	}
	if _, err := m.Generate(t.Context(), model.BenchLabels(c, 1), m.RandomZ(1, 1)); err != nil {
		t.Errorf("render after a failed Attach: %v", err)
	}
	if desc, err := Attach(m, CPU); err != nil || desc != CPUName {
		t.Errorf("Attach(CPU) = %q, %v", desc, err)
	}
	if _, err := Available(); !errors.Is(err, ErrNoGPUSupport) {
		t.Errorf("Available() = %v", err)
	}
	prev := G.WhichBLAS()
	if _, _, err := Use(GPU); !errors.Is(err, ErrNoGPUSupport) || G.WhichBLAS() != prev {
		t.Errorf("Use(GPU) = %v, BLAS %T; want ErrNoGPUSupport and the BLAS unchanged", err, G.WhichBLAS())
	}
	if _, _, err := TrainBLAS(GPU); !errors.Is(err, ErrNoGPUSupport) {
		t.Errorf("TrainBLAS(GPU) = %v", err)
	}
}

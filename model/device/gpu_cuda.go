//go:build gpu

package device

import (
	"fmt"
	"sync"

	"spadepaint/model"
	"spadepaint/model/gpu"
)

// shared is the process's GPU: opened on first use, never closed (the
// driver releases it at exit), and the error is kept too, so a machine
// without a GPU is probed once, not at every render.
var shared struct {
	once sync.Once
	d    *gpu.Device
	err  error
}

func openGPU() (*gpu.Device, error) {
	shared.once.Do(func() {
		shared.d, shared.err = gpu.Open()
	})
	return shared.d, shared.err
}

func attachGPU(m *model.Model) (string, error) {
	d, err := openGPU()
	if err != nil {
		return "", err
	}
	b, err := gpu.NewBackend(d, m)
	if err != nil {
		return "", fmt.Errorf("%s: %w", d.Name(), err)
	}
	m.SetBackend(b)
	return d.Name(), nil
}

// gemmDevice is the GPU as the training BLAS sees it.
func gemmDevice() (sgemmer, string, error) {
	d, err := openGPU()
	if err != nil {
		return nil, "", err
	}
	return d, d.Name(), nil
}

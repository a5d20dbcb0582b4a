// Package device chooses where spadepaint's networks run: on the CPU
// (the model package's own engine, always there) or on an NVIDIA GPU
// (package model/gpu, in builds tagged gpu: `make gpu`).
//
// A GPU is opened once per process and shared by every model attached to
// it and by training. Anything that keeps the GPU from being used (a
// build without the gpu tag, no driver, no device, an unsupported
// set-up) comes back as an error the caller shows while it goes on on
// the CPU; only the benchmark refuses to fall back, since it would then
// measure something else than was asked.
package device

import (
	"errors"
	"fmt"
	"strings"

	"spadepaint/model"
)

// Kind is where a model runs.
type Kind int

const (
	// CPU is the model package's inference engine and gorgonia's BLAS
	// for training.
	CPU Kind = iota
	// GPU is the first NVIDIA GPU, through package model/gpu.
	GPU
)

// Kinds lists every kind, in the order a chooser offers them.
func Kinds() []Kind { return []Kind{CPU, GPU} }

// String is the name the --device flag takes.
func (k Kind) String() string {
	switch k {
	case CPU:
		return "cpu"
	case GPU:
		return "gpu"
	}
	return fmt.Sprintf("device(%d)", int(k))
}

// ParseKind reads a --device value: cpu or gpu (any case).
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if strings.EqualFold(strings.TrimSpace(s), k.String()) {
			return k, nil
		}
	}
	return CPU, fmt.Errorf("unknown device %q (want cpu or gpu)", s)
}

// Set makes *Kind a flag.Value.
func (k *Kind) Set(s string) error {
	v, err := ParseKind(s)
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// ErrNoGPUSupport is the error of every GPU request in a build without
// the gpu tag.
var ErrNoGPUSupport = errors.New("this spadepaint was built without GPU support (build it with `make gpu`)")

// CPUName is the description Attach returns for the CPU.
const CPUName = "CPU"

// Attach makes m run on k and returns a description of where it runs now
// ("CPU", or the GPU's name). For the GPU it opens the device (once per
// process) and gives m a GPU backend; on any failure m is left as it was
// and the error says why, for the caller to show while it carries on on
// the CPU. Attaching to the CPU drops a GPU backend m had.
func Attach(m *model.Model, k Kind) (desc string, err error) {
	switch k {
	case CPU:
		m.SetBackend(nil)
		return CPUName, nil
	case GPU:
		return attachGPU(m)
	}
	return "", fmt.Errorf("unknown device %v", k)
}

// Available opens the GPU (once per process) and returns its name, or
// the reason it cannot be used.
func Available() (name string, err error) {
	d, err := openGPU()
	if err != nil {
		return "", err
	}
	return d.Name(), nil
}

package main

import (
	"flag"
	"fmt"
	"io"

	"spadepaint/model"
	"spadepaint/model/device"
)

// deviceFlag adds --device (cpu by default) to fs.
func deviceFlag(fs *flag.FlagSet) *device.Kind {
	k := device.CPU
	fs.Var(&k, "device", "where the model runs: `cpu|gpu` (gpu: the first NVIDIA GPU, in builds made with make gpu; without one, the CPU)")
	return &k
}

// useDevice moves m to k. When the GPU cannot be used it says so in one
// line on stderr (doing: "rendering", "training" …) and m stays on the
// CPU: asking for the GPU is a wish, not a precondition.
func useDevice(stderr io.Writer, m *model.Model, k device.Kind, doing string) {
	if k == device.CPU {
		return
	}
	if _, err := device.Attach(m, k); err != nil {
		gpuUnavailable(stderr, err, doing)
	}
}

func gpuUnavailable(w io.Writer, err error, doing string) {
	fmt.Fprintf(w, "spadepaint: GPU unavailable (%v); %s on the CPU\n", err, doing)
}

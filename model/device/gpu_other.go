//go:build !gpu

package device

import "spadepaint/model"

// named is what openGPU returns; without the gpu tag there is no device
// type to name.
type named interface{ Name() string }

func openGPU() (named, error) { return nil, ErrNoGPUSupport }

func attachGPU(*model.Model) (string, error) { return "", ErrNoGPUSupport }

func gemmDevice() (sgemmer, string, error) { return nil, "", ErrNoGPUSupport }

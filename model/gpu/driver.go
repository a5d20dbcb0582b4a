//go:build gpu

package gpu

import "gorgonia.org/cu"

// initDriver loads and initialises the CUDA driver: third_party/cu opens
// libcuda with dlopen in cu.Init (instead of linking it and calling cuInit
// at package init, which would stop a program without a driver).
func initDriver() error { return cu.Init() }

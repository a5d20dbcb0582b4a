package cu

// This file provides cgo flags to find the CUDA headers.
//
// Unlike upstream gorgonia.org/cu, the package does not link against
// libcuda: the driver is opened with dlopen by Init (see loader.go), so a
// binary built with this package starts on machines without the NVIDIA
// driver. Only the headers are needed at build time; add other locations
// with CGO_CFLAGS=-I/path/to/cuda/include.

//#cgo LDFLAGS: -ldl
//#cgo CFLAGS: -Wno-deprecated-declarations
//#cgo linux CFLAGS: -I/usr/local/cuda/include -I/opt/cuda/include
import "C"

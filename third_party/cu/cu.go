// Package cu provides an idiomatic interface to the CUDA Driver API.
//
// This is spadepaint's fork of gorgonia.org/cu v0.9.6: the driver library is
// loaded at run time by Init instead of being linked, and importing the
// package no longer initialises CUDA (or exits the process when that fails).
// See loader.go and README.md.
package cu // import "gorgonia.org/cu"

// This file implements CUDA driver context management

//#include <cuda.h>
import "C"

// Version returns the version of the CUDA driver, or -1 when the driver
// library cannot be loaded (see Init). It needs no device, so it reports the
// driver version even where Init fails with NoDevice.
func Version() int {
	_ = ensureInit() // the error shows as a failing cuDriverGetVersion
	var v C.int
	if err := result(C.cuDriverGetVersion(&v)); err != nil {
		return -1
	}
	return int(v)
}

package cu

// This file loads the CUDA driver library at run time. See loader.c for how
// the package's cuXxx calls reach the loaded library.

// #include <stdlib.h>
// #include <cuda.h>
// #include "loader.h"
import "C"
import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"
)

// LibraryEnv names an environment variable that, when set, is the only path
// Init tries to load the CUDA driver library from (instead of libcuda.so.1,
// then libcuda.so, looked up by the dynamic loader). Setting it to a path that
// does not exist is a way to test the no-driver path on a machine with one.
const LibraryEnv = "SPADEPAINT_LIBCUDA"

// ErrNoDriver is wrapped by the error Init returns when the CUDA driver
// library cannot be loaded (the NVIDIA driver is not installed).
var ErrNoDriver = errors.New("CUDA driver library not found")

// driverLibs are the names tried in order when LibraryEnv is unset: the
// versioned soname the driver package always installs, and the development
// symlink as a fallback.
var driverLibs = []string{"libcuda.so.1", "libcuda.so"}

var (
	initOnce sync.Once
	initErr  error
)

// Init loads the CUDA driver library and initialises the driver (cuInit).
// It is safe to call more than once and from several goroutines; every call
// returns the result of the first.
//
// The error says what is missing: a driver library that cannot be loaded
// (errors.Is(err, ErrNoDriver)), or a driver that cannot initialise (for
// example errors.Is(err, NoDevice) on a machine without an NVIDIA GPU).
//
// NumDevices, GetDevice, Version, Device.MakeContext, Device.RetainPrimaryCtx,
// NewContext and NewManuallyManagedContext call Init themselves, so a program
// that starts with one of them need not call it. Any other function used
// before a successful Init returns the NotInitialized error.
func Init() error {
	initOnce.Do(func() { initErr = load() })
	return initErr
}

// ensureInit is Init for the package's entry points.
func ensureInit() error { return Init() }

func load() error {
	libs := driverLibs
	if p := os.Getenv(LibraryEnv); p != "" {
		libs = []string{p}
	}
	var reasons []string
	loaded := false
	for _, lib := range libs {
		if err := dlopen(lib); err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		loaded = true
		break
	}
	if !loaded {
		return fmt.Errorf("cu: %w (is the NVIDIA driver installed?): %s", ErrNoDriver, strings.Join(reasons, "; "))
	}
	if missing := MissingDriverFunctions(); contains(missing, "cuInit") {
		return fmt.Errorf("cu: the CUDA driver library lacks cuInit (missing: %s)", strings.Join(missing, ", "))
	}
	if err := result(C.cuInit(0)); err != nil {
		return fmt.Errorf("cu: initialise the CUDA driver: %w", describe(err))
	}
	return nil
}

func dlopen(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var buf [1024]C.char
	if C.cudl_load(cpath, &buf[0], C.size_t(len(buf))) != 0 {
		return errors.New(C.GoString(&buf[0]))
	}
	return nil
}

// MissingDriverFunctions lists the driver functions this package uses that
// the loaded driver library does not export (an older driver than the CUDA
// headers the package was built with). Calling one returns NotSupported.
// It is empty before the library is loaded.
func MissingDriverFunctions() []string {
	n := int(C.cudl_missing_count())
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, C.GoString(C.cudl_missing_name(C.int(i))))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// driverError is a cuResult with the driver's description of it.
type driverError struct {
	res  cuResult
	desc string
}

func (e driverError) Error() string { return e.res.Error() + " (" + e.desc + ")" }
func (e driverError) Unwrap() error { return e.res }

// describe adds the driver's description to err when it is a cuResult the
// driver can describe.
func describe(err error) error {
	var res cuResult
	if !errors.As(err, &res) {
		return err
	}
	s := C.cudl_error_string(C.int(res))
	if s == nil {
		return err
	}
	return driverError{res: res, desc: C.GoString(s)}
}

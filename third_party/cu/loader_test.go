//go:build gpu

package cu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"
)

// helperEnv makes the test binary act as a small program (see TestMain):
// Init runs once per process, so each loader scenario needs its own.
const helperEnv = "CU_LOADER_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(loaderHelper())
	}
	os.Exit(m.Run())
}

// loaderHelper is a program that uses cu the way spadepaint does: call the
// API before Init, then Init, then the device entry points, and report what
// each returned. It exits 0 unless a call's result contradicts the Init
// result, so a crash or os.Exit(1) shows in the exit status.
func loaderHelper() int {
	if _, err := MemAlloc(16); !errors.Is(err, NotInitialized) {
		fmt.Printf("MemAlloc before Init: got %v, want NotInitialized\n", err)
		return 3
	}
	initErr := Init()
	fmt.Printf("init: %v\n", initErr)
	fmt.Printf("no-driver: %v\n", errors.Is(initErr, ErrNoDriver))
	fmt.Printf("missing: %s\n", strings.Join(MissingDriverFunctions(), ","))
	if again := Init(); fmt.Sprint(again) != fmt.Sprint(initErr) {
		fmt.Printf("second Init: %v, first: %v\n", again, initErr)
		return 3
	}
	n, err := NumDevices()
	fmt.Printf("devices: %d %v\n", n, err)
	if initErr != nil && err == nil {
		fmt.Println("NumDevices succeeded after a failed Init")
		return 3
	}
	if _, err := Device(0).MakeContext(SchedAuto); initErr != nil && err == nil {
		fmt.Println("MakeContext succeeded after a failed Init")
		return 3
	}
	fmt.Printf("version: %d\n", Version())
	return 0
}

func runHelper(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=1"}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper (env %q) failed: %v\n%s", env, err, out)
	}
	return string(out)
}

func TestInitErrors(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string // lines the helper must print
	}{
		{
			name: "library not found",
			env:  []string{LibraryEnv + "=/nonexistent/libcuda.so.1"},
			want: []string{
				"init: cu: CUDA driver library not found (is the NVIDIA driver installed?): /nonexistent/libcuda.so.1: cannot open shared object file: No such file or directory",
				"no-driver: true",
				"devices: 0 cu: CUDA driver library not found",
				"version: -1",
			},
		},
		{
			// A real shared library that is not the driver: every symbol
			// is missing, which Init reports instead of calling NULL.
			name: "library without the driver API",
			env:  []string{LibraryEnv + "=libm.so.6"},
			want: []string{
				"init: cu: the CUDA driver library lacks cuInit (missing: ",
				"no-driver: false",
				"missing: cuArray3DCreate_v2,",
				"version: -1",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := runHelper(t, tc.env...)
			for _, w := range tc.want {
				if !strings.Contains(out, "\n"+w) && !strings.HasPrefix(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestInitDefault loads whatever driver this machine has. Without the NVIDIA
// driver Init must report ErrNoDriver; with it but without a GPU, the
// driver's NoDevice; with a GPU it must succeed and see a device.
func TestInitDefault(t *testing.T) {
	out := runHelper(t, LibraryEnv+"=")
	t.Logf("helper output:\n%s", out)
	switch {
	case strings.Contains(out, "init: <nil>"):
		if strings.Contains(out, "devices: 0") {
			t.Errorf("Init succeeded but NumDevices found no device:\n%s", out)
		}
		if strings.Contains(out, "version: -1") {
			t.Errorf("Init succeeded but Version failed:\n%s", out)
		}
	case strings.Contains(out, "no-driver: true"):
		if !strings.Contains(out, "libcuda.so.1") {
			t.Errorf("no-driver error does not name libcuda.so.1:\n%s", out)
		}
	default:
		// The driver loaded but cuInit failed: the error must be the
		// driver's, with its description, and Version still works.
		if !strings.Contains(out, "init: cu: initialise the CUDA driver: ") || !strings.Contains(out, "(") {
			t.Errorf("unexpected Init error:\n%s", out)
		}
		if strings.Contains(out, "version: -1") {
			t.Errorf("driver loaded but Version failed:\n%s", out)
		}
	}
}

// TestAddOnDevice runs a kernel end to end through the loaded driver: the
// path spadepaint's GPU engine uses (context, alloc, copy, PTX module,
// launch, sync), including the compat cuCtxCreate.
func TestAddOnDevice(t *testing.T) {
	requireGPU(t)
	dev, err := GetDevice(0)
	if err != nil {
		t.Fatal(err)
	}
	name, err := dev.Name()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("device 0: %s, driver %d, missing %v", name, Version(), MissingDriverFunctions())
	ctx, err := dev.MakeContext(SchedAuto)
	if err != nil {
		t.Fatalf("MakeContext: %v", err)
	}
	defer ctx.Destroy()
	if err := SetCurrentContext(ctx); err != nil {
		t.Fatalf("SetCurrentContext: %v", err)
	}
	mod, err := LoadData(add32PTX)
	if err != nil {
		t.Fatalf("LoadData: %v", err)
	}
	defer mod.Unload()
	fn, err := mod.Function("add32")
	if err != nil {
		t.Fatalf("Function: %v", err)
	}
	const n = 1000
	a := make([]float32, n)
	b := make([]float32, n)
	for i := range a {
		a[i] = float32(i)
		b[i] = float32(2 * i)
	}
	size := int64(n * 4)
	da, err := MemAlloc(size)
	if err != nil {
		t.Fatal(err)
	}
	defer MemFree(da)
	db, err := MemAlloc(size)
	if err != nil {
		t.Fatal(err)
	}
	defer MemFree(db)
	if err := MemcpyHtoD(da, unsafe.Pointer(&a[0]), size); err != nil {
		t.Fatal(err)
	}
	if err := MemcpyHtoD(db, unsafe.Pointer(&b[0]), size); err != nil {
		t.Fatal(err)
	}
	// LaunchAndSync copies 8 bytes per parameter; the kernel reads the
	// low 4 of this one (.u32).
	cnt := int64(n)
	args := []unsafe.Pointer{unsafe.Pointer(&da), unsafe.Pointer(&db), unsafe.Pointer(&cnt)}
	if err := fn.LaunchAndSync(4, 1, 1, 256, 1, 1, 0, Stream{}, args); err != nil {
		t.Fatalf("LaunchAndSync: %v", err)
	}
	got := make([]float32, n)
	if err := MemcpyDtoH(unsafe.Pointer(&got[0]), da, size); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != float32(3*i) {
			t.Fatalf("got[%d] = %v, want %v", i, v, 3*i)
		}
	}
}

//go:build gpu

package device

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"spadepaint/model"
)

// GPUTestsEnv set to 1 turns a missing GPU from a skip into a failure:
// the GPU check script sets it, so a run on the GPU machine that cannot
// reach its GPU does not pass as a row of skips.
const GPUTestsEnv = "SPADEPAINT_GPU_TESTS"

// needGPU skips t (or fails it, with GPUTestsEnv=1) when no GPU can be
// used, and returns the GPU's name.
func needGPU(t *testing.T) string {
	t.Helper()
	name, err := Available()
	if err != nil {
		if os.Getenv(GPUTestsEnv) == "1" {
			t.Fatalf("%s=1 but no GPU: %v", GPUTestsEnv, err)
		}
		t.Skipf("no GPU: %v", err)
	}
	return name
}

func tinyModel(t *testing.T) *model.Model {
	t.Helper()
	c := model.Preset(model.Landscape).Config()
	c.NGF, c.Width = 4, 64
	m, err := model.RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAttach: on a machine with the CUDA driver but no GPU (this
// project's build machine) Attach fails with one clear line, leaves the
// model on the CPU and rendering; on a GPU machine it moves the model
// there and back.
func TestAttach(t *testing.T) {
	m := tinyModel(t)
	c := m.Config
	l, z := model.BenchLabels(c, 1), m.RandomZ(1, 1)
	name, avail := Available()
	desc, err := Attach(m, GPU)
	switch {
	case avail != nil:
		if err == nil {
			t.Fatalf("Available fails (%v) but Attach succeeds (%q)", avail, desc)
		}
		msg := err.Error()
		if msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("Attach's error should be one line: %q", msg)
		}
		t.Logf("no GPU here, as the message says: %v", err)
		if os.Getenv(GPUTestsEnv) == "1" {
			t.Errorf("%s=1 but no GPU: %v", GPUTestsEnv, err)
		}
		if d := m.Device(); d != CPUName {
			t.Errorf("after a failed Attach the model runs on %q", d)
		}
		if _, err := m.Generate(t.Context(), l, z); err != nil {
			t.Errorf("render on the CPU after a failed Attach: %v", err)
		}
		// The failure is remembered, not probed again.
		if _, again := Available(); again == nil || again.Error() != avail.Error() {
			t.Errorf("second probe: %v, first: %v", again, avail)
		}
	case err != nil:
		t.Fatalf("GPU %s is there but Attach fails: %v", name, err)
	default:
		if desc != name || m.Device() == CPUName {
			t.Errorf("Attach = %q, model on %q; want the GPU %q", desc, m.Device(), name)
		}
		if _, err := m.Generate(t.Context(), l, z); err != nil {
			t.Fatalf("render on the GPU: %v", err)
		}
		if desc, err := Attach(m, CPU); err != nil || desc != CPUName || m.Device() != CPUName {
			t.Errorf("back to the CPU: %q, %v, model on %q", desc, err, m.Device())
		}
		if _, err := m.Generate(t.Context(), l, z); err != nil {
			t.Errorf("render back on the CPU: %v", err)
		}
	}
}

// benchIters is the number of timed runs per figure (median).
const benchIters = 5

// TestBenchGPU prints `spadepaint bench`'s table for the default model
// and ade20k at 256² (random weights) on the GPU and on this machine's
// CPU engine, checks that both render the same picture within 1e-3 and
// prints the GPU's speed-up (the issue asks ≥ 10× for ade20k 256²).
func TestBenchGPU(t *testing.T) {
	needGPU(t)
	for _, tc := range []struct {
		name string
		load func() (*model.Model, error)
	}{
		{"default", func() (*model.Model, error) { return model.Load("../../assets/models/default.safetensors") }},
		{"ade20k-256", func() (*model.Model, error) {
			c := model.Preset(model.ADE20K).Config()
			c.Width = 256
			return model.RandomModel(c, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu, err := tc.load()
			if err != nil {
				t.Fatal(err)
			}
			gpu, err := tc.load()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Attach(gpu, GPU); err != nil {
				t.Fatal(err)
			}
			defer gpu.SetBackend(nil)
			c := cpu.Config
			l, z := model.BenchLabels(c, 1), cpu.RandomZ(1, 3)
			want, err := cpu.Generate(t.Context(), l, z)
			if err != nil {
				t.Fatal(err)
			}
			got, err := gpu.Generate(t.Context(), l, z)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i := range want.Pix {
				worst = max(worst, math.Abs(float64(got.Pix[i])-float64(want.Pix[i])))
			}
			fmt.Printf("%s: GPU vs CPU render, max |Δ| = %.2g (want ≤ 1e-3)\n", tc.name, worst)
			if worst > 1e-3 {
				t.Errorf("GPU render differs from the CPU's by %g", worst)
			}
			rg, err := Bench(t.Context(), gpu, benchIters)
			if err != nil {
				t.Fatalf("GPU bench: %v", err)
			}
			rc, err := Bench(t.Context(), cpu, benchIters)
			if err != nil {
				t.Fatalf("CPU bench: %v", err)
			}
			rg.WriteTable(os.Stdout)
			rc.WriteTable(os.Stdout)
			fmt.Printf("%s: GPU speed-up ×%.1f cold, ×%.1f new style, ×%.1f stroke (CPU engine of this machine)\n\n",
				tc.name, rc.ColdMS/rg.ColdMS, rc.StyleMS/rg.StyleMS, rc.StrokeMS/rg.StrokeMS)
		})
	}
}

// TestTrainBLASGPU: the training BLAS's GEMMs on the GPU agree with
// gonum's for every transpose, small ones stay on the CPU, and a large
// GEMM's time is printed on both.
func TestTrainBLASGPU(t *testing.T) {
	name := needGPU(t)
	b, cleanup, err := TrainBLAS(GPU)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	o, ok := b.(*OffloadBLAS)
	if !ok {
		t.Fatalf("TrainBLAS(GPU) = %T, want *OffloadBLAS", b)
	}
	cases := []gemmCase{
		{blas.NoTrans, blas.NoTrans, 256, 1024, 576, 0},
		{blas.NoTrans, blas.Trans, 128, 1152, 4096, 1},
		{blas.Trans, blas.NoTrans, 1152, 4096, 128, 0},
		{blas.Trans, blas.Trans, 300, 257, 129, 0.5}, // odd sizes, above MinOffload
		{blas.NoTrans, blas.NoTrans, 64, 64, 64, 0},  // below: CPU
	}
	for i, g := range cases {
		gpu0, cpu0 := o.Calls()
		got := g.run(o, int64(i))
		want := g.run(gonum.Implementation{}, int64(i))
		// GEMM sums in another order: rounding grows with √k.
		if d, tol := maxRelDiff(got, want), 1e-5*math.Sqrt(float64(g.k)); d > tol {
			t.Errorf("%v: differs from gonum by %g (tolerance %g)", g, d, tol)
		}
		gpu1, cpu1 := o.Calls()
		onGPU := g.m*g.n*g.k >= MinOffload
		if (gpu1-gpu0 == 1) != onGPU || (cpu1-cpu0 == 1) == onGPU {
			t.Errorf("%v: %d GPU, %d CPU calls; on the GPU: %v", g, gpu1-gpu0, cpu1-cpu0, onGPU)
		}
	}
	if err := o.Err(); err != nil {
		t.Fatal(err)
	}
	big := gemmCase{blas.NoTrans, blas.NoTrans, 1024, 1024, 1024, 0}
	a, lda, bb, ldb, c := big.operands(1)
	timeIt := func(bl blas.Float32) time.Duration {
		bl.Sgemm(big.tA, big.tB, big.m, big.n, big.k, 1, a, lda, bb, ldb, 0, c, big.n) // warm up
		start := time.Now()
		bl.Sgemm(big.tA, big.tB, big.m, big.n, big.k, 1, a, lda, bb, ldb, 0, c, big.n)
		return time.Since(start)
	}
	tg, tc := timeIt(o), timeIt(gonum.Implementation{})
	fmt.Printf("GEMM 1024³ (host operands, copies included): %s via TrainBLAS %v, gonum %v\n", name, tg.Round(time.Microsecond), tc.Round(time.Microsecond))
}

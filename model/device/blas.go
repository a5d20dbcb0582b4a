package device

import (
	"fmt"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
)

// MinOffload is the smallest GEMM (m·n·k multiply-adds) the training BLAS
// sends to the GPU. Below it the copies to and from the device cost more
// than the CPU's GEMM; the figure is a starting point, not a measurement.
const MinOffload = 1 << 22

// sgemmer is the GPU's single-precision GEMM on host slices, with gonum's
// row-major blas32 semantics (model/gpu's Device).
type sgemmer interface {
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error
}

// OffloadBLAS is a BLAS for gorgonia that runs large single-precision
// GEMMs on the GPU and everything else (small GEMMs, every other routine,
// float64) on the BLAS it wraps. The first GPU failure is kept (Err) and
// sends every later call to the CPU, so a run that loses its GPU goes on.
// It is safe for concurrent use; GPU calls run one at a time.
type OffloadBLAS struct {
	G.BLAS // the CPU BLAS

	dev  sgemmer
	name string
	min  int

	mu     sync.Mutex // serialises the device and guards err, closed
	err    error
	closed bool

	gpuCalls, cpuCalls atomic.Int64
}

func newOffload(cpu G.BLAS, dev sgemmer, name string, min int) *OffloadBLAS {
	return &OffloadBLAS{BLAS: cpu, dev: dev, name: name, min: min}
}

// Sgemm computes C = α·op(A)·op(B) + β·C, on the GPU when m·n·k ≥
// MinOffload.
func (o *OffloadBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if o.offload(tA, tB, m, n, k) {
		o.mu.Lock()
		if o.err == nil && !o.closed {
			err := o.dev.Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			if err == nil {
				o.mu.Unlock()
				o.gpuCalls.Add(1)
				return
			}
			// The device writes C back only after its GEMM succeeded,
			// so the CPU redoing the call is exact.
			o.err = fmt.Errorf("GPU GEMM %d×%d×%d: %w", m, n, k, err)
		}
		o.mu.Unlock()
	}
	o.cpuCalls.Add(1)
	o.BLAS.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// offload says whether a call goes to the GPU: large, and with arguments
// the CPU BLAS would accept (bad ones go there to fail as they always do).
func (o *OffloadBLAS) offload(tA, tB blas.Transpose, m, n, k int) bool {
	if m <= 0 || n <= 0 || k <= 0 || m*n*k < o.min {
		return false
	}
	ok := func(t blas.Transpose) bool { return t == blas.NoTrans || t == blas.Trans || t == blas.ConjTrans }
	return ok(tA) && ok(tB)
}

// Err is the GPU failure that sent the run back to the CPU, or nil.
func (o *OffloadBLAS) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Calls counts the Sgemm calls run on the GPU and on the CPU.
func (o *OffloadBLAS) Calls() (gpu, cpu int64) { return o.gpuCalls.Load(), o.cpuCalls.Load() }

// String describes the BLAS for logs.
func (o *OffloadBLAS) String() string {
	return fmt.Sprintf("%s for GEMMs of ≥ %d multiply-adds, else the CPU's", o.name, o.min)
}

// close sends every later call to the CPU: gorgonia's tensor package
// keeps its own reference to the BLAS it was given last.
func (o *OffloadBLAS) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

// TrainBLAS returns the BLAS a training run on k uses: for the CPU the
// current gorgonia BLAS (G.WhichBLAS()) itself; for the GPU an
// OffloadBLAS around it. cleanup ends the offload (later calls run on the
// CPU); the GPU itself stays open for the process. Install the BLAS with
// G.Use for the run and put the previous one back after (Use does both).
func TrainBLAS(k Kind) (b G.BLAS, cleanup func(), err error) {
	cur := G.WhichBLAS()
	switch k {
	case CPU:
		return cur, func() {}, nil
	case GPU:
		dev, name, err := gemmDevice()
		if err != nil {
			return nil, nil, err
		}
		o := newOffload(cur, dev, name, MinOffload)
		return o, o.close, nil
	}
	return nil, nil, fmt.Errorf("unknown device %v", k)
}

// Use installs the training BLAS of k in gorgonia and returns a
// description of it and restore, which puts the previous BLAS back and
// returns the GPU failure that sent part of the run back to the CPU, if
// one did. gorgonia's BLAS is process-wide: one training run at a time.
func Use(k Kind) (desc string, restore func() error, err error) {
	prev := G.WhichBLAS()
	b, cleanup, err := TrainBLAS(k)
	if err != nil {
		return "", nil, err
	}
	desc = CPUName
	o, _ := b.(*OffloadBLAS)
	if o != nil {
		desc = o.String()
	}
	G.Use(b)
	return desc, func() error {
		G.Use(prev)
		cleanup()
		if o != nil {
			return o.Err()
		}
		return nil
	}, nil
}

//go:build gpu

package gpu

//go:generate nvcc -ptx -arch=compute_70 -O3 -o kernels.ptx kernels.cu

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"gorgonia.org/cu"
)

// kernelsPTX is kernels.cu compiled by `go generate` (nvcc 11.8,
// compute_70): PTX is JIT-compiled by any newer driver for its GPU.
//
//go:embed kernels.ptx
var kernelsPTX string

// ErrClosed is returned by a closed Device.
var ErrClosed = errors.New("gpu: device closed")

// Device is CUDA device 0 with the package's kernels loaded. A CUDA
// context is current on one OS thread at a time, so all device work runs
// on one locked goroutine that executes jobs in turn; the methods are
// safe for concurrent use.
type Device struct {
	mu     sync.Mutex // serialises jobs and guards closed
	closed bool
	jobs   chan job
	done   chan struct{}
	name   string

	// Owned by the device goroutine.
	dev cu.Device
	ctx cu.CUContext
	mod cu.Module
	k   kernels
	sms int
	ws  devBuf    // split-K partial sums
	sg  [3]devBuf // Sgemm's staging of A, B and C
}

type job struct {
	f   func() error
	res chan error
}

// kernels are the functions of kernels.cu.
type kernels struct {
	sgemm, splitkReduce, im2col, gather3, planeStats, modulate, spadeFold,
	normApply, upsample2, addBias, leaky, tanh kernel
}

type kernel struct {
	fn   cu.Function
	name string
}

// Open initialises the driver, takes device 0's primary context and loads
// the kernels.
func Open() (*Device, error) {
	d := &Device{jobs: make(chan job), done: make(chan struct{})}
	ready := make(chan error)
	go d.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// loop is the device goroutine: it stays on its OS thread, where the
// context is current, until Close.
func (d *Device) loop(ready chan<- error) {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	defer close(d.done)
	if err := d.setup(); err != nil {
		d.teardown()
		ready <- err
		return
	}
	ready <- nil
	for j := range d.jobs {
		j.res <- d.run(j.f)
	}
	d.teardown()
}

// run executes one job, turning a panic (a bug) into an error so that the
// device goroutine survives.
func (d *Device) run(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gpu: panic in device job: %v", r)
		}
	}()
	return f()
}

func (d *Device) setup() error {
	if err := initDriver(); err != nil {
		if errors.Is(err, cu.ErrNoDriver) {
			return fmt.Errorf("no NVIDIA driver: %w", err)
		}
		return fmt.Errorf("no CUDA device: %w", err)
	}
	n, err := cu.NumDevices()
	if err != nil {
		return fmt.Errorf("no CUDA device: %w", err)
	}
	if n < 1 {
		return errors.New("no CUDA device")
	}
	if d.dev, err = cu.GetDevice(0); err != nil {
		return fmt.Errorf("no CUDA device: %w", err)
	}
	if d.name, err = d.dev.Name(); err != nil {
		return fmt.Errorf("CUDA device 0: name: %w", err)
	}
	if d.sms, err = d.dev.Attribute(cu.MultiprocessorCount); err != nil {
		return fmt.Errorf("CUDA device 0: multiprocessor count: %w", err)
	}
	if d.ctx, err = d.dev.RetainPrimaryCtx(); err != nil {
		return fmt.Errorf("CUDA device 0: context: %w", err)
	}
	if err = cu.SetCurrentContext(d.ctx); err != nil {
		return fmt.Errorf("CUDA device 0: make context current: %w", err)
	}
	if d.mod, err = cu.LoadData(kernelsPTX); err != nil {
		return fmt.Errorf("load kernels (PTX JIT for %s): %w", d.name, err)
	}
	for _, k := range []struct {
		dst  *kernel
		name string
	}{
		{&d.k.sgemm, "sgemm_128x128"}, {&d.k.splitkReduce, "sgemm_splitk_reduce"},
		{&d.k.im2col, "im2col"}, {&d.k.gather3, "gather3"}, {&d.k.planeStats, "plane_stats"},
		{&d.k.modulate, "modulate"}, {&d.k.spadeFold, "spade_fold"}, {&d.k.normApply, "norm_apply"},
		{&d.k.upsample2, "upsample2"}, {&d.k.addBias, "add_bias"}, {&d.k.leaky, "leaky"},
		{&d.k.tanh, "tanh_inplace"},
	} {
		fn, err := d.mod.Function(k.name)
		if err != nil {
			return fmt.Errorf("kernel %s: %w", k.name, err)
		}
		*k.dst = kernel{fn: fn, name: k.name}
	}
	return nil
}

// teardown frees what setup and the jobs left (buffers owned by backends
// are theirs to free) and releases the context.
func (d *Device) teardown() {
	if d.ctx == (cu.CUContext{}) {
		return
	}
	d.free(&d.ws)
	for i := range d.sg {
		d.free(&d.sg[i])
	}
	if d.mod != (cu.Module{}) {
		d.mod.Unload()
	}
	d.dev.ReleasePrimaryCtx()
	d.ctx = cu.CUContext{}
}

// do runs f on the device goroutine and returns its error.
func (d *Device) do(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	res := make(chan error, 1)
	d.jobs <- job{f: f, res: res}
	return <-res
}

// Name is the GPU's name, e.g. "NVIDIA H200".
func (d *Device) Name() string { return d.name }

// Close releases the context; later calls fail with ErrClosed.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.jobs)
	<-d.done
	return nil
}

// devBuf is device memory for n float32 (or int32) values.
type devBuf struct {
	ptr cu.DevicePtr
	n   int
}

// at is the address of element i.
func (b devBuf) at(i int) cu.DevicePtr { return b.ptr + cu.DevicePtr(4*i) }

// ensure makes b hold at least n values, reallocating (without keeping
// the contents) when it is smaller.
func (d *Device) ensure(b *devBuf, n int) error {
	if b.n >= n {
		return nil
	}
	d.free(b)
	p, err := cu.MemAlloc(int64(4 * max(n, 1)))
	if err != nil {
		return fmt.Errorf("allocate %d MiB on %s: %w", (4*n)>>20, d.name, err)
	}
	*b = devBuf{ptr: p, n: n}
	return nil
}

func (d *Device) free(b *devBuf) {
	if b.n > 0 {
		cu.MemFree(b.ptr)
	}
	*b = devBuf{}
}

// upload copies src to b from element off on.
func upload[T float32 | int32](b devBuf, off int, src []T) error {
	if len(src) == 0 {
		return nil
	}
	if off+len(src) > b.n {
		return fmt.Errorf("upload of %d values at %d into a buffer of %d", len(src), off, b.n)
	}
	return cu.MemcpyHtoD(b.at(off), unsafe.Pointer(&src[0]), int64(4*len(src)))
}

// download copies len(dst) values from b, element off on.
func download(dst []float32, b devBuf, off int) error {
	if len(dst) == 0 {
		return nil
	}
	if off+len(dst) > b.n {
		return fmt.Errorf("download of %d values at %d from a buffer of %d", len(dst), off, b.n)
	}
	return cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), b.at(off), int64(4*len(dst)))
}

// launch runs kernel k on a grid of gx×gy×gz blocks of bx threads. Args
// are cu.DevicePtr, int (passed as a 32-bit int) or float32; each goes in
// an 8-byte slot, as cu's Launch copies 8 bytes per argument (the kernel
// reads the low 4 for int and float, which is where a little-endian
// machine keeps them).
func (d *Device) launch(k kernel, gx, gy, gz, bx int, args ...any) error {
	vals := make([]uint64, len(args))
	ptrs := make([]unsafe.Pointer, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case cu.DevicePtr:
			vals[i] = uint64(v)
		case int:
			if v < math.MinInt32 || v > math.MaxInt32 {
				return fmt.Errorf("launch %s: argument %d = %d overflows int32", k.name, i, v)
			}
			vals[i] = uint64(uint32(int32(v)))
		case float32:
			vals[i] = uint64(math.Float32bits(v))
		default:
			return fmt.Errorf("launch %s: argument %d has type %T", k.name, i, a)
		}
		ptrs[i] = unsafe.Pointer(&vals[i])
	}
	if gx < 1 || gy < 1 || gz < 1 {
		return fmt.Errorf("launch %s: empty grid %d×%d×%d", k.name, gx, gy, gz)
	}
	if err := k.fn.Launch(gx, gy, gz, bx, 1, 1, 0, cu.Stream{}, ptrs); err != nil {
		return fmt.Errorf("launch %s: %w", k.name, err)
	}
	return nil
}

// launchN runs a grid-stride kernel over n elements with 256 threads per
// block, enough blocks to fill the GPU.
func (d *Device) launchN(k kernel, n int, args ...any) error {
	if n <= 0 {
		return nil
	}
	blocks := min((n+255)/256, 32*max(d.sms, 1))
	return d.launch(k, blocks, 1, 1, 256, args...)
}

// sync waits for the queued kernels; execution errors surface here.
func (d *Device) sync() error {
	if err := cu.Synchronize(); err != nil {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	return nil
}

// gemmSplits is the split-K factor for an m×n×k GEMM: 1 when its 128×128
// tiles fill the GPU; else enough K slices for about two blocks per SM,
// each at least 128 deep (the convs at 8×8 and 16×16 have n = 64 or 256
// pixels and k up to 9216).
func gemmSplits(m, n, k, sms int) int {
	tiles := ((m + 127) / 128) * ((n + 127) / 128)
	if tiles >= sms {
		return 1
	}
	s := (2*sms + tiles - 1) / tiles
	s = min(s, k/128, 64)
	return max(s, 1)
}

// gemm is SGEMM on device memory (row-major, gonum blas32 semantics).
func (d *Device) gemm(transA, transB bool, m, n, k int, alpha float32, a cu.DevicePtr, lda int, b cu.DevicePtr, ldb int, beta float32, c cu.DevicePtr, ldc int) error {
	if m <= 0 || n <= 0 {
		return nil
	}
	ta, tb := 0, 0
	if transA {
		ta = 1
	}
	if transB {
		tb = 1
	}
	gx, gy := (n+127)/128, (m+127)/128
	splits := gemmSplits(m, n, k, d.sms)
	if splits <= 1 {
		return d.launch(d.k.sgemm, gx, gy, 1, 256, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, cu.DevicePtr(0), max(k, 1))
	}
	chunk := ((k+splits-1)/splits + 7) &^ 7 // a multiple of BK
	splits = (k + chunk - 1) / chunk
	if err := d.ensure(&d.ws, splits*m*n); err != nil {
		return err
	}
	if err := d.launch(d.k.sgemm, gx, gy, splits, 256, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, d.ws.ptr, chunk); err != nil {
		return err
	}
	return d.launchN(d.k.splitkReduce, m*n, m, n, splits, d.ws.ptr, alpha, beta, c, ldc)
}

// Sgemm is C = alpha·op(A)·op(B) + beta·C on host slices, row-major, with
// the semantics of gonum's blas32.Sgemm (op transposes when trans is
// set; lda, ldb, ldc are row strides): it uploads the operands, runs the
// device's GEMM and downloads C. Values of c between rows (ldc > n) are
// kept.
func (d *Device) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("sgemm: negative size %d×%d×%d", m, n, k)
	}
	ra, ca := m, k
	if transA {
		ra, ca = k, m
	}
	rb, cb := k, n
	if transB {
		rb, cb = n, k
	}
	span := func(name string, s []float32, rows, cols, ld int) (int, error) {
		if ld < max(1, cols) {
			return 0, fmt.Errorf("sgemm: ld%s %d < %d columns", name, ld, cols)
		}
		if rows == 0 || cols == 0 {
			return 0, nil
		}
		need := (rows-1)*ld + cols
		if len(s) < need {
			return 0, fmt.Errorf("sgemm: %s has %d values, needs %d", name, len(s), need)
		}
		return need, nil
	}
	na, err := span("a", a, ra, ca, lda)
	if err != nil {
		return err
	}
	nb, err := span("b", b, rb, cb, ldb)
	if err != nil {
		return err
	}
	nc, err := span("c", c, m, n, ldc)
	if err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	return d.do(func() error {
		for i, sz := range []int{na, nb, nc} {
			if err := d.ensure(&d.sg[i], sz); err != nil {
				return err
			}
		}
		if err := upload(d.sg[0], 0, a[:na]); err != nil {
			return err
		}
		if err := upload(d.sg[1], 0, b[:nb]); err != nil {
			return err
		}
		// C goes up when it is read (beta ≠ 0) or has values between its
		// rows that the download must not overwrite.
		if beta != 0 || ldc != n {
			if err := upload(d.sg[2], 0, c[:nc]); err != nil {
				return err
			}
		}
		if err := d.gemm(transA, transB, m, n, k, alpha, d.sg[0].ptr, lda, d.sg[1].ptr, ldb, beta, d.sg[2].ptr, ldc); err != nil {
			return err
		}
		if err := d.sync(); err != nil {
			return err
		}
		return download(c[:nc], d.sg[2], 0)
	})
}

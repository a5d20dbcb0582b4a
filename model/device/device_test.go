package device

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

func TestParseKind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Kind
		err  bool
	}{
		{"cpu", CPU, false}, {"gpu", GPU, false}, {"GPU", GPU, false}, {" cpu ", CPU, false},
		{"", CPU, true}, {"cuda", CPU, true}, {"gpu0", CPU, true},
	} {
		k, err := ParseKind(tc.in)
		if (err != nil) != tc.err || k != tc.want {
			t.Errorf("ParseKind(%q) = %v, %v; want %v, error %v", tc.in, k, err, tc.want, tc.err)
		}
	}
	for _, k := range Kinds() {
		if back, err := ParseKind(k.String()); err != nil || back != k {
			t.Errorf("%v does not read back: %v, %v", k, back, err)
		}
	}
}

func TestKindFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want Kind
		err  bool
	}{
		{nil, CPU, false},
		{[]string{"--device", "gpu"}, GPU, false},
		{[]string{"--device=cpu"}, CPU, false},
		{[]string{"--device", "tpu"}, CPU, true},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		k := CPU
		fs.Var(&k, "device", "")
		err := fs.Parse(tc.args)
		if (err != nil) != tc.err || k != tc.want {
			t.Errorf("%q: %v, %v; want %v, error %v", tc.args, k, err, tc.want, tc.err)
		}
	}
}

// fakeGPU computes GEMMs with gonum on the host, counting calls, or
// fails every call when fail is set.
type fakeGPU struct {
	mu    sync.Mutex
	calls int
	fail  error
}

func (f *fakeGPU) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return f.fail
	}
	tr := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	// A different implementation's order of sums shows as rounding,
	// as a GPU's would: compute in float64.
	sgemm64(tr(transA), tr(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return nil
}

func sgemm64(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	at := func(i, p int) float64 {
		if tA == blas.NoTrans {
			return float64(a[i*lda+p])
		}
		return float64(a[p*lda+i])
	}
	bt := func(p, j int) float64 {
		if tB == blas.NoTrans {
			return float64(b[p*ldb+j])
		}
		return float64(b[j*ldb+p])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				s += at(i, p) * bt(p, j)
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
		}
	}
}

type gemmCase struct {
	tA, tB  blas.Transpose
	m, n, k int
	beta    float32
}

func (g gemmCase) String() string {
	return fmt.Sprintf("%v%v %dx%dx%d β%g", g.tA, g.tB, g.m, g.n, g.k, g.beta)
}

// operands are random A, B, C for the case, with their strides.
func (g gemmCase) operands(seed int64) (a []float32, lda int, b []float32, ldb int, c []float32) {
	rng := rand.New(rand.NewSource(seed))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	a, b, c = fill(g.m*g.k), fill(g.k*g.n), fill(g.m*g.n)
	lda, ldb = g.k, g.n
	if g.tA != blas.NoTrans {
		lda = g.m
	}
	if g.tB != blas.NoTrans {
		ldb = g.k
	}
	return a, lda, b, ldb, c
}

// run calls bl.Sgemm on random operands and returns C.
func (g gemmCase) run(bl blas.Float32, seed int64) []float32 {
	a, lda, b, ldb, c := g.operands(seed)
	bl.Sgemm(g.tA, g.tB, g.m, g.n, g.k, 1.5, a, lda, b, ldb, g.beta, c, g.n)
	return c
}

func maxRelDiff(a, b []float32) float64 {
	worst := 0.0
	for i := range a {
		d := math.Abs(float64(a[i])-float64(b[i])) / (1 + math.Abs(float64(b[i])))
		worst = max(worst, d)
	}
	return worst
}

// TestOffload: GEMMs of at least min multiply-adds go to the device,
// smaller ones to the CPU BLAS, with the same results; a device failure
// is kept and sends this and every later call to the CPU, still exact.
func TestOffload(t *testing.T) {
	const min = 4096
	cases := []struct {
		g       gemmCase
		offload bool
	}{
		{gemmCase{blas.NoTrans, blas.NoTrans, 16, 16, 16, 0}, true},
		{gemmCase{blas.NoTrans, blas.Trans, 32, 8, 20, 1}, true},
		{gemmCase{blas.Trans, blas.NoTrans, 9, 33, 17, 0.5}, true},
		{gemmCase{blas.Trans, blas.Trans, 20, 20, 12, 1}, true},
		{gemmCase{blas.NoTrans, blas.NoTrans, 15, 16, 16, 0}, false},
		{gemmCase{blas.NoTrans, blas.NoTrans, 1, 1, 1, 1}, false},
	}
	for i, tc := range cases {
		dev := &fakeGPU{}
		o := newOffload(gonum.Implementation{}, dev, "fake", min)
		got := tc.g.run(o, int64(i))
		want := tc.g.run(gonum.Implementation{}, int64(i))
		if d := maxRelDiff(got, want); d > 1e-5 {
			t.Errorf("%v: differs from gonum by %g", tc.g, d)
		}
		gpu, cpu := o.Calls()
		if wantGPU := map[bool]int64{true: 1, false: 0}[tc.offload]; gpu != wantGPU || cpu != 1-wantGPU || int64(dev.calls) != wantGPU {
			t.Errorf("%v: %d GPU, %d CPU calls (device saw %d); want offload %v", tc.g, gpu, cpu, dev.calls, tc.offload)
		}
	}

	boom := errors.New("device lost")
	dev := &fakeGPU{fail: boom}
	o := newOffload(gonum.Implementation{}, dev, "fake", min)
	big := gemmCase{blas.NoTrans, blas.NoTrans, 32, 32, 32, 1}
	for i := 0; i < 3; i++ {
		got, want := big.run(o, 9), big.run(gonum.Implementation{}, 9)
		if d := maxRelDiff(got, want); d > 0 {
			t.Fatalf("after a device failure the CPU result differs by %g", d)
		}
	}
	if !errors.Is(o.Err(), boom) || !strings.Contains(o.Err().Error(), "32×32×32") {
		t.Errorf("Err() = %v, want the device's error with the GEMM's shape", o.Err())
	}
	if gpu, cpu := o.Calls(); gpu != 0 || cpu != 3 || dev.calls != 1 {
		t.Errorf("after a failure: %d GPU, %d CPU calls, device tried %d times; want 0, 3, 1", gpu, cpu, dev.calls)
	}

	// After cleanup nothing reaches the device.
	dev = &fakeGPU{}
	o = newOffload(gonum.Implementation{}, dev, "fake", min)
	o.close()
	big.run(o, 1)
	if dev.calls != 0 {
		t.Errorf("a closed OffloadBLAS called the device %d times", dev.calls)
	}
}

// TestOffloadConcurrent: the training conv calls Sgemm from several
// goroutines.
func TestOffloadConcurrent(t *testing.T) {
	dev := &fakeGPU{}
	o := newOffload(gonum.Implementation{}, dev, "fake", 4096)
	g := gemmCase{blas.NoTrans, blas.Trans, 24, 24, 24, 0}
	want := g.run(gonum.Implementation{}, 3)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := maxRelDiff(g.run(o, 3), want); d > 1e-5 {
				errs <- fmt.Sprintf("differs by %g", d)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if gpu, _ := o.Calls(); gpu != 8 {
		t.Errorf("%d GPU calls, want 8", gpu)
	}
}

// TestUseCPU: training on the CPU keeps gorgonia's BLAS; restore puts
// back what was there.
func TestUseCPU(t *testing.T) {
	prev := G.WhichBLAS()
	desc, restore, err := Use(CPU)
	if err != nil {
		t.Fatal(err)
	}
	if desc != CPUName || G.WhichBLAS() != prev {
		t.Errorf("Use(CPU) = %q, BLAS %T; want %q and the BLAS unchanged", desc, G.WhichBLAS(), CPUName)
	}
	if err := restore(); err != nil || G.WhichBLAS() != prev {
		t.Errorf("restore: %v, BLAS %T", err, G.WhichBLAS())
	}
	if _, _, err := Use(Kind(7)); err == nil {
		t.Error("Use of an unknown kind: no error")
	}
}

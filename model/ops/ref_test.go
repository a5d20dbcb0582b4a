package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Plain float64 reference implementations, written for clarity, used on
// shapes large enough to take the ops' parallel paths.

func refNorm(x []float32, s []int, eps float64, batch bool) (y, mean, unbiased []float32) {
	n, c, hw := s[0], s[1], s[2]*s[3]
	if !batch {
		n, c = 1, n*c
	}
	y = make([]float32, len(x))
	for ch := 0; ch < c; ch++ {
		var sum, sq float64
		m := float64(n * hw)
		for i := 0; i < n; i++ {
			for _, v := range x[(i*c+ch)*hw : (i*c+ch+1)*hw] {
				sum += float64(v)
			}
		}
		mu := sum / m
		for i := 0; i < n; i++ {
			for _, v := range x[(i*c+ch)*hw : (i*c+ch+1)*hw] {
				sq += (float64(v) - mu) * (float64(v) - mu)
			}
		}
		v := sq / m
		mean = append(mean, float32(mu))
		unbiased = append(unbiased, float32(sq/(m-1)))
		for i := 0; i < n; i++ {
			for j := (i*c + ch) * hw; j < (i*c+ch+1)*hw; j++ {
				y[j] = float32((float64(x[j]) - mu) / math.Sqrt(v+eps))
			}
		}
	}
	return y, mean, unbiased
}

func refUpsample(x []float32, s []int, f int) []float32 {
	h, w := s[2], s[3]
	var y []float32
	for p := 0; p < s[0]*s[1]; p++ {
		for i := 0; i < h*f; i++ {
			for j := 0; j < w*f; j++ {
				y = append(y, x[p*h*w+(i/f)*w+j/f])
			}
		}
	}
	return y
}

func refAvgPool(x []float32, s []int, k, stride, pad int) []float32 {
	h, w := s[2], s[3]
	oh, ow := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	var y []float32
	for p := 0; p < s[0]*s[1]; p++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				var sum float64
				count := 0
				for r := i*stride - pad; r < i*stride-pad+k; r++ {
					for q := j*stride - pad; q < j*stride-pad+k; q++ {
						if r >= 0 && r < h && q >= 0 && q < w {
							sum += float64(x[p*h*w+r*w+q])
							count++
						}
					}
				}
				y = append(y, float32(sum/float64(count)))
			}
		}
	}
	return y
}

func refLeaky(x []float32, a float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = v
		if v <= 0 {
			y[i] = a * v
		}
	}
	return y
}

func refAddBias(x []float32, s []int, b []float32) []float32 {
	y := make([]float32, len(x))
	hw := s[2] * s[3]
	for i := range x {
		y[i] = x[i] + b[(i/hw)%s[1]]
	}
	return y
}

func refModulate(x, g, b []float32) []float32 {
	y := make([]float32, len(x))
	for i := range x {
		y[i] = x[i]*(1+g[i]) + b[i]
	}
	return y
}

// bigShape has more than minParallel elements, so the ops split their work.
var bigShape = []int{2, 8, 48, 48}

// TestForwardLarge checks the forward values at a size that goes parallel
// and is above the 16×16 where gorgonia's GroupNorm breaks.
func TestForwardLarge(t *testing.T) {
	if size(bigShape) < minParallel {
		t.Fatal("bigShape too small to test the parallel path")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := randn(rng, size(bigShape))
	for i := range x {
		x[i] = x[i]*3 + 1 // a mean and scale to normalise away
	}
	g, b := randn(rng, size(bigShape)), randn(rng, size(bigShape))
	bias := randn(rng, bigShape[1])
	mean, variance := randn(rng, bigShape[1]), make([]float32, bigShape[1])
	for i := range variance {
		variance[i] = 0.5 + rng.Float32()
	}
	var stats *BatchStats
	cases := []struct {
		name  string
		build func(ins []*gorgonia.Node) (*gorgonia.Node, error)
		want  func() []float32
		atol  float64
	}{
		{"InstanceNorm",
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return InstanceNorm(ins[0], 1e-5) },
			func() []float32 { y, _, _ := refNorm(x, bigShape, 1e-5, false); return y }, 1e-5},
		{"BatchNormTrain",
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) {
				y, s, err := BatchNormTrain(ins[0], 1e-5)
				stats = s
				return y, err
			},
			func() []float32 { y, _, _ := refNorm(x, bigShape, 1e-5, true); return y }, 1e-5},
		{"BatchNormEval",
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return BatchNormEval(ins[0], mean, variance, 1e-5) },
			func() []float32 {
				y := make([]float32, len(x))
				hw := bigShape[2] * bigShape[3]
				for i := range x {
					c := (i / hw) % bigShape[1]
					y[i] = float32((float64(x[i]) - float64(mean[c])) / math.Sqrt(float64(variance[c])+1e-5))
				}
				return y
			}, 1e-5},
		{"UpsampleNearest",
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return UpsampleNearest(ins[0], 2) },
			func() []float32 { return refUpsample(x, bigShape, 2) }, 0},
		{"AvgPool2D",
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return AvgPool2D(ins[0], 3, 2, 1) },
			func() []float32 { return refAvgPool(x, bigShape, 3, 2, 1) }, 1e-5},
		{"LeakyReLU",
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return LeakyReLU(ins[0], 0.2) },
			func() []float32 { return refLeaky(x, 0.2) }, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lg := newLossGraph(t, [][]int{bigShape}, []int{0}, c.build)
			y, _ := lg.run(t, [][]float32{x}, make([]float32, lg.y.Shape().TotalSize()))
			if err := closeTo(y, c.want(), c.atol, 1e-5); err != nil {
				t.Error(err)
			}
		})
	}
	_, m, v := refNorm(x, bigShape, 1e-5, true)
	if err := closeTo(stats.Mean, m, 1e-6, 1e-6); err != nil {
		t.Errorf("batch mean: %v", err)
	}
	if err := closeTo(stats.Var, v, 1e-6, 1e-6); err != nil {
		t.Errorf("batch variance: %v", err)
	}

	t.Run("AddBias", func(t *testing.T) {
		lg := newLossGraph(t, [][]int{bigShape, {bigShape[1]}}, []int{0, 1},
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return AddBias(ins[0], ins[1]) })
		r := randn(rng, size(bigShape))
		y, grads := lg.run(t, [][]float32{x, bias}, r)
		if err := closeTo(y, refAddBias(x, bigShape, bias), 0, 0); err != nil {
			t.Error(err)
		}
		// The bias gradient is Σ r over (N, H, W).
		want := make([]float64, bigShape[1])
		hw := bigShape[2] * bigShape[3]
		for i, v := range r {
			want[(i/hw)%bigShape[1]] += float64(v)
		}
		for c, w := range want {
			if math.Abs(float64(grads[1][c])-w) > 1e-4 {
				t.Errorf("bias gradient %d: got %g, want %g", c, grads[1][c], w)
			}
		}
	})
	t.Run("AddChannels", func(t *testing.T) {
		nc := bigShape[0] * bigShape[1]
		offs := randn(rng, nc)
		lg := newLossGraph(t, [][]int{bigShape, {bigShape[0], bigShape[1]}}, []int{0, 1},
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return AddChannels(ins[0], ins[1]) })
		r := randn(rng, size(bigShape))
		y, grads := lg.run(t, [][]float32{x, offs}, r)
		// Each plane (sample, channel) gets its own offset; its gradient
		// is Σ r over the plane.
		hw := bigShape[2] * bigShape[3]
		want := make([]float32, len(x))
		wantGrad := make([]float64, nc)
		for i := range x {
			want[i] = x[i] + offs[i/hw]
			wantGrad[i/hw] += float64(r[i])
		}
		if err := closeTo(y, want, 0, 0); err != nil {
			t.Error(err)
		}
		for p, w := range wantGrad {
			if math.Abs(float64(grads[1][p])-w) > 1e-4 {
				t.Errorf("offset gradient %d: got %g, want %g", p, grads[1][p], w)
			}
		}
	})
	t.Run("Modulate", func(t *testing.T) {
		lg := newLossGraph(t, [][]int{bigShape, bigShape, bigShape}, []int{0},
			func(ins []*gorgonia.Node) (*gorgonia.Node, error) { return Modulate(ins[0], ins[1], ins[2]) })
		y, _ := lg.run(t, [][]float32{x, g, b}, make([]float32, size(bigShape)))
		if err := closeTo(y, refModulate(x, g, b), 0, 0); err != nil {
			t.Error(err)
		}
	})
}

// TestRerunWithLet runs one compiled TapeMachine on several inputs, as a
// training loop does, and checks that reusing the ops' buffers leaves
// every run's outputs and gradients right.
func TestRerunWithLet(t *testing.T) {
	s := []int{2, 4, 20, 18}
	var stats *BatchStats
	build := func(ins []*gorgonia.Node) (*gorgonia.Node, error) {
		h, err := InstanceNorm(ins[0], 1e-5)
		if err != nil {
			return nil, err
		}
		if h, err = Modulate(h, ins[1], ins[2]); err != nil {
			return nil, err
		}
		if h, err = LeakyReLU(h, 0.2); err != nil {
			return nil, err
		}
		if h, err = AvgPool2D(h, 3, 2, 1); err != nil {
			return nil, err
		}
		if h, err = UpsampleNearest(h, 2); err != nil {
			return nil, err
		}
		if h, err = AddBias(h, ins[3]); err != nil {
			return nil, err
		}
		h, stats, err = BatchNormTrain(h, 1e-5)
		return h, err
	}
	want := func(in [][]float32) []float32 {
		h, _, _ := refNorm(in[0], s, 1e-5, false)
		h = refLeaky(refModulate(h, in[1], in[2]), 0.2)
		h = refUpsample(refAvgPool(h, s, 3, 2, 1), []int{2, 4, 10, 9}, 2)
		h, _, _ = refNorm(refAddBias(h, s, in[3]), s, 1e-5, true)
		return h
	}
	shapes := [][]int{s, s, s, {4}}
	wrt := []int{0, 1, 2, 3}
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := func() [][]float32 {
		var in [][]float32
		for _, sh := range shapes {
			in = append(in, randn(rng, size(sh)))
		}
		return in
	}
	a, b := inputs(), inputs()
	r := randn(rng, size(s))

	lg := newLossGraph(t, shapes, wrt, build)
	yA, gA := lg.run(t, a, r)
	meanA := slices.Clone(stats.Mean)
	yB, gB := lg.run(t, b, r)
	yA2, gA2 := lg.run(t, a, r)

	for name, c := range map[string]struct {
		got []float32
		in  [][]float32
	}{"first run": {yA, a}, "second run": {yB, b}, "third run": {yA2, a}} {
		if err := closeTo(c.got, want(c.in), 1e-4, 1e-4); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !slices.Equal(yA, yA2) {
		t.Error("same inputs gave different outputs on a rerun")
	}
	for i := range gA {
		if !slices.Equal(gA[i], gA2[i]) {
			t.Errorf("gradient %d changed between runs on the same inputs", i)
		}
	}
	if slices.Equal(meanA, stats.Mean) == false {
		t.Error("batch statistics of the third run differ from the first's")
	}
	// The gradients of the second run match a machine that only saw b.
	_, gFresh := newLossGraph(t, shapes, wrt, build).run(t, b, r)
	for i := range gB {
		if !slices.Equal(gB[i], gFresh[i]) {
			t.Errorf("gradient %d of a rerun differs from a fresh machine's", i)
		}
	}
}

// TestOutputFedBack lets an op's input be the tensor it wrote in the
// previous run: the op must not write its new output over its input.
func TestOutputFedBack(t *testing.T) {
	s := []int{1, 2, 6, 5}
	g := gorgonia.NewGraph()
	x := input(g, "x", s...)
	y, err := AvgPool2D(x, 3, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	x0 := randn(rand.New(rand.NewPCG(5, 6)), size(s))
	want := refAvgPool(refAvgPool(x0, s, 3, 1, 1), s, 3, 1, 1)
	if err := gorgonia.Let(x, dense(s, x0)); err != nil {
		t.Fatal(err)
	}
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	if err := gorgonia.Let(x, y.Value()); err != nil {
		t.Fatal(err)
	}
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	if err := closeTo(values(t, y), want, 1e-6, 1e-5); err != nil {
		t.Error(err)
	}
}

// TestStridedInput feeds an op a gorgonia slice, whose value is a view.
func TestStridedInput(t *testing.T) {
	g := gorgonia.NewGraph()
	x := input(g, "x", 2, 3, 4, 5)
	sl, err := gorgonia.Slice(x, nil, gorgonia.S(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	y, err := InstanceNorm(sl, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	x0 := randn(rand.New(rand.NewPCG(9, 9)), 2*3*4*5)
	if err := gorgonia.Let(x, dense([]int{2, 3, 4, 5}, x0)); err != nil {
		t.Fatal(err)
	}
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	var sub []float32
	for n := 0; n < 2; n++ {
		sub = append(sub, x0[(n*3+1)*20:(n*3+3)*20]...)
	}
	want, _, _ := refNorm(sub, []int{2, 2, 4, 5}, 1e-5, false)
	if err := closeTo(values(t, y), want, 1e-5, 1e-5); err != nil {
		t.Error(err)
	}
}

// TestBatchNormTrainNotMerged makes two BatchNormTrain nodes of one input:
// gorgonia merges nodes with equal hashes, which would leave one
// BatchStats empty.
func TestBatchNormTrainNotMerged(t *testing.T) {
	g := gorgonia.NewGraph()
	x := input(g, "x", 2, 3, 2, 2)
	y1, s1, err := BatchNormTrain(x, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	y2, s2, err := BatchNormTrain(x, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	if y1 == y2 {
		t.Fatal("the two nodes were merged")
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := gorgonia.Let(x, dense([]int{2, 3, 2, 2}, randn(rand.New(rand.NewPCG(1, 1)), 24))); err != nil {
		t.Fatal(err)
	}
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	if len(s1.Mean) != 3 || !slices.Equal(s1.Mean, s2.Mean) || !slices.Equal(s1.Var, s2.Var) {
		t.Errorf("stats differ: %v %v / %v %v", s1.Mean, s1.Var, s2.Mean, s2.Var)
	}
}

func TestBuildErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := input(g, "x", 1, 3, 8, 8)
	other := input(g, "other", 1, 3, 4, 8)
	x64 := gorgonia.NewTensor(g, gorgonia.Float64, 4, gorgonia.WithShape(1, 3, 8, 8), gorgonia.WithName("x64"))
	vec := input(g, "vec", 8)
	noShape := gorgonia.NewTensor(g, gorgonia.Float32, 4, gorgonia.WithName("noShape"))
	cases := map[string]func() (*gorgonia.Node, error){
		"pad over half kernel": func() (*gorgonia.Node, error) { return AvgPool2D(x, 3, 2, 2) },
		"kernel over input":    func() (*gorgonia.Node, error) { return AvgPool2D(x, 11, 1, 1) },
		"zero factor":          func() (*gorgonia.Node, error) { return UpsampleNearest(x, 0) },
		"modulate shapes":      func() (*gorgonia.Node, error) { return Modulate(x, other, x) },
		"bias length":          func() (*gorgonia.Node, error) { return AddBias(x, vec) },
		"offsets shape":        func() (*gorgonia.Node, error) { return AddChannels(x, input(g, "offs", 1, 4)) },
		"eval stats length": func() (*gorgonia.Node, error) {
			return BatchNormEval(x, []float32{0, 0}, []float32{1, 1}, 1e-5)
		},
		"float64":   func() (*gorgonia.Node, error) { return InstanceNorm(x64, 1e-5) },
		"not 4D":    func() (*gorgonia.Node, error) { return InstanceNorm(vec, 1e-5) },
		"no shape":  func() (*gorgonia.Node, error) { return UpsampleNearest(noShape, 2) },
		"nil input": func() (*gorgonia.Node, error) { return AddBias(x, nil) },
		"one value per channel": func() (*gorgonia.Node, error) {
			y, _, err := BatchNormTrain(input(g, "single", 1, 2, 1, 1), 1e-5)
			return y, err
		},
	}
	for name, f := range cases {
		if n, err := f(); err == nil {
			t.Errorf("%s: no error, got node %v", name, n)
		}
	}
}

func TestBatchStatsUpdateRunning(t *testing.T) {
	s := &BatchStats{Mean: []float32{1, -2}, Var: []float32{4, 0.5}}
	rm, rv := []float32{0, 0}, []float32{1, 1}
	if err := s.UpdateRunning(rm, rv, 0.1); err != nil {
		t.Fatal(err)
	}
	if err := closeTo(rm, []float32{0.1, -0.2}, 1e-7, 0); err != nil {
		t.Error(err)
	}
	if err := closeTo(rv, []float32{1.3, 0.95}, 1e-7, 0); err != nil {
		t.Error(err)
	}
	if err := s.UpdateRunning(rm[:1], rv, 0.1); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestResizeIdentityAndPanics(t *testing.T) {
	x := randn(rand.New(rand.NewPCG(2, 2)), 2*3*5*4)
	if !slices.Equal(ResizeNearest(x, 2, 3, 5, 4, 5, 4), x) {
		t.Error("nearest to the same size changed values")
	}
	if !slices.Equal(ResizeBilinear(x, 2, 3, 5, 4, 5, 4), x) {
		t.Error("bilinear to the same size changed values")
	}
	// Upscaling by 2 by nearest is what UpsampleNearest does.
	if !slices.Equal(ResizeNearest(x, 2, 3, 5, 4, 10, 8), refUpsample(x, []int{2, 3, 5, 4}, 2)) {
		t.Error("nearest ×2 differs from pixel repetition")
	}
	for name, f := range map[string]func(){
		"short src": func() { ResizeNearest(x[:5], 2, 3, 5, 4, 2, 2) },
		"zero size": func() { ResizeBilinear(x, 2, 3, 5, 4, 0, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestUsePreallocDo covers the path gorgonia takes when it hands the op a
// register it allocated.
func TestUsePreallocDo(t *testing.T) {
	o := &op{k: &leaky{alpha: 0.5, nd: 2}}
	x := dense([]int{2, 3}, []float32{-2, -1, 0, 1, 2, 3})
	want := []float32{-1, -0.5, 0, 1, 2, 3}
	pre := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2, 3))
	v, err := o.UsePreallocDo(pre, x)
	if err != nil {
		t.Fatal(err)
	}
	if v != pre || !slices.Equal(pre.Data().([]float32), want) {
		t.Errorf("got %v", v)
	}
	if _, err := o.UsePreallocDo(tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(3, 2)), x); err == nil {
		t.Error("wrong-shaped register accepted")
	}
	if _, err := o.UsePreallocDo(x, x); err == nil {
		t.Error("register aliasing the input accepted")
	}
}

func TestNotPositive(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		v    float32
		want uint32
	}{
		{1, 0}, {math.SmallestNonzeroFloat32, 0}, {math.MaxFloat32, 0}, {float32(math.Inf(1)), 0},
		{0, 1}, {float32(math.Copysign(0, -1)), 1}, {-math.SmallestNonzeroFloat32, 1}, {-3, 1},
		{float32(math.Inf(-1)), 1},
	} {
		if got := notPositive(c.v); got != c.want {
			t.Errorf("notPositive(%g) = %d, want %d", c.v, got, c.want)
		}
	}
	if notPositive(nan) > 1 || notPositive(-nan) > 1 {
		t.Error("NaN gave an index out of range")
	}
}

// TestNearestIndexFloat32 pins pairs of sizes where PyTorch's float32
// rule picks another source pixel than exact integer arithmetic
// floor(i·in/out) would (found by comparing with torch 1.13; the float32
// rule matched torch on all 17955 size pairs tried).
func TestNearestIndexFloat32(t *testing.T) {
	for _, c := range []struct{ in, out, i, torch int }{
		{2, 82, 41, 0},  // exact: 1
		{4, 82, 41, 1},  // exact: 2
		{3, 123, 41, 0}, // exact: 1
		{3, 123, 82, 1}, // exact: 2
	} {
		if got := nearestIndex(c.in, c.out)[c.i]; got != c.torch {
			t.Errorf("%d→%d index %d: got source %d, torch %d", c.in, c.out, c.i, got, c.torch)
		}
	}
}

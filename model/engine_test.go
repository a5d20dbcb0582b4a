package model

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"sync"
	"testing"
)

// engineTestModel is a random model whose biases and batch-norm statistics
// are not the trivial zeros and ones of InitParams, so that folding them
// is tested too, and whose spectral-norm vectors are power-iterated (as in
// a trained model) so that activations stay in range and the image is not
// saturated.
func engineTestModel(t testing.TB, c Config, seed int64) *Model {
	t.Helper()
	m, err := RandomModel(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed + 1))
	for _, p := range []Params{m.G, m.E} {
		for _, k := range p.Keys() {
			d, ok := p[k].Data().([]float32)
			if !ok {
				continue
			}
			switch {
			case strings.HasSuffix(k, ".weight_orig"):
				prefix := k[:len(k)-len(".weight_orig")]
				u, _ := p.F32(prefix + ".weight_u")
				v, _ := p.F32(prefix + ".weight_v")
				for j := 0; j < 30; j++ {
					if err := PowerIteration(d, u, v); err != nil {
						t.Fatal(err)
					}
				}
			case strings.HasSuffix(k, "mlp_style_gamma.weight"), strings.HasSuffix(k, "mlp_style_beta.weight"):
				// ZeroWeight starts at zero; a trained modulation does not
				// (offsets of ~±0.1 per unit of z, after the gain).
				for i := range d {
					d[i] = float32(rng.Float64()*0.2-0.1) / StyleModGain
				}
			case strings.HasSuffix(k, ".bias"):
				for i := range d {
					d[i] = float32(rng.Float64()*0.2 - 0.1)
				}
			case strings.HasSuffix(k, ".running_mean"):
				for i := range d {
					d[i] = float32(rng.Float64() - 0.5)
				}
			case strings.HasSuffix(k, ".running_var"):
				for i := range d {
					d[i] = float32(0.5 + rng.Float64())
				}
			}
		}
	}
	return m
}

// engBlobLabels makes n label maps of random rectangles (regions, as painted)
// over a random background, with instance ids when the model takes them.
func engBlobLabels(c Config, n int, rng *rand.Rand) *Labels {
	h, w := c.Height(), c.Width
	l := &Labels{N: n, H: h, W: w, Class: make([]uint8, n*h*w)}
	if c.Instance {
		l.Instance = make([]int32, n*h*w)
	}
	k := c.NumClasses()
	for i := 0; i < n; i++ {
		cls := l.Class[i*h*w : (i+1)*h*w]
		bg := uint8(rng.Intn(k))
		for j := range cls {
			cls[j] = bg
		}
		for b := 0; b < 6; b++ {
			engPaint(l, i, engRandRect(rng, h, w, max(2, w/3)), uint8(rng.Intn(k)), int32(rng.Intn(4)))
		}
	}
	return l
}

func engRandRect(rng *rand.Rand, h, w, maxSide int) engRect {
	bw, bh := 1+rng.Intn(maxSide), 1+rng.Intn(maxSide)
	x0, y0 := rng.Intn(w+bw)-bw, rng.Intn(h+bh)-bh
	r := engRect{x0, y0, x0 + bw, y0 + bh}.clip(h, w)
	if r.empty() {
		return engRect{0, 0, 1, 1}
	}
	return r
}

func engPaint(l *Labels, item int, r engRect, cls uint8, inst int32) {
	for y := r.Y0; y < r.Y1; y++ {
		for x := r.X0; x < r.X1; x++ {
			i := item*l.H*l.W + y*l.W + x
			l.Class[i] = cls
			if l.Instance != nil {
				l.Instance[i] = inst
			}
		}
	}
}

// engineConfigs are small configs covering both norms, the three
// upsampling modes, VAE or not, don't care and instance edges, and a
// non-square aspect.
func engineConfigs() []Config {
	base := Config{NGF: 4, NDF: 4, NHidden: 8, ZDim: 16, Width: 64, AspectRatio: 1, EncoderLayers: 6, NumD: 1, NLayersD: 2}
	var cs []Config
	add := func(name string, f func(*Config)) {
		c := base
		c.Name = name
		f(&c)
		cs = append(cs, c)
	}
	add("batch_vae", func(c *Config) { c.LabelNC, c.UseVAE = 5, true })
	add("inst_vae_dontcare", func(c *Config) { c.LabelNC, c.UseVAE, c.ContainDontCare, c.Norm = 6, true, true, InstanceNorm })
	add("batch_novae_edges", func(c *Config) { c.LabelNC, c.ContainDontCare, c.Instance = 4, true, true })
	add("inst_more_edges", func(c *Config) {
		c.LabelNC, c.Instance, c.Norm, c.Upsampling, c.Width = 3, true, InstanceNorm, More, 128
	})
	add("batch_most_wide", func(c *Config) { c.LabelNC, c.Upsampling, c.Width, c.AspectRatio = 7, Most, 256, 2 })
	add("inst_novae_plain", func(c *Config) { c.LabelNC, c.Norm = 9, InstanceNorm })
	add("batch_vae_stylemod", func(c *Config) { c.LabelNC, c.UseVAE, c.StyleMod = 5, true, true })
	add("inst_vae_stylemod", func(c *Config) { c.LabelNC, c.UseVAE, c.StyleMod, c.Norm, c.Width = 6, true, true, InstanceNorm, 128 })
	// Wide enough that the γ/β convs below 64×64 run by im2col, not
	// Winograd (transformed weights over budget).
	add("batch_vae_wide", func(c *Config) { c.LabelNC, c.UseVAE, c.NGF, c.NHidden = 5, true, 16, 256 })
	return cs
}

// TestEngineMatchesGraph compares the engine with the gorgonia graph on
// random weights and label maps (the PyTorch fixtures, in
// TestGeneratorParity, go through the engine too).
func TestEngineMatchesGraph(t *testing.T) {
	ctx := context.Background()
	for i, c := range engineConfigs() {
		t.Run(c.Name, func(t *testing.T) {
			m := engineTestModel(t, c, int64(10+i))
			rng := rand.New(rand.NewSource(int64(i)))
			l := engBlobLabels(c, 2, rng)
			z := m.RandomZ(2, 3)
			want, err := m.GenerateGraph(ctx, l, z)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Generate(ctx, l, z)
			if err != nil {
				t.Fatal(err)
			}
			if d := engineDiff(got.Pix, want.Pix); d > parityTol {
				t.Fatalf("engine vs graph: max abs diff %.3g", d)
			} else {
				t.Logf("engine vs graph: max abs diff %.3g", d)
			}
		})
	}
}

// TestEngineBLASPath runs the engine on the build's BLAS instead of its
// own GEMM kernel (the path of CPUs without AVX2), against the graph.
func TestEngineBLASPath(t *testing.T) {
	if !engOwnGemm {
		t.Skip("the build's BLAS is the default path here")
	}
	engOwnGemm = false
	defer func() { engOwnGemm = true }()
	ctx := context.Background()
	for i, c := range engineConfigs()[:2] {
		m := engineTestModel(t, c, int64(40+i))
		l := engBlobLabels(c, 1, rand.New(rand.NewSource(int64(i))))
		z := m.RandomZ(1, 3)
		want, err := m.GenerateGraph(ctx, l, z)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Generate(ctx, l, z)
		if err != nil {
			t.Fatal(err)
		}
		if d := engineDiff(got.Pix, want.Pix); d > parityTol {
			t.Fatalf("%s: engine on BLAS vs graph: max abs diff %.3g", c.Name, d)
		}
	}
}

// TestEngineIncremental paints random strokes, including ones that touch
// edges and corners, and checks every cached or incremental render against
// a render from scratch; also new styles on the same labels.
func TestEngineIncremental(t *testing.T) {
	ctx := context.Background()
	for i, c := range engineConfigs() {
		t.Run(c.Name, func(t *testing.T) {
			m := engineTestModel(t, c, int64(20+i))
			ref := engineTestModel(t, c, int64(20+i)) // same weights, rendered cold
			rng := rand.New(rand.NewSource(int64(100 + i)))
			h, w := c.Height(), c.Width
			l := engBlobLabels(c, 1, rng)
			z := m.RandomZ(1, 1)
			check := func(what string) {
				t.Helper()
				got, err := m.Generate(ctx, l, z)
				if err != nil {
					t.Fatal(err)
				}
				ref.DropCache()
				want, err := ref.Generate(ctx, l, z)
				if err != nil {
					t.Fatal(err)
				}
				if d := engineDiff(got.Pix, want.Pix); d > parityTol {
					t.Fatalf("%s: max abs diff %.3g from a render from scratch", what, d)
				}
			}
			check("first render")
			strokes := []engRect{
				{0, 0, 3, 3},                     // top-left corner
				{w - 5, h - 4, w, h},             // bottom-right corner
				{w / 2, 0, w/2 + 6, 2},           // top edge
				{0, h / 2, 1, h/2 + 1},           // one pixel on the left edge
				{w - 1, 0, w, h},                 // right column
				{w / 3, h / 3, w/3 + 8, h/3 + 8}, // middle
			}
			for k := 0; k < 6; k++ {
				strokes = append(strokes, engRandRect(rng, h, w, max(2, w/4)))
			}
			k := c.NumClasses()
			for si, r := range strokes {
				engPaint(l, 0, r, uint8(rng.Intn(k)), int32(rng.Intn(5)))
				check(fmt.Sprintf("stroke %d %v", si, r))
				if si%3 == 2 {
					z = m.RandomZ(1, int64(si))
					check(fmt.Sprintf("new style after stroke %d", si))
				}
			}
			// Two strokes between renders, then the same labels again.
			engPaint(l, 0, engRandRect(rng, h, w, 5), uint8(rng.Intn(k)), 1)
			engPaint(l, 0, engRandRect(rng, h, w, 5), uint8(rng.Intn(k)), 2)
			check("two strokes")
			check("no change")
			// A completely new map.
			l = engBlobLabels(c, 1, rng)
			check("new map")
		})
	}
}

// TestEngineBatch checks a batch of two whose items change separately.
func TestEngineBatch(t *testing.T) {
	ctx := context.Background()
	for i, c := range []Config{engineConfigs()[1], engineConfigs()[2]} {
		m := engineTestModel(t, c, int64(60+i))
		ref := engineTestModel(t, c, int64(60+i))
		rng := rand.New(rand.NewSource(int64(7 + i)))
		l := engBlobLabels(c, 2, rng)
		z := m.RandomZ(2, 1)
		for step := 0; step < 4; step++ {
			if step > 0 {
				item := step % 2
				engPaint(l, item, engRandRect(rng, c.Height(), c.Width, 8), uint8(rng.Intn(c.NumClasses())), int32(step))
			}
			got, err := m.Generate(ctx, l, z)
			if err != nil {
				t.Fatal(err)
			}
			ref.DropCache()
			want, err := ref.Generate(ctx, l, z)
			if err != nil {
				t.Fatal(err)
			}
			if d := engineDiff(got.Pix, want.Pix); d > parityTol {
				t.Fatalf("%s step %d: max abs diff %.3g from scratch", c.Name, step, d)
			}
		}
	}
}

// TestEngineCancel checks that a render cancelled half way keeps its label
// work consistent: the next render equals one from scratch.
func TestEngineCancel(t *testing.T) {
	c := engineConfigs()[0]
	m := engineTestModel(t, c, 5)
	rng := rand.New(rand.NewSource(5))
	l := engBlobLabels(c, 1, rng)
	z := m.RandomZ(1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Generate(ctx, l, z); err == nil {
		t.Fatal("cancelled render returned no error")
	}
	// Cancel inside the engine, after some layers.
	m.mu.Lock()
	e, err := newEngine(m.Config, m.G)
	if err != nil {
		t.Fatal(err)
	}
	m.eng = e
	it := e.item(0)
	e.setLabels(it, l, 0)
	cctx := &engCountCtx{Context: context.Background(), left: 4}
	if err := e.refresh(cctx, it); err == nil {
		t.Fatal("refresh not stopped")
	}
	m.mu.Unlock()
	got, err := m.Generate(context.Background(), l, z)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.GenerateGraph(context.Background(), l, z)
	if err != nil {
		t.Fatal(err)
	}
	if d := engineDiff(got.Pix, want.Pix); d > parityTol {
		t.Fatalf("after a cancelled refresh: max abs diff %.3g", d)
	}
}

// engCountCtx is cancelled after `left` calls to Err. Err is safe for
// concurrent use, as a Context's must be: refresh's two lanes call it.
type engCountCtx struct {
	context.Context
	mu   sync.Mutex
	left int
}

func (c *engCountCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		return context.Canceled
	}
	c.left--
	return nil
}

// engineDiff is maxAbsDiff that also fails on NaN (which maxAbsDiff skips).
func engineDiff(a, b []float32) float64 {
	for i := range a {
		if a[i] != a[i] || (i < len(b) && b[i] != b[i]) {
			return math.Inf(1)
		}
	}
	return maxAbsDiff(a, b)
}

// TestEngineWino2 sends a small model down ADE20K's path for its wide
// convs at 16² and 32²: with the F(4×4) budget below their weights, the
// trunk's 3×3 convs there run as Winograd F(2×2) (engine_wino2.go), which
// must still equal the graph.
func TestEngineWino2(t *testing.T) {
	defer func(b int) { engWinoTrunkBudget = b }(engWinoTrunkBudget)
	engWinoTrunkBudget = 36*16*16 - 1 // below every trunk conv of ngf 4 (≥ 16 channels)
	ctx := context.Background()
	for i, c := range engineConfigs()[:2] {
		c.Width = 256 // G_middle at 16², up_0 at 32²
		t.Run(c.Name, func(t *testing.T) {
			m := engineTestModel(t, c, int64(70+i))
			l := engBlobLabels(c, 1, rand.New(rand.NewSource(int64(i))))
			z := m.RandomZ(1, 5)
			got, err := m.Generate(ctx, l, z)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, b := range m.eng.blocks {
				for _, cv := range []*engConv{b.conv0, b.conv1} {
					if cv.wino2 != nil {
						n++
					}
				}
			}
			if n == 0 {
				t.Fatal("no trunk conv ran as F(2×2)")
			}
			want, err := m.GenerateGraph(ctx, l, z)
			if err != nil {
				t.Fatal(err)
			}
			if d := engineDiff(got.Pix, want.Pix); d > parityTol {
				t.Fatalf("engine with %d F(2×2) convs vs graph: max abs diff %.3g", n, d)
			} else {
				t.Logf("engine with %d F(2×2) convs vs graph: max abs diff %.3g", n, d)
			}
		})
	}
}

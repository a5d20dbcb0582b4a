package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model/ops"
)

// Model is a SPADE generator, with its style encoder when it has one,
// ready for inference (eval mode: running statistics, fixed spectral
// norm). Its methods are safe for concurrent use; runs are serialised.
//
// Generate runs on the hand-written CPU engine (engine.go), which keeps
// what the label map decides between renders and prepared copies of some
// weights: G must not change after the first render (build a new Model
// for new weights). GenerateGraph runs the gorgonia graph, the reference
// the engine is tested against. Encode runs the style encoder on the
// engine's kernels too (engine_encoder.go), with the spectral-norm weights
// resolved at its first call, so E must not change after it either;
// EncodeGraph runs the encoder's graph, its reference.
type Model struct {
	Config Config
	G, E   Params
	// Prior, when set, is what RandomZ draws from instead of N(0, I).
	Prior *StylePrior

	mu       sync.Mutex
	resolved Params // W_orig/σ of every spectral-norm layer, computed once
	gens     map[int]*genRunner
	encs     map[int]*encRunner
	eng      *engine
	encEng   *encEngine
	backend  Backend // when set, Generate, Encode and DropCache run there
}

// NewModel checks the weights against the config and prepares inference.
func NewModel(c Config, g, e Params) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := CheckParams(g, GeneratorSpecs(c)); err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	if c.UseVAE && e != nil {
		if err := CheckParams(e, EncoderSpecs(c)); err != nil {
			return nil, fmt.Errorf("encoder: %w", err)
		}
	}
	return &Model{Config: c, G: g, E: e, resolved: Params{}, gens: map[int]*genRunner{}, encs: map[int]*encRunner{}}, nil
}

// RandomModel makes a model of config c with fresh random weights, for
// benchmarks and tests of presets that have no trained weights.
func RandomModel(c Config, seed int64) (*Model, error) {
	rng := rand.New(rand.NewSource(seed))
	g := InitParams(GeneratorSpecs(c), rng)
	var e Params
	if c.UseVAE {
		e = InitParams(EncoderSpecs(c), rng)
	}
	return NewModel(c, g, e)
}

// HasEncoder reports whether style images can be encoded.
func (m *Model) HasEncoder() bool { return m.Config.UseVAE && m.E != nil }

// ErrNoEncoder is returned when a style image is given to a model
// without a style encoder.
var ErrNoEncoder = errors.New("this model has no style encoder: it cannot take a style image (random styles still work where it has a VAE)")

// Image is a batch of images [N, 3, H, W], float32 in [−1, 1].
type Image struct {
	N, H, W int
	Pix     []float32
}

// RandomZ samples N style codes with the given seed: from the model's
// style prior when it has one, else from N(0, I) as the paper.
func (m *Model) RandomZ(n int, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	zd := m.Config.ZDim
	z := make([]float32, n*zd)
	if m.Prior != nil {
		for i := 0; i < n; i++ {
			m.Prior.sample(z[i*zd:(i+1)*zd], rng.NormFloat64)
		}
		return z
	}
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	return z
}

// Generate renders labels with style codes z ([N, z_dim]; ignored and
// may be nil for models without a VAE).
//
// It keeps the label-dependent part of the network (every SPADE layer's
// γ and β) between calls: a call with the labels of the last one (a new
// style) re-runs only the main path, and a call whose labels differ in a
// small region (a brush stroke) recomputes γ and β only where the change
// reaches. The output equals a render from scratch. A cancelled context
// stops the render early; the work done on the labels is kept.
func (m *Model) Generate(ctx context.Context, l *Labels, z []float32) (*Image, error) {
	if err := m.checkGenerate(l, z); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.backend != nil {
		return m.backend.Generate(ctx, l, z)
	}
	if m.eng == nil {
		e, err := newEngine(m.Config, m.G)
		if err != nil {
			return nil, fmt.Errorf("generator: %w", err)
		}
		m.eng = e
	}
	return m.eng.generate(ctx, l, z)
}

// DropCache forgets the label-dependent state kept by Generate, so that
// the next render is computed from scratch (cold), as for a new label map.
// Its buffers stay allocated.
func (m *Model) DropCache() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend != nil {
		m.backend.DropCache()
	}
	if m.eng != nil {
		m.eng.dropCache()
	}
}

func (m *Model) checkGenerate(l *Labels, z []float32) error {
	c := m.Config
	if err := l.Check(c); err != nil {
		return err
	}
	if c.UseVAE && len(z) != l.N*c.ZDim {
		return fmt.Errorf("style code has %d values, want %d (N=%d × z_dim=%d)", len(z), l.N*c.ZDim, l.N, c.ZDim)
	}
	return nil
}

// GenerateGraph is Generate on the gorgonia graph, without any caching:
// the reference the engine is tested against.
func (m *Model) GenerateGraph(ctx context.Context, l *Labels, z []float32) (*Image, error) {
	if err := m.checkGenerate(l, z); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := m.genRunner(l.N)
	if err != nil {
		return nil, err
	}
	return r.run(l, z)
}

// Encode returns the style encoder's μ and log-variance for style images
// ([N, 3, H, W] in [−1, 1], any size: they are resized bilinearly to the
// encoder's input as the official code does).
func (m *Model) Encode(ctx context.Context, style *Image) (mu, logvar []float32, err error) {
	if err := m.checkEncode(style); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if m.backend != nil {
		return m.backend.Encode(ctx, style)
	}
	if m.encEng == nil {
		e, err := newEncEngine(m.Config, m.E)
		if err != nil {
			return nil, nil, err
		}
		m.encEng = e
	}
	return m.encEng.encode(ctx, style)
}

// EncodeGraph is Encode on the gorgonia graph: the reference the engine's
// encoder is tested against.
func (m *Model) EncodeGraph(ctx context.Context, style *Image) (mu, logvar []float32, err error) {
	if err := m.checkEncode(style); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	r, err := m.encRunner(style.N)
	if err != nil {
		return nil, nil, err
	}
	return r.run(style)
}

func (m *Model) checkEncode(style *Image) error {
	if !m.HasEncoder() {
		return ErrNoEncoder
	}
	if style.N < 1 || style.H < 1 || style.W < 1 || len(style.Pix) != style.N*3*style.H*style.W {
		return fmt.Errorf("style image batch %d×3×%d×%d does not match its %d values", style.N, style.H, style.W, len(style.Pix))
	}
	return nil
}

// Sample draws z = μ + ε·exp(½·logvar) (the VAE reparameterisation).
func Sample(mu, logvar []float32, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	z := make([]float32, len(mu))
	for i := range z {
		z[i] = mu[i] + float32(rng.NormFloat64())*float32(math.Exp(0.5*float64(logvar[i])))
	}
	return z
}

// genRunner is a compiled generator graph for one batch size, reused
// with Let for each render.
type genRunner struct {
	c    Config
	net  *generatorNet
	vm   G.VM
	segs []*tensor.Dense
	z    *tensor.Dense
}

func (m *Model) genRunner(n int) (*genRunner, error) {
	if r, ok := m.gens[n]; ok {
		return r, nil
	}
	g := G.NewGraph()
	b := newBuilder(g, m.G, Eval, m.resolved)
	net, err := b.generator(m.Config, n)
	if err != nil {
		return nil, fmt.Errorf("build generator: %w", err)
	}
	r := &genRunner{c: m.Config, net: net}
	snc := m.Config.SemanticNC()
	for _, s := range net.Sizes {
		r.segs = append(r.segs, tensor.New(tensor.WithShape(n, snc, s.H, s.W), tensor.Of(tensor.Float32)))
	}
	if net.Z != nil {
		r.z = tensor.New(tensor.WithShape(n, m.Config.ZDim), tensor.Of(tensor.Float32))
	}
	r.vm = G.NewTapeMachine(g)
	m.gens[n] = r
	return r, nil
}

func (r *genRunner) run(l *Labels, z []float32) (*Image, error) {
	for i, s := range r.net.Sizes {
		l.OneHot(r.c, s.H, s.W, r.segs[i].Data().([]float32))
		if err := G.Let(r.net.Segs[i], r.segs[i]); err != nil {
			return nil, err
		}
	}
	if r.z != nil {
		copy(r.z.Data().([]float32), z)
		if err := G.Let(r.net.Z, r.z); err != nil {
			return nil, err
		}
	}
	defer r.vm.Reset()
	if err := r.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	out := r.net.Out.Value().Data().([]float32)
	return &Image{N: l.N, H: l.H, W: l.W, Pix: append([]float32(nil), out...)}, nil
}

type encRunner struct {
	c   Config
	net *encoderNet
	vm  G.VM
	img *tensor.Dense
}

func (m *Model) encRunner(n int) (*encRunner, error) {
	if r, ok := m.encs[n]; ok {
		return r, nil
	}
	g := G.NewGraph()
	b := newBuilder(g, m.E, Eval, m.resolved)
	net, err := b.encoder(m.Config, n)
	if err != nil {
		return nil, fmt.Errorf("build encoder: %w", err)
	}
	s := m.Config.EncoderSize()
	r := &encRunner{c: m.Config, net: net, vm: G.NewTapeMachine(g),
		img: tensor.New(tensor.WithShape(n, 3, s, s), tensor.Of(tensor.Float32))}
	m.encs[n] = r
	return r, nil
}

func (r *encRunner) run(style *Image) (mu, logvar []float32, err error) {
	s := r.c.EncoderSize()
	dst := r.img.Data().([]float32)
	if style.H == s && style.W == s {
		copy(dst, style.Pix)
	} else {
		copy(dst, ops.ResizeBilinear(style.Pix, style.N, 3, style.H, style.W, s, s))
	}
	if err := r.net.SetInput(r.img); err != nil {
		return nil, nil, err
	}
	defer r.vm.Reset()
	if err := r.vm.RunAll(); err != nil {
		return nil, nil, fmt.Errorf("encoder: %w", err)
	}
	mu = append([]float32(nil), r.net.Mu.Value().Data().([]float32)...)
	logvar = append([]float32(nil), r.net.LogVar.Value().Data().([]float32)...)
	return mu, logvar, nil
}

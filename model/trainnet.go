package model

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model/ops"
)

// Training support: the networks built in Train mode into a graph the
// trainer owns, with one node per parameter key (to read its gradient)
// and the batch-norm statistics of every run, plus the buffer updates
// PyTorch makes at each training forward (spectral-norm power iteration,
// batch-norm running statistics).

// GeneratorGraph, EncoderGraph and DiscriminatorGraph are the networks'
// nodes in a training graph (inputs to fill with Let, outputs to read).
type (
	GeneratorGraph     = generatorNet
	EncoderGraph       = encoderNet
	DiscriminatorGraph = discriminatorNet
)

// TrainNet adds networks in Train mode to one graph: batch norm uses the
// batch statistics, spectral norm divides by σ = uᵀ·W·v inside the graph
// with u and v constant (as PyTorch's spectral_norm, whose u and v are
// buffers), so gradients flow through σ.
//
// Every parameter becomes one node, made on first use and shared by all
// the networks built by the same TrainNet: calling Discriminator twice
// applies the same weights to two inputs.
type TrainNet struct{ b *builder }

// NewTrainNet builds into g with the weights p; p may hold several
// networks at once (generator, encoder and discriminator keys never
// collide). The nodes hold p's tensors themselves, so updating p in place
// (the optimiser, PowerIterate) takes effect at the next run.
func NewTrainNet(g *G.ExprGraph, p Params) *TrainNet {
	b := newBuilder(g, p, Train, Params{})
	b.stats = map[string]*ops.BatchStats{}
	return &TrainNet{b: b}
}

// Generator builds the generator for batch n. With a VAE, z is the style
// code node [n, z_dim] (typically μ + ε·exp(½·logvar) from Encoder), or
// nil to make an input node.
func (t *TrainNet) Generator(c Config, n int, z *G.Node) (*GeneratorGraph, error) {
	if z != nil && (!c.UseVAE || !z.Shape().Eq(tensor.Shape{n, c.ZDim})) {
		return nil, fmt.Errorf("generator: style code node has shape %v, want (%d, %d) with a VAE", z.Shape(), n, c.ZDim)
	}
	return t.b.generatorFrom(c, n, z)
}

// Encoder builds the style encoder for batch n; its input is the style
// image already resized to Config.EncoderSize().
func (t *TrainNet) Encoder(c Config, n int) (*EncoderGraph, error) { return t.b.encoder(c, n) }

// Discriminator builds the multi-scale discriminator on in
// ([N, semantic_nc+3, H, W], see DiscriminatorInput).
func (t *TrainNet) Discriminator(c Config, in *G.Node) (*DiscriminatorGraph, error) {
	if s := in.Shape(); s.Dims() != 4 || s[1] != c.DInputNC() {
		return nil, fmt.Errorf("discriminator: input shape %v, want (N, %d, H, W)", s, c.DInputNC())
	}
	return t.b.discriminator(c, in)
}

// Nodes returns the parameter nodes made so far, by key.
func (t *TrainNet) Nodes() map[string]*G.Node {
	m := make(map[string]*G.Node, len(t.b.nodes))
	for k, n := range t.b.nodes {
		m[k] = n
	}
	return m
}

// BatchStats returns the statistics of every batch norm built so far, by
// the norm's key prefix ("head_0.norm_0.param_free_norm"); each run of
// the graph overwrites them.
func (t *TrainNet) BatchStats() map[string]*ops.BatchStats {
	m := make(map[string]*ops.BatchStats, len(t.b.stats))
	for k, s := range t.b.stats {
		m[k] = s
	}
	return m
}

// BNMomentum is PyTorch's BatchNorm momentum, which SPADE keeps.
const BNMomentum = 0.1

// PowerIterate runs one spectral-norm power iteration on every
// spectral-normalised layer of p, updating its u and v in place: what
// PyTorch's spectral_norm does before every forward in training mode.
func PowerIterate(p Params) error {
	for _, k := range p.Keys() {
		prefix, ok := strings.CutSuffix(k, ".weight_orig")
		if !ok {
			continue
		}
		w, u, v, err := p.spectral(prefix)
		if err != nil {
			return err
		}
		if err := PowerIteration(w, u, v); err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
	}
	return nil
}

// UpdateBatchNorm folds the statistics of the last training run into p's
// running statistics as PyTorch's BatchNorm2d does in training mode:
// running = (1 − momentum)·running + momentum·batch (unbiased variance),
// and num_batches_tracked += 1.
func UpdateBatchNorm(p Params, stats map[string]*ops.BatchStats, momentum float32) error {
	for prefix, s := range stats {
		mean, err := p.F32(prefix + ".running_mean")
		if err != nil {
			return err
		}
		variance, err := p.F32(prefix + ".running_var")
		if err != nil {
			return err
		}
		if err := s.UpdateRunning(mean, variance, momentum); err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		nb, ok := p[prefix+".num_batches_tracked"]
		if !ok {
			return fmt.Errorf("missing weight %s.num_batches_tracked", prefix)
		}
		switch d := nb.Data().(type) {
		case []int64:
			d[0]++
		case int64:
			if err := nb.SetAt(d + 1); err != nil {
				return fmt.Errorf("%s.num_batches_tracked: %w", prefix, err)
			}
		default:
			return fmt.Errorf("%s.num_batches_tracked is %v, want int64", prefix, nb.Dtype())
		}
	}
	return nil
}

// GeneratorScales lists the sizes at which the generator's SPADE layers
// read the label map, coarsest first; the last is the output size.
func GeneratorScales(c Config) []Size { return generatorScales(c) }

// DiscriminatorInput writes the discriminator's input for labels l and
// images img ([N, 3, H, W] in [−1, 1]) into dst ([N, semantic_nc+3, H, W]):
// the semantic map (one-hot classes, don't care, instance edges) then the
// RGB channels, as the official torch.cat([input_semantics, image], 1).
func DiscriminatorInput(c Config, l *Labels, img, dst []float32) error {
	snc, plane := c.SemanticNC(), l.H*l.W
	if len(img) != l.N*3*plane || len(dst) != l.N*(snc+3)*plane {
		return fmt.Errorf("discriminator input: %d image and %d output values for %d×%d×%d labels", len(img), len(dst), l.N, l.H, l.W)
	}
	seg := make([]float32, l.N*snc*plane)
	l.OneHot(c, l.H, l.W, seg)
	for n := 0; n < l.N; n++ {
		out := dst[n*(snc+3)*plane : (n+1)*(snc+3)*plane]
		copy(out, seg[n*snc*plane:(n+1)*snc*plane])
		copy(out[snc*plane:], img[n*3*plane:(n+1)*3*plane])
	}
	return nil
}

// LearnedKeys lists the keys of specs that an optimiser updates (weights
// and biases, spectral norm's weight_orig), in spec order.
func LearnedKeys(specs []Spec) []string {
	var ks []string
	for _, s := range specs {
		if s.Kind.Learned() {
			ks = append(ks, s.Key)
		}
	}
	return ks
}

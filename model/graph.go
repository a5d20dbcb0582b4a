package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model/ops"
)

// Mode says how a graph treats the layers that differ between training
// and inference.
type Mode int

const (
	// Eval: batch norm uses running statistics, spectral norm uses the
	// stored u and v (the weights are resolved once, outside the graph).
	Eval Mode = iota
	// Train: batch norm uses batch statistics, spectral norm divides by σ
	// inside the graph so its gradient flows as in PyTorch.
	Train
)

const (
	normEps    = 1e-5 // PyTorch's BatchNorm2d/InstanceNorm2d default
	leakySlope = 0.2  // every leaky ReLU in SPADE
)

// builder adds layers to one graph, reading weights from Params by their
// official keys. Each parameter becomes one node, made on first use, so a
// training loop can find the gradient of every key in `nodes`.
type builder struct {
	g     *G.ExprGraph
	p     Params
	mode  Mode
	nodes map[string]*G.Node
	// resolved holds eval-mode effective weights of spectral-norm layers,
	// keyed "prefix.weight"; shared across graphs of the same model.
	resolved Params
	// stats collects, in Train mode, each batch norm's statistics by the
	// norm's key prefix, for the trainer's running-statistics update.
	stats map[string]*ops.BatchStats
	// styleZ is the style code [N, z_dim] the SPADE layers' style
	// modulation reads (Config.StyleMod), while a generator is built.
	styleZ *G.Node
}

func newBuilder(g *G.ExprGraph, p Params, mode Mode, resolved Params) *builder {
	return &builder{g: g, p: p, mode: mode, nodes: map[string]*G.Node{}, resolved: resolved}
}

// param returns the node of a stored tensor.
func (b *builder) param(key string) (*G.Node, error) {
	if n, ok := b.nodes[key]; ok {
		return n, nil
	}
	t, ok := b.p[key]
	if !ok {
		t, ok = b.resolved[key]
	}
	if !ok {
		return nil, fmt.Errorf("missing weight %s", key)
	}
	n := G.NodeFromAny(b.g, t, G.WithName(key))
	b.nodes[key] = n
	return n, nil
}

// weight returns a layer's weight node; for spectral-normalised layers
// (`sn`) that is W_orig/σ.
func (b *builder) weight(prefix string, sn bool) (*G.Node, error) {
	if !sn {
		return b.param(prefix + ".weight")
	}
	if b.mode == Eval {
		key := prefix + ".weight"
		if _, ok := b.resolved[key]; !ok {
			if err := resolveSpectral(b.p, b.resolved, prefix); err != nil {
				return nil, err
			}
		}
		return b.param(key)
	}
	return b.spectralNode(prefix)
}

// spectralNode builds σ = uᵀ·W·v in the graph with u and v constants, as
// PyTorch does (they are buffers, not parameters).
func (b *builder) spectralNode(prefix string) (*G.Node, error) {
	w, err := b.param(prefix + ".weight_orig")
	if err != nil {
		return nil, err
	}
	u, err := b.param(prefix + ".weight_u")
	if err != nil {
		return nil, err
	}
	v, err := b.param(prefix + ".weight_v")
	if err != nil {
		return nil, err
	}
	shape := w.Shape()
	rest := shape.TotalSize() / shape[0]
	wm, err := G.Reshape(w, tensor.Shape{shape[0], rest})
	if err != nil {
		return nil, err
	}
	wv, err := G.Mul(wm, v) // [out]
	if err != nil {
		return nil, err
	}
	sigma, err := G.Mul(u, wv) // scalar
	if err != nil {
		return nil, err
	}
	return G.HadamardDiv(w, sigma)
}

// resolveSpectral stores W_orig/σ under prefix.weight in dst.
func resolveSpectral(p, dst Params, prefix string) error {
	orig, u, v, err := p.spectral(prefix)
	if err != nil {
		return err
	}
	w, err := SpectralWeight(orig, u, v)
	if err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	dst[prefix+".weight"] = tensor.New(tensor.WithShape(p[prefix+".weight_orig"].Shape().Clone()...), tensor.WithBacking(w))
	return nil
}

// conv is a 2-D convolution with the layer's kernel size, stride and pad;
// bias is added when the checkpoint has one.
func (b *builder) conv(prefix string, x *G.Node, stride, pad int, sn, bias bool) (*G.Node, error) {
	w, err := b.weight(prefix, sn)
	if err != nil {
		return nil, err
	}
	k := w.Shape()[2]
	var y *G.Node
	if b.mode == Train {
		y, err = trainConv2d(x, w, stride, pad)
	} else {
		y, err = G.Conv2d(x, w, tensor.Shape{k, k}, []int{pad, pad}, []int{stride, stride}, []int{1, 1})
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	if !bias {
		return y, nil
	}
	bn, err := b.param(prefix + ".bias")
	if err != nil {
		return nil, err
	}
	return ops.AddBias(y, bn)
}

// linear is x·Wᵀ + b for x [N, in], W [out, in].
func (b *builder) linear(prefix string, x *G.Node) (*G.Node, error) {
	w, err := b.param(prefix + ".weight")
	if err != nil {
		return nil, err
	}
	bias, err := b.param(prefix + ".bias")
	if err != nil {
		return nil, err
	}
	wt, err := G.Transpose(w, 1, 0)
	if err != nil {
		return nil, err
	}
	y, err := G.Mul(x, wt) // [N, out]
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	return G.BroadcastAdd(y, bias, nil, []byte{0})
}

func lrelu(x *G.Node) (*G.Node, error) { return ops.LeakyReLU(x, leakySlope) }

// input makes a float32 input node of the given shape.
func input(g *G.ExprGraph, name string, shape ...int) *G.Node {
	return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name))
}

package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"spadepaint/model/ops"
)

// spade is the SPADE layer (paper §3, Eq. 1): a parameter-free norm of x,
// then a modulation by γ and β computed from the label map by a small
// conv net, so the labels steer every layer instead of being washed out
// by the normalisation.
//
//	x̂ = norm(x)                          // [N, C, h, w]
//	a = ReLU(conv3×3(seg))               // [N, nhidden, h, w]
//	γ, β = conv3×3(a), conv3×3(a)        // [N, C, h, w]
//	out = x̂·(1+γ) + β
//
// With Config.StyleMod (not in the paper) the style code adds per-channel
// offsets, γ += mlp_style_gamma(z), β += mlp_style_beta(z), each [N, C].
//
// seg is the one-hot label map already resized (nearest) to h×w.
func (b *builder) spade(prefix string, x, seg *G.Node) (*G.Node, error) {
	xhat, err := b.paramFreeNorm(prefix+".param_free_norm", x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	actv, err := b.conv(prefix+".mlp_shared.0", seg, 1, 1, false, true)
	if err != nil {
		return nil, err
	}
	if actv, err = G.Rectify(actv); err != nil {
		return nil, err
	}
	gamma, err := b.conv(prefix+".mlp_gamma", actv, 1, 1, false, true)
	if err != nil {
		return nil, err
	}
	beta, err := b.conv(prefix+".mlp_beta", actv, 1, 1, false, true)
	if err != nil {
		return nil, err
	}
	if b.styleZ != nil {
		if gamma, err = b.styleOffset(prefix+".mlp_style_gamma", gamma); err != nil {
			return nil, err
		}
		if beta, err = b.styleOffset(prefix+".mlp_style_beta", beta); err != nil {
			return nil, err
		}
	}
	return ops.Modulate(xhat, gamma, beta)
}

// styleOffset adds StyleModGain times the linear map prefix of the style
// code to each channel of m ([N, C, h, w]).
func (b *builder) styleOffset(prefix string, m *G.Node) (*G.Node, error) {
	off, err := b.linear(prefix, b.styleZ) // [N, C]
	if err != nil {
		return nil, err
	}
	if off, err = G.Mul(off, G.NewConstant(float32(StyleModGain))); err != nil {
		return nil, err
	}
	return ops.AddChannels(m, off)
}

// paramFreeNorm normalises without affine parameters: batch norm (running
// statistics in eval, batch statistics in training) or instance norm.
func (b *builder) paramFreeNorm(prefix string, x *G.Node) (*G.Node, error) {
	if _, ok := b.p[prefix+".running_mean"]; !ok {
		return ops.InstanceNorm(x, normEps)
	}
	if b.mode == Train {
		y, stats, err := ops.BatchNormTrain(x, normEps)
		if err == nil && b.stats != nil {
			b.stats[prefix] = stats
		}
		return y, err
	}
	mean, err := b.p.F32(prefix + ".running_mean")
	if err != nil {
		return nil, err
	}
	variance, err := b.p.F32(prefix + ".running_var")
	if err != nil {
		return nil, err
	}
	return ops.BatchNormEval(x, mean, variance, normEps)
}

package model

import (
	G "gorgonia.org/gorgonia"

	"spadepaint/model/ops"
)

// discriminatorNet is the multi-scale discriminator's graph.
type discriminatorNet struct {
	// Input is one-hot labels ⊕ image, [N, semantic_nc+3, H, W].
	Input *G.Node
	// Features[d] are the outputs of every layer of discriminator d (the
	// last is the patch score map), used for the GAN and feature-matching
	// losses.
	Features [][]*G.Node
}

// discriminator builds the official MultiscaleDiscriminator on in
// (pix2pixHD's design, paper §3): num_D PatchGAN discriminators, the d-th
// seeing the input average-pooled (3×3, stride 2, count_include_pad=False)
// d times. Each is
//
//	conv4×4 s2 (ndf) → lrelu                                 // model0
//	[SN conv4×4 s2|s1 (no bias) → instance norm → lrelu] × (n_layers_D−1)
//	conv4×4 s1 (1)                                           // last
//
// with padding 2 everywhere, the middle layer before the last at stride 1.
func (b *builder) discriminator(c Config, in *G.Node) (*discriminatorNet, error) {
	net := &discriminatorNet{Input: in}
	ws := discriminatorWidths(c)
	x := in
	var err error
	for d := 0; d < c.NumD; d++ {
		if d > 0 {
			if x, err = ops.AvgPool2D(x, 3, 2, 1); err != nil {
				return nil, err
			}
		}
		h := x
		var feats []*G.Node
		for n := range ws {
			last := n == len(ws)-1
			stride := 2
			if n >= c.NLayersD-1 {
				stride = 1
			}
			plain := n == 0 || last
			if h, err = b.conv(dLayerPrefix(d, n, plain), h, stride, 2, !plain, plain); err != nil {
				return nil, err
			}
			if !plain {
				if h, err = ops.InstanceNorm(h, normEps); err != nil {
					return nil, err
				}
			}
			if !last {
				if h, err = lrelu(h); err != nil {
					return nil, err
				}
			}
			feats = append(feats, h)
		}
		net.Features = append(net.Features, feats)
	}
	return net, nil
}

package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model/ops"
)

// generatorNet is the SPADE generator's graph for one batch size.
type generatorNet struct {
	// Z is the style code [N, z_dim]; nil without a VAE.
	Z *G.Node
	// Segs are the one-hot label maps [N, semantic_nc, h, w], one per
	// scale, coarsest first, with their sizes in Sizes; the caller fills
	// them by nearest resizing, as F.interpolate does in every SPADE layer.
	Segs  []*G.Node
	Sizes []Size
	// Out is the image [N, 3, H, W] in [−1, 1].
	Out *G.Node
}

// Size is a feature map's height and width.
type Size struct{ H, W int }

// generatorScales lists the feature sizes at which SPADE layers run.
func generatorScales(c Config) []Size {
	sh, sw := c.LatentSize()
	s := []Size{{sh, sw}}
	for _, blk := range generatorBlocks(c) {
		if blk.UpBefore {
			last := s[len(s)-1]
			s = append(s, Size{2 * last.H, 2 * last.W})
		}
	}
	return s
}

// generator builds the SPADE generator (paper Fig. 4, right; official
// SPADEGenerator) for batch n:
//
//	x = fc(z).view(N, 16·ngf, sh, sw)  or  fc(seg↓(sh, sw))   // [N, 16·ngf, sh, sw]
//	head_0 → up → G_middle_0 → [up] → G_middle_1 → up → up_0 (8·ngf) → up →
//	up_1 (4·ngf) → up → up_2 (2·ngf) → up → up_3 (ngf) → [up → up_4 (ngf/2)]
//	out = tanh(conv_img(lrelu(x)))                              // [N, 3, H, W]
func (b *builder) generator(c Config, n int) (*generatorNet, error) {
	return b.generatorFrom(c, n, nil)
}

// generatorFrom is generator with the style code taken from the node z
// ([n, z_dim]) instead of a new input, so that training can feed it from
// the encoder; z nil makes the input.
func (b *builder) generatorFrom(c Config, n int, z *G.Node) (*generatorNet, error) {
	net := &generatorNet{Sizes: generatorScales(c)}
	snc := c.SemanticNC()
	for i, s := range net.Sizes {
		net.Segs = append(net.Segs, input(b.g, fmt.Sprintf("seg%d", i), n, snc, s.H, s.W))
	}
	sh, sw := c.LatentSize()
	var x *G.Node
	var err error
	if c.UseVAE {
		net.Z = z
		if net.Z == nil {
			net.Z = input(b.g, "z", n, c.ZDim)
		}
		if x, err = b.linear("fc", net.Z); err != nil {
			return nil, err
		}
		if c.StyleMod {
			b.styleZ = net.Z
			defer func() { b.styleZ = nil }()
		}
		if x, err = G.Reshape(x, tensor.Shape{n, 16 * c.NGF, sh, sw}); err != nil {
			return nil, err
		}
	} else if x, err = b.conv("fc", net.Segs[0], 1, 1, false, true); err != nil {
		return nil, err
	}
	scale := 0
	for _, blk := range generatorBlocks(c) {
		if blk.UpBefore {
			if x, err = ops.UpsampleNearest(x, 2); err != nil {
				return nil, err
			}
			scale++
		}
		if x, err = b.resblock(blk, x, net.Segs[scale]); err != nil {
			return nil, fmt.Errorf("%s: %w", blk.Name, err)
		}
	}
	if x, err = lrelu(x); err != nil {
		return nil, err
	}
	if x, err = b.conv("conv_img", x, 1, 1, false, true); err != nil {
		return nil, err
	}
	if net.Out, err = G.Tanh(x); err != nil {
		return nil, err
	}
	return net, nil
}

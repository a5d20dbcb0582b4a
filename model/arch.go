package model

import "fmt"

// block is one SPADE residual block of the generator, in forward order.
type block struct {
	Name      string
	Fin, Fout int
	// UpBefore: a nearest ×2 upsampling precedes the block.
	UpBefore bool
}

// generatorBlocks lists the generator's residual blocks as the official
// SPADEGenerator.forward runs them:
//
//	head_0 → up → G_middle_0 → [up: more/most] → G_middle_1 → up → up_0 → up →
//	up_1 → up → up_2 → up → up_3 → [up → up_4: most]
func generatorBlocks(c Config) []block {
	nf := c.NGF
	bs := []block{
		{"head_0", 16 * nf, 16 * nf, false},
		{"G_middle_0", 16 * nf, 16 * nf, true},
		{"G_middle_1", 16 * nf, 16 * nf, c.Upsampling != Normal},
		{"up_0", 16 * nf, 8 * nf, true},
		{"up_1", 8 * nf, 4 * nf, true},
		{"up_2", 4 * nf, 2 * nf, true},
		{"up_3", 2 * nf, 1 * nf, true},
	}
	if c.Upsampling == Most {
		bs = append(bs, block{"up_4", nf, nf / 2, true})
	}
	return bs
}

// finalNC is the width conv_img reads.
func finalNC(c Config) int {
	if c.Upsampling == Most {
		return c.NGF / 2
	}
	return c.NGF
}

// specSet accumulates parameter specs in a fixed order.
type specSet []Spec

func (s *specSet) add(key string, kind Kind, shape ...int) {
	*s = append(*s, Spec{Key: key, Shape: shape, Kind: kind})
}

// conv adds a plain conv (weight + optional bias).
func (s *specSet) conv(prefix string, out, in, k int, bias bool) {
	s.add(prefix+".weight", Weight, out, in, k, k)
	if bias {
		s.add(prefix+".bias", Bias, out)
	}
}

// snConv adds a spectral-normalised conv: PyTorch's spectral_norm keeps
// weight_orig and the power-iteration vectors u [out] and v [in·k·k].
func (s *specSet) snConv(prefix string, out, in, k int, bias bool) {
	s.add(prefix+".weight_orig", SNWeight, out, in, k, k)
	s.add(prefix+".weight_u", SNU, out)
	s.add(prefix+".weight_v", SNV, in*k*k)
	if bias {
		s.add(prefix+".bias", Bias, out)
	}
}

func (s *specSet) linear(prefix string, out, in int) {
	s.add(prefix+".weight", Weight, out, in)
	s.add(prefix+".bias", Bias, out)
}

// spade adds one SPADE layer normalising `norm` channels.
func (s *specSet) spade(c Config, prefix string, norm int) {
	if c.Norm == BatchNorm {
		s.add(prefix+".param_free_norm.running_mean", RunningMean, norm)
		s.add(prefix+".param_free_norm.running_var", RunningVar, norm)
		s.add(prefix+".param_free_norm.num_batches_tracked", NumBatches)
	}
	s.conv(prefix+".mlp_shared.0", c.NHidden, c.SemanticNC(), 3, true)
	s.conv(prefix+".mlp_gamma", norm, c.NHidden, 3, true)
	s.conv(prefix+".mlp_beta", norm, c.NHidden, 3, true)
	if c.StyleMod {
		for _, m := range []string{".mlp_style_gamma", ".mlp_style_beta"} {
			s.add(prefix+m+".weight", ZeroWeight, norm, c.ZDim)
			s.add(prefix+m+".bias", Bias, norm)
		}
	}
}

func (s *specSet) resblock(c Config, b block) {
	mid := min(b.Fin, b.Fout)
	s.snConv(b.Name+".conv_0", mid, b.Fin, 3, true)
	s.snConv(b.Name+".conv_1", b.Fout, mid, 3, true)
	if b.Fin != b.Fout {
		s.snConv(b.Name+".conv_s", b.Fout, b.Fin, 1, false)
	}
	s.spade(c, b.Name+".norm_0", b.Fin)
	s.spade(c, b.Name+".norm_1", mid)
	if b.Fin != b.Fout {
		s.spade(c, b.Name+".norm_s", b.Fin)
	}
}

// GeneratorSpecs lists every generator parameter with its shape.
func GeneratorSpecs(c Config) []Spec {
	var s specSet
	sh, sw := c.LatentSize()
	if c.UseVAE {
		s.linear("fc", 16*c.NGF*sh*sw, c.ZDim)
	} else {
		s.conv("fc", 16*c.NGF, c.SemanticNC(), 3, true)
	}
	for _, b := range generatorBlocks(c) {
		s.resblock(c, b)
	}
	s.conv("conv_img", 3, finalNC(c), 3, true)
	return s
}

// encoderWidths are the output widths of the encoder's stride-2 convs.
func encoderWidths(c Config) []int {
	nf := c.NGF
	w := []int{nf, 2 * nf, 4 * nf, 8 * nf, 8 * nf, 8 * nf}
	return w[:c.EncoderLayers]
}

// EncoderSpecs lists the style encoder's parameters (ConvEncoder: convs
// with spectral norm and instance norm, hence no bias).
func EncoderSpecs(c Config) []Spec {
	var s specSet
	in := 3
	for i, out := range encoderWidths(c) {
		s.snConv(fmt.Sprintf("layer%d.0", i+1), out, in, 3, false)
		in = out
	}
	s.linear("fc_mu", c.ZDim, c.EncoderFCIn())
	s.linear("fc_var", c.ZDim, c.EncoderFCIn())
	return s
}

// DInputNC is the discriminator's input width: semantic channels ⊕ RGB.
func (c Config) DInputNC() int { return c.SemanticNC() + 3 }

// discriminatorWidths returns the conv output widths of one
// NLayerDiscriminator: ndf, 2ndf, 4ndf, 8ndf (capped at 512), then 1.
func discriminatorWidths(c Config) []int {
	nf := c.NDF
	w := []int{nf}
	for n := 1; n < c.NLayersD; n++ {
		nf = min(2*nf, 512)
		w = append(w, nf)
	}
	return append(w, 1)
}

// dLayerPrefix names a discriminator conv. The official code wraps each
// layer in nn.Sequential(conv, lrelu), and a normalised conv in a further
// nn.Sequential(conv, norm), hence the extra ".0" on those.
func dLayerPrefix(d, n int, plain bool) string {
	if plain {
		return fmt.Sprintf("discriminator_%d.model%d.0", d, n)
	}
	return fmt.Sprintf("discriminator_%d.model%d.0.0", d, n)
}

// DiscriminatorSpecs lists the multi-scale discriminator's parameters:
// discriminator_K.modelN.0 — plain conv first and last — and
// discriminator_K.modelN.0.0 in between: spectral norm, no bias, instance
// norm after it.
func DiscriminatorSpecs(c Config) []Spec {
	var s specSet
	ws := discriminatorWidths(c)
	for d := 0; d < c.NumD; d++ {
		in := c.DInputNC()
		for n, out := range ws {
			if n == 0 || n == len(ws)-1 {
				s.conv(dLayerPrefix(d, n, true), out, in, 4, true)
			} else {
				s.snConv(dLayerPrefix(d, n, false), out, in, 4, false)
			}
			in = out
		}
	}
	return s
}

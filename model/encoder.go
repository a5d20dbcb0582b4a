package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model/ops"
)

// encoderNet is the style encoder's graph for one batch size.
type encoderNet struct {
	// Image is the style image [N, 3, S, S] in [−1, 1], already resized
	// (bilinear) to S = Config.EncoderSize().
	Image *G.Node
	// Stats is [N, 6], the images' colour statistics (Config.EncoderStats;
	// nil without), filled by SetInput.
	Stats  *G.Node
	statsT *tensor.Dense
	// With StatsInCode, the statistics in the code's last dimensions
	// (μ's zero elsewhere) [N, z_dim], filled by SetInput.
	codeStats  *G.Node
	codeStatsT *tensor.Dense
	c          Config
	// Mu and LogVar are [N, z_dim]; z = μ + ε·exp(½·logvar).
	Mu, LogVar *G.Node
}

// SetInput binds the encoder's input images [N, 3, S, S] (S =
// Config.EncoderSize()) and, with EncoderStats, their colour statistics.
// The statistics are a function of the input alone and no gradient flows
// into the input, so they are computed here rather than in the graph.
func (net *encoderNet) SetInput(img *tensor.Dense) error {
	if err := G.Let(net.Image, img); err != nil {
		return err
	}
	if net.Stats == nil {
		return nil
	}
	pix, st := img.Data().([]float32), net.statsT.Data().([]float32)
	n := net.statsT.Shape()[0]
	per := len(pix) / n
	for i := 0; i < n; i++ {
		net.c.ColourStats(pix[i*per:(i+1)*per], st[i*EncoderStatsLen:(i+1)*EncoderStatsLen])
	}
	if net.codeStats != nil {
		cs, zd := net.codeStatsT.Data().([]float32), net.c.ZDim
		for i := 0; i < n; i++ { // the graph adds the log-variance itself
			net.c.StatsCode(st[i*EncoderStatsLen:(i+1)*EncoderStatsLen], cs[i*zd:(i+1)*zd], nil)
		}
		if err := G.Let(net.codeStats, net.codeStatsT); err != nil {
			return err
		}
	}
	return G.Let(net.Stats, net.statsT)
}

// encoder builds the VAE style encoder (paper §4, appendix; official
// ConvEncoder): stride-2 3×3 convs with spectral norm and instance norm,
// no bias, leaky ReLU 0.2 between them, widths ngf, 2ngf, 4ngf, 8ngf,
// 8ngf, 8ngf, then fc_mu and fc_var on the flattened 8ngf×4×4 grid.
//
// The official code adds layer6 only when crop_size ≥ 256, although its
// input is always resized to 256×256: below 256 the grid is 8×8 and fc_mu
// fails. Here the input size follows the layers instead, 4·2^layers
// (256 for six layers, 128 for five), so the grid is always 4×4 and
// either kind of checkpoint works.
func (b *builder) encoder(c Config, n int) (*encoderNet, error) {
	s := c.EncoderSize()
	net := &encoderNet{Image: input(b.g, "style", n, 3, s, s), c: c}
	x := net.Image
	var err error
	for i := range encoderWidths(c) {
		if i > 0 {
			if x, err = lrelu(x); err != nil {
				return nil, err
			}
		}
		prefix := fmt.Sprintf("layer%d.0", i+1)
		if x, err = b.conv(prefix, x, 2, 1, true, false); err != nil { // [N, w_i, s/2^(i+1), s/2^(i+1)]
			return nil, err
		}
		if x, err = ops.InstanceNorm(x, normEps); err != nil {
			return nil, err
		}
	}
	if x, err = lrelu(x); err != nil {
		return nil, err
	}
	if x, err = G.Reshape(x, tensor.Shape{n, 8 * c.NGF * 4 * 4}); err != nil {
		return nil, err
	}
	if c.EncoderStats {
		net.Stats = input(b.g, "style_stats", n, EncoderStatsLen)
		net.statsT = tensor.New(tensor.WithShape(n, EncoderStatsLen), tensor.Of(tensor.Float32))
		if x, err = G.Concat(1, x, net.Stats); err != nil { // [N, 8ngf·16 + 6]
			return nil, err
		}
	}
	if net.Mu, err = b.linear("fc_mu", x); err != nil {
		return nil, err
	}
	if net.LogVar, err = b.linear("fc_var", x); err != nil {
		return nil, err
	}
	if c.StatsInCode {
		if err := net.statsInCode(b.g, n); err != nil {
			return nil, err
		}
	}
	return net, nil
}

// statsInCode replaces the last EncoderStatsLen dimensions of μ and
// log-variance (Config.StatsInCode): μ' = μ⊙mask + stats, logvar' =
// logvar⊙mask + StatsCodeLogVar·(1−mask), so no gradient reaches those
// rows of fc_mu and fc_var and the KL term is constant in them.
func (net *encoderNet) statsInCode(g *G.ExprGraph, n int) error {
	zd := net.c.ZDim
	mask, lv := make([]float32, n*zd), make([]float32, n*zd)
	for i := 0; i < n; i++ {
		for j := 0; j < zd; j++ {
			if j < zd-EncoderStatsLen {
				mask[i*zd+j] = 1
			} else {
				lv[i*zd+j] = StatsCodeLogVar
			}
		}
	}
	net.codeStats = input(g, "style_code_stats", n, zd)
	net.codeStatsT = tensor.New(tensor.WithShape(n, zd), tensor.Of(tensor.Float32))
	m := G.NewConstant(tensor.New(tensor.WithShape(n, zd), tensor.WithBacking(mask)), G.WithName("stats_code_mask"))
	l := G.NewConstant(tensor.New(tensor.WithShape(n, zd), tensor.WithBacking(lv)), G.WithName("stats_code_logvar"))
	mu, err := G.HadamardProd(net.Mu, m)
	if err != nil {
		return err
	}
	if net.Mu, err = G.Add(mu, net.codeStats); err != nil {
		return err
	}
	logvar, err := G.HadamardProd(net.LogVar, m)
	if err != nil {
		return err
	}
	net.LogVar, err = G.Add(logvar, l)
	return err
}

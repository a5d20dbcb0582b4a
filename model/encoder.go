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
	// Mu and LogVar are [N, z_dim]; z = μ + ε·exp(½·logvar).
	Mu, LogVar *G.Node
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
	net := &encoderNet{Image: input(b.g, "style", n, 3, s, s)}
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
	if net.Mu, err = b.linear("fc_mu", x); err != nil {
		return nil, err
	}
	if net.LogVar, err = b.linear("fc_var", x); err != nil {
		return nil, err
	}
	return net, nil
}

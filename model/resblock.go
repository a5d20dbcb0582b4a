package model

import (
	G "gorgonia.org/gorgonia"
)

// resblock is the SPADE residual block (paper Fig. 4):
//
//	dx = conv_0(lrelu(norm_0(x, seg)))          // [N, min(fin,fout), h, w]
//	dx = conv_1(lrelu(norm_1(dx, seg)))         // [N, fout, h, w]
//	out = shortcut(x) + dx
//
// The shortcut is learned, conv_s(norm_s(x)) (1×1, no bias), only when the
// width changes. conv_0, conv_1 and conv_s are spectral-normalised.
func (b *builder) resblock(blk block, x, seg *G.Node) (*G.Node, error) {
	xs := x
	var err error
	if blk.Fin != blk.Fout {
		if xs, err = b.spade(blk.Name+".norm_s", x, seg); err != nil {
			return nil, err
		}
		if xs, err = b.conv(blk.Name+".conv_s", xs, 1, 0, true, false); err != nil {
			return nil, err
		}
	}
	dx, err := b.spade(blk.Name+".norm_0", x, seg)
	if err != nil {
		return nil, err
	}
	if dx, err = lrelu(dx); err != nil {
		return nil, err
	}
	if dx, err = b.conv(blk.Name+".conv_0", dx, 1, 1, true, true); err != nil {
		return nil, err
	}
	if dx, err = b.spade(blk.Name+".norm_1", dx, seg); err != nil {
		return nil, err
	}
	if dx, err = lrelu(dx); err != nil {
		return nil, err
	}
	if dx, err = b.conv(blk.Name+".conv_1", dx, 1, 1, true, true); err != nil {
		return nil, err
	}
	return G.Add(xs, dx)
}

package model

import (
	"context"
	"fmt"

	"spadepaint/model/ops"
)

// Backend runs a model's inference somewhere other than the CPU engine (a
// GPU). Model serialises calls to it and checks inputs before them.
type Backend interface {
	Generate(ctx context.Context, l *Labels, z []float32) (*Image, error)
	Encode(ctx context.Context, style *Image) (mu, logvar []float32, err error)
	DropCache()
	Device() string // e.g. "NVIDIA H200 (CUDA)"
	Close() error
}

// SetBackend makes Generate, Encode and DropCache run on b; nil goes back
// to the CPU engine. The previous backend, if any, is closed.
func (m *Model) SetBackend(b Backend) {
	m.mu.Lock()
	old := m.backend
	m.backend = b
	m.mu.Unlock()
	if old != nil && old != b {
		old.Close() // its error cannot change anything for the caller: the backend is gone either way
	}
}

// Device names where Generate runs: the backend's Device(), or "CPU".
func (m *Model) Device() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend != nil {
		return m.backend.Device()
	}
	return "CPU"
}

// What follows exposes, for backends, the pieces of the network's layout
// and of the CPU engine's preparation that they must reproduce exactly.

const (
	// NormEps is the epsilon of every batch and instance norm.
	NormEps = normEps
	// LeakySlope is the slope of every leaky ReLU.
	LeakySlope = leakySlope
)

// BackendBlock is one residual block of the generator, in forward order.
type BackendBlock struct {
	Name      string
	Fin, Fout int
	// UpBefore: a nearest ×2 upsampling precedes the block.
	UpBefore bool
	// Scale indexes GeneratorScales: the block's resolution.
	Scale int
}

// GeneratorBlocks lists the generator's residual blocks with their scales.
func GeneratorBlocks(c Config) []BackendBlock {
	var bs []BackendBlock
	scale := 0
	for _, b := range generatorBlocks(c) {
		if b.UpBefore {
			scale++
		}
		bs = append(bs, BackendBlock{Name: b.Name, Fin: b.Fin, Fout: b.Fout, UpBefore: b.UpBefore, Scale: scale})
	}
	return bs
}

// FinalNC is the width conv_img reads.
func FinalNC(c Config) int { return finalNC(c) }

// EncoderWidths are the output widths of the encoder's stride-2 convs.
func EncoderWidths(c Config) []int { return encoderWidths(c) }

// LabelCodeCount is the number of per-pixel codes LabelCodes produces:
// NumClasses, doubled with instance edges.
func LabelCodeCount(c Config) int {
	if c.Instance {
		return 2 * c.NumClasses()
	}
	return c.NumClasses()
}

// GatherEntry is the weight a 3×3 conv w [nout][semantic_nc][3][3] (with
// bias) applies at tap t (0..8, row-major) to a pixel of label code code
// (see LabelCodes) for output channel o: the code's class weight, plus the
// instance-edge channel's on edges, plus the bias at the centre tap. A
// conv on the one-hot label map is the sum of the 9 entries under its
// taps; the CPU engine and the GPU backend build their gather tables
// from it.
func GatherEntry(c Config, w, bias []float32, o, t, code int) float32 {
	snc := c.SemanticNC()
	cls, edge := code, false
	if c.Instance {
		cls, edge = code>>1, code&1 == 1
	}
	v := w[(o*snc+cls)*9+t]
	if edge {
		v += w[(o*snc+snc-1)*9+t]
	}
	if t == 4 {
		v += bias[o]
	}
	return v
}

// LabelCodes returns, for item n of l, the code of every pixel of each
// size in sizes, nearest-resized from the full-size map as every SPADE
// layer does: the class id, or class·2 + edge for models with instance
// edges (edge from the instance map; none without one). These are the
// codes the CPU engine's label-branch gathers read.
func LabelCodes(c Config, l *Labels, n int, sizes []Size) [][]int32 {
	H, W := l.H, l.W
	cls := l.Class[n*H*W : (n+1)*H*W]
	var edge []bool
	if c.Instance {
		edge = make([]bool, H*W)
		if l.Instance != nil {
			engEdges(l.Instance[n*H*W:(n+1)*H*W], H, W, edge)
		}
	}
	out := make([][]int32, len(sizes))
	for si, s := range sizes {
		ys, xs := nearestIndex(H, s.H), nearestIndex(W, s.W)
		codes := make([]int32, s.H*s.W)
		for oy, sy := range ys {
			for ox, sx := range xs {
				src := sy*W + sx
				code := int32(cls[src])
				if edge != nil {
					code <<= 1
					if edge[src] {
						code |= 1
					}
				}
				codes[oy*s.W+ox] = code
			}
		}
		out[si] = codes
	}
	return out
}

// LayerWeight returns a layer's effective weight and its shape: for a
// spectral-norm layer (sn) W_orig/σ exactly as the gorgonia graph uses it
// (SpectralWeight), else the stored weight.
func LayerWeight(p Params, prefix string, sn bool) ([]float32, []int, error) {
	if !sn {
		t, ok := p[prefix+".weight"]
		if !ok {
			return nil, nil, fmt.Errorf("missing weight %s.weight", prefix)
		}
		w, err := p.F32(prefix + ".weight")
		if err != nil {
			return nil, nil, err
		}
		return w, []int(t.Shape().Clone()), nil
	}
	orig, u, v, err := p.spectral(prefix)
	if err != nil {
		return nil, nil, err
	}
	w, err := SpectralWeight(orig, u, v)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", prefix, err)
	}
	return w, []int(p[prefix+".weight_orig"].Shape().Clone()), nil
}

// EncoderInput returns item n of style images resized to the encoder's
// input, [3, S, S], as Encode prepares it.
func EncoderInput(c Config, style *Image, n int) []float32 {
	s := c.EncoderSize()
	hw := style.H * style.W
	src := style.Pix[n*3*hw : (n+1)*3*hw]
	if style.H == s && style.W == s {
		return append([]float32(nil), src...)
	}
	return ops.ResizeBilinear(src, 1, 3, style.H, style.W, s, s)
}

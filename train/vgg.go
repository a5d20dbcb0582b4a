package train

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model/nd"
	"spadepaint/model/ops"
	"spadepaint/model/pth"
)

// The VGG19 perceptual loss of the official trainer (models/networks/
// loss.py VGGLoss, architecture.py VGG19), on when the user gives
// torchvision's ImageNet VGG19 weights (vgg19-dcbb9e9d.pth): the
// generator also descends
//
//	λ_vgg · Σ_i w_i · L1(f_i(fake), f_i(real))
//
// with f_1 … f_5 the activations after relu1_1, relu2_1, relu3_1, relu4_1
// and relu5_1 (torchvision's features[0:2], [2:7], [7:12], [12:21],
// [21:30]) and w = 1/32, 1/16, 1/8, 1/4, 1. As the official code, the
// images go in as they are, in [−1, 1] (no ImageNet normalisation), and
// the real features are constants. The VGG weights are frozen: never
// differentiated, updated or checkpointed.

// vggConvs are the features.N indices of VGG19's 16 convolutions.
var vggConvs = []int{0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34}

// vggSlices: the layers of each slice, a features index for a 3×3 conv
// (+ bias) followed by ReLU, vggPool for a 2×2 stride-2 max-pool.
var vggSlices = [][]int{{0}, {2, vggPool, 5}, {7, vggPool, 10}, {12, 14, 16, vggPool, 19}, {21, 23, 25, vggPool, 28}}

const vggPool = -1

// vggLayerWeights are the official weights of the five L1 terms.
var vggLayerWeights = []float32{1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0}

// VGG holds VGG19's convolution weights, frozen.
type VGG struct {
	w, b map[int]*tensor.Dense // by features index
}

// LoadVGG reads VGG19 weights from a torchvision state dict
// (features.N.weight [O, C, 3, 3] and features.N.bias [O] for the 16
// convolutions; other keys are ignored). The widths come from the
// tensors, so any VGG19-shaped state dict loads; a missing or misshapen
// tensor is an error naming it.
func LoadVGG(path string) (*VGG, error) {
	ts, _, err := pth.Load(path)
	if err != nil {
		return nil, fmt.Errorf("vgg: %w", err)
	}
	v, err := newVGG(ts)
	if err != nil {
		return nil, fmt.Errorf("vgg %s: %w", path, err)
	}
	return v, nil
}

func newVGG(ts map[string]*nd.Array) (*VGG, error) {
	v := &VGG{w: map[int]*tensor.Dense{}, b: map[int]*tensor.Dense{}}
	in := 3
	for _, i := range vggConvs {
		wk, bk := fmt.Sprintf("features.%d.weight", i), fmt.Sprintf("features.%d.bias", i)
		w, ok := ts[wk]
		if !ok {
			return nil, fmt.Errorf("no %s: not torchvision's VGG19 weights", wk)
		}
		if w.DType != nd.Float32 || len(w.Shape) != 4 || w.Shape[1] != in || w.Shape[2] != 3 || w.Shape[3] != 3 || w.Shape[0] < 1 {
			return nil, fmt.Errorf("%s has shape %s (%v), want (O, %d, 3, 3) floats", wk, nd.ShapeString(w.Shape), w.DType, in)
		}
		out := w.Shape[0]
		b, ok := ts[bk]
		if !ok {
			return nil, fmt.Errorf("no %s: not torchvision's VGG19 weights", bk)
		}
		if b.DType != nd.Float32 || len(b.Shape) != 1 || b.Shape[0] != out {
			return nil, fmt.Errorf("%s has shape %s (%v), want (%d) floats", bk, nd.ShapeString(b.Shape), b.DType, out)
		}
		v.w[i] = tensor.New(tensor.WithShape(w.Shape...), tensor.WithBacking(append([]float32(nil), w.F32...)))
		v.b[i] = tensor.New(tensor.WithShape(out), tensor.WithBacking(append([]float32(nil), b.F32...)))
		in = out
	}
	return v, nil
}

// vggNet is VGG19 in one graph: its weights as constant nodes, shared by
// every application.
type vggNet struct {
	v    *VGG
	w, b map[int]*G.Node
}

func (v *VGG) in(g *G.ExprGraph) *vggNet {
	n := &vggNet{v: v, w: map[int]*G.Node{}, b: map[int]*G.Node{}}
	for _, s := range vggSlices {
		for _, i := range s {
			if i == vggPool {
				continue
			}
			n.w[i] = G.NewTensor(g, tensor.Float32, 4, G.WithShape(v.w[i].Shape()...), G.WithValue(v.w[i]), G.WithName(fmt.Sprintf("vgg.features.%d.weight", i)))
			n.b[i] = G.NewVector(g, tensor.Float32, G.WithShape(v.b[i].Shape()...), G.WithValue(v.b[i]), G.WithName(fmt.Sprintf("vgg.features.%d.bias", i)))
		}
	}
	return n
}

// features are the five slices' outputs for x [N, 3, H, W]; H and W must
// be multiples of 16 (the four 2×2 pools then never drop a row).
func (n *vggNet) features(x *G.Node) ([]*G.Node, error) {
	if s := x.Shape(); s.Dims() != 4 || s[1] != 3 || s[2]%16 != 0 || s[3]%16 != 0 {
		return nil, fmt.Errorf("vgg: input shape %v, want (N, 3, H, W) with H and W multiples of 16", s)
	}
	var out []*G.Node
	var err error
	for _, s := range vggSlices {
		for _, i := range s {
			if i == vggPool {
				// gorgonia's MaxPool2D is PyTorch's max_pool2d(2, 2) here,
				// values and gradient (TestMaxPool2D).
				if x, err = G.MaxPool2D(x, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}); err != nil {
					return nil, fmt.Errorf("vgg pool: %w", err)
				}
				continue
			}
			if x, err = G.Conv2d(x, n.w[i], tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}); err != nil {
				return nil, fmt.Errorf("vgg features.%d: %w", i, err)
			}
			if x, err = ops.AddBias(x, n.b[i]); err != nil {
				return nil, fmt.Errorf("vgg features.%d: %w", i, err)
			}
			if x, err = G.Rectify(x); err != nil {
				return nil, fmt.Errorf("vgg features.%d: %w", i, err)
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// loss is Σ_i w_i · mean |f_i(fake) − f_i(real)|, unweighted by λ.
func (n *vggNet) loss(fake, real *G.Node) (*G.Node, error) {
	ff, err := n.features(fake)
	if err != nil {
		return nil, err
	}
	fr, err := n.features(real)
	if err != nil {
		return nil, err
	}
	var sum *G.Node
	for i := range ff {
		d, err := G.Sub(ff[i], fr[i])
		if err != nil {
			return nil, err
		}
		if d, err = G.Abs(d); err != nil {
			return nil, err
		}
		m, err := meanAll(d)
		if err != nil {
			return nil, err
		}
		if m, err = G.Mul(m, G.NewConstant(vggLayerWeights[i])); err != nil {
			return nil, err
		}
		if sum, err = addOrFirst(sum, m); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

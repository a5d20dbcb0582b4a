package ops

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LeakyReLU is x for x > 0 and alpha·x otherwise, elementwise: PyTorch's
// nn.LeakyReLU(alpha) (SPADE uses 0.2). x may have any number of
// dimensions. gorgonia.LeakyRelu gives the same values and gradient, but
// builds it from six nodes (two comparisons, two products, a scale, an
// add), each with its own pass and allocation.
func LeakyReLU(x *gorgonia.Node, alpha float32) (*gorgonia.Node, error) {
	if x == nil {
		return nil, fmt.Errorf("LeakyReLU: input is nil")
	}
	return apply(&leaky{alpha: alpha, nd: x.Dims()}, x)
}

type leaky struct {
	alpha float32
	nd    int
}

func (k *leaky) name() string       { return fmt.Sprintf("LeakyReLU{%g}", k.alpha) }
func (k *leaky) dims() ([]int, int) { return []int{k.nd}, k.nd }

func (k *leaky) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }

func (k *leaky) compute(y []float32, _ tensor.Shape, in [][]float32, _ []tensor.Shape) {
	x, f := in[0], [2]float32{1, k.alpha}
	parallelElems(len(y), func(lo, hi int) {
		xs, ys := x[lo:hi], y[lo:hi]
		for i, v := range xs {
			ys[i] = v * f[notPositive(v)]
		}
	})
}

// notPositive is 0 if v > 0, else 1, without a branch: on activations the
// sign is random, and a mispredicted branch per element made LeakyReLU
// six times slower. (b−1)|b has its top bit set exactly when b is 0
// (+0) or has the sign bit set.
func notPositive(v float32) uint32 {
	b := math.Float32bits(v)
	return ((b - 1) | b) >> 31
}

func (k *leaky) diffWRT() []bool { return []bool{true} }

func (k *leaky) symDiff(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := apply(&leakyGrad{alpha: k.alpha, nd: k.nd}, inputs[0], grad)
	return gorgonia.Nodes{dx}, err
}

// leakyGrad is dy where x > 0 and alpha·dy elsewhere, from (x, dy); at
// x = 0 it takes alpha, as PyTorch does.
type leakyGrad leaky

func (k *leakyGrad) name() string       { return fmt.Sprintf("LeakyReLUGrad{%g}", k.alpha) }
func (k *leakyGrad) dims() ([]int, int) { return []int{k.nd, k.nd}, k.nd }

func (k *leakyGrad) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantSame(k.name(), in); err != nil {
		return nil, err
	}
	return in[0].Clone(), nil
}

func (k *leakyGrad) compute(dx []float32, _ tensor.Shape, in [][]float32, _ []tensor.Shape) {
	x, dy, f := in[0], in[1], [2]float32{1, k.alpha}
	parallelElems(len(dx), func(lo, hi int) {
		xs, ds, out := x[lo:hi], dy[lo:hi], dx[lo:hi]
		for i, v := range xs {
			out[i] = ds[i] * f[notPositive(v)]
		}
	})
}

// AddBias adds a per-channel bias b ([C]) to x ([N, C, H, W]), as a
// convolution with bias does. gorgonia's BroadcastAdd of b reshaped to
// [1, C, 1, 1] gives the same values and gradients (it broadcasts and
// reduces one axis at a time, so it escapes the multi-axis Sum defect),
// but it materialises the repeated bias at full size and takes about ten
// times as long. Here the gradient w.r.t. x is dy itself, with no node,
// and the bias gradient sums dy over (N, H, W) per channel in float64.
func AddBias(x, b *gorgonia.Node) (*gorgonia.Node, error) {
	return apply(addBias{}, x, b)
}

type addBias struct{}

func (addBias) name() string       { return "AddBias" }
func (addBias) dims() ([]int, int) { return []int{4, 1}, 4 }

func (k addBias) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want4D(k.name(), in[0]); err != nil {
		return nil, err
	}
	if len(in[1]) != 1 || in[1][0] != in[0][1] {
		return nil, fmt.Errorf("%s: bias shape %v for input %v", k.name(), in[1], in[0])
	}
	return in[0].Clone(), nil
}

func (addBias) compute(y []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	x, b := in[0], in[1]
	c, hw := shapes[0][1], shapes[0][2]*shapes[0][3]
	ParallelFor(shapes[0][0]*c, len(y), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			v := b[p%c]
			xs, ys := x[p*hw:(p+1)*hw], y[p*hw:(p+1)*hw]
			for i, u := range xs {
				ys[i] = u + v
			}
		}
	})
}

func (addBias) diffWRT() []bool { return []bool{true, true} }

func (addBias) symDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	db, err := apply(biasGrad{}, grad)
	return gorgonia.Nodes{grad, db}, err
}

// biasGrad sums dy ([N, C, H, W]) over (N, H, W) into [C], in float64.
type biasGrad struct{}

func (biasGrad) name() string       { return "AddBiasGrad" }
func (biasGrad) dims() ([]int, int) { return []int{4}, 1 }

func (k biasGrad) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want4D(k.name(), in[0]); err != nil {
		return nil, err
	}
	return tensor.Shape{in[0][1]}, nil
}

func (biasGrad) compute(db []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	dy := in[0]
	n, c, hw := shapes[0][0], shapes[0][1], shapes[0][2]*shapes[0][3]
	ParallelFor(c, len(dy), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s float64
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				s += sum64(dy[off : off+hw])
			}
			db[ch] = float32(s)
		}
	})
}

// Modulate is SPADE's modulation xhat·(1 + gamma) + beta, elementwise on
// three tensors of one shape (any number of dimensions). Built from
// gorgonia's Add, HadamardProd and a scalar add it takes three nodes and
// three passes forward; fused it is one, and the gradient w.r.t. beta is
// dy itself, with no node.
func Modulate(xhat, gamma, beta *gorgonia.Node) (*gorgonia.Node, error) {
	if xhat == nil {
		return nil, fmt.Errorf("Modulate: input is nil")
	}
	return apply(&modulate{nd: xhat.Dims()}, xhat, gamma, beta)
}

type modulate struct{ nd int }

func (k *modulate) name() string       { return "Modulate" }
func (k *modulate) dims() ([]int, int) { return []int{k.nd, k.nd, k.nd}, k.nd }

func (k *modulate) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantSame(k.name(), in); err != nil {
		return nil, err
	}
	return in[0].Clone(), nil
}

func (k *modulate) compute(y []float32, _ tensor.Shape, in [][]float32, _ []tensor.Shape) {
	x, g, b := in[0], in[1], in[2]
	parallelElems(len(y), func(lo, hi int) {
		xs, gs, bs, ys := x[lo:hi], g[lo:hi], b[lo:hi], y[lo:hi]
		for i, v := range xs {
			ys[i] = v*(1+gs[i]) + bs[i]
		}
	})
}

func (k *modulate) diffWRT() []bool { return []bool{true, true, true} }

func (k *modulate) symDiff(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := apply(&mul{nd: k.nd, onePlus: true}, inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dgamma, err := apply(&mul{nd: k.nd}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dgamma, grad}, nil
}

// mul is a·b, or (1 + a)·b when onePlus is set, elementwise.
type mul struct {
	nd      int
	onePlus bool
}

func (k *mul) name() string {
	if k.onePlus {
		return "ModulateGradX"
	}
	return "ModulateGradGamma"
}
func (k *mul) dims() ([]int, int) { return []int{k.nd, k.nd}, k.nd }

func (k *mul) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantSame(k.name(), in); err != nil {
		return nil, err
	}
	return in[0].Clone(), nil
}

func (k *mul) compute(y []float32, _ tensor.Shape, in [][]float32, _ []tensor.Shape) {
	a, b := in[0], in[1]
	var one float32
	if k.onePlus {
		one = 1
	}
	parallelElems(len(y), func(lo, hi int) {
		as, bs, ys := a[lo:hi], b[lo:hi], y[lo:hi]
		for i, v := range as {
			ys[i] = (one + v) * bs[i]
		}
	})
}

// AddChannels adds s ([N, C]) to x ([N, C, H, W]): one value per sample
// and channel, as a per-example bias. The style modulation adds a style
// code's per-channel offsets to γ and β this way (Config.StyleMod). The
// gradient w.r.t. x is dy itself; w.r.t. s it sums dy over (H, W).
func AddChannels(x, s *gorgonia.Node) (*gorgonia.Node, error) {
	return apply(addChannels{}, x, s)
}

type addChannels struct{}

func (addChannels) name() string       { return "AddChannels" }
func (addChannels) dims() ([]int, int) { return []int{4, 2}, 4 }

func (k addChannels) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want4D(k.name(), in[0]); err != nil {
		return nil, err
	}
	if len(in[1]) != 2 || in[1][0] != in[0][0] || in[1][1] != in[0][1] {
		return nil, fmt.Errorf("%s: offsets shape %v for input %v", k.name(), in[1], in[0])
	}
	return in[0].Clone(), nil
}

func (addChannels) compute(y []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	x, s := in[0], in[1]
	hw := shapes[0][2] * shapes[0][3]
	ParallelFor(shapes[0][0]*shapes[0][1], len(y), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			v := s[p]
			xs, ys := x[p*hw:(p+1)*hw], y[p*hw:(p+1)*hw]
			for i, u := range xs {
				ys[i] = u + v
			}
		}
	})
}

func (addChannels) diffWRT() []bool { return []bool{true, true} }

func (addChannels) symDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	ds, err := apply(planeSums{}, grad)
	return gorgonia.Nodes{grad, ds}, err
}

// planeSums sums dy ([N, C, H, W]) over (H, W) into [N, C], in float64.
type planeSums struct{}

func (planeSums) name() string       { return "AddChannelsGrad" }
func (planeSums) dims() ([]int, int) { return []int{4}, 2 }

func (k planeSums) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want4D(k.name(), in[0]); err != nil {
		return nil, err
	}
	return tensor.Shape{in[0][0], in[0][1]}, nil
}

func (planeSums) compute(ds []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	dy := in[0]
	hw := shapes[0][2] * shapes[0][3]
	ParallelFor(len(ds), len(dy), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			ds[p] = float32(sum64(dy[p*hw : (p+1)*hw]))
		}
	})
}

package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// UpsampleNearest enlarges the NCHW tensor x by an integer factor in H and
// W, repeating every pixel over a factor×factor block: PyTorch's
// nn.Upsample(scale_factor=factor) and F.interpolate(mode='nearest') with
// an integer scale. The gradient sums over each block. gorgonia's
// Upsample2D gives the same values about 100× slower.
func UpsampleNearest(x *gorgonia.Node, factor int) (*gorgonia.Node, error) {
	if factor < 1 {
		return nil, fmt.Errorf("UpsampleNearest: factor %d < 1", factor)
	}
	return apply(&upsample{f: factor}, x)
}

type upsample struct{ f int }

func (k *upsample) name() string       { return fmt.Sprintf("UpsampleNearest{%d}", k.f) }
func (k *upsample) dims() ([]int, int) { return []int{4}, 4 }

func (k *upsample) shape(in []tensor.Shape) (tensor.Shape, error) {
	s := in[0]
	if err := want4D(k.name(), s); err != nil {
		return nil, err
	}
	return tensor.Shape{s[0], s[1], s[2] * k.f, s[3] * k.f}, nil
}

func (k *upsample) compute(y []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	x, f := in[0], k.f
	h, w := shapes[0][2], shapes[0][3]
	ow := w * f
	planes := shapes[0][0] * shapes[0][1]
	ParallelFor(planes, len(y), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp, yp := x[p*h*w:(p+1)*h*w], y[p*h*w*f*f:(p+1)*h*w*f*f]
			for i := 0; i < h; i++ {
				src := xp[i*w : (i+1)*w]
				row := yp[i*f*ow : (i*f+1)*ow]
				if f == 2 { // the only factor SPADE uses
					for j, v := range src {
						row[2*j], row[2*j+1] = v, v
					}
				} else {
					for j, v := range src {
						for t := j * f; t < (j+1)*f; t++ {
							row[t] = v
						}
					}
				}
				for r := 1; r < f; r++ {
					copy(yp[(i*f+r)*ow:(i*f+r+1)*ow], row)
				}
			}
		}
	})
}

func (k *upsample) diffWRT() []bool { return []bool{true} }

func (k *upsample) symDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := apply(&upsampleGrad{f: k.f}, grad)
	return gorgonia.Nodes{dx}, err
}

// upsampleGrad sums dy over each factor×factor block.
type upsampleGrad struct{ f int }

func (k *upsampleGrad) name() string       { return fmt.Sprintf("UpsampleNearestGrad{%d}", k.f) }
func (k *upsampleGrad) dims() ([]int, int) { return []int{4}, 4 }

func (k *upsampleGrad) shape(in []tensor.Shape) (tensor.Shape, error) {
	s := in[0]
	if err := want4D(k.name(), s); err != nil {
		return nil, err
	}
	if s[2]%k.f != 0 || s[3]%k.f != 0 {
		return nil, fmt.Errorf("%s: gradient shape %v is not a multiple of the factor", k.name(), s)
	}
	return tensor.Shape{s[0], s[1], s[2] / k.f, s[3] / k.f}, nil
}

func (k *upsampleGrad) compute(dx []float32, outShape tensor.Shape, in [][]float32, _ []tensor.Shape) {
	dy, f := in[0], k.f
	h, w := outShape[2], outShape[3]
	ow := w * f
	planes := outShape[0] * outShape[1]
	ParallelFor(planes, len(dy), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			dxp, dyp := dx[p*h*w:(p+1)*h*w], dy[p*h*w*f*f:(p+1)*h*w*f*f]
			for i := 0; i < h; i++ {
				d := dxp[i*w : (i+1)*w]
				for r := 0; r < f; r++ {
					src := dyp[(i*f+r)*ow : (i*f+r+1)*ow]
					for j := range d {
						var s float32
						if f == 2 {
							s = src[2*j] + src[2*j+1]
						} else {
							for _, v := range src[j*f : (j+1)*f] {
								s += v
							}
						}
						if r == 0 {
							d[j] = s
						} else {
							d[j] += s
						}
					}
				}
			}
		}
	})
}

// AvgPool2D averages over kernel×kernel windows of the NCHW tensor x,
// moved by stride, with pad implicit zero rows and columns on each side
// that are not counted in the average: PyTorch's
// F.avg_pool2d(x, kernel, stride, pad, ceil_mode=False,
// count_include_pad=False), which SPADE's multiscale discriminator uses
// with (3, 2, 1). The output is floor((H + 2·pad − kernel)/stride) + 1
// high, likewise wide. gorgonia's AveragePool2D is wrong with padding and
// in its gradient.
func AvgPool2D(x *gorgonia.Node, kernel, stride, pad int) (*gorgonia.Node, error) {
	k := &avgPool{k: kernel, s: stride, p: pad}
	if kernel < 1 || stride < 1 || pad < 0 || 2*pad > kernel {
		// PyTorch's limit too: pad at most half the kernel, so that no
		// window lies wholly in the padding.
		return nil, fmt.Errorf("%s: need kernel ≥ 1, stride ≥ 1, 0 ≤ pad ≤ kernel/2", k.name())
	}
	return apply(k, x)
}

type avgPool struct{ k, s, p int }

func (k *avgPool) name() string {
	return fmt.Sprintf("AvgPool2D{kernel=%d, stride=%d, pad=%d}", k.k, k.s, k.p)
}
func (k *avgPool) dims() ([]int, int) { return []int{4}, 4 }

func (k *avgPool) outSize(n int) int { return (n+2*k.p-k.k)/k.s + 1 }

func (k *avgPool) shape(in []tensor.Shape) (tensor.Shape, error) {
	s := in[0]
	if err := want4D(k.name(), s); err != nil {
		return nil, err
	}
	if s[2]+2*k.p < k.k || s[3]+2*k.p < k.k {
		return nil, fmt.Errorf("%s: input %v smaller than the kernel", k.name(), s)
	}
	return tensor.Shape{s[0], s[1], k.outSize(s[2]), k.outSize(s[3])}, nil
}

// span is the input rows (or columns) [lo, hi) under one output row
// (column), clipped to the input.
type span struct{ lo, hi int }

// spans lists the span of each of the out output rows over n input rows.
// Computing them once per call keeps the window arithmetic out of the
// inner loops.
func (k *avgPool) spans(out, n int) []span {
	s := make([]span, out)
	for o := range s {
		lo := o*k.s - k.p
		s[o] = span{max(lo, 0), min(lo+k.k, n)}
	}
	return s
}

func (k *avgPool) compute(y []float32, outShape tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	x := in[0]
	h, w := shapes[0][2], shapes[0][3]
	oh, ow := outShape[2], outShape[3]
	rows, cols := k.spans(oh, h), k.spans(ow, w)
	planes := outShape[0] * outShape[1]
	ParallelFor(planes, len(x), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp, yp := x[p*h*w:(p+1)*h*w], y[p*oh*ow:(p+1)*oh*ow]
			for i, rs := range rows {
				out := yp[i*ow : (i+1)*ow]
				clear(out)
				// Sum the window row by row into the output row.
				for r := rs.lo; r < rs.hi; r++ {
					src := xp[r*w : (r+1)*w]
					for j, cs := range cols {
						var s float32
						for _, v := range src[cs.lo:cs.hi] {
							s += v
						}
						out[j] += s
					}
				}
				for j, cs := range cols {
					out[j] /= float32((rs.hi - rs.lo) * (cs.hi - cs.lo))
				}
			}
		}
	})
}

func (k *avgPool) diffWRT() []bool { return []bool{true} }

func (k *avgPool) symDiff(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	// x is an input only for its shape: several input sizes pool to the
	// same output size.
	g := avgPoolGrad(*k)
	dx, err := apply(&g, inputs[0], grad)
	return gorgonia.Nodes{dx}, err
}

// avgPoolGrad spreads dy/count evenly over each window, from (x, dy).
type avgPoolGrad avgPool

func (k *avgPoolGrad) name() string {
	return fmt.Sprintf("AvgPool2DGrad{kernel=%d, stride=%d, pad=%d}", k.k, k.s, k.p)
}
func (k *avgPoolGrad) dims() ([]int, int) { return []int{4, 4}, 4 }

func (k *avgPoolGrad) shape(in []tensor.Shape) (tensor.Shape, error) {
	fwd := (*avgPool)(k)
	want, err := fwd.shape(in[:1])
	if err != nil {
		return nil, err
	}
	if !in[1].Eq(want) {
		return nil, fmt.Errorf("%s: gradient shape %v, want %v", k.name(), in[1], want)
	}
	return in[0].Clone(), nil
}

func (k *avgPoolGrad) compute(dx []float32, outShape tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	fwd := (*avgPool)(k)
	dy := in[1]
	h, w := outShape[2], outShape[3]
	oh, ow := shapes[1][2], shapes[1][3]
	rows, cols := fwd.spans(oh, h), fwd.spans(ow, w)
	planes := outShape[0] * outShape[1]
	ParallelFor(planes, len(dx), func(lo, hi int) {
		g := make([]float32, ow)
		for p := lo; p < hi; p++ {
			dxp, dyp := dx[p*h*w:(p+1)*h*w], dy[p*oh*ow:(p+1)*oh*ow]
			clear(dxp)
			for i, rs := range rows {
				for j, cs := range cols {
					g[j] = dyp[i*ow+j] / float32((rs.hi-rs.lo)*(cs.hi-cs.lo))
				}
				for r := rs.lo; r < rs.hi; r++ {
					dst := dxp[r*w : (r+1)*w]
					for j, cs := range cols {
						gj := g[j]
						win := dst[cs.lo:cs.hi]
						for t := range win {
							win[t] += gj
						}
					}
				}
			}
		}
	})
}

package ops

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// InstanceNorm normalises every (n, c) plane of the NCHW tensor x to zero
// mean and unit variance: (x − mean) / sqrt(var + eps), with the biased
// variance and no affine parameters. It is PyTorch's
// nn.InstanceNorm2d(C, affine=False) (eps 1e-5 there), which SPADE's
// discriminator and its "spadeinstance" norm use. gorgonia's GroupNorm
// with one group per channel would compute the same but is wrong above
// 16×16.
func InstanceNorm(x *gorgonia.Node, eps float32) (*gorgonia.Node, error) {
	return apply(&norm{eps: eps}, x)
}

// BatchStats receives, at every run, the statistics of the batch seen by
// a BatchNormTrain node, per channel: the mean and the unbiased variance
// (what PyTorch folds into running_mean and running_var). The slices are
// overwritten in place at each run; read them between runs.
type BatchStats struct {
	Mean, Var []float32
}

// UpdateRunning folds the last batch's statistics into running statistics
// as PyTorch's BatchNorm does in training mode:
// running = (1 − momentum)·running + momentum·batch, momentum 0.1 there.
func (s *BatchStats) UpdateRunning(runMean, runVar []float32, momentum float32) error {
	if len(runMean) != len(s.Mean) || len(runVar) != len(s.Var) {
		return fmt.Errorf("ops: running statistics have %d and %d channels, batch has %d", len(runMean), len(runVar), len(s.Mean))
	}
	for i := range runMean {
		runMean[i] = (1-momentum)*runMean[i] + momentum*s.Mean[i]
		runVar[i] = (1-momentum)*runVar[i] + momentum*s.Var[i]
	}
	return nil
}

// BatchNormTrain is parameter-free batch normalisation in training mode:
// per channel c, (x − mean_c) / sqrt(var_c + eps) with mean and biased
// variance taken over (N, H, W). It is PyTorch's
// nn.BatchNorm2d(C, affine=False) in train(), as SPADE's default
// "spadesyncbatch3x3" norm uses on one device. gorgonia's BatchNorm always
// applies a scale and bias, and a hand-built one would need Mean over
// several axes, which gorgonia gets wrong.
//
// The returned BatchStats is filled at every run with the batch mean and
// unbiased variance, for the trainer to update running statistics (see
// BatchStats.UpdateRunning). The gradient flows through the batch
// statistics, as in PyTorch.
func BatchNormTrain(x *gorgonia.Node, eps float32) (*gorgonia.Node, *BatchStats, error) {
	if x != nil && x.Shape().Dims() == 4 {
		s := x.Shape()
		if s[0]*s[2]*s[3] < 2 {
			// PyTorch refuses this too: the unbiased variance is undefined.
			return nil, nil, fmt.Errorf("BatchNormTrain: need more than one value per channel, got shape %v", s)
		}
	}
	stats := new(BatchStats)
	n, err := apply(&norm{eps: eps, stats: stats}, x)
	if err != nil {
		return nil, nil, err
	}
	return n, stats, nil
}

// norm is instance norm, or batch norm when stats is set. Instance norm
// of [N, C, H, W] is batch norm of [1, N·C, H, W], so both share the loops.
type norm struct {
	eps   float32
	stats *BatchStats // nil for instance norm
}

func (k *norm) name() string {
	if k.stats == nil {
		return fmt.Sprintf("InstanceNorm{eps=%g}", k.eps)
	}
	// The address keeps gorgonia from merging two BatchNormTrain nodes of
	// the same input, which would leave one BatchStats never filled.
	return fmt.Sprintf("BatchNormTrain{eps=%g, stats=%p}", k.eps, k.stats)
}

func (k *norm) dims() ([]int, int) { return []int{4}, 4 }

func (k *norm) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want4D(k.name(), in[0]); err != nil {
		return nil, err
	}
	return in[0].Clone(), nil
}

// layout views an NCHW shape as [n, c, hw] with statistics taken per c:
// per channel over (N, H, W) for batch norm, per plane for instance norm.
func layout(s tensor.Shape, batch bool) (n, c, hw int) {
	if !batch {
		return 1, s[0] * s[1], s[2] * s[3]
	}
	return s[0], s[1], s[2] * s[3]
}

func (k *norm) compute(out []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	x := in[0]
	n, c, hw := layout(shapes[0], k.stats != nil)
	m := float64(n * hw)
	if k.stats != nil {
		k.stats.Mean = resize(k.stats.Mean, c)
		k.stats.Var = resize(k.stats.Var, c)
	}
	ParallelFor(c, len(x), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean, v := moments(x, n, c, hw, ch)
			if k.stats != nil {
				k.stats.Mean[ch] = float32(mean)
				k.stats.Var[ch] = float32(v * m / (m - 1))
			}
			mean32, inv := float32(mean), float32(1/math.Sqrt(v+float64(k.eps)))
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				normalize(out[off:off+hw], x[off:off+hw], mean32, inv)
			}
		}
	})
}

func (k *norm) diffWRT() []bool { return []bool{true} }

func (k *norm) symDiff(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := apply(&normGrad{eps: k.eps, batch: k.stats != nil}, inputs[0], grad)
	return gorgonia.Nodes{dx}, err
}

// normGrad is the gradient of norm w.r.t. x, from inputs (x, dy):
//
//	dx = invstd · (dy − mean(dy) − x̂ · mean(dy · x̂))
//
// with means over the normalised group. It recomputes the statistics from
// x rather than keeping them from the forward run, which costs two passes
// over x but leaves nothing that a rerun or a second graph could stale.
type normGrad struct {
	eps   float32
	batch bool
}

func (k *normGrad) name() string {
	if k.batch {
		return fmt.Sprintf("BatchNormTrainGrad{eps=%g}", k.eps)
	}
	return fmt.Sprintf("InstanceNormGrad{eps=%g}", k.eps)
}

func (k *normGrad) dims() ([]int, int) { return []int{4, 4}, 4 }

func (k *normGrad) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want4D(k.name(), in[0]); err != nil {
		return nil, err
	}
	if err := wantSame(k.name(), in); err != nil {
		return nil, err
	}
	return in[0].Clone(), nil
}

func (k *normGrad) compute(out []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	x, dy := in[0], in[1]
	n, c, hw := layout(shapes[0], k.batch)
	m := float64(n * hw)
	ParallelFor(c, 2*len(x), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean, v := moments(x, n, c, hw, ch)
			inv := 1 / math.Sqrt(v+float64(k.eps))
			var sdy, sdyx float64 // Σ dy and Σ dy·(x − mean)
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				a, b := sumDot(dy[off:off+hw], x[off:off+hw], mean)
				sdy += a
				sdyx += b
			}
			// dx = inv·dy − inv·mean(dy) − (x − mean)·inv³·mean(dy·(x − mean))
			a := float32(inv * sdy / m)
			b := float32(inv * inv * inv * sdyx / m)
			inv32, mean32 := float32(inv), float32(mean)
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				normGradPlane(out[off:off+hw], dy[off:off+hw], x[off:off+hw], inv32, a, mean32, b)
			}
		}
	})
}

// BatchNormEval normalises x with fixed statistics: per channel,
// (x − mean_c) / sqrt(variance_c + eps). It is PyTorch's
// nn.BatchNorm2d(C, affine=False) in eval(). mean and variance are read at
// every run, not copied, so running statistics updated in place (see
// BatchStats.UpdateRunning) take effect at the next run; their length must
// stay C. The gradient is w.r.t. x only.
func BatchNormEval(x *gorgonia.Node, mean, variance []float32, eps float32) (*gorgonia.Node, error) {
	if len(mean) != len(variance) {
		return nil, fmt.Errorf("BatchNormEval: %d means, %d variances", len(mean), len(variance))
	}
	return apply(&bnEval{mean: mean, variance: variance, eps: eps}, x)
}

type bnEval struct {
	mean, variance []float32
	eps            float32
}

// name holds the addresses of the statistics so that nodes normalising
// the same input with different statistics are not merged.
func (k *bnEval) name() string {
	return fmt.Sprintf("BatchNormEval{eps=%g, mean=%p, var=%p}", k.eps, k.mean, k.variance)
}

func (k *bnEval) dims() ([]int, int) { return []int{4}, 4 }

func (k *bnEval) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want4D(k.name(), in[0]); err != nil {
		return nil, err
	}
	if in[0][1] != len(k.mean) || in[0][1] != len(k.variance) {
		return nil, fmt.Errorf("%s: input has %d channels, statistics have %d", k.name(), in[0][1], len(k.mean))
	}
	return in[0].Clone(), nil
}

func (k *bnEval) compute(out []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	x := in[0]
	c, hw := shapes[0][1], shapes[0][2]*shapes[0][3]
	ParallelFor(shapes[0][0]*c, len(x), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			ch := p % c
			inv := float32(1 / math.Sqrt(float64(k.variance[ch])+float64(k.eps)))
			normalize(out[p*hw:(p+1)*hw], x[p*hw:(p+1)*hw], k.mean[ch], inv)
		}
	})
}

func (k *bnEval) diffWRT() []bool { return []bool{true} }

func (k *bnEval) symDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := apply(&bnEvalGrad{variance: k.variance, eps: k.eps}, grad)
	return gorgonia.Nodes{dx}, err
}

// bnEvalGrad is dx = dy / sqrt(variance_c + eps).
type bnEvalGrad struct {
	variance []float32
	eps      float32
}

func (k *bnEvalGrad) name() string {
	return fmt.Sprintf("BatchNormEvalGrad{eps=%g, var=%p}", k.eps, k.variance)
}

func (k *bnEvalGrad) dims() ([]int, int) { return []int{4}, 4 }

func (k *bnEvalGrad) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want4D(k.name(), in[0]); err != nil {
		return nil, err
	}
	if in[0][1] != len(k.variance) {
		return nil, fmt.Errorf("%s: input has %d channels, statistics have %d", k.name(), in[0][1], len(k.variance))
	}
	return in[0].Clone(), nil
}

func (k *bnEvalGrad) compute(out []float32, _ tensor.Shape, in [][]float32, shapes []tensor.Shape) {
	dy := in[0]
	c, hw := shapes[0][1], shapes[0][2]*shapes[0][3]
	ParallelFor(shapes[0][0]*c, len(dy), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			inv := float32(1 / math.Sqrt(float64(k.variance[p%c])+float64(k.eps)))
			o, d := out[p*hw:(p+1)*hw], dy[p*hw:(p+1)*hw]
			for i := range o {
				o[i] = d[i] * inv
			}
		}
	})
}

// moments returns the mean and biased variance of channel ch of x viewed
// as [n, c, hw], in two passes with float64 sums: float32 sums over a
// 128×128 plane lose several digits.
func moments(x []float32, n, c, hw, ch int) (mean, variance float64) {
	var s float64
	for i := 0; i < n; i++ {
		off := (i*c + ch) * hw
		s += sum64(x[off : off+hw])
	}
	m := float64(n * hw)
	mean = s / m
	var v float64
	for i := 0; i < n; i++ {
		off := (i*c + ch) * hw
		v += sqDev64(x[off:off+hw], mean)
	}
	return mean, v / m
}

// sum64 is Σx in float64, with four sums to keep the adds independent.
func sum64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	for len(x) >= 4 {
		s0 += float64(x[0])
		s1 += float64(x[1])
		s2 += float64(x[2])
		s3 += float64(x[3])
		x = x[4:]
	}
	for _, v := range x {
		s0 += float64(v)
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDev64 is Σ(x − mean)² in float64.
func sqDev64(x []float32, mean float64) float64 {
	var s0, s1, s2, s3 float64
	for len(x) >= 4 {
		d0 := float64(x[0]) - mean
		d1 := float64(x[1]) - mean
		d2 := float64(x[2]) - mean
		d3 := float64(x[3]) - mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		x = x[4:]
	}
	for _, v := range x {
		d := float64(v) - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// sumDot returns Σdy and Σdy·(x − mean) in float64.
func sumDot(dy, x []float32, mean float64) (sdy, sdyx float64) {
	x = x[:len(dy)]
	var a0, a1, b0, b1 float64
	for len(dy) >= 2 {
		d0, d1 := float64(dy[0]), float64(dy[1])
		a0 += d0
		a1 += d1
		b0 += d0 * (float64(x[0]) - mean)
		b1 += d1 * (float64(x[1]) - mean)
		dy, x = dy[2:], x[2:]
	}
	for i, d := range dy {
		a0 += float64(d)
		b0 += float64(d) * (float64(x[i]) - mean)
	}
	return a0 + a1, b0 + b1
}

// normalize writes y = (x − mean)·inv.
func normalize(y, x []float32, mean, inv float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] = (x[i] - mean) * inv
	}
}

// normGradPlane writes dx = inv·dy − a − (x − mean)·b.
func normGradPlane(dx, dy, x []float32, inv, a, mean, b float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for i := range dx {
		dx[i] = inv*dy[i] - a - (x[i]-mean)*b
	}
}

func resize(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

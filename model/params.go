package model

import (
	"fmt"
	"math"
	"math/rand"
	"sort"

	"gorgonia.org/tensor"

	"spadepaint/model/nd"
)

// Params holds one network's weights under the official state_dict keys
// ("head_0.norm_0.mlp_shared.0.weight", "up_1.conv_s.weight_orig", …).
// They live outside any graph so that training and inference graphs, and
// checkpoints, all share them.
type Params map[string]*tensor.Dense

// Keys lists the keys sorted, for deterministic files and messages.
func (p Params) Keys() []string {
	ks := make([]string, 0, len(p))
	for k := range p {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// F32 returns a float32 tensor's backing slice or an error naming the key.
func (p Params) F32(key string) ([]float32, error) {
	t, ok := p[key]
	if !ok {
		return nil, fmt.Errorf("missing weight %s", key)
	}
	d, ok := t.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("weight %s is %v, want float32", key, t.Dtype())
	}
	return d, nil
}

// Kind says what a parameter is, so that initialisation, spectral norm
// and the optimiser treat it right.
type Kind int

const (
	// Weight is a learned weight (conv or linear).
	Weight Kind = iota
	// Bias is a learned bias, initialised to zero.
	Bias
	// SNWeight is a spectral-normalised weight's `weight_orig`.
	SNWeight
	// SNU and SNV are the spectral norm's power-iteration vectors (buffers).
	SNU
	SNV
	// RunningMean, RunningVar and NumBatches are batch-norm buffers.
	RunningMean
	RunningVar
	NumBatches
	// ZeroWeight is a learned weight that starts at zero: the style
	// modulation's (Config.StyleMod), so that it starts as no change.
	ZeroWeight
)

// Learned reports whether the optimiser updates this kind.
func (k Kind) Learned() bool {
	return k == Weight || k == Bias || k == SNWeight || k == ZeroWeight
}

// Spec is one expected parameter.
type Spec struct {
	Key   string
	Shape []int
	Kind  Kind
}

// CheckParams verifies that p has exactly the specs' keys with their
// shapes and dtypes: a missing or mis-shaped key is named with both shapes.
func CheckParams(p Params, specs []Spec) error {
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		want[s.Key] = true
		t, ok := p[s.Key]
		if !ok {
			return fmt.Errorf("missing key %s (want shape %s)", s.Key, nd.ShapeString(s.Shape))
		}
		if !shapeEq(t.Shape(), s.Shape) {
			return fmt.Errorf("key %s has shape %s, want %s", s.Key, nd.ShapeString(t.Shape()), nd.ShapeString(s.Shape))
		}
		wantDT := tensor.Float32
		if s.Kind == NumBatches {
			wantDT = tensor.Int64
		}
		if t.Dtype() != wantDT {
			return fmt.Errorf("key %s has dtype %v, want %v", s.Key, t.Dtype(), wantDT)
		}
	}
	for _, k := range p.Keys() {
		if !want[k] {
			return fmt.Errorf("unexpected key %s (shape %s)", k, nd.ShapeString(p[k].Shape()))
		}
	}
	return nil
}

func shapeEq(a tensor.Shape, b []int) bool {
	// A PyTorch scalar is shape (); gorgonia stores it as ScalarShape.
	if len(b) == 0 {
		return a.IsScalar() || (len(a) == 1 && a[0] == 1)
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// InitParams makes fresh weights for specs: Kaiming-uniform-like weights
// as PyTorch's default layers, zero biases, unit running variance and
// random unit spectral-norm vectors. rng makes it reproducible.
func InitParams(specs []Spec, rng *rand.Rand) Params {
	p := make(Params, len(specs))
	for _, s := range specs {
		n := nd.ShapeSize(s.Shape)
		switch s.Kind {
		case NumBatches:
			p[s.Key] = tensor.New(tensor.FromScalar(int64(0)))
			continue
		}
		d := make([]float32, n)
		switch s.Kind {
		case Weight, SNWeight:
			fanIn := n / s.Shape[0]
			// PyTorch's default init for conv/linear: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
			bound := 1 / math.Sqrt(float64(fanIn))
			for i := range d {
				d[i] = float32((rng.Float64()*2 - 1) * bound)
			}
		case SNU, SNV:
			var ss float64
			for i := range d {
				v := rng.NormFloat64()
				d[i] = float32(v)
				ss += v * v
			}
			inv := float32(1 / math.Max(math.Sqrt(ss), 1e-12))
			for i := range d {
				d[i] *= inv
			}
		case RunningVar:
			for i := range d {
				d[i] = 1
			}
		}
		p[s.Key] = tensor.New(tensor.WithShape(s.Shape...), tensor.WithBacking(d))
	}
	return p
}

// Clone deep-copies the params.
func (p Params) Clone() Params {
	q := make(Params, len(p))
	for k, t := range p {
		q[k] = t.Clone().(*tensor.Dense)
	}
	return q
}

package train

import (
	"fmt"
	"math"

	"spadepaint/model"
)

// Adam is torch.optim.Adam without weight decay or AMSGrad, as the
// official trainer uses it, over a fixed set of parameter keys. Its
// moments are kept per key so that they checkpoint under the keys.
type Adam struct {
	Beta1, Beta2, Eps float64
	// Steps is the number of updates made (PyTorch's per-parameter
	// `step`, the same for every parameter here).
	Steps int64
	Keys  []string
	// M and V are the first and second moments (exp_avg, exp_avg_sq).
	M, V map[string][]float32
}

// NewAdam makes an optimiser for keys of p with zero moments.
func NewAdam(p model.Params, keys []string, beta1, beta2 float64) (*Adam, error) {
	a := &Adam{Beta1: beta1, Beta2: beta2, Eps: 1e-8, Keys: keys, M: map[string][]float32{}, V: map[string][]float32{}}
	for _, k := range keys {
		w, err := p.F32(k)
		if err != nil {
			return nil, err
		}
		a.M[k] = make([]float32, len(w))
		a.V[k] = make([]float32, len(w))
	}
	return a, nil
}

// Update makes one step with learning rate lr on p from grads (by key),
// as PyTorch's single-tensor Adam:
//
//	m = m + (1−β1)·(g − m)          (exp_avg.lerp_)
//	v = β2·v + (1−β2)·g²
//	p = p − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)
func (a *Adam) Update(p model.Params, grads map[string][]float32, lr float64) error {
	a.Steps++
	t := float64(a.Steps)
	bc1 := 1 - math.Pow(a.Beta1, t)
	bc2 := 1 - math.Pow(a.Beta2, t)
	stepSize := float32(lr / bc1)
	bc2sqrt := float32(math.Sqrt(bc2))
	w1, b2, w2, eps := float32(1-a.Beta1), float32(a.Beta2), float32(1-a.Beta2), float32(a.Eps)
	for _, k := range a.Keys {
		w, err := p.F32(k)
		if err != nil {
			return err
		}
		g, ok := grads[k]
		if !ok {
			return fmt.Errorf("adam: no gradient for %s", k)
		}
		m, v := a.M[k], a.V[k]
		if len(g) != len(w) || len(m) != len(w) || len(v) != len(w) {
			return fmt.Errorf("adam: %s has %d weights, %d gradients, %d/%d moments", k, len(w), len(g), len(m), len(v))
		}
		for i, gi := range g {
			m[i] += w1 * (gi - m[i])
			v[i] = b2*v[i] + w2*gi*gi
			denom := float32(math.Sqrt(float64(v[i])))/bc2sqrt + eps
			w[i] -= stepSize * m[i] / denom
		}
	}
	return nil
}

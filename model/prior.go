package model

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// metaPrior is the model-file metadata key of the style prior.
const metaPrior = "spadepaint.style_prior"

// PriorComponents is how many principal directions of the codes a
// fitted StylePrior keeps.
const PriorComponents = 32

// StylePrior is the distribution random styles are drawn from: a
// Gaussian fitted to the codes the encoder gives the training photos (the
// aggregate posterior), low-rank plus diagonal:
//
//	z = Mean + Σ_k ε_k·Basis[k] + Residual ⊙ ε′,  ε, ε′ ~ N(0, I)
//
// where Basis[k] is the k-th principal direction of the codes μ scaled by
// its standard deviation, and Residual the per-dimension deviation the
// directions leave unexplained plus the encoder's own noise exp(½logvar).
//
// The paper draws random styles from the VAE's prior N(0, I), which the
// KL term pulls the codes towards. With a light KL weight (the default
// model's 0.01) the codes leave it: a few correlated directions carry the
// style with spreads well above 1 and the rest sit near 0, so N(0, I)
// samples — and even independent per-dimension fits — give styles far
// blander than any real photo's. Without a prior, RandomZ draws from
// N(0, I) as the paper does.
type StylePrior struct {
	Mean     []float32   `json:"mean"`
	Basis    [][]float32 `json:"basis"`
	Residual []float32   `json:"residual"`
}

// FitStylePrior fits the prior to the encoder's outputs for some photos:
// mus and logvars are [N, z_dim] each, N ≥ 2.
func FitStylePrior(zdim int, mus, logvars []float32) (*StylePrior, error) {
	if zdim < 1 || len(mus) != len(logvars) || len(mus)%zdim != 0 || len(mus)/zdim < 2 {
		return nil, fmt.Errorf("style prior: %d codes and %d log-variances of %d values: want at least two of each", len(mus), len(logvars), zdim)
	}
	n := len(mus) / zdim
	p := &StylePrior{Mean: make([]float32, zdim), Residual: make([]float32, zdim)}
	mean := make([]float64, zdim)
	noise := make([]float64, zdim)
	for i := 0; i < n; i++ {
		for k := 0; k < zdim; k++ {
			mean[k] += float64(mus[i*zdim+k]) / float64(n)
			noise[k] += math.Exp(float64(logvars[i*zdim+k])) / float64(n)
		}
	}
	x := mat.NewDense(n, zdim, nil)
	for i := 0; i < n; i++ {
		for k := 0; k < zdim; k++ {
			x.Set(i, k, float64(mus[i*zdim+k])-mean[k])
		}
	}
	var cov mat.SymDense
	cov.SymOuterK(1/float64(n), x.T())
	var eig mat.EigenSym
	if !eig.Factorize(&cov, true) {
		return nil, fmt.Errorf("style prior: the codes' covariance does not factorise")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, len(vals))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	explained := make([]float64, zdim)
	for _, j := range order[:min(PriorComponents, n-1, zdim)] {
		if vals[j] <= 0 {
			break
		}
		s := math.Sqrt(vals[j])
		dir := make([]float32, zdim)
		for k := 0; k < zdim; k++ {
			v := vecs.At(k, j)
			dir[k] = float32(s * v)
			explained[k] += vals[j] * v * v
		}
		p.Basis = append(p.Basis, dir)
	}
	for k := 0; k < zdim; k++ {
		p.Mean[k] = float32(mean[k])
		p.Residual[k] = float32(math.Sqrt(math.Max(0, cov.At(k, k)-explained[k]) + noise[k]))
	}
	return p, p.check(zdim)
}

// sample writes one code drawn from the prior into z, with normal
// deviates from norm.
func (p *StylePrior) sample(z []float32, norm func() float64) {
	copy(z, p.Mean)
	for _, b := range p.Basis {
		e := float32(norm())
		for k := range z {
			z[k] += e * b[k]
		}
	}
	for k := range z {
		z[k] += p.Residual[k] * float32(norm())
	}
}

func (p *StylePrior) check(zdim int) error {
	if len(p.Mean) != zdim || len(p.Residual) != zdim {
		return fmt.Errorf("style prior has %d means and %d residual deviations, want %d each", len(p.Mean), len(p.Residual), zdim)
	}
	finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	for k := range p.Mean {
		if !finite(p.Mean[k]) || !finite(p.Residual[k]) || p.Residual[k] < 0 {
			return fmt.Errorf("style prior dimension %d: mean %g, residual deviation %g", k, p.Mean[k], p.Residual[k])
		}
	}
	for j, b := range p.Basis {
		if len(b) != zdim {
			return fmt.Errorf("style prior direction %d has %d values, want %d", j, len(b), zdim)
		}
		for _, v := range b {
			if !finite(v) {
				return fmt.Errorf("style prior direction %d is not finite", j)
			}
		}
	}
	return nil
}

func (p *StylePrior) json() string {
	b, _ := json.Marshal(p)
	return string(b)
}

func parsePrior(s string, zdim int) (*StylePrior, error) {
	var p StylePrior
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("style prior: %w", err)
	}
	return &p, p.check(zdim)
}

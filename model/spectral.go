package model

import (
	"fmt"
	"math"
)

// SpectralWeight returns the effective weight of a spectral-normalised
// layer as PyTorch's spectral_norm computes it in eval mode: with the
// stored u and v and no further power iteration,
//
//	σ = uᵀ · W_orig.reshape(out, −1) · v,   W = W_orig / σ.
//
// This is what makes imported official checkpoints render exactly.
func SpectralWeight(orig, u, v []float32) ([]float32, error) {
	sigma, err := spectralSigma(orig, u, v)
	if err != nil {
		return nil, err
	}
	w := make([]float32, len(orig))
	inv := 1 / sigma
	for i, x := range orig {
		w[i] = float32(float64(x) * inv)
	}
	return w, nil
}

func spectralSigma(orig, u, v []float32) (float64, error) {
	out, in := len(u), len(v)
	if out*in != len(orig) {
		return 0, fmt.Errorf("spectral norm: weight has %d elements, u·v says %d×%d", len(orig), out, in)
	}
	var sigma float64
	for o := 0; o < out; o++ {
		row := orig[o*in : (o+1)*in]
		var dot float64
		for i, x := range row {
			dot += float64(x) * float64(v[i])
		}
		sigma += float64(u[o]) * dot
	}
	if sigma == 0 || math.IsNaN(sigma) || math.IsInf(sigma, 0) {
		return 0, fmt.Errorf("spectral norm: σ is %g", sigma)
	}
	return sigma, nil
}

// PowerIteration runs one step of PyTorch's spectral-norm power iteration
// in place (training mode does one per forward):
//
//	v = normalize(Wᵀu), u = normalize(Wv)
//
// normalize divides by max(‖·‖, 1e-12) as torch.nn.functional.normalize.
func PowerIteration(orig, u, v []float32) error {
	out, in := len(u), len(v)
	if out*in != len(orig) {
		return fmt.Errorf("spectral norm: weight has %d elements, u·v says %d×%d", len(orig), out, in)
	}
	nv := make([]float64, in)
	for o := 0; o < out; o++ {
		uo := float64(u[o])
		for i, x := range orig[o*in : (o+1)*in] {
			nv[i] += float64(x) * uo
		}
	}
	normalizeInto(v, nv)
	nu := make([]float64, out)
	for o := 0; o < out; o++ {
		var dot float64
		for i, x := range orig[o*in : (o+1)*in] {
			dot += float64(x) * float64(v[i])
		}
		nu[o] = dot
	}
	normalizeInto(u, nu)
	return nil
}

func normalizeInto(dst []float32, src []float64) {
	var ss float64
	for _, x := range src {
		ss += x * x
	}
	n := math.Max(math.Sqrt(ss), 1e-12)
	for i, x := range src {
		dst[i] = float32(x / n)
	}
}

// spectral returns a spectral-norm layer's weight_orig, u and v.
func (p Params) spectral(prefix string) (orig, u, v []float32, err error) {
	if orig, err = p.F32(prefix + ".weight_orig"); err != nil {
		return nil, nil, nil, err
	}
	if u, err = p.F32(prefix + ".weight_u"); err != nil {
		return nil, nil, nil, err
	}
	if v, err = p.F32(prefix + ".weight_v"); err != nil {
		return nil, nil, nil, err
	}
	return orig, u, v, nil
}

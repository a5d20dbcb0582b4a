package model

import (
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"testing"
)

// lowRankCodes draws n codes z = mean + 2·a·v + 0.5·b·w + 0.05·noise
// with unit directions v ⟂ w, and log-variances log(0.01).
func lowRankCodes(zd, n int, seed int64) (mus, logvars []float32, mean, v, w []float64) {
	rng := rand.New(rand.NewSource(seed))
	mean, v, w = make([]float64, zd), make([]float64, zd), make([]float64, zd)
	for k := range mean {
		mean[k] = rng.NormFloat64()
	}
	v[0], v[1] = math.Sqrt(0.5), math.Sqrt(0.5)
	w[0], w[1] = math.Sqrt(0.5), -math.Sqrt(0.5)
	for i := 0; i < n; i++ {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		for k := 0; k < zd; k++ {
			mus = append(mus, float32(mean[k]+2*a*v[k]+0.5*b*w[k]+0.05*rng.NormFloat64()))
			logvars = append(logvars, float32(math.Log(0.01)))
		}
	}
	return mus, logvars, mean, v, w
}

// spread is the standard deviation of codes z ([N, zd]) along unit dir.
func spread(z []float32, zd int, dir []float64) float64 {
	n := len(z) / zd
	var s, sq float64
	for i := 0; i < n; i++ {
		var p float64
		for k := 0; k < zd; k++ {
			p += float64(z[i*zd+k]) * dir[k]
		}
		s += p
		sq += p * p
	}
	m := s / float64(n)
	return math.Sqrt(sq/float64(n) - m*m)
}

func TestStylePrior(t *testing.T) {
	const zd = 8
	mus, logvars, mean, v, w := lowRankCodes(zd, 4000, 1)
	p, err := FitStylePrior(zd, mus, logvars)
	if err != nil {
		t.Fatal(err)
	}
	for k := range mean {
		if d := math.Abs(float64(p.Mean[k]) - mean[k]); d > 0.1 {
			t.Errorf("mean[%d] = %.3f, want %.3f", k, p.Mean[k], mean[k])
		}
	}
	// Codes drawn from the prior spread as the fitted ones: 2 along v,
	// 0.5 along w, and √(0.05² + 0.01) ≈ 0.11 (the residual plus the
	// encoder's noise) along any other axis.
	c := Config{ZDim: zd}
	m := &Model{Config: c, Prior: p}
	z := m.RandomZ(4000, 7)
	other := make([]float64, zd)
	other[5] = 1
	for _, tc := range []struct {
		name string
		dir  []float64
		want float64
	}{{"v", v, 2}, {"w", w, 0.5}, {"other", other, math.Sqrt(0.05*0.05 + 0.01)}} {
		if got := spread(z, zd, tc.dir); math.Abs(got-tc.want) > 0.1*tc.want {
			t.Errorf("random codes spread %.3f along %s, want %.3f", got, tc.name, tc.want)
		}
	}
	if z2 := m.RandomZ(4000, 7); !slices.Equal(z, z2) {
		t.Error("RandomZ with a prior is not deterministic by seed")
	}
	// Without a prior: N(0, I).
	plain := (&Model{Config: c}).RandomZ(4000, 7)
	if got := spread(plain, zd, v); math.Abs(got-1) > 0.1 {
		t.Errorf("N(0, I) codes spread %.3f along v, want 1", got)
	}
	if _, err := FitStylePrior(zd, mus[:zd], logvars[:zd]); err == nil {
		t.Error("a prior fitted to one code")
	}
}

// TestStylePriorSaved: the prior travels in the model file's metadata.
func TestStylePriorSaved(t *testing.T) {
	c := Preset(Landscape).Config()
	c.NGF, c.NHidden, c.Width, c.EncoderLayers = 2, 4, 64, 5
	m, err := RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	mus, logvars, _, _, _ := lowRankCodes(c.ZDim, 50, 2)
	if m.Prior, err = FitStylePrior(c.ZDim, mus, logvars); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.SaveWith(path, SaveOptions{Weights: WeightsF16}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Prior == nil || !slices.Equal(back.RandomZ(3, 9), m.RandomZ(3, 9)) {
		t.Error("the loaded model draws other random styles than the saved one")
	}
	if _, err := parsePrior(`{"mean":[1],"basis":[],"residual":[1]}`, c.ZDim); err == nil {
		t.Error("a prior of the wrong size parsed")
	}
}

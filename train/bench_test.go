package train

import (
	"fmt"
	"testing"
	"time"

	"spadepaint/model"
)

// BenchmarkStep times one training step's graphs (G step: forward and
// backward through E, G and D; D step: forward through E and G again, D
// forward and backward) for the landscape preset, batch 1.
func BenchmarkStep(b *testing.B) {
	for _, w := range []int{64, 128} {
		b.Run(fmt.Sprintf("landscape_%d", w), func(b *testing.B) {
			c := model.Preset(model.Landscape).Config()
			c.Width = w
			benchStep(b, c, 1)
		})
	}
}

func benchStep(b *testing.B, c model.Config, n int) {
	nets := newNets(c, 1)
	all := nets.all()
	t0 := time.Now()
	gs, err := buildStep(c, n, all, forG, lossWeights{Feat: 10, KLD: 0.05}, nets.learnedG())
	if err != nil {
		b.Fatal(err)
	}
	ds, err := buildStep(c, n, all, forD, lossWeights{}, nets.learnedD())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("build %v", time.Since(t0))
	l, img := tinyBatch(c, n, 1)
	p, err := prepare(c, l, img)
	if err != nil {
		b.Fatal(err)
	}
	eps := make([]float32, n*c.ZDim)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t1 := time.Now()
		if err := gs.run(p, eps, map[string][]float32{}, 1, map[string]float64{}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := ds.run(p, eps, map[string][]float32{}, 1, map[string]float64{}); err != nil {
			b.Fatal(err)
		}
		b.Logf("G %v D %v", t2.Sub(t1), time.Since(t2))
	}
}

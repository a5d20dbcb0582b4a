package train

import (
	"context"
	"fmt"
	"math"
	"syscall"
	"testing"
	"time"

	"spadepaint/model"
)

// BenchmarkStep times one training step's graphs (G step: forward and
// backward through E, G and D; D step: forward through E and G again, D
// forward and backward) for the landscape preset (ngf 16, encoder), at
// 64² and 128² batch 1 and at the reference sizes, 128² batch 4
// and 256² batch 1.
func BenchmarkStep(b *testing.B) {
	for _, tc := range []struct{ w, n int }{{64, 1}, {128, 1}, {128, 4}, {256, 1}} {
		name := fmt.Sprintf("landscape_%d", tc.w)
		if tc.n > 1 {
			name += fmt.Sprintf("_batch%d", tc.n)
		}
		b.Run(name, func(b *testing.B) {
			c := model.Preset(model.Landscape).Config()
			c.Width = tc.w
			benchStep(b, c, tc.n)
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
	p, err := prepare(c, l, img, nil)
	if err != nil {
		b.Fatal(err)
	}
	eps := make([]float32, n*c.ZDim)
	for _, s := range []*stepGraph{gs, ds} { // warm up: first-run allocations
		if err := s.run(p, eps, map[string][]float32{}, 1, map[string]float64{}); err != nil {
			b.Fatal(err)
		}
	}
	defer serialBLAS()() // as Trainer.Run
	cpu0 := cpuTime()
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
	// CPU time is steadier than wall time on a shared machine.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user + system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOverfit is the overfit check, a run rather than a timed unit
// test: the landscape preset at 64² trains for 300 steps on 8 simple
// scenes and the generator's reconstruction error (mean |G(labels, μ(real))
// − real| over the scenes, in [−1, 1] units) must fall well below its
// start. Run with -bench Overfit -benchtime 1x (about a minute with
// OpenBLAS on 2 cores).
func BenchmarkOverfit(b *testing.B) {
	for i := 0; i < b.N; i++ {
		src := newMemSource(8, 72, 72, 21)
		c := model.Preset(model.Landscape).Config()
		c.Width = 64
		c = ConfigForData(c, src.Info())
		opt := DefaultOptions(c)
		opt.Steps, opt.Samples = 300, 8
		tr, err := New(b.TempDir(), src, opt)
		if err != nil {
			b.Fatal(err)
		}
		before, err := reconstructionError(tr)
		if err != nil {
			b.Fatal(err)
		}
		if err := tr.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		after, err := reconstructionError(tr)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(before, "L1-start")
		b.ReportMetric(after, "L1-end")
		if after > before/3 {
			b.Errorf("reconstruction error %.3f → %.3f after %d steps", before, after, opt.Steps)
		}
	}
}

// reconstructionError renders the sample examples in their own style.
func reconstructionError(tr *Trainer) (float64, error) {
	c := tr.Options.Model
	k := min(tr.Options.Samples, tr.src.Len())
	l := &model.Labels{N: k, H: c.Height(), W: c.Width}
	var real []float32
	for i := 0; i < k; i++ {
		it, err := tr.ld.example(i, nil)
		if err != nil {
			return 0, err
		}
		l.Class = append(l.Class, it.labels.Class...)
		real = append(real, it.image...)
	}
	m, err := tr.Model()
	if err != nil {
		return 0, err
	}
	ctx := context.Background()
	mu, _, err := m.Encode(ctx, &model.Image{N: k, H: l.H, W: l.W, Pix: real})
	if err != nil {
		return 0, err
	}
	g, err := m.Generate(ctx, l, mu)
	if err != nil {
		return 0, err
	}
	var sum float64
	for i, v := range g.Pix {
		sum += math.Abs(float64(v - real[i]))
	}
	return sum / float64(len(real)), nil
}

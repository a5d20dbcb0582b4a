//go:build gpu

package device

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"

	"spadepaint/model"
	"spadepaint/train"
)

// trainSteps is how many optimiser steps the comparison runs.
const trainSteps = 3

type trainRun struct {
	losses []train.Losses
	times  []time.Duration
	g, e   model.Params
	blas   string
}

// runTraining trains opt from scratch for opt.Steps steps with k's BLAS.
func runTraining(t *testing.T, k Kind, src train.Source, opt train.Options) trainRun {
	t.Helper()
	desc, restore, err := Use(k)
	if err != nil {
		t.Fatal(err)
	}
	r := trainRun{blas: desc}
	defer func() {
		if err := restore(); err != nil {
			t.Errorf("%v: %v", k, err)
		}
	}()
	tr, err := train.New(t.TempDir(), src, opt)
	if err != nil {
		t.Fatal(err)
	}
	tr.OnProgress = func(p train.Progress) {
		if p.Event == "" {
			r.losses = append(r.losses, p.Losses)
			r.times = append(r.times, p.StepTime)
		}
	}
	if err := tr.Run(t.Context()); err != nil {
		t.Fatalf("%v: %v", k, err)
	}
	m, err := tr.Model()
	if err != nil {
		t.Fatal(err)
	}
	r.g, r.e = m.G, m.E
	if o, ok := G.WhichBLAS().(*OffloadBLAS); ok {
		gpu, cpu := o.Calls()
		r.blas += fmt.Sprintf(": %d GEMMs on the GPU, %d on the CPU", gpu, cpu)
		if k == GPU && gpu == 0 {
			t.Errorf("no GEMM reached the GPU")
		}
	}
	return r
}

// TestTrainStepsGPU runs the same training (same seed, initial weights and
// data) with the CPU's BLAS and with the GPU's. GEMMs sum in another order
// on the GPU, so results agree to rounding only where rounding cannot grow:
//
//   - One step, checked strictly: its generator losses come from the same
//     initial weights (1e-3), and the weights after it agree except where
//     Adam's first step (≈ lr·sign(g)) meets a gradient of rounding size,
//     which moves a weight by up to 2·lr either way: few such weights
//     (mean |Δ| ≤ 2% of lr), none further than 2.5·lr. The spectral-norm
//     power-iteration vectors (weight_u, weight_v) are not weights: their
//     direction in a near-degenerate top singular space follows rounding,
//     so they are left out.
//   - Three steps, for time per step; their losses drift apart as a GAN's
//     do from any perturbation and are only bounded loosely (25%).
func TestTrainStepsGPU(t *testing.T) {
	needGPU(t)
	for _, size := range []int{64, 128} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			src := newScenes(16, size, 1)
			c := model.Preset(model.Landscape).Config()
			c.Width = size
			c = train.ConfigForData(c, src.Info())
			opt := train.DefaultOptions(c)
			opt.DecaySteps = 0
			opt.CheckpointEvery, opt.SampleEvery, opt.Samples, opt.Styles = 0, 0, 1, 1
			lrG, _ := opt.LearningRates(0)

			opt.Steps = 1
			cpu1 := runTraining(t, CPU, src, opt)
			gpu1 := runTraining(t, GPU, src, opt)
			if len(cpu1.losses) != 1 || len(gpu1.losses) != 1 {
				t.Fatalf("%d CPU and %d GPU steps reported, want 1", len(cpu1.losses), len(gpu1.losses))
			}
			compareLosses(t, 1, cpu1.losses[0], gpu1.losses[0], 1e-3, 2e-2)
			for _, nets := range []struct {
				name string
				a, b model.Params
			}{{"G", cpu1.g, gpu1.g}, {"E", cpu1.e, gpu1.e}} {
				if nets.a == nil {
					continue
				}
				sum, n, worst, worstKey := 0.0, 0, 0.0, ""
				for _, k := range nets.a.Keys() {
					if strings.HasSuffix(k, "_u") || strings.HasSuffix(k, "_v") {
						continue
					}
					x, err := nets.a.F32(k)
					if err != nil {
						t.Fatal(err)
					}
					y, err := nets.b.F32(k)
					if err != nil {
						t.Fatal(err)
					}
					for i := range x {
						d := math.Abs(float64(x[i]) - float64(y[i]))
						sum += d
						n++
						if d > worst {
							worst, worstKey = d, k
						}
					}
				}
				mean := sum / float64(max(n, 1))
				fmt.Printf("  %s weights after 1 step: mean |Δ| %.2g (%.2g·lr), max %.2g (%.2g·lr, %s)\n", nets.name, mean, mean/lrG, worst, worst/lrG, worstKey)
				if mean > 0.02*lrG || worst > 2.5*lrG {
					t.Errorf("%s weights after 1 step: mean |Δ| %g (want ≤ %g), max %g at %s (want ≤ %g)", nets.name, mean, 0.02*lrG, worst, worstKey, 2.5*lrG)
				}
			}

			opt.Steps = trainSteps
			cpu := runTraining(t, CPU, src, opt)
			gpu := runTraining(t, GPU, src, opt)
			if len(cpu.losses) != trainSteps || len(gpu.losses) != trainSteps {
				t.Fatalf("%d CPU and %d GPU steps reported, want %d", len(cpu.losses), len(gpu.losses), trainSteps)
			}
			fmt.Printf("training %s %d² (ngf %d), %d steps: CPU [%s] vs GPU [%s]\n", c.Name, size, c.NGF, trainSteps, cpu.blas, gpu.blas)
			for s := 0; s < trainSteps; s++ {
				a, b := cpu.losses[s], gpu.losses[s]
				fmt.Printf("  step %d  CPU %7.0f ms  GPU %7.0f ms  G %.5f / %.5f  D %.5f / %.5f\n", s+1,
					ms(cpu.times[s]), ms(gpu.times[s]), a.G(), b.G(), a.D(), b.D())
				compareLosses(t, s+1, a, b, 0.25, 0.25)
			}
			var tc, tg time.Duration
			for s := 1; s < trainSteps; s++ { // step 1 includes set-up
				tc += cpu.times[s]
				tg += gpu.times[s]
			}
			fmt.Printf("  steps 2–%d: CPU %.0f ms/step, GPU %.0f ms/step (×%.2f)\n\n", trainSteps,
				ms(tc)/float64(trainSteps-1), ms(tg)/float64(trainSteps-1), float64(tc)/float64(tg))
		})
	}
}

// compareLosses checks step's loss terms: the generator's within relative
// tolerance tolG, the discriminator's (computed after the generator's
// update) within tolD.
func compareLosses(t *testing.T, step int, a, b train.Losses, tolG, tolD float64) {
	t.Helper()
	for _, term := range []struct {
		name string
		x, y float64
		g    bool
	}{
		{"G_GAN", a.GAN, b.GAN, true}, {"G_GAN_Feat", a.GANFeat, b.GANFeat, true}, {"G_KLD", a.KLD, b.KLD, true},
		{"G_VGG", a.VGG, b.VGG, true}, {"D_Fake", a.DFake, b.DFake, false}, {"D_real", a.DReal, b.DReal, false},
	} {
		tol := tolD
		if term.g {
			tol = tolG
		}
		if d := math.Abs(term.x - term.y); d > tol*max(math.Abs(term.x), math.Abs(term.y))+1e-5 {
			t.Errorf("step %d %s: CPU %g, GPU %g (rel. tolerance %g)", step, term.name, term.x, term.y, tol)
		}
	}
}

// scenes is a small synthetic data set (train/landscape's generator would
// bring the UI toolkit into this test binary through its palettes): sky
// over ground with a sun, each class a flat colour with a little noise.
type scenes struct {
	info train.Info
	ex   []*train.Example
}

func newScenes(n, size int, seed uint64) *scenes {
	rng := rand.New(rand.NewPCG(seed, 2))
	s := &scenes{info: train.Info{Format: "scenes", LabelNC: 3, AspectRatio: 1, Preprocess: train.ResizeAndCrop,
		Classes: []train.Class{{ID: 0, Name: "sky", Color: [3]uint8{60, 120, 220}}, {ID: 1, Name: "ground", Color: [3]uint8{40, 160, 60}},
			{ID: 2, Name: "sun", Color: [3]uint8{230, 60, 40}}}}}
	for i := 0; i < n; i++ {
		l := &model.Labels{N: 1, H: size, W: size, Class: make([]uint8, size*size)}
		img := image.NewNRGBA(image.Rect(0, 0, size, size))
		horizon := size/3 + rng.IntN(size/3)
		cx, cy, r := rng.IntN(size), rng.IntN(horizon+1), 2+rng.IntN(size/6)
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				id := 0
				if y > horizon {
					id = 1
				}
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
					id = 2
				}
				l.Class[y*size+x] = uint8(id)
				c, d := s.info.Classes[id].Color, uint8(rng.IntN(8))
				img.SetNRGBA(x, y, color.NRGBA{c[0] + d, c[1] + d, c[2] + d, 255})
			}
		}
		s.ex = append(s.ex, &train.Example{Name: fmt.Sprintf("scene%d", i), Image: img, Labels: l})
	}
	return s
}

func (s *scenes) Info() train.Info { return s.info }
func (s *scenes) Len() int         { return len(s.ex) }
func (s *scenes) Example(i int) (*train.Example, error) {
	e := *s.ex[i]
	return &e, nil
}

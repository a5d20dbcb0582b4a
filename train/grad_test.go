package train

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model"
)

// tinyConfig is a SPADE small enough for finite differences: 32², ngf 2.
func tinyConfig(norm model.Norm, vae bool) model.Config {
	c := model.Preset(model.Landscape).Config()
	c.LabelNC, c.NGF, c.NDF, c.NHidden, c.ZDim = 3, 2, 2, 4, 4
	c.Width, c.EncoderLayers, c.Norm, c.UseVAE = 64, 5, norm, vae
	return c
}

func tinyBatch(c model.Config, n int, seed uint64) (*model.Labels, []float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	h, w := c.Height(), c.Width
	l := &model.Labels{N: n, H: h, W: w, Class: make([]uint8, n*h*w)}
	for i := 0; i < n; i++ {
		split := 8 + rng.IntN(h-16)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				id := 0
				if y > split {
					id = 1
				}
				if (x-w/2)*(x-w/2)+(y-h/2)*(y-h/2) < 30 {
					id = 2
				}
				l.Class[i*h*w+y*w+x] = uint8(id)
			}
		}
	}
	img := make([]float32, n*3*h*w)
	for i := range img {
		img[i] = float32(rng.Float64()*2 - 1)
	}
	return l, img
}

// TestGradientsFiniteDifferences compares the gradients of the full G
// and D losses with central differences along random directions.
func TestGradientsFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      model.Config
		n      int
		chroma float64
	}{
		{"instance_vae", tinyConfig(model.InstanceNorm, true), 2, 0},
		{"batch_novae", tinyConfig(model.BatchNorm, false), 2, 0},
		// The style modulation, the colour statistics in the code and the
		// colour loss in the opponent basis.
		{"instance_vae_stylemod_incode_chroma", func() model.Config {
			c := tinyConfig(model.InstanceNorm, true)
			c.StyleMod, c.EncoderStats, c.StatsInCode, c.ZDim = true, true, true, 10
			return c
		}(), 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			rng := rand.New(rand.NewPCG(3, 4))
			// PyTorch's default layer init rather than the official
			// N(0, 0.02²·…) one: with weights that small every norm
			// amplifies its input so much that finite differences need
			// steps below float32's resolution.
			nets := newNetsWith(c, 7, model.InitParams)
			// The style modulation starts at zero; away from zero its
			// offsets reach the output and every gradient through it.
			styleKey := ""
			for _, k := range nets.G.Keys() {
				if strings.Contains(k, ".mlp_style_") && strings.HasSuffix(k, ".weight") {
					d, _ := nets.G.F32(k)
					for i := range d {
						d[i] = float32(rng.Float64()-0.5) / model.StyleModGain
					}
					styleKey = k
				}
			}
			l, img := tinyBatch(c, tc.n, 5)
			p, err := prepare(c, l, img, nil)
			if err != nil {
				t.Fatal(err)
			}
			eps := make([]float32, tc.n*c.ZDim)
			for i := range eps {
				eps[i] = float32(rng.NormFloat64())
			}
			all := nets.all()
			for i := 0; i < 5; i++ {
				if err := model.PowerIterate(all); err != nil {
					t.Fatal(err)
				}
			}
			for _, w := range []which{forG, forD} {
				learned := nets.learnedG()
				if w == forD {
					learned = nets.learnedD()
				}
				// The colour loss (not in the paper) rides along in G's
				// check: its pooling and L1 must differentiate too.
				s, err := buildStep(c, tc.n, all, w, lossWeights{Feat: 10, KLD: 0.05, Colour: 5, Chroma: tc.chroma}, learned)
				if err != nil {
					t.Fatal(err)
				}
				grads := map[string][]float32{}
				terms := map[string]float64{}
				if err := s.run(p, eps, grads, 1, terms); err != nil {
					t.Fatal(err)
				}
				t.Logf("%v terms %v", w, terms)
				if w == forG && !(terms["G_Colour"] > 0) {
					t.Errorf("colour loss %v, want > 0 (the tiny model cannot reproduce its real image)", terms["G_Colour"])
				}
				loss := func() float64 {
					tm := map[string]float64{}
					if err := s.run(p, eps, map[string][]float32{}, 1, tm); err != nil {
						t.Fatal(err)
					}
					var sum float64
					for _, v := range tm {
						sum += v
					}
					return sum
				}
				// About a dozen parameters of each network, spread over
				// the layers; steps along the gradient g scaled to a
				// fraction of the weight's norm: the ratio of the finite
				// difference to |g|² must come near 1 at one of the steps
				// or extrapolated to step 0: within 2% for the median
				// parameter, 10% for every one (the float32 loss of ~16
				// leaves the smallest gradients a few % of noise). A
				// wiring mistake (a missing term, a wrong sign or λ, a
				// gradient into the wrong network) is far larger.
				stride := max(1, len(learned)/12)
				checked := 0
				var bests []float64
				for ki, k := range learned {
					if ki%stride != 0 && ki != len(learned)-1 && k != styleKey {
						continue
					}
					wt, _ := all.F32(k)
					g := grads[k]
					var gn, wn float64
					for i := range g {
						gn += float64(g[i]) * float64(g[i])
						wn += float64(wt[i]) * float64(wt[i])
					}
					gn = math.Sqrt(gn)
					wn = max(math.Sqrt(wn), 0.1*math.Sqrt(float64(len(wt))))
					if gn < 1e-2 {
						continue // exactly zero by construction (a bias before a norm)
					}
					orig := append([]float32(nil), wt...)
					best := math.Inf(1)
					var ratios []float64
					for _, rel := range []float64{1e-2, 3e-3, 1e-3} {
						step := rel * wn / gn
						for i := range wt {
							wt[i] = orig[i] + float32(step)*g[i]
						}
						lp := loss()
						for i := range wt {
							wt[i] = orig[i] - float32(step)*g[i]
						}
						lm := loss()
						copy(wt, orig)
						r := (lp - lm) / (2 * step * gn * gn)
						ratios = append(ratios, r)
						best = min(best, math.Abs(r-1))
					}
					// The kinks (ReLU, |·|) make the error of central
					// differences linear in the step: extrapolate it away.
					rich := (3*ratios[2] - ratios[1]) / 2
					best = min(best, math.Abs(rich-1))
					bests = append(bests, best)
					if best > 0.1 {
						t.Errorf("%s %s: finite differences / backprop along the gradient = %.4f (steps 1e-2, 3e-3, 1e-3 of the weight norm)", w, k, ratios)
					}
					checked++
				}
				if checked < 5 {
					t.Errorf("%s: only %d parameters checked", w, checked)
				}
				sort.Float64s(bests)
				if med := bests[len(bests)/2]; med > 0.02 {
					t.Errorf("%s: median relative error %.3f over %d parameters", w, med, len(bests))
				}
				t.Logf("%s: %d parameters, relative errors %.3f", w, checked, bests)
				t.Logf("%v: %d parameters checked", w, checked)
			}
		})
	}
}

// TestColourLossOpponent checks the colour loss's opponent basis on
// images already at the pooled size (one pixel per cell): the mean of
// |luma| and chroma-weighed |red–green| and |yellow–blue| of the
// difference, over the three channels; chroma 1 is a rotation of RGB.
func TestColourLossOpponent(t *testing.T) {
	c := tinyConfig(model.InstanceNorm, true)
	c.Width = colourPoolCells
	const n, hw = 2, colourPoolCells * colourPoolCells
	rng := rand.New(rand.NewPCG(8, 9))
	fv, rv := make([]float32, n*3*hw), make([]float32, n*3*hw)
	for i := range fv {
		fv[i], rv[i] = float32(rng.Float64()*2-1), float32(rng.Float64()*2-1)
	}
	for _, chroma := range []float64{0, 1, 3} {
		g := G.NewGraph()
		fake := G.NewTensor(g, G.Float32, 4, G.WithShape(n, 3, colourPoolCells, colourPoolCells), G.WithName("fake"),
			G.WithValue(tensor.New(tensor.WithShape(n, 3, colourPoolCells, colourPoolCells), tensor.WithBacking(fv))))
		real := G.NewTensor(g, G.Float32, 4, G.WithShape(n, 3, colourPoolCells, colourPoolCells), G.WithName("real"),
			G.WithValue(tensor.New(tensor.WithShape(n, 3, colourPoolCells, colourPoolCells), tensor.WithBacking(rv))))
		l, err := colourLoss(c, fake, real, chroma)
		if err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		got := float64(l.Value().Data().(float32))
		vm.Close()
		var want float64
		for b := 0; b < n; b++ {
			for p := 0; p < hw; p++ {
				var d [3]float64
				for k := range d {
					d[k] = float64(fv[(b*3+k)*hw+p] - rv[(b*3+k)*hw+p])
				}
				if chroma == 0 {
					want += math.Abs(d[0]) + math.Abs(d[1]) + math.Abs(d[2])
					continue
				}
				want += math.Abs(d[0]+d[1]+d[2])/math.Sqrt(3) +
					chroma*math.Abs(d[0]-d[1])/math.Sqrt2 +
					chroma*math.Abs(d[0]+d[1]-2*d[2])/math.Sqrt(6)
			}
		}
		want /= 3 * n * hw
		if math.Abs(got-want) > 1e-5*want {
			t.Errorf("chroma %g: loss %.6f, want %.6f", chroma, got, want)
		}
	}
}

func TestColourChromaRefused(t *testing.T) {
	opt := resumeOptions(newMemSource(2, 64, 64, 5))
	for _, v := range []float64{-1, math.NaN(), math.Inf(1)} {
		opt.ColourChroma = v
		if err := opt.Validate(); err == nil || !strings.Contains(err.Error(), "chroma") {
			t.Errorf("colour chroma %v: %v", v, err)
		}
	}
}

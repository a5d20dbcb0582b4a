package train

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"spadepaint/model"
)

// TestAdam follows torch.optim.Adam's update for three steps, in float64,
// for both official settings.
func TestAdam(t *testing.T) {
	grads := [][]float32{{0.5, -2, 1e-3, 0}, {0.25, 1, -1e-3, 3}, {-1, 0.5, 2e-3, -3}}
	for _, b := range [][2]float64{{0, 0.9}, {0.5, 0.999}} {
		p := model.Params{"w": tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{1, -1, 0.5, 0}))}
		a, err := NewAdam(p, []string{"w"}, b[0], b[1])
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{1, -1, 0.5, 0}
		m, v := make([]float64, 4), make([]float64, 4)
		lr := 1e-2
		for step, g := range grads {
			if err := a.Update(p, map[string][]float32{"w": append([]float32(nil), g...)}, lr); err != nil {
				t.Fatal(err)
			}
			n := float64(step + 1)
			for i, gi := range g {
				m[i] = b[0]*m[i] + (1-b[0])*float64(gi)
				v[i] = b[1]*v[i] + (1-b[1])*float64(gi)*float64(gi)
				mh := m[i] / (1 - math.Pow(b[0], n))
				vh := v[i] / (1 - math.Pow(b[1], n))
				want[i] -= lr * mh / (math.Sqrt(vh) + 1e-8)
			}
			got, _ := p.F32("w")
			for i := range got {
				if math.Abs(float64(got[i])-want[i]) > 1e-6 {
					t.Errorf("β %v step %d: w[%d] = %.8f, want %.8f", b, step+1, i, got[i], want[i])
				}
			}
		}
		if a.Steps != 3 {
			t.Errorf("steps %d", a.Steps)
		}
	}
}

func TestLearningRates(t *testing.T) {
	o := Options{LR: 2e-4, TTUR: true, Steps: 10, DecaySteps: 4}
	for _, c := range []struct {
		s    int
		g, d float64
	}{{0, 1e-4, 4e-4}, {6, 1e-4, 4e-4}, {7, 0.75e-4, 3e-4}, {9, 0.25e-4, 1e-4}} {
		g, d := o.LearningRates(c.s)
		if math.Abs(g-c.g) > 1e-12 || math.Abs(d-c.d) > 1e-12 {
			t.Errorf("step %d: %g, %g; want %g, %g", c.s, g, d, c.g, c.d)
		}
	}
	o.TTUR = false
	if g, d := o.LearningRates(0); g != 2e-4 || d != 2e-4 {
		t.Errorf("no TTUR: %g, %g", g, d)
	}
}

// TestOfficialInit: xavier-normal weights with gain 0.02 (spectral-norm
// weight_orig included), zero biases, unit spectral-norm vectors.
func TestOfficialInit(t *testing.T) {
	c := model.Preset(model.Landscape).Config()
	n := newNets(c, 1)
	for _, tc := range []struct {
		key          string
		fanIn, fanOu int
	}{{"head_0.conv_0.weight_orig", 256 * 9, 256 * 9}, {"fc.weight", 256, 16 * 16 * 8 * 8}, {"head_0.norm_0.mlp_gamma.weight", 32 * 9, 256 * 9}} {
		w, err := n.all().F32(tc.key)
		if err != nil {
			t.Fatal(err)
		}
		var ss float64
		for _, x := range w {
			ss += float64(x) * float64(x)
		}
		got := math.Sqrt(ss / float64(len(w)))
		want := 0.02 * math.Sqrt(2/float64(tc.fanIn+tc.fanOu))
		if math.Abs(got/want-1) > 0.05 {
			t.Errorf("%s: std %.3g, want %.3g", tc.key, got, want)
		}
	}
	if b, _ := n.G.F32("conv_img.bias"); b[0] != 0 || b[2] != 0 {
		t.Errorf("bias %v", b)
	}
	u, _ := n.G.F32("up_0.conv_s.weight_u")
	var ss float64
	for _, x := range u {
		ss += float64(x) * float64(x)
	}
	if math.Abs(ss-1) > 1e-5 {
		t.Errorf("|u|² = %g", ss)
	}
}

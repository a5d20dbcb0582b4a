package eval

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"
)

func tinySegConfig() SegConfig {
	return SegConfig{Classes: 16, Size: 32, Widths: [5]int{4, 5, 6, 7, 8}}
}

// TestSegGradient checks the hand-written backward pass against finite
// differences of the (class-weighted) loss on every weight.
func TestSegGradient(t *testing.T) {
	net, err := NewSegNet(SegConfig{Classes: 5, Size: 16, Widths: [5]int{3, 4, 5, 6, 7}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// float64-ish accuracy needs small, smooth inputs: biases nudged so
	// few ReLUs sit at their kink.
	rng := rand.New(rand.NewSource(1))
	for _, l := range net.layers {
		for i := l.bOff; i < l.bOff+l.outC; i++ {
			net.Params[i] = float32(0.1 + 0.1*rng.Float64())
		}
	}
	w := net.work()
	w.grad = make([]float32, len(net.Params))
	for i := range w.x {
		w.x[i] = float32(rng.Float64()*2 - 1)
	}
	o := net.Config.OutSize()
	labels := make([]uint8, o*o)
	for i := range labels {
		labels[i] = uint8(rng.Intn(5))
	}
	weights := []float32{0.5, 2, 1, 3, 0.25}
	loss := func() float64 {
		net.forward(w)
		d := make([]float32, len(w.act[lHead]))
		l, _ := softmaxCE(w.act[lHead], 5, o*o, labels, 1, weights, d)
		return l
	}
	loss()
	d := w.dact[lHead]
	softmaxCE(w.act[lHead], 5, o*o, labels, 1, weights, d)
	net.backward(w)
	for _, l := range net.layers {
		for idx := l.wOff; idx < l.bOff+l.outC; idx++ {
			old := net.Params[idx]
			const h = 1e-3
			l0 := loss()
			net.Params[idx] = old + h
			lp := loss()
			net.Params[idx] = old - h
			lm := loss()
			net.Params[idx] = old
			// At a ReLU kink the backward pass gives one of the one-sided
			// derivatives: accept anything between them.
			left, right := (l0-lm)/h, (lp-l0)/h
			lo, hi := math.Min(left, right), math.Max(left, right)
			tol := 2e-2 * math.Max(1, math.Abs((lp-lm)/(2*h)))
			got := float64(w.grad[idx])
			if got < lo-tol || got > hi+tol {
				t.Errorf("layer %s param %d: backward %g, numeric %g…%g", l.name, idx, got, lo, hi)
			}
		}
	}
}

// TestSegLossDecreases trains a tiny network for a few steps on the toy
// scenes: the loss must fall.
func TestSegLossDecreases(t *testing.T) {
	tr, err := NewSegTrainer(SegTrainOptions{Config: tinySegConfig(), Source: toySource, DataSize: 32, Steps: 40, Batch: 4, LR: 1e-2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	for i := 0; i < 40; i++ {
		l, _ := tr.TrainStep()
		if i < 5 {
			first += l / 5
		}
		if i >= 35 {
			last += l / 5
		}
	}
	t.Logf("loss %.3f → %.3f", first, last)
	if !(last < 0.7*first) {
		t.Fatalf("loss went from %.3f to %.3f", first, last)
	}
}

// TestSegSaveLoadResume: the file round trip keeps the weights, and a
// run resumed from its checkpoint ends where an uninterrupted one does.
func TestSegSaveLoadResume(t *testing.T) {
	dir := t.TempDir()
	opts := SegTrainOptions{Config: tinySegConfig(), Source: toySource, DataSize: 32, Steps: 6, Batch: 2, Seed: 2}
	full, _ := NewSegTrainer(opts)
	for range 6 {
		full.TrainStep()
	}
	opts.Checkpoint = filepath.Join(dir, "ck.safetensors")
	opts.Steps = 6
	half, _ := NewSegTrainer(opts)
	for range 3 {
		half.TrainStep()
	}
	if err := half.checkpoint(); err != nil {
		t.Fatal(err)
	}
	resumed, err := NewSegTrainer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Step != 3 {
		t.Fatalf("resumed at step %d", resumed.Step)
	}
	for range 3 {
		resumed.TrainStep()
	}
	for i := range full.Net.Params {
		if full.Net.Params[i] != resumed.Net.Params[i] {
			t.Fatalf("param %d: %g vs %g", i, full.Net.Params[i], resumed.Net.Params[i])
		}
	}
	p := filepath.Join(dir, "seg.safetensors")
	full.Net.Meta["note"] = "x"
	if err := full.Net.Save(p); err != nil {
		t.Fatal(err)
	}
	back, err := LoadSeg(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config != full.Net.Config || back.Meta["note"] != "x" {
		t.Fatalf("config %+v meta %v", back.Config, back.Meta)
	}
	for i, v := range full.Net.Params {
		if back.Params[i] != v {
			t.Fatalf("param %d differs", i)
		}
	}
	_, photo, _ := toySource(5, 5, 32, 32)
	a, b := full.Net.Predict(photo, 40, 30), back.Predict(photo, 40, 30)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("predictions differ after reload")
		}
	}
}

func TestClassWeights(t *testing.T) {
	tr, err := NewSegTrainer(SegTrainOptions{Config: tinySegConfig(), Source: toySource, DataSize: 32, Steps: 1, Batch: 2, Balance: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	w := tr.Weights
	// sky (0) covers far more of the toy scenes than the tree (10); a
	// class never drawn gets the cap.
	if !(w[0] < w[10]) || w[5] != 10 {
		t.Fatalf("weights %v", w)
	}
	if l, _ := tr.TrainStep(); math.IsNaN(l) {
		t.Fatal("NaN loss")
	}
}

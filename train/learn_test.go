package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"spadepaint/model"
)

// TestFirstStep: Adam's first step with β1 = 0 moves every weight by
// exactly its learning rate against its gradient's sign (m̂ = g,
// √v̂ = |g|), so one step shows that the generator and encoder learn at
// lr/2 and the discriminator at 2·lr (TTUR), that each network is
// updated by its own optimiser, and that the buffers move as PyTorch's:
// the spectral-norm vectors by power iteration, batch-norm running
// statistics at both forwards of the step.
func TestFirstStep(t *testing.T) {
	src := newMemSource(4, 64, 64, 5)
	c := ConfigForData(tinyConfig(model.BatchNorm, true), src.Info())
	opt := DefaultOptions(c)
	opt.Batch, opt.Steps = 2, 1
	tr, err := New(t.TempDir(), src, opt)
	if err != nil {
		t.Fatal(err)
	}
	before := tr.st.nets.all()
	for k, v := range before {
		before[k] = v.Clone().(*tensor.Dense)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := tr.st.nets.all()
	lrG, lrD := opt.LearningRates(0)
	check := func(keys []string, lr float64, who string) {
		moved, total := 0, 0
		for _, k := range keys {
			a, _ := after.F32(k)
			b, _ := before.F32(k)
			for i := range a {
				d := math.Abs(float64(a[i]) - float64(b[i]))
				total++
				// lr·|g|/(|g| + 1e-8): a little less than lr for the
				// tiniest gradients, never more.
				switch {
				case d > 1.001*lr:
					t.Fatalf("%s %s[%d] moved by %g, more than the learning rate %g", who, k, i, d, lr)
				case d > 0.99*lr:
					moved++
				}
			}
		}
		// Zero gradients (a bias before a norm) leave some weights
		// in place; nearly all others move.
		if moved < total*8/10 {
			t.Errorf("%s: %d of %d weights moved by the learning rate", who, moved, total)
		}
		t.Logf("%s: %d of %d weights moved by %g", who, moved, total, lr)
	}
	check(model.LearnedKeys(model.GeneratorSpecs(c)), lrG, "G")
	check(model.LearnedKeys(model.EncoderSpecs(c)), lrG, "E")
	check(model.LearnedKeys(model.DiscriminatorSpecs(c)), lrD, "D")
	changed := func(k string) bool {
		a, _ := after.F32(k)
		b, _ := before.F32(k)
		for i := range a {
			if a[i] != b[i] {
				return true
			}
		}
		return false
	}
	for _, k := range []string{"head_0.conv_0.weight_u", "layer2.0.weight_v", "discriminator_1.model2.0.0.weight_u",
		"up_1.norm_1.param_free_norm.running_mean", "up_1.norm_1.param_free_norm.running_var"} {
		if !changed(k) {
			t.Errorf("%s did not change", k)
		}
	}
	if n := after["up_1.norm_1.param_free_norm.num_batches_tracked"].Data(); n != int64(2) {
		t.Errorf("num_batches_tracked = %v after one step, want 2 (the G and D steps' forwards)", n)
	}
}

// TestLossesFall trains each network alone on one fixed batch: its own
// loss must fall well below its start.
func TestLossesFall(t *testing.T) {
	src := newMemSource(2, 64, 64, 7)
	c := ConfigForData(tinyConfig(model.InstanceNorm, true), src.Info())
	n := newNetsWith(c, 3, model.InitParams) // see TestGradientsFiniteDifferences
	all := n.all()
	ld := &loader{src: src, info: src.Info(), c: c, aug: Augment{LoadScale: 1, NoFlip: true}, batch: 2, accum: 1, ord: newOrder(1, 2), workers: 1}
	b, err := ld.load(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	p := b.micro[0].prep
	eps := make([]float32, 2*c.ZDim)
	for _, w := range []which{forD, forG} {
		learned, lr, name := n.learnedD(), 2e-3, "D"
		if w == forG {
			learned, lr, name = n.learnedG(), 1e-3, "G"
		}
		s, err := buildStep(c, 2, all, w, lossWeights{Feat: 10, KLD: 0.05}, learned)
		if err != nil {
			t.Fatal(err)
		}
		adam, err := NewAdam(all, learned, 0, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for i := 0; i < 12; i++ {
			grads, terms := map[string][]float32{}, map[string]float64{}
			if err := model.PowerIterate(all); err != nil {
				t.Fatal(err)
			}
			if err := s.run(p, eps, grads, 1, terms); err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, v := range terms {
				sum += v
			}
			losses = append(losses, sum)
			if err := adam.Update(all, grads, lr); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s losses %.4f", name, losses)
		if last := losses[len(losses)-1]; last > losses[0]-0.2*math.Abs(losses[0]) {
			t.Errorf("%s: loss went from %.4f to %.4f", name, losses[0], last)
		}
	}
}

// TestExportAndStops: the exported model loads and renders; a NaN loss
// stops the run naming the step; a failed checkpoint says the previous
// one is intact.
func TestExportAndStops(t *testing.T) {
	src := newMemSource(3, 64, 64, 13)
	c := ConfigForData(tinyConfig(model.InstanceNorm, true), src.Info())
	opt := DefaultOptions(c)
	opt.Steps, opt.CheckpointEvery, opt.Samples = 3, 1, 1
	dir := t.TempDir()
	tr, err := New(dir, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	tr.OnProgress = func(p Progress) {
		if p.Event == "" {
			return
		}
		events = append(events, p.Event)
		if p.Step == 1 && strings.HasPrefix(p.Event, "checkpoint") {
			// The disk "fills up": the checkpoint folder becomes a file.
			ck := filepath.Join(dir, ckptDir)
			if err := os.Rename(ck, ck+".keep"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ck, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = tr.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "checkpoint at step 3 failed") || !strings.Contains(err.Error(), ckptName(1)+" is intact") {
		t.Errorf("Run: %v", err)
	}
	if !strings.Contains(strings.Join(events, "\n"), "warning: checkpoint at step 2 failed") {
		t.Errorf("events %q", events)
	}
	if _, _, err := loadCheckpoint(filepath.Join(dir, ckptDir+".keep", ckptName(1)), c); err != nil {
		t.Errorf("step 1 checkpoint: %v", err)
	}
	// Export and render.
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := tr.Export(path); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := src.Example(0)
	if _, err := m.Generate(context.Background(), ex.Labels, m.RandomZ(1, 1)); err != nil {
		t.Fatal(err)
	}
	// NaN weights: the loss is NaN at the first step.
	tr2, err := New(t.TempDir(), src, opt)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tr2.st.nets.G.F32("conv_img.weight")
	w[0] = float32(math.NaN())
	err = tr2.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not finite at step 1") {
		t.Errorf("NaN run: %v", err)
	}
}

// TestCheckpointModel: the model read from a run's last checkpoint is the
// trainer's own at that step, and non-checkpoints are refused.
func TestCheckpointModel(t *testing.T) {
	src := newMemSource(2, 64, 64, 5)
	c := ConfigForData(tinyConfig(model.InstanceNorm, true), src.Info())
	opt := DefaultOptions(c)
	opt.Steps, opt.CheckpointEvery, opt.Samples = 2, 2, 1
	dir := t.TempDir()
	tr, err := New(dir, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	cks, err := Checkpoints(dir)
	if err != nil || len(cks) == 0 {
		t.Fatalf("checkpoints %v, %v", cks, err)
	}
	got, err := CheckpointModel(cks[0])
	if err != nil {
		t.Fatal(err)
	}
	want, err := tr.Model()
	if err != nil {
		t.Fatal(err)
	}
	for _, nets := range [][2]model.Params{{got.G, want.G}, {got.E, want.E}} {
		for _, k := range nets[1].Keys() {
			a, err1 := nets[0].F32(k)
			b, err2 := nets[1].F32(k)
			if err1 != nil || err2 != nil || !slices.Equal(a, b) {
				t.Errorf("%s differs (%v, %v)", k, err1, err2)
			}
		}
	}
	if _, err := CheckpointModel(filepath.Join(dir, "model.safetensors")); err == nil || !strings.Contains(err.Error(), "not a spadepaint training checkpoint") {
		t.Errorf("exported model accepted as a checkpoint: %v", err)
	}
}

package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"spadepaint/model"
)

// resumeOptions is a tiny run: 64², ngf 2, VAE, batch norm, batch 2 with
// two accumulated micro-batches, so that every piece of state (weights,
// spectral-norm vectors, running statistics, both Adams, data order,
// augmentation, noise) must survive a checkpoint.
func resumeOptions(src Source) Options {
	c := ConfigForData(tinyConfig(model.BatchNorm, true), src.Info())
	opt := DefaultOptions(c)
	opt.Batch, opt.Accum, opt.Steps, opt.DecaySteps = 2, 2, 4, 2
	opt.CheckpointEvery, opt.Samples, opt.Styles = 1, 2, 1
	return opt
}

// runSteps trains a fresh run to stopAt steps (stopping it there with a
// cancellation, as Ctrl+C would, when stopAt < opt.Steps).
func runSteps(t *testing.T, dir string, src Source, opt Options, stopAt int) {
	t.Helper()
	tr, err := New(dir, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr.OnProgress = func(p Progress) {
		if p.Step == stopAt && p.Event == "" {
			cancel()
		}
	}
	err = tr.Run(ctx)
	if stopAt < opt.Steps {
		if !errors.Is(err, ErrStopped) {
			t.Fatalf("run stopped at %d: %v, want ErrStopped", stopAt, err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
}

func resume(t *testing.T, dir string, src Source) []string {
	t.Helper()
	opt, err := ReadOptions(dir)
	if err != nil {
		t.Fatal(err)
	}
	tr, notes, err := Resume(dir, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return notes
}

func readLogT(t *testing.T, dir string) []LogEntry {
	t.Helper()
	es, err := ReadLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// sameLosses compares logs bit for bit (the loss terms and learning
// rates; timings differ).
func sameLosses(t *testing.T, want, got []LogEntry) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("log has %d steps, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		w.Seconds, g.Seconds = 0, 0
		if w != g {
			t.Errorf("step %d: resumed %+v, uninterrupted %+v", w.Step, g, w)
		}
	}
}

func TestResumeIsExact(t *testing.T) {
	src := newMemSource(6, 72, 72, 3)
	opt := resumeOptions(src)
	straight, split := t.TempDir(), t.TempDir()
	runSteps(t, straight, src, opt, 4)
	runSteps(t, split, src, opt, 2)
	if n := len(readLogT(t, split)); n != 2 {
		t.Fatalf("the stopped run logged %d steps, want 2", n)
	}
	resume(t, split, src)
	want := readLogT(t, straight)
	sameLosses(t, want, readLogT(t, split))
	t.Logf("losses at step 4: %+v", want[3].Losses)
	// The exported models are identical too.
	a, err := os.ReadFile(filepath.Join(straight, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(split, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Error("the resumed run exported a different model")
	}

	// A crash while writing the checkpoint of step 3 (kill -9): a
	// truncated step-3 file (as a file system without atomic rename might
	// leave) and a temporary file. The run resumes from step 2 and still
	// reproduces steps 3 and 4.
	crash := t.TempDir()
	runSteps(t, crash, src, opt, 3)
	ck := filepath.Join(crash, ckptDir, ckptName(3))
	data, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ck, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(crash, ckptDir, "."+ckptName(4)+".tmp123")
	if err := os.WriteFile(tmp, data[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	notes := resume(t, crash, src)
	t.Logf("notes: %q", notes)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Error("the temporary file of the interrupted save is still there")
	}
	found := false
	for _, n := range notes {
		if n == "resuming from "+ckptName(2)+" (step 2)" {
			found = true
		}
	}
	if !found {
		t.Errorf("did not resume from step 2: %q", notes)
	}
	sameLosses(t, want, readLogT(t, crash))
}

// TestFromCheckpoint: --from a run's checkpoint starts a new run with that
// checkpoint's G, E and D (a fine-tune keeps its trained discriminator),
// but with fresh Adam moments, step 0 and the new run's own options; --from
// a model file brings G and E only.
func TestFromCheckpoint(t *testing.T) {
	src := newMemSource(6, 72, 72, 3)
	opt := resumeOptions(src)
	opt.Steps, opt.DecaySteps = 2, 1
	first, ck, want := firstRun(t, src, opt)
	same := func(a, b model.Params) bool {
		for k, x := range a {
			if y, ok := b[k]; !ok || !reflect.DeepEqual(x.Data(), y.Data()) {
				return false
			}
		}
		return len(a) == len(b)
	}
	for _, tc := range []struct {
		name  string
		from  string
		sameD bool
	}{
		{"checkpoint", ck, true},
		{"model file", filepath.Join(first, ModelFile), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opt
			o.From, o.LambdaKLD = tc.from, opt.LambdaKLD/5
			tr, err := New(t.TempDir(), src, o)
			if err != nil {
				t.Fatal(err)
			}
			n := tr.st.nets
			if !same(want.nets.G, n.G) || !same(want.nets.E, n.E) {
				t.Error("G or E differ from the checkpoint's")
			}
			if got := same(want.nets.D, n.D); got != tc.sameD {
				t.Errorf("D equal to the checkpoint's: %v, want %v", got, tc.sameD)
			}
			if tr.st.step != 0 || tr.st.adamG.Steps != 0 || tr.st.adamD.Steps != 0 {
				t.Errorf("step %d, Adam steps %d/%d: want a fresh start", tr.st.step, tr.st.adamG.Steps, tr.st.adamD.Steps)
			}
			if tr.Options.LambdaKLD != o.LambdaKLD {
				t.Errorf("λ_KLD %v, want the new run's %v", tr.Options.LambdaKLD, o.LambdaKLD)
			}
			if c, err := FromConfig(tc.from); err != nil || c.JSON() != opt.Model.JSON() {
				t.Errorf("FromConfig: %v, %v; want %v", c.JSON(), err, opt.Model.JSON())
			}
		})
	}
}

// TestFromSwitchesNorm: a run may start from a model or checkpoint of
// the other normalisation (parameter-free, so every weight carries over);
// batch-norm statistics start at mean 0, variance 1, or are dropped.
// Any other difference in the config is refused.
func TestFromSwitchesNorm(t *testing.T) {
	src := newMemSource(6, 72, 72, 3)
	opt := resumeOptions(src) // batch norm
	opt.Steps, opt.DecaySteps = 1, 0
	first, ck, want := firstRun(t, src, opt)
	specs := map[string][]model.Spec{"G": model.GeneratorSpecs(opt.Model), "E": model.EncoderSpecs(opt.Model), "D": model.DiscriminatorSpecs(opt.Model)}
	for _, from := range []string{ck, filepath.Join(first, ModelFile)} {
		// Batch norm → instance norm: the statistics go.
		inst := opt
		inst.From = from
		inst.Model.Norm = model.InstanceNorm
		tr, err := New(t.TempDir(), src, inst)
		if err != nil {
			t.Fatalf("%s to instance norm: %v", filepath.Base(from), err)
		}
		got := map[string]model.Params{"G": tr.st.nets.G, "E": tr.st.nets.E, "D": tr.st.nets.D}
		wantP := map[string]model.Params{"G": want.nets.G, "E": want.nets.E, "D": want.nets.D}
		for net, ss := range specs {
			if net == "D" && from != ck {
				continue // a model file has no discriminator
			}
			for _, s := range ss {
				g, ok := got[net][s.Key]
				switch {
				case s.Kind == model.RunningMean || s.Kind == model.RunningVar || s.Kind == model.NumBatches:
					if ok {
						t.Errorf("%s: instance-norm run kept the statistic %s", filepath.Base(from), s.Key)
					}
				case !ok || !reflect.DeepEqual(g.Data(), wantP[net][s.Key].Data()):
					t.Errorf("%s: %s/%s not carried over", filepath.Base(from), net, s.Key)
				}
			}
		}
		// And back: instance norm → batch norm, statistics fresh.
		dir := t.TempDir()
		inst.Steps = 1
		runSteps(t, dir, src, inst, 1)
		bn := opt
		bn.From = filepath.Join(dir, "checkpoints", ckptName(1))
		tr, err = New(t.TempDir(), src, bn)
		if err != nil {
			t.Fatalf("back to batch norm: %v", err)
		}
		for _, s := range specs["G"] {
			v, _ := tr.st.nets.G.F32(s.Key)
			switch s.Kind {
			case model.RunningMean:
				if v[0] != 0 {
					t.Errorf("%s starts at %v, want 0", s.Key, v[0])
				}
			case model.RunningVar:
				if v[0] != 1 {
					t.Errorf("%s starts at %v, want 1", s.Key, v[0])
				}
			}
		}
	}
	wider := opt
	wider.From = ck
	wider.Model.NGF *= 2
	if _, err := New(t.TempDir(), src, wider); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("--from a model of another width: %v", err)
	}
}

// TestFromSwitchesEncoderStats: switching the encoder's colour
// statistics on keeps fc_mu's and fc_var's weights for the grid and
// starts the statistics' columns at zero (the same code at first).
func TestFromSwitchesEncoderStats(t *testing.T) {
	src, opt, on, want, tr := switchedRun(t, func(c *model.Config) { c.EncoderStats = true })
	f := on.Model.EncoderFCIn() - model.EncoderStatsLen
	for _, k := range []string{"fc_mu.weight", "fc_var.weight"} {
		got, _ := tr.st.nets.E.F32(k)
		old, _ := want.nets.E.F32(k)
		if len(got) != on.Model.ZDim*(f+model.EncoderStatsLen) {
			t.Fatalf("%s has %d values, want %d×%d", k, len(got), on.Model.ZDim, f+model.EncoderStatsLen)
		}
		for r := 0; r < on.Model.ZDim; r++ {
			row := got[r*(f+model.EncoderStatsLen) : (r+1)*(f+model.EncoderStatsLen)]
			if !reflect.DeepEqual(row[:f], old[r*f:(r+1)*f]) {
				t.Fatalf("%s row %d: the grid's weights did not carry over", k, r)
			}
			for _, v := range row[f:] {
				if v != 0 {
					t.Fatalf("%s row %d: statistics weights %v, want zeros", k, r, row[f:])
				}
			}
		}
	}
	for k, v := range want.nets.G {
		if !reflect.DeepEqual(v.Data(), tr.st.nets.G[k].Data()) {
			t.Errorf("generator %s did not carry over", k)
		}
	}
	// And off again: the statistics' columns go.
	dir := t.TempDir()
	on.From = ""
	runSteps(t, dir, src, on, 1)
	off := opt
	off.From = filepath.Join(dir, "checkpoints", ckptName(1))
	if _, err := New(t.TempDir(), src, off); err != nil {
		t.Errorf("statistics off again: %v", err)
	}
}

// switchedRun trains a one-step run (options opt) and starts a new run
// (options on) --from its checkpoint with the model config changed by
// change: the --from tests' start; want is the checkpoint's state, tr the
// new run before its first step.
func switchedRun(t *testing.T, change func(*model.Config)) (src Source, opt, on Options, want *state, tr *Trainer) {
	t.Helper()
	src = newMemSource(6, 72, 72, 3)
	opt = resumeOptions(src)
	opt.Steps, opt.DecaySteps = 1, 0
	_, ck, want := firstRun(t, src, opt)
	on = opt
	on.From = ck
	change(&on.Model)
	tr, err := New(t.TempDir(), src, on)
	if err != nil {
		t.Fatal(err)
	}
	return src, opt, on, want, tr
}

// firstRun trains a fresh run to opt.Steps and returns its folder, its
// last checkpoint and that checkpoint's state: what the --from tests
// start from.
func firstRun(t *testing.T, src Source, opt Options) (dir, ck string, st *state) {
	t.Helper()
	dir = t.TempDir()
	runSteps(t, dir, src, opt, opt.Steps)
	ck = filepath.Join(dir, "checkpoints", ckptName(opt.Steps))
	st, _, err := loadCheckpoint(ck, opt.Model)
	if err != nil {
		t.Fatal(err)
	}
	return dir, ck, st
}

// TestFromSwitchesStyleMod: --from a model without the style modulation
// carries every weight over and starts the SPADE layers' mlp_style_*
// at zero (so the run starts from the same function); one training step
// moves them, so the generator's gradient reaches them.
func TestFromSwitchesStyleMod(t *testing.T) {
	src, opt, on, want, tr := switchedRun(t, func(c *model.Config) { c.StyleMod = true })
	styleKeys := 0
	for k, v := range tr.st.nets.G {
		old, ok := want.nets.G[k]
		if ok {
			if !reflect.DeepEqual(v.Data(), old.Data()) {
				t.Errorf("generator %s did not carry over", k)
			}
			continue
		}
		if !strings.Contains(k, ".mlp_style_") {
			t.Errorf("new key %s", k)
		}
		styleKeys++
		d, _ := tr.st.nets.G.F32(k)
		if slices.ContainsFunc(d, func(x float32) bool { return x != 0 }) {
			t.Errorf("%s does not start at zero", k)
		}
	}
	if styleKeys == 0 {
		t.Fatal("no style modulation weights")
	}
	dir := t.TempDir()
	runSteps(t, dir, src, on, 1)
	st, _, err := loadCheckpoint(filepath.Join(dir, "checkpoints", ckptName(1)), on.Model)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"up_3.norm_1.mlp_style_gamma.weight", "head_0.norm_0.mlp_style_beta.weight"} {
		d, err := st.nets.G.F32(k)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(d, func(x float32) bool { return x != 0 }) {
			t.Errorf("%s still all zero after a step", k)
		}
	}
	// And off again: the modulation's weights go.
	off := opt
	off.From = filepath.Join(dir, "checkpoints", ckptName(1))
	if _, err := New(t.TempDir(), src, off); err != nil {
		t.Errorf("style modulation off again: %v", err)
	}
}

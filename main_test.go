package main

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"spadepaint/model"
	"spadepaint/model/nd"
	"spadepaint/model/npy"
	"spadepaint/train"
)

// TestMain lets a test run the real main() in a child process, to check
// exit codes and what a user sees on stderr.
func TestMain(m *testing.M) {
	if os.Getenv("SPADEPAINT_RUN_MAIN") == "1" {
		os.Args = append([]string{"spadepaint"}, strings.Fields(os.Getenv("SPADEPAINT_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runMain(t *testing.T, args ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SPADEPAINT_RUN_MAIN=1", "SPADEPAINT_ARGS="+strings.Join(args, " "), "LANG=en_US.UTF-8")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return errb.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return errb.String(), 0
}

const fx = "model/testdata/parity/c256_batch_vae/"

// TestCLIImportRenderEncode runs the commands on the PyTorch fixture and
// compares the written .npy files with PyTorch's outputs.
func TestCLIImportRenderEncode(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.safetensors")
	var out bytes.Buffer
	if err := runImport([]string{"--generator", fx + "netG.pth", "--encoder", fx + "netE.pth", "--out", m}, &out); err != nil {
		t.Fatal(err)
	}
	o := filepath.Join(dir, "o.npy")
	if err := runRender([]string{"--model", m, "--labels", fx + "labels.npy", "--z", fx + "z.npy", "--out", o}, &out); err != nil {
		t.Fatal(err)
	}
	compareNpy(t, o, fx+"out_z.npy")
	mu := filepath.Join(dir, "mu.npy")
	lv := filepath.Join(dir, "lv.npy")
	if err := runEncode([]string{"--model", m, "--style", fx + "style.npy", "--out", mu, "--logvar", lv}, &out); err != nil {
		t.Fatal(err)
	}
	compareNpy(t, mu, fx+"mu.npy")
	compareNpy(t, lv, fx+"logvar.npy")
	o2 := filepath.Join(dir, "o2.npy")
	if err := runRender([]string{"--model", m, "--labels", fx + "labels.npy", "--style", fx + "style.npy", "--out", o2}, &out); err != nil {
		t.Fatal(err)
	}
	compareNpy(t, o2, fx+"out_mu.npy")
	png := filepath.Join(dir, "o.png")
	if err := runRender([]string{"--model", m, "--labels", fx + "labels.npy", "--seed", "3", "--out", png}, &out); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Fatalf("no PNG written: %v", err)
	}
}

func compareNpy(t *testing.T, got, want string) {
	t.Helper()
	a, err := npy.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := npy.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if nd.ShapeString(a.Shape) != nd.ShapeString(b.Shape) {
		t.Fatalf("%s: shape %v, want %v", got, a.Shape, b.Shape)
	}
	var d float64
	for i := range a.F32 {
		d = math.Max(d, math.Abs(float64(a.F32[i]-b.F32[i])))
	}
	if d > 1e-4 {
		t.Errorf("%s: max abs diff %g", filepath.Base(got), d)
	}
}

// TestCLIErrors: bad input exits non-zero with one clear line.
func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.safetensors")
	if err := runImport([]string{"--generator", fx + "netG.pth", "--out", m}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.npy")
	if err := npy.WriteFile(bad, &nd.Array{Shape: []int{1, 1, 256, 256}, DType: nd.Int64, I64: append(make([]int64, 65535), 9)}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"render", "--labels", "x.png", "--out", "o.png"}, "--model is required"},
		{[]string{"render", "--model", m, "--labels", bad, "--out", filepath.Join(dir, "o.png")}, "class id 9 at x=255 y=255"},
		{[]string{"render", "--model", m, "--labels", fx + "labels.npy", "--out", filepath.Join(dir, "o.gif")}, "unknown extension"},
		{[]string{"import", "--generator", fx + "labels.npy", "--out", filepath.Join(dir, "x.safetensors")}, "import"},
		{[]string{"encode", "--model", fx + "netG.pth", "--style", fx + "style.npy", "--out", "mu.npy"}, "load"},
		{[]string{"nosuch"}, "unknown command"},
	}
	for _, tc := range cases {
		stderr, code := runMain(t, tc.args...)
		if code == 0 {
			t.Errorf("%v: exit 0", tc.args)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if !strings.Contains(l, "locale") && !strings.Contains(l, "Cause:") && !strings.Contains(l, "At: ") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: stderr %q, want a line with %q", tc.args, stderr, tc.want)
		}
		if tc.args[0] != "nosuch" && len(lines) != 1 {
			t.Errorf("%v: %d lines on stderr, want one: %q", tc.args, len(lines), lines)
		}
	}
}

// TestGallery draws a contact sheet with a tiny random landscape model.
func TestGallery(t *testing.T) {
	c := model.Preset(model.Landscape).Config()
	c.NGF, c.NHidden, c.Width = 2, 4, 32
	m, err := model.RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mp := filepath.Join(dir, "m.safetensors")
	if err := m.Save(mp); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "g.png")
	if err := runGallery([]string{"--model", mp, "--n", "2", "--random", "2", "--styles", "sunset,gen-night,gen-winter,life", "--out", out}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := runGallery([]string{"--model", mp, "--n", "1", "--styles", "nope", "--out", out}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown style: %v", err)
	}
	// labels, photo, photo's style, 4 presets, 2 random: 9 tiles of 32 px and 4 px gaps.
	if cfg.Width != 9*36-4 || cfg.Height != 2*36-4 {
		t.Errorf("sheet is %d×%d", cfg.Width, cfg.Height)
	}
}

func TestCLITrainExport(t *testing.T) {
	var out bytes.Buffer
	if err := runTrain([]string{"export", "--out", "x.safetensors"}, &out); err == nil || !strings.Contains(err.Error(), "--checkpoint") {
		t.Errorf("missing --checkpoint: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(bad, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runTrain([]string{"export", "--checkpoint", bad, "--out", filepath.Join(t.TempDir(), "m.safetensors")}, &out); err == nil {
		t.Error("a corrupt checkpoint was exported")
	}
}

// TestCLITrainResumeOptions: --resume takes the run's config but the
// bookkeeping flags given again (--keep, --checkpoint-every) apply.
func TestCLITrainResumeOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a few steps")
	}
	dir := filepath.Join(t.TempDir(), "run")
	var out bytes.Buffer
	if err := runTrain([]string{"--data", "synthetic", "--size", "32", "--steps", "2", "--checkpoint-every", "1", "--keep", "1", "--sample-every", "0", "--out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if err := runTrain([]string{"--out", dir, "--resume", "--steps", "4", "--keep", "5"}, &out); err != nil {
		t.Fatal(err)
	}
	cks, err := train.Checkpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Steps 3 and 4 checkpointed with --keep 5, step 2 from the first leg
	// (keep 1 pruned step 1).
	if len(cks) != 3 {
		t.Errorf("checkpoints after resuming with --keep 5: %q", cks)
	}
	// A loss weight cannot change on --resume; a new run --from the
	// checkpoint takes it (and the checkpoint's model, so no --size).
	for _, flag := range [][]string{{"--lambda-colour", "5"}, {"--style-pairs"}, {"--norm", "batch"}, {"--encoder-stats"}, {"--style-mod"}, {"--stats-in-code"}, {"--colour-chroma", "2"}} {
		if err := runTrain(append([]string{"--out", dir, "--resume", "--steps", "5"}, flag...), &out); err == nil || !strings.Contains(err.Error(), flag[0]) {
			t.Errorf("--resume with a new %s: %v", flag[0], err)
		}
	}
	ft := filepath.Join(t.TempDir(), "ft")
	if err := runTrain([]string{"--data", "synthetic", "--from", cks[len(cks)-1], "--lambda-kld", "0.01", "--lambda-colour", "5",
		"--colour-chroma", "2", "--style-pairs", "--steps", "1", "--sample-every", "0", "--out", ft}, &out); err != nil {
		t.Fatal(err)
	}
	opt, err := train.ReadOptions(ft)
	if err != nil {
		t.Fatal(err)
	}
	if opt.LambdaColour != 5 || opt.LambdaKLD != 0.01 || opt.From != cks[len(cks)-1] || !opt.StylePairs || opt.ColourChroma != 2 {
		t.Errorf("fine-tune run options: colour %v (chroma %v), KLD %v, from %q, style pairs %v",
			opt.LambdaColour, opt.ColourChroma, opt.LambdaKLD, opt.From, opt.StylePairs)
	}
	es, err := train.ReadLog(ft)
	if err != nil || len(es) != 1 || !(es[0].Colour > 0) {
		t.Errorf("fine-tune log: %+v, %v (want one step with a colour loss)", es, err)
	}
	// train export --style-prior fits the random-style distribution to the
	// run's photos; the file carries it.
	pm := filepath.Join(t.TempDir(), "prior.safetensors")
	if err := runTrain([]string{"export", "--checkpoint", cks[0], "--style-prior", "6", "--out", pm}, &out); err != nil {
		t.Fatal(err)
	}
	if m, err := model.Load(pm); err != nil || m.Prior == nil || len(m.Prior.Mean) != m.Config.ZDim {
		t.Errorf("exported with --style-prior: %v (prior %v)", err, m != nil && m.Prior != nil)
	}
	if err := runTrain([]string{"export", "--checkpoint", cks[0], "--style-prior", "-1", "--out", pm}, &out); err == nil || !strings.Contains(err.Error(), "--style-prior") {
		t.Errorf("--style-prior -1: %v", err)
	}
	// --norm switches the model's normalisation (the synthetic preset's is
	// instance norm), --encoder-stats the encoder's colour statistics,
	// --style-mod the SPADE layers' style modulation; a bad norm name is
	// one clear error.
	bn := filepath.Join(t.TempDir(), "bn")
	if err := runTrain([]string{"--data", "synthetic", "--from", cks[len(cks)-1], "--norm", "batch", "--batch", "2",
		"--encoder-stats", "--stats-in-code", "--style-mod", "--steps", "1", "--sample-every", "0", "--out", bn}, &out); err != nil {
		t.Fatal(err)
	}
	if opt, err := train.ReadOptions(bn); err != nil || opt.Model.Norm != model.BatchNorm || !opt.Model.EncoderStats || !opt.Model.StyleMod || !opt.Model.StatsInCode {
		t.Errorf("--norm batch --encoder-stats --style-mod run: norm %v, statistics %v, style modulation %v, %v",
			opt.Model.Norm, opt.Model.EncoderStats, opt.Model.StyleMod, err)
	}
	// A run's own model file carries a style prior fitted to its data.
	if m, err := model.Load(filepath.Join(bn, "model.safetensors")); err != nil || !m.Config.StyleMod || m.Prior == nil {
		t.Errorf("--style-mod run's model: %v (style prior %v)", err, err == nil && m.Prior != nil)
	}
	if err := runTrain([]string{"--data", "synthetic", "--from", cks[len(cks)-1], "--norm", "group",
		"--steps", "1", "--out", filepath.Join(t.TempDir(), "x")}, &out); err == nil || !strings.Contains(err.Error(), "--norm") {
		t.Errorf("--norm group: %v", err)
	}
}

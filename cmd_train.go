package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"spadepaint/model"
	"spadepaint/model/device"
	"spadepaint/train"
)

func runTrain(args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "export" {
		return runTrainExport(args[1:], stdout)
	}
	fs := newFlags("train")
	generated := "synthetic, once its generator is built in"
	if ns := train.RegisteredSources(); len(ns) > 0 {
		generated = strings.Join(ns, ", ")
	}
	data := fs.String("data", "", "data set folder, or a built-in generated data set ("+generated+")")
	format := fs.String("format", "auto", "data layout: auto, "+strings.Join(train.Formats(), ", "))
	presetName := fs.String("preset", "", "model preset (landscape, ade20k, coco, cityscapes); default: the data set's own for ade20k/coco/cityscapes, else landscape")
	size := fs.Int("size", 0, "output width (official --crop_size); default: the preset's")
	batch := fs.Int("batch", 1, "examples per forward pass")
	accum := fs.Int("accum", 1, "forward passes whose gradients make one optimiser step (batch·accum examples per step)")
	steps := fs.Int("steps", 0, "run length in optimiser steps")
	epochs := fs.Float64("epochs", 0, "run length in passes over the data (instead of --steps)")
	decay := fs.Int("decay", -1, "learning rates fall linearly to 0 over the last N steps (0: constant; default: the second half of the run)")
	decayEpochs := fs.Float64("decay-epochs", 0, "as --decay, in epochs")
	lr := fs.Float64("lr", 2e-4, "official --lr: G and E learn at lr/2, D at 2·lr (TTUR)")
	noTTUR := fs.Bool("no-ttur", false, "G, E and D all at --lr with Adam β = (0.5, 0.999), the official --no_TTUR")
	beta1 := fs.Float64("beta1", -1, "Adam β1 (default 0 with TTUR, 0.5 without)")
	beta2 := fs.Float64("beta2", -1, "Adam β2 (default 0.9 with TTUR as the official code, 0.999 without; the paper states 0.999)")
	lambdaFeat := fs.Float64("lambda-feat", 10, "feature matching loss weight (0: off)")
	lambdaKLD := fs.Float64("lambda-kld", 0.05, "KL divergence weight (VAE models)")
	vgg := fs.String("vgg", "", "torchvision's VGG19 ImageNet weights (vgg19-dcbb9e9d.pth): add the VGG perceptual loss to G's (off without)")
	lambdaVGG := fs.Float64("lambda-vgg", 10, "VGG perceptual loss weight (with --vgg)")
	lambdaColour := fs.Float64("lambda-colour", 0, "colour loss weight: L1 between generated and real images pooled to 16 cells across (not in the paper; stands in for VGG's hold on colour without VGG weights)")
	normName := fs.String("norm", "", "the SPADE layers' parameter-free norm, batch or instance (default: the preset's, or the --from model's); with --from, switches the model's (no weights change; batch-norm statistics start at 0 and 1)")
	chroma := fs.Float64("colour-chroma", 0, "with --lambda-colour: compare luma and two chroma channels (red–green, yellow–blue) instead of RGB, the chroma channels weighed this much (1: about the RGB loss; 0: RGB; not in the paper)")
	statsInCode := fs.Bool("stats-in-code", false, "with --encoder-stats: the style code's last 6 dimensions are the style photo's colour statistics themselves, so the generator sees its colours directly (not in the paper)")
	styleMod := fs.Bool("style-mod", false, "every SPADE layer also takes per-channel offsets of γ and β from the style code, so a style can recolour the whole picture (not in the paper; with --from, the new weights start at zero and the model renders as before)")
	encStats := fs.Bool("encoder-stats", false, "the style encoder's fc_mu and fc_var also see the style photo's RGB means and standard deviations, which the paper's instance-normalised encoder cannot see (not in the paper; with --from, the new weights start at zero)")
	stylePairs := fs.Bool("style-pairs", false, "the style encoder sees another scene in the example's style instead of the example's photo (generated data sets only; not in the paper: teaches the code style without layout)")
	seed := fs.Int64("seed", 1, "seed of the initial weights, data order, augmentation and noise")
	noFlip := fs.Bool("no-flip", false, "no random horizontal flips")
	loadScale := fs.Float64("load-scale", train.DefaultLoadScale, "resize to this × the crop size before the random crop (286/256)")
	ckEvery := fs.Int("checkpoint-every", 500, "steps between checkpoints (and one on stop and at the end)")
	keep := fs.Int("keep", 3, "checkpoints kept")
	sampleEvery := fs.Int("sample-every", 500, "steps between sample grids (0: only at the end)")
	samples := fs.Int("samples", 4, "examples in a sample grid")
	styles := fs.Int("styles", 3, "random styles per example in a sample grid")
	workers := fs.Int("workers", 0, "goroutines reading and augmenting data (default: one per CPU)")
	skipBad := fs.Bool("skip-bad", false, "skip unpaired, corrupt or out-of-range examples instead of stopping")
	checkLabels := fs.Bool("check-labels", false, "read every label map before training to find out-of-range class ids (always done for folder data sets)")
	adeRaw := fs.Bool("ade-raw-ids", false, "ADE20K: keep the stored ids (0 = \"other\" as class 0) as the official code ends up doing, to fine-tune its pretrained model")
	out := fs.String("out", "", "run folder: config, checkpoints, log.jsonl, samples, model.safetensors")
	resume := fs.Bool("resume", false, "continue the run in --out from its last complete checkpoint (--steps/--epochs may extend it)")
	from := fs.String("from", "", "start G and E from this model (.safetensors from spadepaint import or an earlier run), or G, E and D from a run's checkpoint (checkpoints/step-N.safetensors; Adam and the step count start afresh)")
	quiet := fs.Bool("quiet", false, "no progress line")
	dev := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["steps"] && set["epochs"] {
		return errors.New("give --steps or --epochs, not both")
	}

	var opt train.Options
	var src train.Source
	var err error
	if *resume {
		if opt, err = train.ReadOptions(*out); err != nil {
			return err
		}
		for _, n := range []string{"format", "preset", "size", "batch", "accum", "lr", "no-ttur", "seed", "from", "lambda-feat", "lambda-kld", "vgg", "lambda-vgg", "lambda-colour", "colour-chroma", "style-pairs", "norm", "encoder-stats", "style-mod", "stats-in-code"} {
			if set[n] {
				return fmt.Errorf("--%s cannot change when resuming (the run keeps %s)", n, train.ConfigFile)
			}
		}
		if set["data"] {
			opt.Data.Path = *data // the same data, moved
		}
		if src, err = train.Open(opt.Data.Path, train.OpenOptions{Format: opt.Data.Format, ADERawIDs: opt.Data.ADERawIDs,
			SkipBad: opt.Data.SkipBad, Size: opt.Model.Width, Seed: opt.Seed}); err != nil {
			return err
		}
		switch {
		case set["steps"]:
			opt.Steps = *steps
		case set["epochs"]:
			opt.Steps = epochSteps(*epochs, src.Len(), opt.Batch*opt.Accum)
		}
		switch {
		case set["decay"] && *decay < 0:
			opt.DecaySteps = opt.Steps / 2
		case set["decay"]:
			opt.DecaySteps = *decay
		case set["decay-epochs"]:
			opt.DecaySteps = epochSteps(*decayEpochs, src.Len(), opt.Batch*opt.Accum)
		}
		if opt.DecaySteps > opt.Steps {
			opt.DecaySteps = opt.Steps
		}
		if set["checkpoint-every"] {
			opt.CheckpointEvery = *ckEvery
		}
		if set["sample-every"] {
			opt.SampleEvery = *sampleEvery
		}
		if set["keep"] {
			opt.Keep = *keep
		}
		if set["workers"] {
			opt.Workers = *workers
		}
	} else {
		if err := required(fs, "data"); err != nil {
			return err
		}
		if !set["steps"] && !set["epochs"] {
			return errors.New("give the run's length: --steps N or --epochs E")
		}
		if src, err = train.Open(*data, train.OpenOptions{Format: *format, ADERawIDs: *adeRaw, SkipBad: *skipBad, Size: *size, Seed: *seed}); err != nil {
			return err
		}
		info := src.Info()
		var c model.Config
		if *from != "" {
			if c, err = train.FromConfig(*from); err != nil {
				return err
			}
			if set["preset"] || set["size"] {
				return errors.New("--from fixes the model: --preset and --size do not apply")
			}
		} else {
			name := *presetName
			if name == "" {
				name = "landscape"
				switch info.Format {
				case train.FormatADE20K, train.FormatCOCO, train.FormatCityscapes:
					name = info.Format
				}
			}
			p, err := model.ParsePreset(name)
			if err != nil {
				return err
			}
			c = p.Config()
			if *size > 0 {
				c.Width = *size
			}
		}
		want := train.ConfigForData(c, info)
		if *from != "" && want.JSON() != c.JSON() {
			return fmt.Errorf("--from %s takes %d classes (don't care %v, instances %v), the data has %d (%v, %v)",
				*from, c.LabelNC, c.ContainDontCare, c.Instance, info.LabelNC, info.DontCare, info.Instance)
		}
		c = want
		if set["norm"] {
			if c.Norm, err = model.ParseNorm(*normName); err != nil {
				return fmt.Errorf("--norm: %w", err)
			}
		}
		if set["encoder-stats"] {
			c.EncoderStats = *encStats
		}
		if set["style-mod"] {
			c.StyleMod = *styleMod
		}
		if set["stats-in-code"] {
			c.StatsInCode = *statsInCode
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("model: %w", err)
		}
		opt = train.DefaultOptions(c)
		opt.Data = train.DataSpec{Path: *data, Format: info.Format, ADERawIDs: *adeRaw, SkipBad: *skipBad}
		opt.Batch, opt.Accum = *batch, *accum
		opt.Steps = *steps
		if set["epochs"] {
			opt.Steps = epochSteps(*epochs, src.Len(), opt.Batch*opt.Accum)
		}
		opt.DecaySteps = *decay
		if set["decay-epochs"] {
			opt.DecaySteps = epochSteps(*decayEpochs, src.Len(), opt.Batch*opt.Accum)
		} else if *decay < 0 {
			opt.DecaySteps = opt.Steps / 2
		}
		opt.LR, opt.TTUR = *lr, !*noTTUR
		opt.Beta1, opt.Beta2 = 0, 0.9
		if *noTTUR {
			opt.Beta1, opt.Beta2 = 0.5, 0.999
		}
		if *beta1 >= 0 {
			opt.Beta1 = *beta1
		}
		if *beta2 >= 0 {
			opt.Beta2 = *beta2
		}
		opt.LambdaFeat, opt.LambdaKLD = *lambdaFeat, *lambdaKLD
		opt.VGG, opt.LambdaVGG = *vgg, *lambdaVGG
		opt.LambdaColour = *lambdaColour
		opt.ColourChroma = *chroma
		opt.StylePairs = *stylePairs
		opt.Seed = *seed
		opt.Augment = train.Augment{LoadScale: *loadScale, NoFlip: *noFlip}
		opt.CheckpointEvery, opt.Keep, opt.SampleEvery = *ckEvery, *keep, *sampleEvery
		opt.Samples, opt.Styles = *samples, *styles
		if *workers > 0 {
			opt.Workers = *workers
		}
		opt.From = *from
	}
	// Check the files before training: headers always, every label map
	// too for folders (the user's own data) or with --check-labels.
	full := *checkLabels || opt.Data.Format == train.FormatFolder
	dropped, err := train.CheckFiles(src, full)
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		fmt.Fprintf(stdout, "skipping %d bad example(s): %s\n", len(dropped), strings.Join(dropped[:min(5, len(dropped))], "; "))
	}

	var tr *train.Trainer
	if *resume {
		var notes []string
		tr, notes, err = train.Resume(*out, src, opt)
		for _, n := range notes {
			fmt.Fprintln(stdout, n)
		}
	} else {
		tr, err = train.New(*out, src, opt)
	}
	if err != nil {
		return err
	}
	// The device is the machine's, not the run's: it is not in the run's
	// config, and a run may resume on another.
	blasName := model.BLASName
	desc, restore, err := device.Use(*dev)
	if err != nil {
		gpuUnavailable(os.Stderr, err, "training")
	} else {
		if *dev != device.CPU {
			blasName = desc + " (" + model.BLASName + ")"
		}
		defer func() {
			if err := restore(); err != nil {
				gpuUnavailable(os.Stderr, err, "the rest of the run went")
			}
		}()
	}
	c := opt.Model
	fmt.Fprintf(stdout, "training %s: %d×%d, %d classes%s, ngf %d, %s norm, VAE %v; %s data, %d examples; batch %d×%d, steps %d→%d (%.2f epochs), lr G %.2g D %.2g, β (%g, %g), BLAS %s\n",
		c.Name, c.Width, c.Height(), c.LabelNC, map[bool]string{true: " + don't care", false: ""}[c.ContainDontCare], c.NGF, c.Norm, c.UseVAE,
		tr.Info().Format, src.Len(), opt.Batch, opt.Accum, tr.Step(), opt.Steps, tr.Epoch(opt.Steps), lrOf(opt, true), lrOf(opt, false), opt.Beta1, opt.Beta2, blasName)

	tty := isTerminal(stdout)
	last := time.Time{}
	tr.OnProgress = func(p train.Progress) {
		if p.Event != "" {
			if tty && !*quiet {
				fmt.Fprint(stdout, "\r\033[K")
			}
			fmt.Fprintf(stdout, "step %d: %s\n", p.Step, p.Event)
			return
		}
		if *quiet || (!tty && time.Since(last) < 10*time.Second && p.Step != p.Steps) {
			return
		}
		last = time.Now()
		line := progressLine(p)
		if tty {
			fmt.Fprint(stdout, "\r\033[K"+line)
		} else {
			fmt.Fprintln(stdout, line)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = tr.Run(ctx)
	if tty && !*quiet {
		fmt.Fprintln(stdout)
	}
	if errors.Is(err, train.ErrStopped) {
		fmt.Fprintf(stdout, "%v; continue with: spadepaint train --out %s --resume\n", err, *out)
		return nil
	}
	return err
}

// epochSteps converts epochs to optimiser steps (at least one).
func epochSteps(epochs float64, n, perStep int) int {
	return max(1, int(math.Ceil(epochs*float64(n)/float64(perStep))))
}

func lrOf(o train.Options, g bool) float64 {
	lg, ld := o.LearningRates(0)
	if g {
		return lg
	}
	return ld
}

func progressLine(p train.Progress) string {
	const width = 20
	done := width * p.Step / max(1, p.Steps)
	bar := strings.Repeat("█", done) + strings.Repeat("·", width-done)
	l := p.Losses
	eta := "?"
	if p.Rate > 0 {
		eta = p.ETA.Round(time.Second).String()
	}
	extra := ""
	if l.VGG != 0 {
		extra += fmt.Sprintf(" VGG %.3f", l.VGG)
	}
	if l.Colour != 0 {
		extra += fmt.Sprintf(" colour %.3f", l.Colour)
	}
	return fmt.Sprintf("%s %d/%d ep %.2f | %.2f steps/s (%.2fs/step) ETA %s | G %.3f (GAN %.3f feat %.3f KLD %.3f%s) D %.3f (fake %.3f real %.3f)",
		bar, p.Step, p.Steps, p.Epoch, p.Rate, p.StepTime.Seconds(), eta, l.G(), l.GAN, l.GANFeat, l.KLD, extra, l.D(), l.DFake, l.DReal)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runTrainExport writes the model (G and E) of one checkpoint of a run:
// `spadepaint train export --checkpoint runs/x/checkpoints/step-N.safetensors --out m.safetensors`,
// with --f16 for a half-size file to ship (its renders are within 3e-4 of
// the float32 file's for the default model).
func runTrainExport(args []string, stdout io.Writer) error {
	fs := newFlags("train export")
	ckpt := fs.String("checkpoint", "", "training checkpoint (a run's checkpoints/step-N.safetensors)")
	out := fs.String("out", "", "model file to write (.safetensors)")
	f16 := fs.Bool("f16", false, "store the weights as float16: half the file size, renders within ~1e-3 (buffers stay float32)")
	prior := fs.Int("style-prior", 0, "fit the random-style distribution to the codes of this many of the run's training photos (0: random styles from N(0, I), as the paper)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "checkpoint", "out"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	m, err := train.CheckpointModel(*ckpt)
	if err != nil {
		return err
	}
	if *prior < 0 {
		return fmt.Errorf("--style-prior %d: want a number of photos ≥ 0", *prior)
	}
	if *prior > 0 {
		if err := train.FitStylePrior(context.Background(), m, *ckpt, *prior); err != nil {
			return err
		}
	}
	o := saveOptions(*f16)
	if err := m.SaveWith(*out, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, %d×%d, %v weights) from %s\n", *out, m.Config.Name, m.Config.Width, m.Config.Height(), o.Weights, *ckpt)
	return nil
}

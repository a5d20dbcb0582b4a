package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"spadepaint/assets"
	"spadepaint/model"
	"spadepaint/train/eval"
)

// runEval measures a model as the SPADE paper does (segmentation mIoU and
// pixel accuracy of its outputs, style fidelity, diversity) on held-out
// scenes of the landscape generator. `eval train-seg` trains the
// segmentation network it uses; `eval seg` scores that network alone.
func runEval(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "train-seg":
			return runEvalTrainSeg(args[1:], stdout)
		case "seg":
			return runEvalSeg(args[1:], stdout)
		}
	}
	fs := newFlags("eval")
	modelPath := fs.String("model", "", "model file (.safetensors); default: the embedded default model")
	segPath := fs.String("seg", "", "segmentation network (.safetensors); default: the shipped one (assets/models/seg.safetensors)")
	n := fs.Int("n", 200, "held-out scenes")
	size := fs.Int("size", 256, "scene width (label maps are resized to the model's size, its outputs back)")
	group := fs.Int("group", 8, "style references each output is compared against (its own and group−1 others)")
	divN := fs.Int("div-n", 16, "label maps for the diversity figures")
	divK := fs.Int("div-k", 4, "random styles per label map for the diversity figures")
	seed := fs.Int64("seed", 0, "offset of the held-out seeds")
	asJSON := fs.Bool("json", false, "print one JSON object")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	samples := fs.String("samples", "", "write a contact sheet (PNG) of the first scenes: labels | photo | style reference | output | random-z outputs")
	dev := deviceFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: spadepaint eval [flags]            evaluate a model")
		fmt.Fprintln(fs.Output(), "       spadepaint eval seg [flags]        score the segmentation network on real scenes")
		fmt.Fprintln(fs.Output(), "       spadepaint eval train-seg [flags]  train the segmentation network")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	src, err := landscapeSource()
	if err != nil {
		return err
	}
	m, err := loadEvalModel(*modelPath)
	if err != nil {
		return err
	}
	useDevice(os.Stderr, m, *dev, "rendering")
	defer m.SetBackend(nil)
	seg, err := loadSeg(*segPath)
	if err != nil {
		return err
	}
	var logw io.Writer = os.Stderr
	if *quiet {
		logw = nil
	}
	opts := eval.Options{
		Model: m, Seg: seg, Source: src, N: *n, Size: *size, Group: *group,
		DiversityN: *divN, DiversityK: *divK, Seed: *seed, ClassNames: landscapeClassNames(), Log: logw,
	}
	var sheet *os.File
	if *samples != "" {
		if sheet, err = os.Create(*samples); err != nil {
			return err
		}
		defer sheet.Close()
		opts.Samples = sheet
	}
	rep, err := eval.Run(context.Background(), opts)
	if err != nil {
		return err
	}
	if sheet != nil {
		if err := sheet.Close(); err != nil {
			return err
		}
	}
	if *modelPath != "" {
		rep.Model = *modelPath
	}
	if *asJSON {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteTable(stdout)
}

func landscapeSource() (eval.PairSource, error) {
	if eval.Landscape == nil {
		return nil, errors.New("this build has no landscape generator (train/landscape) to draw held-out scenes from")
	}
	return eval.Landscape, nil
}

func loadEvalModel(path string) (*model.Model, error) {
	if path != "" {
		return model.Load(path)
	}
	b, ok := assets.DefaultModel()
	if !ok {
		return nil, errors.New("no default model is embedded in this build yet (make default-model): give --model")
	}
	m, err := model.LoadBytes(b)
	if err != nil {
		return nil, fmt.Errorf("embedded default model: %w", err)
	}
	m.Config.Name = "default (embedded)"
	return m, nil
}

func loadSeg(path string) (*eval.SegNet, error) {
	if path != "" {
		return eval.LoadSeg(path)
	}
	b, ok := assets.SegModel()
	if !ok {
		return nil, errors.New("no segmentation network is embedded in this build (make seg-model): give --seg")
	}
	s, err := eval.LoadSegBytes(b)
	if err != nil {
		return nil, fmt.Errorf("embedded segmentation network: %w", err)
	}
	return s, nil
}

func landscapeClassNames() []string {
	p, err := assets.Palette(assets.Landscape)
	if err != nil {
		return nil
	}
	var names []string
	for _, c := range p.Classes {
		for int(c.ID) >= len(names) {
			names = append(names, "")
		}
		names[c.ID] = c.Name
	}
	return names
}

func runEvalTrainSeg(args []string, stdout io.Writer) error {
	fs := newFlags("eval train-seg")
	out := fs.String("out", "assets/models/seg.safetensors", "segmentation network to write")
	ckpt := fs.String("checkpoint", "", "checkpoint with the Adam state, resumed from when it exists, removed when the run completes (default: spadepaint-seg-sSEED.ckpt in the temp folder)")
	steps := fs.Int("steps", 3000, "Adam steps")
	batch := fs.Int("batch", 8, "scenes per step")
	lr := fs.Float64("lr", 2e-3, "learning rate (decays to a tenth over the second half)")
	seed := fs.Int64("seed", 1, "seed of the initial weights and of the training scenes")
	balance := fs.Float64("balance", 0.5, "class weighting of the loss: (class frequency)^−balance; 0 for none")
	inSize := fs.Int("input", 128, "network input side (photos are resized to it)")
	dataSize := fs.Int("data-size", 256, "side of the generated training scenes")
	maxTime := fs.Duration("max-time", 0, "stop (checkpointed) after this long; run again to resume")
	evalN := fs.Int("eval-n", 200, "held-out scenes to score the result on")
	logEvery := fs.Int("log-every", 25, "steps between log lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := landscapeSource()
	if err != nil {
		return err
	}
	if *ckpt == "" {
		*ckpt = filepath.Join(os.TempDir(), fmt.Sprintf("spadepaint-seg-s%d.ckpt", *seed))
	}
	cfg := eval.DefaultSegConfig(len(landscapeClassNames()))
	cfg.Size = *inSize
	tr, err := eval.NewSegTrainer(eval.SegTrainOptions{
		Config: cfg, Source: src, DataSize: *dataSize, Steps: *steps, Batch: *batch, LR: *lr, Seed: *seed, Balance: *balance,
		Checkpoint: *ckpt, CheckpointEvery: 100, MaxTime: *maxTime, Log: stdout, LogEvery: *logEvery,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "segmentation network: %d parameters, input %d², %d classes, BLAS %s; from step %d of %d\n",
		tr.Net.NumParams(), cfg.Size, cfg.Classes, eval.BLASName, tr.Step, *steps)
	start := time.Now()
	if err := tr.Train(context.Background()); err != nil {
		return err
	}
	if tr.Step < *steps {
		fmt.Fprintf(stdout, "stopped at step %d of %d (%s): run the same command again to resume\n", tr.Step, *steps, time.Since(start).Round(time.Second))
		return nil
	}
	sc := eval.EvalSeg(tr.Net, src, *evalN, *dataSize, eval.EvalSeedBase)
	net := tr.Net
	net.Meta["trained_steps"] = strconv.Itoa(tr.Step)
	net.Meta["batch"] = strconv.Itoa(*batch)
	net.Meta["seed"] = strconv.FormatInt(*seed, 10)
	net.Meta["command"] = fmt.Sprintf("spadepaint eval train-seg --steps %d --batch %d --lr %g --seed %d --balance %g --input %d --data-size %d", *steps, *batch, *lr, *seed, *balance, *inSize, *dataSize)
	net.Meta["heldout_miou"] = strconv.FormatFloat(sc.MeanIoU, 'f', 4, 64)
	net.Meta["heldout_pixel_acc"] = strconv.FormatFloat(sc.PixelAccuracy, 'f', 4, 64)
	net.Meta["heldout_n"] = strconv.Itoa(*evalN)
	if err := net.Save(*out); err != nil {
		return err
	}
	if err := os.Remove(*ckpt); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: held-out mIoU %.1f%%, pixel accuracy %.1f%% (%d scenes)\n", *out, 100*sc.MeanIoU, 100*sc.PixelAccuracy, *evalN)
	return nil
}

func runEvalSeg(args []string, stdout io.Writer) error {
	fs := newFlags("eval seg")
	segPath := fs.String("seg", "", "segmentation network (.safetensors); default: the shipped one")
	n := fs.Int("n", 200, "held-out scenes")
	size := fs.Int("size", 256, "scene side")
	seed := fs.Int64("seed", 0, "offset of the held-out seeds")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := landscapeSource()
	if err != nil {
		return err
	}
	seg, err := loadSeg(*segPath)
	if err != nil {
		return err
	}
	sc := eval.EvalSeg(seg, src, *n, *size, eval.EvalSeedBase+*seed<<32)
	if *asJSON {
		iou := make([]eval.Num, len(sc.ClassIoU))
		for i, v := range sc.ClassIoU {
			iou[i] = eval.Num(v)
		}
		return json.NewEncoder(stdout).Encode(map[string]any{"miou": sc.MeanIoU, "pixel_acc": sc.PixelAccuracy, "class_iou": iou, "n": *n})
	}
	fmt.Fprintf(stdout, "segmentation network on %d held-out generator photos at %d²: mIoU %.1f%%, pixel accuracy %.1f%%\n", *n, *size, 100*sc.MeanIoU, 100*sc.PixelAccuracy)
	names := landscapeClassNames()
	for k, v := range sc.ClassIoU {
		if math.IsNaN(v) {
			continue
		}
		name := fmt.Sprintf("class %d", k)
		if k < len(names) {
			name = names[k]
		}
		fmt.Fprintf(stdout, "  %-14s %5.1f%%\n", name, 100*v)
	}
	return nil
}

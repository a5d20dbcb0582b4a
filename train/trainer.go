package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"spadepaint/model"
)

// Run folder layout.
const (
	ConfigFile = "config.json"
	LogFile    = "log.jsonl"
	ModelFile  = "model.safetensors"
	SampleDir  = "samples"
)

// ErrStopped is returned by Run when its context was cancelled: the
// state was checkpointed and the run can be resumed.
var ErrStopped = errors.New("training stopped")

// Progress is reported after every step.
type Progress struct {
	Step, Steps int // steps done, run length
	Epoch       float64
	Losses      Losses
	LRG, LRD    float64
	// StepTime is the last step's duration, Rate the mean steps/s of
	// this session and ETA the time left at that rate.
	StepTime time.Duration
	Rate     float64
	ETA      time.Duration
	// Event is set for a checkpoint ("checkpoint PATH"), a sample grid
	// ("samples PATH") or a warning.
	Event string
}

// LogEntry is one line of the run's log.jsonl.
type LogEntry struct {
	Step    int     `json:"step"`
	Epoch   float64 `json:"epoch"`
	LRG     float64 `json:"lr_G"`
	LRD     float64 `json:"lr_D"`
	Losses          // G_GAN, G_GAN_Feat, G_KLD, G_VGG, G_Colour, D_Fake, D_real
	Seconds float64 `json:"sec"`
	Skipped int     `json:"skipped,omitempty"`
}

// Trainer trains one run. Its methods must be called from one goroutine.
type Trainer struct {
	Options Options
	Dir     string
	// OnProgress, when set, is called after every step.
	OnProgress func(Progress)

	src    Source
	info   Info
	st     *state
	ld     *loader
	gs, ds *stepGraph
	lastCk string
}

// New starts a run in dir (created; it must not hold a run yet) on src.
// Weights start from opt.From when set, else fresh from opt.Seed.
func New(dir string, src Source, opt Options) (*Trainer, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a run: resume it, or choose another folder", dir)
	}
	c := opt.Model
	n := newNets(c, opt.Seed)
	switch {
	case opt.From != "" && isCheckpoint(opt.From):
		// A run's checkpoint brings its discriminator too, so a fine-tune
		// (another λ, more steps) keeps a trained D's features for the
		// feature-matching loss instead of relearning them. Adam's moments
		// and the step count start afresh: this is a new run.
		from, err := checkpointOptions(opt.From)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		if err := fitsFrom(opt.From, from.Model, c); err != nil {
			return nil, err
		}
		ck, _, err := loadCheckpoint(opt.From, from.Model)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		n.adopt(ck.nets)
	case opt.From != "":
		m, err := model.Load(opt.From)
		if err != nil {
			return nil, err
		}
		if err := fitsFrom(opt.From, m.Config, c); err != nil {
			return nil, err
		}
		if c.UseVAE && m.E == nil {
			return nil, fmt.Errorf("--from %s: the model has no style encoder", opt.From)
		}
		n.adopt(&nets{c: m.Config, G: m.G, E: m.E})
	}
	st := &state{nets: n}
	var err error
	if st.adamG, err = NewAdam(n.all(), n.learnedG(), opt.Beta1, opt.Beta2); err != nil {
		return nil, err
	}
	if st.adamD, err = NewAdam(n.all(), n.learnedD(), opt.Beta1, opt.Beta2); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	t := &Trainer{Options: opt, Dir: dir, src: src, st: st}
	if err := t.init(); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, ConfigFile), []byte(opt.json()+"\n")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, LogFile), nil, 0o644); err != nil {
		return nil, err
	}
	return t, nil
}

// ReadOptions reads a run's options from its folder.
func ReadOptions(dir string) (Options, error) {
	var opt Options
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return opt, fmt.Errorf("no run in %s: %w", dir, err)
	}
	if err := jsonUnmarshal(string(b), &opt); err != nil {
		return opt, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return opt, nil
}

// Resume continues the run in dir from its newest complete checkpoint
// (a damaged or half-written one is skipped, with a warning in the
// returned notes). opt are the run's options, normally ReadOptions(dir)
// with Steps possibly extended. The log loses the lines after the
// checkpoint, which the resumed run writes again.
func Resume(dir string, src Source, opt Options) (*Trainer, []string, error) {
	if err := opt.Validate(); err != nil {
		return nil, nil, err
	}
	var notes []string
	for _, n := range removeTemps(dir) {
		notes = append(notes, fmt.Sprintf("removed %s, a checkpoint whose writing never finished", n))
	}
	paths, err := checkpoints(dir)
	if err != nil {
		return nil, notes, err
	}
	var st *state
	var used string
	for _, p := range paths {
		s, _, err := loadCheckpoint(p, opt.Model)
		if err != nil {
			notes = append(notes, fmt.Sprintf("skipping checkpoint %s: %v", filepath.Base(p), err))
			continue
		}
		st, used = s, p
		break
	}
	t := &Trainer{Options: opt, Dir: dir, src: src}
	if st == nil {
		if len(paths) > 0 {
			return nil, notes, fmt.Errorf("no checkpoint of %s can be read", dir)
		}
		// Killed before its first checkpoint: start over.
		notes = append(notes, "no checkpoint yet: starting from step 0")
		n := newNets(opt.Model, opt.Seed)
		st = &state{nets: n}
		if st.adamG, err = NewAdam(n.all(), n.learnedG(), opt.Beta1, opt.Beta2); err != nil {
			return nil, notes, err
		}
		if st.adamD, err = NewAdam(n.all(), n.learnedD(), opt.Beta1, opt.Beta2); err != nil {
			return nil, notes, err
		}
		if opt.From != "" {
			return nil, notes, fmt.Errorf("the run started from %s but has no checkpoint: start it again", opt.From)
		}
	} else {
		notes = append(notes, fmt.Sprintf("resuming from %s (step %d)", filepath.Base(used), st.step))
	}
	// Adam's β may have been changed for the rest of the run.
	st.adamG.Beta1, st.adamG.Beta2 = opt.Beta1, opt.Beta2
	st.adamD.Beta1, st.adamD.Beta2 = opt.Beta1, opt.Beta2
	t.st, t.lastCk = st, used
	if err := t.init(); err != nil {
		return nil, notes, err
	}
	if err := truncateLog(filepath.Join(dir, LogFile), st.step); err != nil {
		return nil, notes, err
	}
	if err := writeFileAtomic(filepath.Join(dir, ConfigFile), []byte(opt.json()+"\n")); err != nil {
		return nil, notes, err
	}
	return t, notes, nil
}

// init checks the data against the model and builds the graphs.
func (t *Trainer) init() error {
	opt := t.Options
	c := opt.Model
	t.info = t.src.Info()
	if err := checkData(c, t.info); err != nil {
		return err
	}
	if t.src.Len() < 1 {
		return fmt.Errorf("the data set is empty")
	}
	if err := t.st.nets.check(); err != nil {
		return err
	}
	t.ld = &loader{src: t.src, info: t.info, c: c, aug: opt.Augment, seed: opt.Seed,
		batch: opt.Batch, accum: opt.Accum, ord: newOrder(opt.Seed, t.src.Len()),
		workers: max(1, opt.Workers), skipBad: opt.Data.SkipBad}
	if opt.StylePairs {
		sp, ok := t.src.(StylePartners)
		if !ok {
			return fmt.Errorf("style pairs: the %s data set has no photos of other scenes in an example's style (only generated data sets such as synthetic do)", t.info.Format)
		}
		t.ld.partners = sp
	}
	all := t.st.nets.all()
	lw := lossWeights{Feat: opt.LambdaFeat, KLD: opt.LambdaKLD, VGG: opt.LambdaVGG, Colour: opt.LambdaColour, Chroma: opt.ColourChroma}
	var err error
	if opt.VGG != "" && opt.LambdaVGG > 0 {
		if lw.vgg, err = LoadVGG(opt.VGG); err != nil {
			return err
		}
	}
	if t.gs, err = buildStep(c, opt.Batch, all, forG, lw, t.st.nets.learnedG()); err != nil {
		return fmt.Errorf("build the generator's training graph: %w", err)
	}
	if t.ds, err = buildStep(c, opt.Batch, all, forD, lw, t.st.nets.learnedD()); err != nil {
		return fmt.Errorf("build the discriminator's training graph: %w", err)
	}
	return nil
}

// Step is the number of steps done.
func (t *Trainer) Step() int { return t.st.step }

// Info describes the data being trained on.
func (t *Trainer) Info() Info { return t.info }

// Epoch is how many passes over the data s steps make.
func (t *Trainer) Epoch(s int) float64 {
	return float64(s*t.Options.Batch*t.Options.Accum) / float64(t.src.Len())
}

// Run trains until the run's last step, checkpointing every
// CheckpointEvery steps, drawing samples every SampleEvery, and at the end
// saves the last checkpoint and exports the model (G + E) to
// model.safetensors. When ctx is cancelled it checkpoints the last step
// done and returns ErrStopped.
func (t *Trainer) Run(ctx context.Context) error {
	opt := t.Options
	if t.st.step >= opt.Steps {
		return t.finish()
	}
	defer serialBLAS()()
	lctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := t.ld.start(lctx, t.st.step, opt.Steps, 2)
	logf, err := os.OpenFile(filepath.Join(t.Dir, LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	start, first := time.Now(), t.st.step
	for t.st.step < opt.Steps {
		if ctx.Err() != nil {
			return t.stop()
		}
		var r loaded
		select {
		case r = <-batches:
		case <-ctx.Done():
			return t.stop()
		}
		if r.err != nil {
			return fmt.Errorf("data for step %d: %w", t.st.step+1, r.err)
		}
		if r.b == nil {
			return fmt.Errorf("data loader stopped at step %d", t.st.step+1)
		}
		t0 := time.Now()
		losses, err := t.trainStep(r.b)
		if err != nil {
			return fmt.Errorf("step %d: %w", t.st.step+1, err)
		}
		dt := time.Since(t0)
		s := t.st.step - 1
		lrG, lrD := opt.LearningRates(s)
		e := LogEntry{Step: t.st.step, Epoch: t.Epoch(t.st.step), LRG: lrG, LRD: lrD, Losses: losses, Seconds: dt.Seconds(), Skipped: len(t.ld.skippedSoFar())}
		if bad := losses.nonFinite(); bad != "" {
			where := "no checkpoint was written yet"
			if t.lastCk != "" {
				where = "the last good checkpoint is " + t.lastCk
			}
			return fmt.Errorf("loss %s is not finite at step %d: stopping; %s", bad, t.st.step, where)
		}
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := logf.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("write the log: %w", err)
		}
		p := Progress{Step: t.st.step, Steps: opt.Steps, Epoch: e.Epoch, Losses: losses, LRG: lrG, LRD: lrD, StepTime: dt}
		if done := t.st.step - first; done > 0 {
			el := time.Since(start)
			p.Rate = float64(done) / el.Seconds()
			p.ETA = time.Duration(float64(opt.Steps-t.st.step) / p.Rate * float64(time.Second))
		}
		t.progress(p)
		if opt.CheckpointEvery > 0 && t.st.step%opt.CheckpointEvery == 0 && t.st.step < opt.Steps {
			if err := t.checkpoint(); err != nil {
				// The previous checkpoint is intact: say so and go on.
				t.progress(Progress{Step: t.st.step, Steps: opt.Steps, Event: fmt.Sprintf("warning: %v", err)})
			}
		}
		if opt.SampleEvery > 0 && t.st.step%opt.SampleEvery == 0 && t.st.step < opt.Steps {
			if path, err := t.Samples(); err != nil {
				t.progress(Progress{Step: t.st.step, Steps: opt.Steps, Event: fmt.Sprintf("warning: samples: %v", err)})
			} else {
				t.progress(Progress{Step: t.st.step, Steps: opt.Steps, Event: "samples " + path})
			}
		}
	}
	return t.finish()
}

func (t *Trainer) progress(p Progress) {
	if t.OnProgress != nil {
		t.OnProgress(p)
	}
}

// stop checkpoints after a cancellation.
func (t *Trainer) stop() error {
	if t.st.step > 0 && !t.checkpointed() {
		if err := t.checkpoint(); err != nil {
			return fmt.Errorf("%w at step %d, but %v", ErrStopped, t.st.step, err)
		}
	}
	return fmt.Errorf("%w at step %d (checkpoint %s)", ErrStopped, t.st.step, t.lastCk)
}

func (t *Trainer) checkpointed() bool {
	return t.lastCk != "" && filepath.Base(t.lastCk) == ckptName(t.st.step)
}

// finish writes the final checkpoint, samples and the exported model.
func (t *Trainer) finish() error {
	if !t.checkpointed() {
		if err := t.checkpoint(); err != nil {
			return err
		}
	}
	if path, err := t.Samples(); err != nil {
		t.progress(Progress{Step: t.st.step, Steps: t.Options.Steps, Event: fmt.Sprintf("warning: samples: %v", err)})
	} else {
		t.progress(Progress{Step: t.st.step, Steps: t.Options.Steps, Event: "samples " + path})
	}
	path := filepath.Join(t.Dir, ModelFile)
	if err := t.Export(path); err != nil {
		return err
	}
	t.progress(Progress{Step: t.st.step, Steps: t.Options.Steps, Event: "model " + path})
	return nil
}

// Checkpoint writes a checkpoint of the current step now.
func (t *Trainer) Checkpoint() error { return t.checkpoint() }

func (t *Trainer) checkpoint() error {
	path, err := saveCheckpoint(t.Dir, t.st, t.Options)
	if err != nil {
		prev := "no earlier checkpoint exists"
		if t.lastCk != "" {
			prev = "the previous checkpoint " + t.lastCk + " is intact"
		}
		return fmt.Errorf("checkpoint at step %d failed (%v); %s", t.st.step, err, prev)
	}
	t.lastCk = path
	t.progress(Progress{Step: t.st.step, Steps: t.Options.Steps, Event: "checkpoint " + path})
	return pruneCheckpoints(t.Dir, t.Options.Keep)
}

// Model returns the current generator and encoder as an inference model
// (sharing the weights: use it between steps only).
func (t *Trainer) Model() (*model.Model, error) {
	var e model.Params
	if t.Options.Model.UseVAE {
		e = t.st.nets.E
	}
	return model.NewModel(t.Options.Model, t.st.nets.G, e)
}

// Export saves the generator and encoder in the painter's model format,
// with a style encoder also the style prior fitted to the codes of the
// run's first StylePriorPhotos photos (random styles then look like the
// data's; `train export` fits one only with --style-prior).
func (t *Trainer) Export(path string) error {
	var e model.Params
	if t.Options.Model.UseVAE {
		e = t.st.nets.E.Clone()
	}
	m, err := model.NewModel(t.Options.Model, t.st.nets.G.Clone(), e)
	if err != nil {
		return err
	}
	// Random styles from the codes the run's photos get rather than from
	// N(0, I), which a light KL weight leaves bland (model.StylePrior).
	if m.HasEncoder() {
		if err := fitStylePrior(context.Background(), m, t.src, t.Options, StylePriorPhotos); err != nil {
			return fmt.Errorf("export %s: %w", path, err)
		}
	}
	return m.Save(path)
}

// trainStep makes one optimiser step of each network on b, as the
// official Pix2PixTrainer: the generator's step (encoder → z → generator
// → discriminator, G and E descend G_GAN + G_GAN_Feat + G_KLD), then the
// discriminator's on a fresh fake from the updated generator. Every
// forward is a training one: a power iteration of every spectral norm
// first, batch-norm running statistics after.
func (t *Trainer) trainStep(b *batch) (Losses, error) {
	opt := t.Options
	c := opt.Model
	n := t.st.nets
	s := t.st.step
	lrG, lrD := opt.LearningRates(s)
	all := n.all()
	scale := 1 / float32(len(b.micro))
	terms := map[string]float64{}
	eps := make([]float32, opt.Batch*c.ZDim)
	for _, w := range []which{forG, forD} {
		g := t.gs
		if w == forD {
			g = t.ds
		}
		grads := map[string][]float32{}
		for j, mb := range b.micro {
			if err := model.PowerIterate(all); err != nil {
				return Losses{}, err
			}
			if c.UseVAE {
				noise(opt.Seed, s, j, w, eps)
			}
			if err := g.run(mb.prep, eps, grads, scale, terms); err != nil {
				return Losses{}, fmt.Errorf("%s step: %w", w, err)
			}
			if err := model.UpdateBatchNorm(n.G, g.stats, model.BNMomentum); err != nil {
				return Losses{}, err
			}
		}
		var err error
		if w == forG {
			err = t.st.adamG.Update(all, grads, lrG)
		} else {
			err = t.st.adamD.Update(all, grads, lrD)
		}
		if err != nil {
			return Losses{}, err
		}
	}
	t.st.step++
	return Losses{GAN: terms["G_GAN"], GANFeat: terms["G_GAN_Feat"], KLD: terms["G_KLD"], VGG: terms["G_VGG"], Colour: terms["G_Colour"], DFake: terms["D_Fake"], DReal: terms["D_real"]}, nil
}

// nonFinite names a NaN or infinite loss term, or returns "".
func (l Losses) nonFinite() string {
	for name, v := range map[string]float64{"G_GAN": l.GAN, "G_GAN_Feat": l.GANFeat, "G_KLD": l.KLD, "G_VGG": l.VGG, "G_Colour": l.Colour, "D_Fake": l.DFake, "D_real": l.DReal} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return name
		}
	}
	return ""
}

// ReadLog reads a run's log.
func ReadLog(dir string) ([]LogEntry, error) {
	f, err := os.Open(filepath.Join(dir, LogFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLog(f)
}

func readLog(r io.Reader) ([]LogEntry, error) {
	var es []LogEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e LogEntry
		if err := json.Unmarshal(line, &e); err != nil {
			// A line cut short by a crash ends the log.
			break
		}
		es = append(es, e)
	}
	return es, sc.Err()
}

// truncateLog keeps the log lines of steps ≤ step.
func truncateLog(path string, step int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []byte
	for _, line := range strings.SplitAfter(string(b), "\n") {
		var e LogEntry
		if json.Unmarshal([]byte(strings.TrimSpace(line)), &e) != nil || !strings.HasSuffix(line, "\n") {
			continue
		}
		if e.Step <= step {
			keep = append(keep, line...)
		}
	}
	return writeFileAtomic(path, keep)
}

// writeFileAtomic writes through a temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

package train

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"

	"spadepaint/model"
)

// Options configure a training run. Start from DefaultOptions.
type Options struct {
	// Model is the config of the networks trained; its classes must
	// match the data (see ConfigForData).
	Model model.Config `json:"model"`
	// Data says where the examples come from, so that a resumed run
	// reopens the same data.
	Data DataSpec `json:"data"`

	// Batch is the number of examples per forward pass; Accum the number
	// of passes whose gradients are averaged into one optimiser step
	// (so a step sees Batch·Accum examples).
	Batch int `json:"batch"`
	Accum int `json:"accum"`
	// Steps is the run's length in optimiser steps.
	Steps int `json:"steps"`
	// DecaySteps: the learning rates fall linearly to 0 over the run's
	// last DecaySteps steps (official niter_decay, in steps); 0 keeps
	// them constant.
	DecaySteps int `json:"decay_steps"`

	// LR is the official --lr (2e-4). With TTUR (the official default)
	// the generator and encoder learn at LR/2 and the discriminator at
	// 2·LR; without, both at LR.
	LR   float64 `json:"lr"`
	TTUR bool    `json:"ttur"`
	// Beta1 and Beta2 are Adam's β: (0, 0.9) with TTUR officially,
	// (0.5, 0.999) without; the paper states (0, 0.999).
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`

	// LambdaFeat weighs the discriminator feature matching loss (10; 0
	// turns it off as --no_ganFeat_loss); LambdaKLD the KL divergence
	// (0.05).
	LambdaFeat float64 `json:"lambda_feat"`
	LambdaKLD  float64 `json:"lambda_kld"`
	// VGG is torchvision's VGG19 ImageNet weights (vgg19-dcbb9e9d.pth);
	// when set the generator also descends the VGG perceptual loss
	// weighed by LambdaVGG (official lambda_vgg, 10). Off by default.
	VGG       string  `json:"vgg,omitempty"`
	LambdaVGG float64 `json:"lambda_vgg,omitempty"`
	// LambdaColour weighs the colour loss: L1 between the generated and
	// real images pooled to a 16-cell-wide grid. Not in the paper (off by
	// default): a stand-in for the VGG loss's hold on a reconstruction's
	// colours when no VGG weights are at hand; see colourLoss.
	LambdaColour float64 `json:"lambda_colour,omitempty"`
	// ColourChroma, when positive, makes the colour loss compare luma and
	// two chroma channels (red–green, yellow–blue) instead of RGB, the
	// chroma channels weighed ColourChroma (1: about the RGB loss; more
	// asks harder for a style's tint). Not in the paper; see colourLoss.
	ColourChroma float64 `json:"colour_chroma,omitempty"`
	// StylePairs feeds the style encoder a photo of another scene in the
	// example's style instead of the example's own photo (data sets that
	// implement StylePartners: the synthetic landscapes). The generator
	// still renders the example's labels and is judged against its photo,
	// so the code can carry only what the two photos share: the style,
	// not the layout — what an encoded style photo is for in the app. Not
	// in the paper, whose encoder sees the photo being reconstructed (no
	// data set of photos pairs scenes by style). Off by default.
	StylePairs bool `json:"style_pairs,omitempty"`

	// Seed fixes the initial weights, the data order, the augmentation and
	// the VAE noise.
	Seed    int64   `json:"seed"`
	Augment Augment `json:"augment"`

	// CheckpointEvery, SampleEvery: steps between checkpoints and between
	// sample grids (0: only at the end). Keep is how many checkpoints
	// stay on disk.
	CheckpointEvery int `json:"checkpoint_every"`
	Keep            int `json:"keep"`
	SampleEvery     int `json:"sample_every"`
	// Samples is the number of examples in a sample grid and Styles the
	// number of random styles drawn for each.
	Samples int `json:"samples"`
	Styles  int `json:"styles"`
	// Workers read and augment examples ahead of the step.
	Workers int `json:"workers"`
	// From is the model file (G + E) the run started from, if any.
	From string `json:"from,omitempty"`
}

// DataSpec records how the data set was opened.
type DataSpec struct {
	Path      string `json:"path"`
	Format    string `json:"format"`
	ADERawIDs bool   `json:"ade_raw_ids,omitempty"`
	SkipBad   bool   `json:"skip_bad,omitempty"`
}

// DefaultOptions are the official training settings (hinge GAN loss,
// feature matching λ 10, KLD λ 0.05, TTUR Adam at lr 2e-4 with
// β = (0, 0.9), flips and 286 → 256 crops) for the model c.
func DefaultOptions(c model.Config) Options {
	return Options{
		Model: c, Batch: 1, Accum: 1, Steps: 1000,
		LR: 2e-4, TTUR: true, Beta1: 0, Beta2: 0.9,
		LambdaFeat: 10, LambdaKLD: 0.05, LambdaVGG: 10,
		Seed:    1,
		Augment: Augment{LoadScale: DefaultLoadScale},
		Keep:    3, Samples: 4, Styles: 3,
		Workers: runtime.GOMAXPROCS(0),
	}
}

// Validate reports the first bad option.
func (o *Options) Validate() error {
	if err := o.Model.Validate(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	switch {
	case o.Batch < 1:
		return fmt.Errorf("batch %d must be positive", o.Batch)
	case o.Accum < 1:
		return fmt.Errorf("accumulation %d must be positive", o.Accum)
	case o.Steps < 1:
		return fmt.Errorf("steps %d must be positive", o.Steps)
	case o.DecaySteps < 0 || o.DecaySteps > o.Steps:
		return fmt.Errorf("decay over %d steps does not fit a %d-step run", o.DecaySteps, o.Steps)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("learning rate %g must be positive", o.LR)
	case o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1:
		return fmt.Errorf("Adam β (%g, %g) must lie in [0, 1)", o.Beta1, o.Beta2)
	case o.LambdaFeat < 0 || o.LambdaKLD < 0 || o.LambdaVGG < 0 || o.LambdaColour < 0:
		return fmt.Errorf("loss weights must not be negative")
	case o.ColourChroma < 0 || math.IsInf(o.ColourChroma, 0) || math.IsNaN(o.ColourChroma):
		return fmt.Errorf("colour chroma weight %g must be 0 (RGB) or positive", o.ColourChroma)
	case o.StylePairs && !o.Model.UseVAE:
		return fmt.Errorf("style pairs need a style encoder (the model has no VAE)")
	case o.Keep < 1:
		return fmt.Errorf("keep %d checkpoints: must be at least 1", o.Keep)
	case o.CheckpointEvery < 0 || o.SampleEvery < 0:
		return fmt.Errorf("checkpoint and sample intervals must not be negative")
	}
	if o.Model.Norm == model.BatchNorm {
		sh, sw := o.Model.LatentSize()
		if o.Batch*sh*sw < 2 {
			return fmt.Errorf("batch norm needs more than one value per channel: batch %d at the %d×%d latent grid (use a larger batch or size, or instance norm)", o.Batch, sw, sh)
		}
	}
	return nil
}

// LearningRates are the generator's and discriminator's rates at step s
// (0-based): constant, then falling linearly to 0 over the last
// DecaySteps, TTUR splitting them as the official trainer.
func (o *Options) LearningRates(s int) (g, d float64) {
	f := 1.0
	if o.DecaySteps > 0 {
		start := o.Steps - o.DecaySteps
		if s > start {
			f = 1 - float64(s-start)/float64(o.DecaySteps)
		}
	}
	lr := o.LR * f
	if o.TTUR {
		return lr / 2, lr * 2
	}
	return lr, lr
}

// ConfigForData adapts a model config to a data set: its classes,
// "don't care" label, instance maps and aspect ratio.
func ConfigForData(c model.Config, info Info) model.Config {
	c.LabelNC = info.LabelNC
	c.ContainDontCare = info.DontCare
	c.Instance = info.Instance
	if info.AspectRatio > 0 {
		c.AspectRatio = info.AspectRatio
	}
	return c
}

// checkData verifies that the data fits the model.
func checkData(c model.Config, info Info) error {
	switch {
	case info.LabelNC != c.LabelNC:
		return fmt.Errorf("the data has %d classes, the model %d", info.LabelNC, c.LabelNC)
	case info.DontCare && !c.ContainDontCare:
		return fmt.Errorf("the data has a \"don't care\" label, the model no channel for it")
	case c.Instance && !info.Instance:
		return fmt.Errorf("the model takes instance edges, the data has no instance maps")
	}
	return nil
}

func (o Options) json() string {
	b, _ := json.MarshalIndent(o, "", "  ")
	return string(b)
}

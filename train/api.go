package train

import (
	"context"
	"fmt"

	"spadepaint/model"
	"spadepaint/model/safetensors"
)

// Checkpoints lists the complete checkpoints of the run in dir, newest
// first (none, without error, when the folder holds no run), so that a
// front end can offer to resume it.
func Checkpoints(dir string) ([]string, error) { return checkpoints(dir) }

// CheckpointModel reads the generator and encoder of a training checkpoint
// (a run's checkpoints/step-N.safetensors) as a model, for evaluating or
// shipping a run's state at that step.
func CheckpointModel(path string) (*model.Model, error) {
	// The header names the model; the tensors are read once, by
	// loadCheckpoint.
	opt, err := checkpointOptions(path)
	if err != nil {
		return nil, err
	}
	st, _, err := loadCheckpoint(path, opt.Model)
	if err != nil {
		return nil, err
	}
	var e model.Params
	if opt.Model.UseVAE {
		e = st.nets.E
	}
	return model.NewModel(opt.Model, st.nets.G, e)
}

// checkpointOptions reads the run options a checkpoint's header holds.
func checkpointOptions(path string) (Options, error) {
	var opt Options
	md, err := safetensors.ReadMetadataFile(path)
	if err != nil {
		return opt, err
	}
	if md[metaFormat] != ckptFormat {
		return opt, fmt.Errorf("%s is not a spadepaint training checkpoint (format %q)", path, md[metaFormat])
	}
	if err := jsonUnmarshal(md[metaOptions], &opt); err != nil {
		return opt, fmt.Errorf("%s: options: %w", path, err)
	}
	return opt, nil
}

// FromConfig is the model config of what `train --from` accepts: read
// from a checkpoint's header alone, or from a model file.
func FromConfig(path string) (model.Config, error) {
	if isCheckpoint(path) {
		opt, err := checkpointOptions(path)
		return opt.Model, err
	}
	m, err := model.Load(path)
	if err != nil {
		return model.Config{}, err
	}
	return m.Config, nil
}

// FitStylePrior fits m's style prior (model.StylePrior) to the encoder's
// codes for the first n photos of the data the checkpoint's run trained
// on, cropped and sized as the trainer's sample grids take them.
func FitStylePrior(ctx context.Context, m *model.Model, checkpoint string, n int) error {
	opt, err := checkpointOptions(checkpoint)
	if err != nil {
		return err
	}
	c := m.Config
	src, err := Open(opt.Data.Path, OpenOptions{Format: opt.Data.Format, ADERawIDs: opt.Data.ADERawIDs, SkipBad: opt.Data.SkipBad, Size: c.Width, Seed: opt.Seed})
	if err != nil {
		return fmt.Errorf("style prior: %w", err)
	}
	return fitStylePrior(ctx, m, src, opt, n)
}

// StylePriorPhotos is how many of a run's photos the style prior of the
// model a run exports (RUN/model.safetensors, the Train tab's model) is
// fitted to.
const StylePriorPhotos = 500

// fitStylePrior fits m's style prior to the codes of the first n photos
// of src, taken as a run with options opt takes its sample grids' photos.
func fitStylePrior(ctx context.Context, m *model.Model, src Source, opt Options, n int) error {
	if !m.HasEncoder() {
		return fmt.Errorf("style prior: the model has no style encoder")
	}
	c := m.Config
	n = min(n, src.Len())
	w, h := c.Width, c.Height()
	cr := centerCrop(src.Info(), opt.Augment, w, h)
	var mus, logvars []float32
	for i := 0; i < n; i++ {
		ex, err := src.Example(i)
		if err != nil {
			return fmt.Errorf("style prior: %w", err)
		}
		img := &model.Image{N: 1, H: h, W: w, Pix: cr.applyImage(ex.Image, w, h)}
		mu, lv, err := m.Encode(ctx, img)
		if err != nil {
			return fmt.Errorf("style prior: %s: %w", ex.Name, err)
		}
		mus, logvars = append(mus, mu...), append(logvars, lv...)
	}
	p, err := model.FitStylePrior(c.ZDim, mus, logvars)
	if err != nil {
		return err
	}
	m.Prior = p
	return nil
}

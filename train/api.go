package train

import (
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

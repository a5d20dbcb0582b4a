package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gorgonia.org/tensor"

	"spadepaint/model"
	"spadepaint/model/nd"
	"spadepaint/model/safetensors"
)

// A checkpoint is one .safetensors file holding everything a run needs
// to continue exactly: the three networks' weights and buffers (spectral
// norm u and v, batch-norm running statistics) under "G/", "E/" and "D/"
// plus their official keys, both optimisers' moments under
// "adamG/m/KEY", "adamG/v/KEY", "adamD/…", and in the metadata the step,
// the optimisers' step counts and the run's options. The data order,
// augmentation and noise are functions of the seed and the step, so the
// step is the whole random state.
const (
	ckptFormat  = "spadepaint-train/1"
	ckptDir     = "checkpoints"
	ckptPrefix  = "step-"
	ckptSuffix  = ".safetensors"
	metaFormat  = "format"
	metaStep    = "step"
	metaAdamG   = "adamG.steps"
	metaAdamD   = "adamD.steps"
	metaOptions = "options"
)

// state is what a checkpoint restores.
type state struct {
	step         int
	nets         *nets
	adamG, adamD *Adam
}

func ckptName(step int) string { return fmt.Sprintf("%s%08d%s", ckptPrefix, step, ckptSuffix) }

// saveCheckpoint writes st to dir/checkpoints/step-N.safetensors
// atomically (temporary file, fsync, rename) and returns its path.
func saveCheckpoint(dir string, st *state, opt Options) (string, error) {
	tensors := map[string]*nd.Array{}
	add := func(prefix string, p model.Params) error {
		for k, t := range p {
			a, err := arrayOf(t)
			if err != nil {
				return fmt.Errorf("%s%s: %w", prefix, k, err)
			}
			tensors[prefix+k] = a
		}
		return nil
	}
	if err := add("G/", st.nets.G); err != nil {
		return "", err
	}
	if err := add("E/", st.nets.E); err != nil {
		return "", err
	}
	if err := add("D/", st.nets.D); err != nil {
		return "", err
	}
	for name, a := range map[string]*Adam{"adamG": st.adamG, "adamD": st.adamD} {
		for _, k := range a.Keys {
			shape := st.nets.shapeOf(k)
			m, err := nd.NewF32(shape, a.M[k])
			if err != nil {
				return "", err
			}
			v, err := nd.NewF32(shape, a.V[k])
			if err != nil {
				return "", err
			}
			tensors[name+"/m/"+k], tensors[name+"/v/"+k] = m, v
		}
	}
	meta := map[string]string{
		metaFormat:  ckptFormat,
		metaStep:    strconv.Itoa(st.step),
		metaAdamG:   strconv.FormatInt(st.adamG.Steps, 10),
		metaAdamD:   strconv.FormatInt(st.adamD.Steps, 10),
		metaOptions: opt.json(),
	}
	if err := os.MkdirAll(filepath.Join(dir, ckptDir), 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, ckptDir, ckptName(st.step))
	if err := safetensors.WriteFile(path, nil, tensors, meta); err != nil {
		return "", err
	}
	syncDir(filepath.Join(dir, ckptDir))
	return path, nil
}

// syncDir makes a rename durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// arrayOf copies a parameter into an nd.Array.
func arrayOf(t *tensor.Dense) (*nd.Array, error) {
	shape := []int(t.Shape())
	if t.IsScalar() {
		shape = []int{}
	}
	switch d := t.Data().(type) {
	case []float32:
		return nd.NewF32(shape, append([]float32(nil), d...))
	case float32:
		return nd.NewF32(shape, []float32{d})
	case []int64:
		return nd.NewI64(shape, append([]int64(nil), d...))
	case int64:
		return nd.NewI64(shape, []int64{d})
	}
	return nil, fmt.Errorf("unsupported dtype %v", t.Dtype())
}

// checkpoints lists dir's checkpoints, newest first.
func checkpoints(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, ckptDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type ck struct {
		step int
		path string
	}
	var cks []ck
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, ckptPrefix) || !strings.HasSuffix(n, ckptSuffix) {
			continue
		}
		s, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(n, ckptPrefix), ckptSuffix))
		if err != nil {
			continue
		}
		cks = append(cks, ck{s, filepath.Join(dir, ckptDir, n)})
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].step > cks[j].step })
	paths := make([]string, len(cks))
	for i, c := range cks {
		paths[i] = c.path
	}
	return paths, nil
}

// removeTemps deletes the temporary files of saves that never finished
// (a run killed while writing a checkpoint).
func removeTemps(dir string) []string {
	ents, _ := os.ReadDir(filepath.Join(dir, ckptDir))
	var removed []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "."+ckptPrefix) && strings.Contains(n, ".tmp") {
			if os.Remove(filepath.Join(dir, ckptDir, n)) == nil {
				removed = append(removed, n)
			}
		}
	}
	return removed
}

// pruneCheckpoints keeps the newest keep checkpoints.
func pruneCheckpoints(dir string, keep int) error {
	paths, err := checkpoints(dir)
	if err != nil {
		return err
	}
	for _, p := range paths[min(keep, len(paths)):] {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

// isCheckpoint tells whether path is a run's training checkpoint (as
// opposed to a model file) by its header alone.
func isCheckpoint(path string) bool {
	md, err := safetensors.ReadMetadataFile(path)
	return err == nil && md[metaFormat] == ckptFormat
}

// loadCheckpoint reads a checkpoint into a state for config c.
func loadCheckpoint(path string, c model.Config) (*state, Options, error) {
	var opt Options
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, opt, err
	}
	if f.Metadata[metaFormat] != ckptFormat {
		return nil, opt, fmt.Errorf("%s is not a spadepaint training checkpoint (format %q)", path, f.Metadata[metaFormat])
	}
	if err := jsonUnmarshal(f.Metadata[metaOptions], &opt); err != nil {
		return nil, opt, fmt.Errorf("%s: options: %w", path, err)
	}
	if c.JSON() != opt.Model.JSON() {
		return nil, opt, fmt.Errorf("%s holds a model %s, the run %s", path, opt.Model.JSON(), c.JSON())
	}
	st := &state{nets: &nets{c: c, G: model.Params{}, E: model.Params{}, D: model.Params{}}}
	if st.step, err = strconv.Atoi(f.Metadata[metaStep]); err != nil {
		return nil, opt, fmt.Errorf("%s: bad step: %w", path, err)
	}
	moments := map[string]map[string][]float32{}
	for name, a := range f.Tensors {
		net, key, ok := strings.Cut(name, "/")
		if !ok {
			return nil, opt, fmt.Errorf("%s: unexpected tensor %s", path, name)
		}
		switch net {
		case "G", "E", "D":
			t, err := denseOf(a)
			if err != nil {
				return nil, opt, fmt.Errorf("%s: %s: %w", path, name, err)
			}
			map[string]model.Params{"G": st.nets.G, "E": st.nets.E, "D": st.nets.D}[net][key] = t
		case "adamG", "adamD":
			if a.DType != nd.Float32 {
				return nil, opt, fmt.Errorf("%s: %s is %v", path, name, a.DType)
			}
			if moments[net+"/"+key[:2]] == nil {
				moments[net+"/"+key[:2]] = map[string][]float32{}
			}
			moments[net+"/"+key[:2]][key[2:]] = a.F32
		default:
			return nil, opt, fmt.Errorf("%s: unexpected tensor %s", path, name)
		}
	}
	if !c.UseVAE {
		st.nets.E = nil
	}
	if err := st.nets.check(); err != nil {
		return nil, opt, fmt.Errorf("%s: %w", path, err)
	}
	mk := func(name string, keys []string, meta string) (*Adam, error) {
		a, err := NewAdam(st.nets.all(), keys, opt.Beta1, opt.Beta2)
		if err != nil {
			return nil, err
		}
		if a.Steps, err = strconv.ParseInt(f.Metadata[meta], 10, 64); err != nil {
			return nil, fmt.Errorf("bad %s: %w", meta, err)
		}
		for _, k := range keys {
			m, v := moments[name+"/m/"][k], moments[name+"/v/"][k]
			if len(m) != len(a.M[k]) || len(v) != len(a.V[k]) {
				return nil, fmt.Errorf("%s moments of %s missing or mis-sized", name, k)
			}
			a.M[k], a.V[k] = m, v
		}
		return a, nil
	}
	if st.adamG, err = mk("adamG", st.nets.learnedG(), metaAdamG); err != nil {
		return nil, opt, fmt.Errorf("%s: %w", path, err)
	}
	if st.adamD, err = mk("adamD", st.nets.learnedD(), metaAdamD); err != nil {
		return nil, opt, fmt.Errorf("%s: %w", path, err)
	}
	return st, opt, nil
}

// denseOf copies an array into a tensor (scalars as gorgonia scalars).
func denseOf(a *nd.Array) (*tensor.Dense, error) {
	if len(a.Shape) == 0 {
		switch a.DType {
		case nd.Float32:
			return tensor.New(tensor.FromScalar(a.F32[0])), nil
		case nd.Int64:
			return tensor.New(tensor.FromScalar(a.I64[0])), nil
		}
	}
	switch a.DType {
	case nd.Float32:
		return tensor.New(tensor.WithShape(a.Shape...), tensor.WithBacking(a.F32)), nil
	case nd.Int64:
		return tensor.New(tensor.WithShape(a.Shape...), tensor.WithBacking(a.I64)), nil
	}
	return nil, fmt.Errorf("unsupported dtype %v", a.DType)
}

// shapeOf returns a parameter's shape.
func (n *nets) shapeOf(k string) []int {
	for _, p := range []model.Params{n.G, n.E, n.D} {
		if t, ok := p[k]; ok {
			return []int(t.Shape())
		}
	}
	return nil
}

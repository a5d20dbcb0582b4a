package model

import (
	"fmt"
	"strings"

	"gorgonia.org/tensor"

	"spadepaint/model/nd"
	"spadepaint/model/safetensors"
)

// Checkpoint metadata keys. The tensors themselves are named by their
// official state_dict keys; generator and encoder keys never collide
// (fc.*, head_0.* … versus layerK.*, fc_mu.*, fc_var.*), so one file holds
// both as the official code's two .pth files would.
const (
	metaFormat = "format"
	metaConfig = "spadepaint.config"
	formatName = "spadepaint-model/1"
)

// Save writes the model's generator and encoder weights, with the config
// as JSON metadata, to a .safetensors file (atomically).
func (m *Model) Save(path string) error {
	names, tensors, err := toArrays(m.G, m.E)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	meta := map[string]string{metaFormat: formatName, metaConfig: m.Config.JSON()}
	if err := safetensors.WriteFile(path, names, tensors, meta); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// Load reads a model saved by Save (or exported by the trainer).
func Load(path string) (*Model, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	m, err := fromFile(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, nil
}

// LoadBytes reads a model held in memory (the embedded default model).
func LoadBytes(data []byte) (*Model, error) {
	f, err := safetensors.ReadBytes(data)
	if err != nil {
		return nil, err
	}
	return fromFile(f)
}

func fromFile(f *safetensors.File) (*Model, error) {
	cs, ok := f.Metadata[metaConfig]
	if !ok {
		return nil, fmt.Errorf("no %q metadata: not a spadepaint model (official .pth files go through `spadepaint import`)", metaConfig)
	}
	c, err := ParseConfig(cs)
	if err != nil {
		return nil, err
	}
	g, e := Params{}, Params{}
	for name, a := range f.Tensors {
		t, err := toDense(a)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		if isEncoderKey(name) {
			e[name] = t
		} else {
			g[name] = t
		}
	}
	if len(e) == 0 {
		e = nil
	}
	return NewModel(c, g, e)
}

// isEncoderKey tells the encoder's keys from the generator's.
func isEncoderKey(k string) bool {
	return strings.HasPrefix(k, "layer") || strings.HasPrefix(k, "fc_mu.") || strings.HasPrefix(k, "fc_var.")
}

// toArrays flattens param sets into named arrays, sorted by key.
func toArrays(sets ...Params) ([]string, map[string]*nd.Array, error) {
	var names []string
	tensors := map[string]*nd.Array{}
	for _, p := range sets {
		for _, k := range p.Keys() {
			if _, dup := tensors[k]; dup {
				return nil, nil, fmt.Errorf("key %s in two networks", k)
			}
			a, err := toArray(p[k])
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", k, err)
			}
			names = append(names, k)
			tensors[k] = a
		}
	}
	return names, tensors, nil
}

// toArray shares t's data with an nd.Array.
func toArray(t *tensor.Dense) (*nd.Array, error) {
	shape := []int(t.Shape())
	if t.IsScalar() {
		shape = []int{}
	}
	switch d := t.Data().(type) {
	case []float32:
		return nd.NewF32(shape, d)
	case float32:
		return nd.NewF32(shape, []float32{d})
	case []int64:
		return nd.NewI64(shape, d)
	case int64:
		return nd.NewI64(shape, []int64{d})
	}
	return nil, fmt.Errorf("unsupported dtype %v", t.Dtype())
}

// toDense wraps an nd.Array as a tensor (a PyTorch scalar becomes a
// gorgonia scalar).
func toDense(a *nd.Array) (*tensor.Dense, error) {
	if len(a.Shape) == 0 {
		switch a.DType {
		case nd.Float32:
			return tensor.New(tensor.FromScalar(a.F32[0])), nil
		case nd.Int64:
			return tensor.New(tensor.FromScalar(a.I64[0])), nil
		}
	}
	for _, d := range a.Shape {
		if d == 0 {
			return nil, fmt.Errorf("empty tensor %s", nd.ShapeString(a.Shape))
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

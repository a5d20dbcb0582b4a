package model

import (
	"fmt"
	"math"
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
// as JSON metadata, to a .safetensors file (atomically), all in float32.
func (m *Model) Save(path string) error {
	return m.SaveWith(path, SaveOptions{})
}

// WeightType is the element type a model file stores its weights in.
type WeightType int

const (
	// WeightsF32 stores every tensor bit-exact, as float32 (int64 for the
	// batch-norm counters).
	WeightsF32 WeightType = iota
	// WeightsF16 stores the learned tensors (conv and linear weights,
	// spectral norm's weight_orig, biases) as IEEE float16, rounded to
	// nearest even, halving the file. The buffers stay float32: batch-norm
	// running_mean/running_var and spectral norm's u/v are a few KB in
	// all, and they are the values whose error would be amplified (1/√var
	// scales every activation of a layer, σ = uᵀWv divides a whole weight),
	// so they are kept exact rather than argued safe. A learned tensor with
	// a finite value beyond float16's ±65504 stays float32 too, since
	// rounding it to Inf would break the model. Load reads either kind of
	// file, and mixed files, without being told.
	WeightsF16
)

func (w WeightType) String() string {
	switch w {
	case WeightsF32:
		return "float32"
	case WeightsF16:
		return "float16"
	}
	return fmt.Sprintf("WeightType(%d)", int(w))
}

// SaveOptions tunes SaveWith; the zero value is what Save writes.
type SaveOptions struct {
	Weights WeightType
}

// SaveWith is Save with a choice of weight type. The tensors and metadata
// are those Save writes; only the element type of the float16 tensors
// differs (and with it their place in the file: the format lays tensors
// out widest type first, then by name).
func (m *Model) SaveWith(path string, o SaveOptions) error {
	names, tensors, err := toArrays(m.G, m.E)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	var wo safetensors.WriteOptions
	switch o.Weights {
	case WeightsF32:
	case WeightsF16:
		wo.Half = m.halfTensors(tensors)
	default:
		return fmt.Errorf("save %s: unknown weight type %v", path, o.Weights)
	}
	meta := map[string]string{metaFormat: formatName, metaConfig: m.Config.JSON()}
	if m.Prior != nil {
		meta[metaPrior] = m.Prior.json()
	}
	if err := safetensors.WriteFileWith(path, names, tensors, meta, wo); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// halfTensors picks the tensors WeightsF16 stores as float16: the learned
// ones whose finite values all fit float16's range (see WeightsF16).
func (m *Model) halfTensors(tensors map[string]*nd.Array) map[string]bool {
	specs := GeneratorSpecs(m.Config)
	if m.E != nil {
		specs = append(specs, EncoderSpecs(m.Config)...)
	}
	half := map[string]bool{}
	for _, s := range specs {
		a, ok := tensors[s.Key]
		if !ok || !s.Kind.Learned() || a.DType != nd.Float32 || !fitsHalf(a.F32) {
			continue
		}
		half[s.Key] = true
	}
	return half
}

// fitsHalf reports whether float16 holds every finite value of x without
// overflowing to Inf (NaN and ±Inf convert to themselves).
func fitsHalf(x []float32) bool {
	for _, v := range x {
		if h := nd.Float32ToHalf(v); h&0x7fff == 0x7c00 && !math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
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
	m, err := NewModel(c, g, e)
	if err != nil {
		return nil, err
	}
	if ps, ok := f.Metadata[metaPrior]; ok {
		if m.Prior, err = parsePrior(ps, c.ZDim); err != nil {
			return nil, err
		}
	}
	return m, nil
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

package pth

import (
	"fmt"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// elemType is the element type of a PyTorch storage.
type elemType struct {
	name  string // PyTorch storage class, for messages
	size  int    // bytes per element
	float bool   // converts to float32, else to int64
}

var storageTypes = map[string]elemType{
	"FloatStorage":    {"FloatStorage", 4, true},
	"DoubleStorage":   {"DoubleStorage", 8, true},
	"HalfStorage":     {"HalfStorage", 2, true},
	"BFloat16Storage": {"BFloat16Storage", 2, true},
	"LongStorage":     {"LongStorage", 8, false},
	"IntStorage":      {"IntStorage", 4, false},
	"ShortStorage":    {"ShortStorage", 2, false},
	"CharStorage":     {"CharStorage", 1, false},
	"ByteStorage":     {"ByteStorage", 1, false},
	"BoolStorage":     {"BoolStorage", 1, false},
	"UntypedStorage":  {"UntypedStorage", 1, false}, // raw bytes, as uint8
}

// storageClass is what the pickle's torch.FloatStorage (and so on) global
// resolves to. It is only ever used as a tag inside a persistent ID.
type storageClass struct {
	module, name string
	elem         elemType
	ok           bool // false for storage types this package cannot convert
}

// rootStorage is one storage record of the file: a zip entry, or one block
// of raw data after the pickles of a legacy file.
type rootStorage struct {
	key   string
	elem  elemType
	numel int
	data  []byte // filled in after unpickling, numel*elem.size bytes
}

// fits checks that the storage's declared size is no larger than the whole
// file, before anything multiplies or allocates with it.
func (s *rootStorage) fits(fileSize int64) error {
	if int64(s.numel) > fileSize/int64(s.elem.size) {
		return fmt.Errorf("storage %q declares %d %s elements, more than the %d byte file can hold",
			s.key, s.numel, s.elem.name, fileSize)
	}
	return nil
}

// storageView is what a tensor indexes: a whole root storage, or (in old
// legacy files) a window into one.
type storageView struct {
	root   *rootStorage
	offset int // in elements
	numel  int
}

// tensorRef is a tensor as the pickle describes it: a strided view of a
// storage. Materialising it is left until the storages are read.
type tensorRef struct {
	view   *storageView
	offset int
	size   []int
	stride []int
}

// PySetState ignores state set on a tensor (the Python attributes of a
// tensor subclass), which carries no weights.
func (*tensorRef) PySetState(any) error { return nil }

// opaque stands for any class or object the loader has no use for: epoch
// counters wrapped in numpy scalars, argparse.Namespace hyper-parameters,
// optimizer classes. Unpickling never runs code, so these are inert; they
// only need to absorb the calls and state the pickle applies to them.
type opaque struct{ module, name string }

func (o *opaque) Call(...any) (any, error)    { return o, nil }
func (o *opaque) PyNew(...any) (any, error)   { return o, nil }
func (o *opaque) PySetState(any) error        { return nil }
func (o *opaque) PyDictSet(_, _ any) error    { return nil }
func (o *opaque) PySetAttr(string, any) error { return nil }

// callable adapts a function to the pickle's REDUCE.
type callable func(args ...any) (any, error)

func (f callable) Call(args ...any) (any, error) { return f(args...) }

// findClass resolves the globals a checkpoint refers to. Nothing is
// imported or run: torch's tensor and storage builders become the small
// functions below, and every other class becomes an inert placeholder.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		return callable(rebuildTensor), nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return callable(rebuildParameter), nil
	case "torch._tensor._rebuild_from_type_v2", "torch._tensor._rebuild_from_type":
		return callable(rebuildFromType), nil
	case "copyreg._reconstructor":
		return &types.Reconstructor{}, nil
	case "builtins.object":
		return &types.ObjectClass{}, nil
	}
	if module == "torch" && strings.HasSuffix(name, "Storage") {
		elem, ok := storageTypes[name]
		return &storageClass{module: module, name: name, elem: elem, ok: ok}, nil
	}
	if module == "torch._utils" && strings.HasPrefix(name, "_rebuild_") {
		// Sparse, quantized, meta and other exotic tensors: refusing is
		// better than silently dropping a weight.
		return callable(func(...any) (any, error) {
			return nil, fmt.Errorf("unsupported tensor type (torch._utils.%s)", name)
		}), nil
	}
	return &opaque{module: module, name: name}, nil
}

func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want at least 4", len(args))
	}
	view, ok := args[0].(*storageView)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: storage argument is %T", args[0])
	}
	offset, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: storage offset is %T", args[1])
	}
	size, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: size: %w", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: stride: %w", err)
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor: size %v and stride %v differ in length", size, stride)
	}
	return &tensorRef{view: view, offset: offset, size: size, stride: stride}, nil
}

// maxDims bounds tensor rank; PyTorch tensors rarely exceed 8 dimensions.
const maxDims = 64

func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%T, want a tuple", v)
	}
	if t.Len() > maxDims {
		return nil, fmt.Errorf("%d dimensions, more than %d", t.Len(), maxDims)
	}
	out := make([]int, t.Len())
	for i := range out {
		n, ok := t.Get(i).(int)
		if !ok {
			return nil, fmt.Errorf("element %d is %T, want an int", i, t.Get(i))
		}
		out[i] = n
	}
	return out, nil
}

// rebuildParameter unwraps an nn.Parameter to its tensor.
func rebuildParameter(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	if _, ok := args[0].(*tensorRef); !ok {
		return nil, fmt.Errorf("_rebuild_parameter: data is %T, want a tensor", args[0])
	}
	return args[0], nil
}

// rebuildFromType handles tensor subclasses: it rebuilds the plain tensor
// (func(*args)) and drops the subclass.
func rebuildFromType(args ...any) (any, error) {
	if len(args) < 3 {
		return nil, fmt.Errorf("_rebuild_from_type: %d arguments, want at least 3", len(args))
	}
	fn, ok := args[0].(types.Callable)
	if !ok {
		return nil, fmt.Errorf("_rebuild_from_type: function is %T", args[0])
	}
	fargs, ok := args[2].(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("_rebuild_from_type: arguments are %T, want a tuple", args[2])
	}
	return fn.Call(*fargs...)
}

// storages tracks the root storages a pickle refers to, by key.
type storages struct {
	byKey map[string]*rootStorage
	order []*rootStorage // first reference first
	// legacy is set for the non-zip format, whose persistent IDs carry a
	// sixth field with storage-view metadata.
	legacy bool
	views  map[string]*storageView
}

func newStorages(legacy bool) *storages {
	return &storages{byKey: map[string]*rootStorage{}, legacy: legacy, views: map[string]*storageView{}}
}

// persistentLoad resolves a persistent ID of the form
// ('storage', storage_type, key, location, numel[, view_metadata]).
func (s *storages) persistentLoad(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() == 0 {
		return nil, fmt.Errorf("persistent ID is %T, want a tuple", pid)
	}
	if kind, _ := t.Get(0).(string); kind != "storage" {
		if s.legacy && kind == "module" {
			// Legacy files pickle whole modules' source code this way;
			// the module object itself is of no use here.
			return &opaque{module: "module"}, nil
		}
		return nil, fmt.Errorf("unsupported persistent ID type %q", kind)
	}
	want := 5
	if s.legacy {
		want = 6
	}
	if t.Len() != want {
		return nil, fmt.Errorf("storage persistent ID has %d fields, want %d", t.Len(), want)
	}
	class, ok := t.Get(1).(*storageClass)
	if !ok {
		return nil, fmt.Errorf("storage type is %T, want a torch storage class", t.Get(1))
	}
	if !class.ok {
		return nil, fmt.Errorf("unsupported storage type %s.%s", class.module, class.name)
	}
	key, ok := t.Get(2).(string)
	if !ok {
		return nil, fmt.Errorf("storage key is %T, want a string", t.Get(2))
	}
	numel, ok := t.Get(4).(int)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %q: bad element count %v", key, t.Get(4))
	}
	root := s.byKey[key]
	if root == nil {
		root = &rootStorage{key: key, elem: class.elem, numel: numel}
		s.byKey[key] = root
		s.order = append(s.order, root)
	} else if root.elem != class.elem || root.numel != numel {
		return nil, fmt.Errorf("storage %q is referenced as %d %s elements and as %d %s elements",
			key, root.numel, root.elem.name, numel, class.elem.name)
	}
	if !s.legacy || t.Get(5) == nil {
		return &storageView{root: root, numel: numel}, nil
	}
	// Legacy view metadata: (view_key, offset, size), in elements.
	vm, ok := t.Get(5).(*types.Tuple)
	if !ok || vm.Len() != 3 {
		return nil, fmt.Errorf("storage %q: view metadata is %T, want a 3-tuple", key, t.Get(5))
	}
	viewKey, ok1 := vm.Get(0).(string)
	off, ok2 := vm.Get(1).(int)
	n, ok3 := vm.Get(2).(int)
	if !ok1 || !ok2 || !ok3 || off < 0 || n < 0 || off > numel || n > numel-off {
		return nil, fmt.Errorf("storage %q: bad view metadata", key)
	}
	if v := s.views[viewKey]; v != nil {
		return v, nil
	}
	v := &storageView{root: root, offset: off, numel: n}
	s.views[viewKey] = v
	return v, nil
}

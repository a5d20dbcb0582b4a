package pth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/nlpodyssey/gopickle/types"

	"spadepaint/model/nd"
)

const (
	// maxNesting bounds how deep collect follows nested dicts; it also
	// stops a dict that contains itself.
	maxNesting = 32
	// maxEntries bounds the dict entries collect visits. A pickle can
	// refer to one dict from many places for a few bytes each, so the
	// flattened view can be exponentially larger than the file.
	maxEntries = 1 << 20
)

// collect finds the tensors in the unpickled object and materialises them.
func collect(obj any, st *storages) (map[string]*nd.Array, []string, error) {
	top, ok := dictEntries(obj)
	if !ok {
		return nil, nil, fmt.Errorf("the checkpoint holds %s, not a dict of tensors", describe(obj))
	}
	for _, e := range top {
		if e.key == "state_dict" {
			if sd, ok := dictEntries(e.value); ok {
				top = sd
			}
		}
	}
	var refs []*tensorRef
	var names []string
	seen := map[string]bool{}
	visited := 0
	cache := map[any][]entry{} // a dict can be reached many times
	var walk func(entries []entry, prefix string, depth int) error
	walk = func(entries []entry, prefix string, depth int) error {
		if depth > maxNesting {
			return fmt.Errorf("dicts nest deeper than %d levels at %q", maxNesting, prefix)
		}
		for _, e := range entries {
			if visited++; visited > maxEntries {
				return fmt.Errorf("the checkpoint's dicts hold more than %d entries", maxEntries)
			}
			name := prefix + e.key
			if t, ok := e.value.(*tensorRef); ok {
				if seen[name] {
					return fmt.Errorf("key %q appears twice after flattening nested dicts", name)
				}
				seen[name] = true
				names = append(names, name)
				refs = append(refs, t)
			} else if isDict(e.value) {
				sub, ok := cache[e.value]
				if !ok {
					sub, _ = dictEntries(e.value)
					cache[e.value] = sub
				}
				if err := walk(sub, name+".", depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(top, "", 0); err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, errors.New("the checkpoint holds no tensors")
	}

	// Views may legitimately repeat storage elements (expand gives stride
	// 0), but not without limit: the arrays made may total a few times
	// the storage data present, plus a little.
	budget := 1 << 20
	for _, root := range st.order {
		budget += 4 * root.numel
	}
	tensors := make(map[string]*nd.Array, len(names))
	made := map[*tensorRef]*nd.Array{}
	for i, name := range names {
		a := made[refs[i]]
		if a == nil {
			var err error
			if a, err = materialise(refs[i], &budget); err != nil {
				return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
			}
			made[refs[i]] = a
		}
		tensors[name] = a
	}
	return tensors, names, nil
}

// isDict reports whether v is a pickled dict; only then is it a usable map
// key (other values, such as bytes, are not hashable).
func isDict(v any) bool {
	switch v.(type) {
	case *types.Dict, *types.OrderedDict:
		return true
	}
	return false
}

type entry struct {
	key   string
	value any
}

// dictEntries lists a pickled dict's entries in order, with the keys as
// strings. Integer keys (optimizer state) are formatted in decimal; entries
// under other kinds of keys are left out. A key set twice keeps its first
// position and its last value, as in Python.
func dictEntries(v any) ([]entry, bool) {
	var out []entry
	index := map[string]int{}
	add := func(k, v any) {
		var key string
		switch k := k.(type) {
		case string:
			key = k
		case int:
			key = strconv.Itoa(k)
		case *big.Int:
			key = k.String()
		default:
			return
		}
		if i, ok := index[key]; ok {
			out[i].value = v
			return
		}
		index[key] = len(out)
		out = append(out, entry{key, v})
	}
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			add(e.Key, e.Value)
		}
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			add(e.Key, e.Value)
		}
	default:
		return nil, false
	}
	return out, true
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case *tensorRef:
		return "a single tensor (save a dict such as model.state_dict())"
	case *types.List:
		return fmt.Sprintf("a list of %d items", v.Len())
	case *types.Tuple:
		return fmt.Sprintf("a tuple of %d items", v.Len())
	case string:
		return "a string"
	case int, *big.Int, float64, bool:
		return "a number"
	case *opaque:
		return fmt.Sprintf("an object of class %s.%s (torch.save the model's state_dict(), not the model)", v.module, v.name)
	}
	return fmt.Sprintf("a %T", v)
}

// materialise copies a strided tensor out of its storage into a dense
// row-major nd.Array, converting the element type. budget is the number of
// elements still allowed; it shrinks by the tensor's size.
func materialise(t *tensorRef, budget *int) (*nd.Array, error) {
	v := t.view
	layout := func() string {
		return fmt.Sprintf("size %v, stride %v, offset %d", t.size, t.stride, t.offset)
	}
	if t.offset < 0 {
		return nil, fmt.Errorf("negative storage offset (%s)", layout())
	}
	n := 1
	for i, s := range t.size {
		if s < 0 || t.stride[i] < 0 {
			return nil, fmt.Errorf("negative size or stride (%s)", layout())
		}
		if s == 0 {
			n = 0
		} else if n != 0 {
			if s > *budget/n {
				return nil, fmt.Errorf("%s asks for more elements than the file's data allows", layout())
			}
			n *= s
		}
	}
	if n > *budget {
		return nil, fmt.Errorf("%s asks for more elements than the file's data allows", layout())
	}
	*budget -= n
	if n > 0 {
		if t.offset >= v.numel {
			return nil, fmt.Errorf("%s starts past the %d-element storage", layout(), v.numel)
		}
		// The last element reached must lie inside the storage view.
		last := t.offset
		for i, s := range t.size {
			if s > 1 && t.stride[i] > 0 {
				if t.stride[i] > v.numel/(s-1) {
					return nil, fmt.Errorf("%s runs past the %d-element storage", layout(), v.numel)
				}
				last += (s - 1) * t.stride[i]
			}
			if last >= v.numel {
				break
			}
		}
		if last >= v.numel {
			return nil, fmt.Errorf("%s runs past the %d-element storage", layout(), v.numel)
		}
	}

	// index walks the storage positions of the elements in row-major order.
	idx := make([]int, len(t.size))
	pos := v.offset + t.offset
	next := func() {
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			pos += t.stride[d]
			if idx[d] < t.size[d] {
				return
			}
			pos -= t.stride[d] * t.size[d]
			idx[d] = 0
		}
	}
	data := v.root.data
	le := binary.LittleEndian
	if v.root.elem.float {
		out := make([]float32, n)
		var get func(p int) float32
		switch v.root.elem.name {
		case "FloatStorage":
			get = func(p int) float32 { return math.Float32frombits(le.Uint32(data[4*p:])) }
		case "DoubleStorage":
			get = func(p int) float32 { return float32(math.Float64frombits(le.Uint64(data[8*p:]))) }
		case "HalfStorage":
			get = func(p int) float32 { return nd.HalfToFloat32(le.Uint16(data[2*p:])) }
		case "BFloat16Storage":
			get = func(p int) float32 { return math.Float32frombits(uint32(le.Uint16(data[2*p:])) << 16) }
		}
		for i := range out {
			out[i] = get(pos)
			next()
		}
		return nd.NewF32(t.size, out)
	}
	out := make([]int64, n)
	var get func(p int) int64
	switch v.root.elem.name {
	case "LongStorage":
		get = func(p int) int64 { return int64(le.Uint64(data[8*p:])) }
	case "IntStorage":
		get = func(p int) int64 { return int64(int32(le.Uint32(data[4*p:]))) }
	case "ShortStorage":
		get = func(p int) int64 { return int64(int16(le.Uint16(data[2*p:]))) }
	case "CharStorage":
		get = func(p int) int64 { return int64(int8(data[p])) }
	case "ByteStorage", "UntypedStorage":
		get = func(p int) int64 { return int64(data[p]) }
	case "BoolStorage":
		get = func(p int) int64 {
			if data[p] != 0 {
				return 1
			}
			return 0
		}
	}
	for i := range out {
		out[i] = get(pos)
		next()
	}
	return nd.NewI64(t.size, out)
}

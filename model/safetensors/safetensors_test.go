package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"spadepaint/model/nd"
)

// build assembles a file from a header and data section.
func build(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func le32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// The expected bytes are the test vectors of the reference implementation
// (safetensors' "simple serialization" and "forced alignment" tests).
func TestWriteReferenceVectors(t *testing.T) {
	data := []float32{0, 1, 2, 3, 4, 5}
	tests := []struct {
		name  string
		shape []int
		want  []byte
	}{
		{"attn.0", []int{1, 2, 3}, build(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`, le32(data...))},
		{"attn0", []int{1, 1, 2, 3}, build(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `, le32(data...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := nd.NewF32(tt.shape, data)
			var buf bytes.Buffer
			if err := Write(&buf, nil, map[string]*nd.Array{tt.name: a}, nil); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), tt.want) {
				t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), tt.want)
			}
		})
	}
}

func TestReadDTypes(t *testing.T) {
	var f64, i64, u64 []byte
	for _, v := range []float64{-1.5, 0.25} {
		f64 = binary.LittleEndian.AppendUint64(f64, math.Float64bits(v))
	}
	for _, v := range []int64{math.MinInt64, 7} {
		i64 = binary.LittleEndian.AppendUint64(i64, uint64(v))
	}
	u64 = binary.LittleEndian.AppendUint64(u64, math.MaxInt64)
	tests := []struct {
		dtype string
		shape string
		data  []byte
		f32   []float32
		i64   []int64
	}{
		{"F32", "[2]", le32(-1, 2.5), []float32{-1, 2.5}, nil},
		{"F64", "[2,1]", f64, []float32{-1.5, 0.25}, nil},
		{"F16", "[3]", []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c}, []float32{1, -2, float32(math.Inf(1))}, nil},
		{"BF16", "[2]", []byte{0x80, 0x3f, 0xc0, 0xbf}, []float32{1, -1.5}, nil},
		{"I64", "[2]", i64, nil, []int64{math.MinInt64, 7}},
		{"U64", "[]", u64, nil, []int64{math.MaxInt64}},
		{"I32", "[2]", []byte{0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0}, nil, []int64{-1, 5}},
		{"U32", "[1]", []byte{0xff, 0xff, 0xff, 0xff}, nil, []int64{math.MaxUint32}},
		{"I16", "[2]", []byte{0xfe, 0xff, 3, 0}, nil, []int64{-2, 3}},
		{"U16", "[1]", []byte{0xfe, 0xff}, nil, []int64{65534}},
		{"I8", "[2]", []byte{0xff, 3}, nil, []int64{-1, 3}},
		{"U8", "[2]", []byte{0xff, 3}, nil, []int64{255, 3}},
		{"BOOL", "[3]", []byte{0, 1, 2}, nil, []int64{0, 1, 1}},
		{"F32", "[0,4]", nil, []float32{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.dtype+tt.shape, func(t *testing.T) {
			h := `{"x":{"dtype":"` + tt.dtype + `","shape":` + tt.shape + `,"data_offsets":[0,` + strconv.Itoa(len(tt.data)) + `]}}`
			f, err := ReadBytes(build(h, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			a := f.Tensors["x"]
			if tt.f32 != nil {
				if a.DType != nd.Float32 || !reflect.DeepEqual(a.F32, tt.f32) {
					t.Errorf("got %v %v, want float32 %v", a.DType, a.F32, tt.f32)
				}
			} else if a.DType != nd.Int64 || !reflect.DeepEqual(a.I64, tt.i64) {
				t.Errorf("got %v %v, want int64 %v", a.DType, a.I64, tt.i64)
			}
		})
	}
}

// The reference implementation's deserialisation vector, with metadata
// after the tensor and an I32 tensor.
func TestReadReferenceVector(t *testing.T) {
	in := build(`{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}}`, make([]byte, 16))
	f, err := ReadBytes(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Names, []string{"test"}) {
		t.Errorf("Names = %v", f.Names)
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"foo": "bar"}) {
		t.Errorf("Metadata = %v", f.Metadata)
	}
	a := f.Tensors["test"]
	if a.DType != nd.Int64 || !reflect.DeepEqual(a.Shape, []int{2, 2}) || !reflect.DeepEqual(a.I64, []int64{0, 0, 0, 0}) {
		t.Errorf("tensor = %+v", a)
	}
}

func TestNamesKeepHeaderOrder(t *testing.T) {
	h := `{"z":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[2,3]},"m":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`
	f, err := ReadBytes(build(h, []byte{1, 2, 3}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Names, []string{"z", "a", "m"}) {
		t.Errorf("Names = %v", f.Names)
	}
	if f.Tensors["a"].I64[0] != 3 || f.Tensors["m"].I64[0] != 2 {
		t.Errorf("offsets not honoured: %+v", f.Tensors)
	}
	if f.Metadata != nil {
		t.Errorf("Metadata = %v, want nil", f.Metadata)
	}
}

func sampleTensors() map[string]*nd.Array {
	nan := math.Float32frombits(0x7fc00123) // a NaN with a payload
	return map[string]*nd.Array{
		"conv.weight":              {Shape: []int{2, 1, 3}, DType: nd.Float32, F32: []float32{1, -0.0, nan, float32(math.Inf(-1)), math.SmallestNonzeroFloat32, math.MaxFloat32}},
		"bn.num_batches_tracked":   {Shape: nil, DType: nd.Int64, I64: []int64{12345}},
		"odd":                      {Shape: []int{3}, DType: nd.Float32, F32: []float32{1, 2, 3}},
		"labels":                   {Shape: []int{2, 2}, DType: nd.Int64, I64: []int64{math.MinInt64, -1, 0, math.MaxInt64}},
		"empty":                    {Shape: []int{0, 7}, DType: nd.Float32, F32: []float32{}},
		"name with \"quotes\" <&>": {Shape: []int{1}, DType: nd.Float32, F32: []float32{0.5}},
	}
}

func TestRoundTripBitExact(t *testing.T) {
	tensors := sampleTensors()
	meta := map[string]string{"format": "pt", "note": "é \"quoted\"\n"}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := WriteFile(path, nil, tensors, meta); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("Metadata = %q, want %q", f.Metadata, meta)
	}
	// I64 tensors first (wider), then F32, each by name.
	wantNames := []string{"bn.num_batches_tracked", "labels", "conv.weight", "empty", "name with \"quotes\" <&>", "odd"}
	if !reflect.DeepEqual(f.Names, wantNames) {
		t.Errorf("Names = %q, want %q", f.Names, wantNames)
	}
	if len(f.Tensors) != len(tensors) {
		t.Fatalf("read %d tensors, wrote %d", len(f.Tensors), len(tensors))
	}
	for name, want := range tensors {
		got := f.Tensors[name]
		if got == nil || !sameArray(got, want) {
			t.Errorf("%q: got %+v, want %+v", name, got, want)
		}
	}
	// Every tensor must be aligned to its element size in the file.
	raw, _ := os.ReadFile(path)
	dataStart := 8 + int(binary.LittleEndian.Uint64(raw))
	if dataStart%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", dataStart)
	}
	// Rewriting what was read gives the same bytes.
	var again bytes.Buffer
	if err := Write(&again, f.Names, f.Tensors, f.Metadata); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), raw) {
		t.Error("rewriting a read file changed its bytes")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("WriteFile left %d files behind", len(entries))
	}
}

func TestWriteDeterministic(t *testing.T) {
	tensors := sampleTensors()
	meta := map[string]string{"b": "2", "a": "1", "c": "3"}
	var first []byte
	for i := 0; i < 20; i++ {
		var buf bytes.Buffer
		names := []string{"odd", "labels", "conv.weight", "empty", "bn.num_batches_tracked", "name with \"quotes\" <&>"}
		if i%2 == 1 {
			names = nil
		}
		if err := Write(&buf, names, tensors, meta); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = buf.Bytes()
		} else if !bytes.Equal(first, buf.Bytes()) {
			t.Fatalf("run %d wrote different bytes", i)
		}
	}
	if !bytes.Contains(first, []byte(`{"__metadata__":{"a":"1","b":"2","c":"3"},`)) {
		t.Errorf("metadata not first or not sorted: %q", first[8:80])
	}
}

func TestWriteSubset(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []string{"odd"}, sampleTensors(), nil); err != nil {
		t.Fatal(err)
	}
	f, err := ReadBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Names, []string{"odd"}) {
		t.Errorf("Names = %v", f.Names)
	}
}

func TestWriteErrors(t *testing.T) {
	good := &nd.Array{Shape: []int{1}, DType: nd.Float32, F32: []float32{1}}
	tests := []struct {
		name    string
		names   []string
		tensors map[string]*nd.Array
		want    string
	}{
		{"missing", []string{"x"}, map[string]*nd.Array{}, "not in the map"},
		{"nil tensor", nil, map[string]*nd.Array{"x": nil}, "not in the map"},
		{"twice", []string{"x", "x"}, map[string]*nd.Array{"x": good}, "named twice"},
		{"reserved", nil, map[string]*nd.Array{"__metadata__": good}, "reserved"},
		{"short", nil, map[string]*nd.Array{"x": {Shape: []int{2}, DType: nd.Float32, F32: []float32{1}}}, "needs 2 elements"},
		{"negative", nil, map[string]*nd.Array{"x": {Shape: []int{-1}, DType: nd.Int64}}, "negative dimension"},
		{"dtype", nil, map[string]*nd.Array{"x": {DType: nd.DType(9)}}, "unsupported dtype"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tt.names, tt.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	bad := map[string]*nd.Array{"x": {Shape: []int{2}, DType: nd.Float32}}
	err := WriteFile(path, nil, bad, nil)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, want one naming %s", err, path)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed WriteFile left %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.safetensors"), nil, nil, nil); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestReadErrors(t *testing.T) {
	one := `{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	hugeLen := binary.LittleEndian.AppendUint64(nil, 1<<62)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"short", []byte{1, 0, 0}, "too short"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "exceeds the 2 bytes"},
		{"huge header", append(hugeLen, "{}"...), "exceeds the 100000000 byte limit"},
		{"not json", build("nope", nil), "not a JSON object"},
		{"array", build("[1]", nil), "not a JSON object"},
		{"bad utf8", build("{\"\xff\":1}", nil), "UTF-8"},
		{"truncated json", build(`{"x":{"dtype":"F32"`, nil), "header"},
		{"trailing", build(`{} {}`, nil), "data after the JSON object"},
		{"unknown dtype", build(`{"x":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), `unsupported dtype "C64"`},
		{"fp8", build(`{"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), `unsupported dtype`},
		{"no dtype", build(`{"x":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `missing "dtype"`},
		{"no shape", build(`{"x":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), `missing "shape"`},
		{"no offsets", build(`{"x":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), `missing "data_offsets"`},
		{"null entry", build(`{"x":null}`, nil), `missing "dtype"`},
		{"entry not object", build(`{"x":3}`, nil), `tensor "x"`},
		{"three offsets", build(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 4)), "two numbers"},
		{"reversed offsets", build(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), "invalid data_offsets"},
		{"negative shape", build(`{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "x"`},
		{"float shape", build(`{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "x"`},
		{"shape mismatch", build(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "needs 8 bytes"},
		{"wrapping shape", build(`{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}`, make([]byte, 16)), "needs too many bytes"},
		{"wrapping to zero", build(`{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`, nil), "absurd dimension"},
		{"absurd empty shape", build(`{"x":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}}`, nil), "absurd dimension"},
		{"huge offset", build(`{"x":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}}`, nil), "invalid data_offsets"},
		{"past end", build(one, make([]byte, 3)), "run past the 3 data bytes"},
		{"lying size", build(`{"x":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, make([]byte, 4)), "run past"},
		{"trailing bytes", build(one, make([]byte, 5)), "cover 4 of the 5 data bytes"},
		{"gap", build(`{"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), "gap"},
		{"overlap", build(`{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), "overlap"},
		{"same range", build(`{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"y":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), "overlap"},
		{"duplicate", build(`{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), `duplicate entry "x"`},
		{"metadata not strings", build(`{"__metadata__":{"a":1}}`, nil), "must map strings to strings"},
		{"metadata list", build(`{"__metadata__":[]}`, nil), "must map strings to strings"},
		{"uint64 overflow", build(`{"x":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}`, bytes.Repeat([]byte{0xff}, 8)), "does not fit in int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadBytes(tt.in)
			if err == nil {
				t.Fatalf("ReadBytes succeeded with %+v, want error containing %q", f, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "\x08\x00\x00\x00\x00\x00\x00\x00{}      "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	f, err := ReadBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 0 || len(f.Names) != 0 {
		t.Errorf("got %+v", f)
	}
}

func TestReadFileErrorNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, []byte("garbage!garbage!"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name %s", err, path)
	}
}

func sameArray(a, b *nd.Array) bool {
	if a.DType != b.DType || len(a.Shape) != len(b.Shape) || a.Size() != b.Size() {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := 0; i < a.Size(); i++ {
		if a.DType == nd.Float32 && math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
			return false
		}
		if a.DType == nd.Int64 && a.I64[i] != b.I64[i] {
			return false
		}
	}
	return true
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, nil, sampleTensors(), map[string]string{"k": "v"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(build(`{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}}`, make([]byte, 16)))
	f.Add(build(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}`, make([]byte, 6)))
	f.Add(build(`{"x":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, make([]byte, 4)))
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ReadBytes(data)
		if err != nil {
			return
		}
		if len(file.Names) != len(file.Tensors) {
			t.Fatalf("%d names for %d tensors", len(file.Names), len(file.Tensors))
		}
		// Whatever Read accepts, Write must store and Read give back.
		var out bytes.Buffer
		if err := Write(&out, file.Names, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("Write of a read file: %v", err)
		}
		again, err := ReadBytes(out.Bytes())
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		for name, a := range file.Tensors {
			if b := again.Tensors[name]; b == nil || !sameArray(a, b) {
				t.Fatalf("tensor %q changed in the round trip", name)
			}
		}
	})
}

// TestWriteHalfBytes pins the F16 encoding: exact bytes of a mixed file,
// F16 laid out after the wider types.
func TestWriteHalfBytes(t *testing.T) {
	tensors := map[string]*nd.Array{
		"a": {Shape: []int{3}, DType: nd.Float32, F32: []float32{1, -2, float32(math.Inf(1))}},
		"b": {Shape: []int{1}, DType: nd.Float32, F32: []float32{0.5}},
	}
	var buf bytes.Buffer
	if err := WriteWith(&buf, nil, tensors, nil, WriteOptions{Half: map[string]bool{"a": true}}); err != nil {
		t.Fatal(err)
	}
	want := build(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F16","shape":[3],"data_offsets":[4,10]}}    `,
		append(le32(0.5), 0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), want)
	}
}

// TestRoundTripHalf: a file with F16 tensors reads back as the float16
// rounding of every value, the other tensors bit-exact, and rewriting it
// with the same options reproduces its bytes.
func TestRoundTripHalf(t *testing.T) {
	tensors := sampleTensors()
	big := make([]float32, 70000) // spans several write chunks
	for i := range big {
		big[i] = float32(i%4099-2049) * 0.01
	}
	tensors["big"] = &nd.Array{Shape: []int{70000}, DType: nd.Float32, F32: big}
	// conv.weight's MaxFloat32 would overflow: see TestWriteHalfErrors.
	half := map[string]bool{"odd": true, "empty": true, "big": true, "name with \"quotes\" <&>": true}
	path := filepath.Join(t.TempDir(), "h.safetensors")
	o := WriteOptions{Half: half}
	if err := WriteFileWith(path, nil, tensors, nil, o); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"bn.num_batches_tracked", "labels", "conv.weight", "big", "empty", "name with \"quotes\" <&>", "odd"}
	if !reflect.DeepEqual(f.Names, wantNames) {
		t.Errorf("Names = %q, want %q", f.Names, wantNames)
	}
	for name, a := range tensors {
		want := a
		if half[name] {
			r := make([]float32, len(a.F32))
			for i, v := range a.F32 {
				r[i] = nd.HalfToFloat32(nd.Float32ToHalf(v))
			}
			want = &nd.Array{Shape: a.Shape, DType: nd.Float32, F32: r}
		}
		if got := f.Tensors[name]; got == nil || !sameArray(got, want) {
			t.Errorf("%q: got %+v, want %+v", name, got, want)
		}
	}
	raw, _ := os.ReadFile(path)
	want := 8 + int(binary.LittleEndian.Uint64(raw)) + 8*(1+4) + 4*6 + 2*(70000+3+1)
	if len(raw) != want {
		t.Errorf("file is %d bytes, want %d", len(raw), want)
	}
	var again bytes.Buffer
	if err := WriteWith(&again, f.Names, f.Tensors, f.Metadata, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), raw) {
		t.Error("rewriting a read F16 file changed its bytes")
	}
}

func TestWriteHalfErrors(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		half  map[string]bool
		want  string
	}{
		{"overflow", nil, map[string]bool{"conv.weight": true}, `tensor "conv.weight": element 5 is 3.4028235e+38, beyond float16's range`},
		{"int64", nil, map[string]bool{"labels": true}, "only float32 tensors can be stored as F16, not int64"},
		{"not written", []string{"odd"}, map[string]bool{"empty": true}, `tensor "empty": to be stored as F16 but not written`},
		{"unknown", nil, map[string]bool{"nope": true}, `tensor "nope": to be stored as F16 but not written`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteWith(&buf, tt.names, sampleTensors(), nil, WriteOptions{Half: tt.half})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
	// NaN and ±Inf are not overflow: they stay what they are.
	special := map[string]*nd.Array{"x": {Shape: []int{3}, DType: nd.Float32, F32: []float32{float32(math.NaN()), float32(math.Inf(-1)), 1e-9}}}
	var buf bytes.Buffer
	if err := WriteWith(&buf, nil, special, nil, WriteOptions{Half: map[string]bool{"x": true}}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Tensors["x"].F32; !math.IsNaN(float64(got[0])) || !math.IsInf(float64(got[1]), -1) || got[2] != 0 {
		t.Errorf("read back %v, want [NaN -Inf 0]", got)
	}
}

// TestReadMetadataFile: the header alone gives the metadata; a file whose
// header is cut short, or no file, is an error naming the path.
func TestReadMetadataFile(t *testing.T) {
	meta := map[string]string{"spadepaint.format": "checkpoint", "step": "12"}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(path, nil, sampleTensors(), meta); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMetadataFile(path)
	if err != nil || !reflect.DeepEqual(got, meta) {
		t.Fatalf("ReadMetadataFile = %q, %v; want %q", got, err, meta)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.safetensors")
	if err := os.WriteFile(cut, b[:20], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cut, filepath.Join(dir, "none.safetensors")} {
		if _, err := ReadMetadataFile(p); err == nil || !strings.Contains(err.Error(), filepath.Base(p)) {
			t.Errorf("ReadMetadataFile(%s): %v, want an error naming it", filepath.Base(p), err)
		}
	}
}

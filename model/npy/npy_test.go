package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"spadepaint/model/nd"
)

// The fixtures come from testdata/make_fixtures.py (numpy.lib.format).
func TestReadFixtures(t *testing.T) {
	f4 := []float32{-1, -0.5, 0, 0.5, 1, 1.5}
	tests := []struct {
		file  string
		shape []int
		f32   []float32
		i64   []int64
	}{
		{"f4.npy", []int{2, 3}, f4, nil},
		{"f4_be.npy", []int{2, 3}, f4, nil},
		{"v2_f4.npy", []int{2, 3}, f4, nil},
		{"v3_f4.npy", []int{2, 3}, f4, nil},
		{"f8.npy", []int{3, 2}, []float32{-0.5, -0.25, 0, 0.25, 0.5, 0.75}, nil},
		{"f2.npy", []int{6}, []float32{-0.25, -0.125, 0, 0.125, 0.25, 0.375}, nil},
		{"scalar_f4.npy", []int{}, []float32{1.5}, nil},
		{"empty_f4.npy", []int{0, 3}, []float32{}, nil},
		{"i8.npy", []int{6}, nil, []int64{-2e12, -1e12, 0, 1e12, 2e12, 3e12}},
		{"i4.npy", []int{1, 6}, nil, []int64{-2, -1, 0, 1, 2, 3}},
		{"i2.npy", []int{6}, nil, []int64{-2, -1, 0, 1, 2, 3}},
		{"i1.npy", []int{6}, nil, []int64{-2, -1, 0, 1, 2, 3}},
		{"u1.npy", []int{6}, nil, []int64{251, 252, 253, 254, 255, 0}},
		{"b1.npy", []int{3}, nil, []int64{1, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, err := ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !sameShape(a.Shape, tt.shape) {
				t.Errorf("shape = %v, want %v", a.Shape, tt.shape)
			}
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

// Write must reproduce numpy.save's bytes for the dtypes it writes.
func TestWriteMatchesNumPy(t *testing.T) {
	tests := []struct {
		file string
		a    *nd.Array
	}{
		{"f4.npy", &nd.Array{Shape: []int{2, 3}, DType: nd.Float32, F32: []float32{-1, -0.5, 0, 0.5, 1, 1.5}}},
		{"i8.npy", &nd.Array{Shape: []int{6}, DType: nd.Int64, I64: []int64{-2e12, -1e12, 0, 1e12, 2e12, 3e12}}},
		{"scalar_f4.npy", &nd.Array{Shape: []int{}, DType: nd.Float32, F32: []float32{1.5}}},
		{"empty_f4.npy", &nd.Array{Shape: []int{0, 3}, DType: nd.Float32, F32: nil}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, tt.a); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("Write output differs from numpy.save:\n got %q\nwant %q", buf.Bytes(), want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []*nd.Array{
		{Shape: []int{}, DType: nd.Float32, F32: []float32{float32(math.Pi)}},
		{Shape: []int{3}, DType: nd.Float32, F32: []float32{float32(math.Inf(-1)), -0.0, math.SmallestNonzeroFloat32}},
		{Shape: []int{2, 1, 3}, DType: nd.Int64, I64: []int64{math.MinInt64, -1, 0, 1, 42, math.MaxInt64}},
		{Shape: []int{4, 0}, DType: nd.Int64, I64: []int64{}},
		{Shape: []int{12345678901, 0}, DType: nd.Float32, F32: []float32{}},
	}
	dir := t.TempDir()
	for i, want := range tests {
		path := filepath.Join(dir, "a.npy")
		if err := WriteFile(path, want); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got, err := ReadFile(path)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !sameArray(got, want) {
			t.Errorf("%d: round trip gave %+v, want %+v", i, got, want)
		}
		if b, _ := os.ReadFile(path); (len(b)-len(want.F32)*4-len(want.I64)*8)%arrayAlign != 0 {
			t.Errorf("%d: header not padded to %d bytes", i, arrayAlign)
		}
	}
}

// Read consumes exactly one array, so arrays can be concatenated.
func TestReadConsecutive(t *testing.T) {
	var buf bytes.Buffer
	a := &nd.Array{Shape: []int{2}, DType: nd.Float32, F32: []float32{1, 2}}
	b := &nd.Array{Shape: []int{1}, DType: nd.Int64, I64: []int64{7}}
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	if err := Write(&buf, b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []*nd.Array{a, b} {
		got, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !sameArray(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
}

func sameArray(a, b *nd.Array) bool {
	if a.DType != b.DType || !sameShape(a.Shape, b.Shape) || a.Size() != b.Size() {
		return false
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

// sameShape compares shapes, treating nil and empty (a scalar) alike.
func sameShape(a, b []int) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// npyFile assembles a version 1.0 file from a raw header dictionary.
func npyFile(dict string, data []byte) []byte {
	b := []byte(magic + "\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	b = append(b, dict...)
	return append(b, data...)
}

func TestReadErrors(t *testing.T) {
	fortran, err := os.ReadFile(filepath.Join("testdata", "fortran_f4.npy"))
	if err != nil {
		t.Fatal(err)
	}
	structured, err := os.ReadFile(filepath.Join("testdata", "structured.npy"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join("testdata", "f4.npy"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(descr, shape string) string {
		return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n"
	}
	v2huge := []byte(magic + "\x02\x00\xff\xff\xff\xff")
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "read magic"},
		{"bad magic", []byte("PK\x03\x04 not numpy"), "not a .npy file"},
		{"bad version", []byte(magic + "\x04\x00\x10\x00"), "unsupported .npy format version 4.0"},
		{"short header length", []byte(magic + "\x01\x00\x10"), "read header length"},
		{"truncated header", []byte(magic + "\x01\x00\x80\x00{'descr'"), "read 128 byte header"},
		{"huge v2 header", v2huge, "exceeds the"},
		{"fortran", fortran, "fortran_order"},
		{"structured", structured, "structured dtypes are not supported"},
		{"truncated data", good[:len(good)-1], "truncated data"},
		{"lying shape", npyFile(hdr("<f4", "(1000000000, 1000000000)"), []byte{1, 2, 3, 4}), "truncated data"},
		{"overflowing shape", npyFile(hdr("<f4", "(4294967296, 4294967296)"), nil), "too large"},
		{"huge dimension", npyFile(hdr("<f4", "(99999999999999999999,)"), nil), "out of range"},
		{"negative dimension", npyFile(hdr("<f4", "(-1,)"), nil), "non-negative"},
		{"complex dtype", npyFile(hdr("<c8", "(1,)"), make([]byte, 8)), "unsupported dtype"},
		{"object dtype", npyFile(hdr("|O", "(1,)"), make([]byte, 8)), "unsupported dtype"},
		{"odd float size", npyFile(hdr("<f3", "(1,)"), make([]byte, 3)), "unsupported dtype"},
		{"missing shape", npyFile("{'descr': '<f4', 'fortran_order': False}\n", nil), `missing key "shape"`},
		{"unknown key", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}\n", nil), `unexpected key "x"`},
		{"duplicate key", npyFile("{'descr': '<f4', 'descr': '<f4'}\n", nil), "duplicate key"},
		{"not a dict", npyFile("[1, 2]\n", nil), "want '{'"},
		{"trailing junk", npyFile(hdr("<f4", "()")+"x", nil), "trailing data"},
		{"unterminated", npyFile("{'descr\n", nil), "unterminated"},
		{"bad bool", npyFile("{'fortran_order': 0}\n", nil), "want True or False"},
		{"non-ascii", npyFile("{'descr': '\xff'}\n", nil), "non-ASCII"},
		{"uint64 overflow", npyFile(hdr("<u8", "(1,)"), bytes.Repeat([]byte{0xff}, 8)), "does not fit in int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Read succeeded with %+v, want error containing %q", a, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestReadFileErrorNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.npy")
	if err := os.WriteFile(path, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name %s", err, path)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.npy")); err == nil {
		t.Error("reading a missing file succeeded")
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		a    *nd.Array
		want string
	}{
		{"nil", nil, "nil array"},
		{"short data", &nd.Array{Shape: []int{2, 2}, DType: nd.Float32, F32: []float32{1}}, "needs 4 elements"},
		{"wrong slice", &nd.Array{Shape: []int{1}, DType: nd.Int64, F32: []float32{1}}, "needs 1 elements"},
		{"bad dtype", &nd.Array{Shape: []int{}, DType: nd.DType(7)}, "unsupported dtype"},
		{"negative", &nd.Array{Shape: []int{-1}, DType: nd.Float32}, "negative dimension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tt.a)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Write error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestHalfToFloat32(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x7bff, 65504},
		{0x0001, 5.9604645e-08}, // smallest subnormal
		{0x03ff, 6.097555e-05},  // largest subnormal
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := nd.HalfToFloat32(tt.bits); got != tt.want {
			t.Errorf("nd.HalfToFloat32(%#04x) = %v, want %v", tt.bits, got, tt.want)
		}
	}
	if got := nd.HalfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("nd.HalfToFloat32(NaN) = %v", got)
	}
	if got := nd.HalfToFloat32(0x8000); math.Float32bits(got) != 0x80000000 {
		t.Errorf("nd.HalfToFloat32(-0) = %v", got)
	}
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"f4.npy", "f2.npy", "i1.npy", "v3_f4.npy", "fortran_f4.npy", "scalar_f4.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000000,), }\n", nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		if a.Size() != len(a.F32)+len(a.I64) {
			t.Fatalf("shape %v does not match %d+%d elements", a.Shape, len(a.F32), len(a.I64))
		}
		// Whatever Read accepts, Write must be able to store and Read
		// must give back unchanged.
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatalf("Write of a read array: %v", err)
		}
		b, err := Read(&buf)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if !sameArray(a, b) {
			t.Fatalf("round trip changed the array")
		}
	})
}

package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"spadepaint/model/nd"
	"spadepaint/model/npy"
)

// readExpected reads the .npz that make_fixtures.py wrote next to a
// fixture: what torch.load gave, flattened, in Load's key order.
func readExpected(t *testing.T, path string) (map[string]*nd.Array, []string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	arrays := map[string]*nd.Array{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		a, err := npy.Read(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %s: %v", path, f.Name, err)
		}
		name := strings.TrimSuffix(f.Name, ".npy")
		arrays[name] = a
		names = append(names, name)
	}
	return arrays, names
}

func sameArray(a, b *nd.Array) bool {
	if a.DType != b.DType || len(a.Shape) != len(b.Shape) || a.Size() != b.Size() ||
		len(a.F32) != len(b.F32) || len(a.I64) != len(b.I64) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := range a.F32 {
		if math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
			return false
		}
	}
	for i := range a.I64 {
		if a.I64[i] != b.I64[i] {
			return false
		}
	}
	return true
}

// Every fixture with an .npz must load to exactly what torch.load gives.
func TestLoadFixtures(t *testing.T) {
	npzs, _ := filepath.Glob("testdata/*.npz")
	if len(npzs) < 10 {
		t.Fatalf("found %d fixtures; run testdata/make_fixtures.py", len(npzs))
	}
	for _, npz := range npzs {
		name := strings.TrimSuffix(filepath.Base(npz), ".npz")
		t.Run(name, func(t *testing.T) {
			want, wantNames := readExpected(t, npz)
			got, names, err := Load(filepath.Join("testdata", name+".pth"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names, wantNames) {
				t.Errorf("names = %q\nwant    %q", names, wantNames)
			}
			if len(got) != len(names) {
				t.Errorf("%d tensors for %d names", len(got), len(names))
			}
			for _, k := range wantNames {
				if g := got[k]; g == nil || !sameArray(g, want[k]) {
					t.Errorf("%s: got %+v\nwant %+v", k, g, want[k])
				}
			}
		})
	}
}

func TestLoadDetails(t *testing.T) {
	for _, sfx := range []string{"", "_legacy"} {
		got, _, err := Load("testdata/shared" + sfx + ".pth")
		if err != nil {
			t.Fatal(err)
		}
		if got["tied.a"] != got["tied.b"] {
			t.Errorf("shared%s: tied weights do not share one array", sfx)
		}
		if got["first"] == got["second"] {
			t.Errorf("shared%s: distinct views of one storage share an array", sfx)
		}

		got, names, err := Load("testdata/batchnorm" + sfx + ".pth")
		if err != nil {
			t.Fatal(err)
		}
		n := got["num_batches_tracked"]
		if n == nil || n.DType != nd.Int64 || len(n.Shape) != 0 || !reflect.DeepEqual(n.I64, []int64{1}) {
			t.Errorf("batchnorm%s: num_batches_tracked = %+v, want int64 scalar 1", sfx, n)
		}
		if want := []string{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}; !reflect.DeepEqual(names, want) {
			t.Errorf("batchnorm%s: names = %v", sfx, names)
		}

		got, names, err = Load("testdata/spectral" + sfx + ".pth")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"bias", "weight_orig", "weight_u", "weight_v"}; !reflect.DeepEqual(names, want) {
			t.Errorf("spectral%s: names = %v", sfx, names)
		}
		if w := got["weight_orig"]; !reflect.DeepEqual(w.Shape, []int{3, 2, 3, 3}) || w.DType != nd.Float32 {
			t.Errorf("spectral%s: weight_orig %v %v", sfx, w.Shape, w.DType)
		}

		// The checkpoint's "state_dict" wins over its epoch, optimizer
		// state, hyper-parameter Namespace and lists.
		_, names, err = Load("testdata/checkpoint" + sfx + ".pth")
		if err != nil {
			t.Fatal(err)
		}
		if names[0] != "0.weight" {
			t.Errorf("checkpoint%s: names = %v", sfx, names)
		}
	}
	got, _, err := Load("testdata/views.pth")
	if err != nil {
		t.Fatal(err)
	}
	// base is arange(24)/4 reshaped (4, 6); transposed is its .t().
	if tr := got["transposed"]; !reflect.DeepEqual(tr.Shape, []int{6, 4}) || tr.F32[1] != 1.5 || tr.F32[4] != 0.25 {
		t.Errorf("transposed = %+v", tr)
	}
	if s := got["slice"]; !reflect.DeepEqual(s.F32, []float32{2, 2.25, 2.5, 3.5, 3.75, 4}) {
		t.Errorf("slice = %v", s.F32)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"list.pth", "holds a list of 1 items, not a dict of tensors"},
		{"bare_tensor.pth", "a single tensor"},
		{"no_tensors.pth", "holds no tensors"},
		{"whole_module.pth", "class torch.nn.modules.linear.Linear (torch.save the model's state_dict()"},
		{"make_fixtures.py", "not a PyTorch checkpoint"},
		{"views.npz", "no data.pkl"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			_, _, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %v, want one naming %s and containing %q", err, path, tt.want)
			}
		})
	}
	if _, _, err := Load("testdata/missing.pth"); err == nil {
		t.Error("loading a missing file succeeded")
	}
}

// Every truncation of every fixture must fail cleanly.
func TestTruncated(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.pth")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		step := 1
		if testing.Short() {
			step = 7
		}
		for n := 0; n < len(data); n += step {
			if _, _, err := LoadBytes(data[:n]); err == nil {
				t.Errorf("%s cut to %d of %d bytes loaded without error", f, n, len(data))
			}
		}
	}
}

// Flipping any one byte may or may not break a file, but must never panic
// or hang.
func TestCorrupted(t *testing.T) {
	files := []string{"testdata/dtypes_legacy.pth", "testdata/views_legacy.pth", "testdata/legacy_view.pth"}
	if testing.Short() {
		files = files[2:]
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				c := bytes.Clone(data)
				c[i] ^= x
				LoadBytes(c)
			}
		}
	}
}

// pk builds pickles by hand for the cases PyTorch will not write.
type pk struct{ b []byte }

func (p *pk) op(b ...byte) *pk { p.b = append(p.b, b...); return p }
func (p *pk) str(s string) *pk {
	p.op('X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}
func (p *pk) int(n int64) *pk {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		p.op('J')
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(n)))
		return p
	}
	p.op(0x8a, 8)
	p.b = binary.LittleEndian.AppendUint64(p.b, uint64(n))
	return p
}
func (p *pk) global(module, name string) *pk {
	p.op('c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}
func (p *pk) ints(ns ...int64) *pk {
	p.op('(')
	for _, n := range ns {
		p.int(n)
	}
	return p.op('t')
}

// tensor pushes _rebuild_tensor_v2(storage, offset, size, stride, False, {}).
func (p *pk) tensor(storageType, key string, numel, offset int64, size, stride []int64) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", storageType).str(key).str("cpu").int(numel).op('t', 'Q')
	p.int(offset).ints(size...).ints(stride...).op(0x89, '}', 't', 'R')
	return p
}

// stateDict pickles {"w": tensor}.
func stateDict(storageType string, numel, offset int64, size, stride []int64) []byte {
	p := (&pk{}).op(0x80, 2, '}').str("w")
	p.tensor(storageType, "0", numel, offset, size, stride)
	return p.op('s', '.').b
}

// zipFile builds a zip checkpoint from records.
func zipFile(t testing.TB, records ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(records); i += 2 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: records[i], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(records[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadBytesCrafted(t *testing.T) {
	f4 := func(vs ...float32) string {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return string(b)
	}
	good := stateDict("FloatStorage", 4, 1, []int64{3}, []int64{1})
	selfRef := (&pk{}).op(0x80, 2, '}', 'q', 0).str("me").op('h', 0, 's').str("w").
		tensor("FloatStorage", "0", 1, 0, nil, nil).op('s', '.').b
	// Dict d0 = {a: d1, b: d1}, d1 = {a: d2, b: d2}, ... doubles the
	// flattened size per level for four bytes of pickle.
	dag := (&pk{}).op(0x80, 2).tensor("FloatStorage", "0", 1, 0, nil, nil)
	for i := 0; i < 30; i++ {
		dag.op('q', byte(i), '}').str("a").op('h', byte(i), 's').str("b").op('h', byte(i), 's')
	}
	dag.op('.')

	tests := []struct {
		name string
		in   []byte
		want string // "" for success
	}{
		{"good", zipFile(t, "archive/data.pkl", string(good), "archive/data/0", f4(1, 2, 3, 4)), ""},
		{"longer record", zipFile(t, "a/data.pkl", string(good), "a/data/0", f4(1, 2, 3, 4, 5)), ""},
		{"empty", nil, "empty file"},
		{"text", []byte("hello world"), "not a PyTorch checkpoint"},
		{"truncated zip", zipFile(t, "archive/data.pkl", string(good), "archive/data/0", f4(1, 2, 3, 4))[:60], "corrupt zip"},
		{"torchscript", zipFile(t, "m/data.pkl", string(good), "m/constants.pkl", ""), "TorchScript"},
		{"two pickles", zipFile(t, "a/data.pkl", string(good), "b/data.pkl", string(good)), "more than one data.pkl"},
		{"big endian", zipFile(t, "a/data.pkl", string(good), "a/byteorder", "big"), "byte order"},
		{"no storage record", zipFile(t, "archive/data.pkl", string(good)), "no record archive/data/0"},
		{"short storage record", zipFile(t, "archive/data.pkl", string(good), "archive/data/0", f4(1, 2)), "record holds 8 bytes"},
		{"lying storage size", zipFile(t, "archive/data.pkl", string(stateDict("FloatStorage", 1<<40, 0, []int64{1 << 40}, []int64{1})), "archive/data/0", f4(1)), "more than the"},
		{"huge expand", zipFile(t, "archive/data.pkl", string(stateDict("FloatStorage", 1, 0, []int64{1 << 30, 1 << 30}, []int64{0, 0})), "archive/data/0", f4(1)), "more elements than"},
		{"stride past end", zipFile(t, "archive/data.pkl", string(stateDict("FloatStorage", 4, 0, []int64{2, 2}, []int64{3, 1})), "archive/data/0", f4(1, 2, 3, 4)), "runs past the 4-element storage"},
		{"offset past end", zipFile(t, "archive/data.pkl", string(stateDict("FloatStorage", 4, 4, []int64{1}, []int64{1})), "archive/data/0", f4(1, 2, 3, 4)), "starts past"},
		{"huge stride", zipFile(t, "archive/data.pkl", string(stateDict("FloatStorage", 4, 0, []int64{3}, []int64{math.MaxInt64 / 2})), "archive/data/0", f4(1, 2, 3, 4)), "runs past"},
		{"negative stride", zipFile(t, "archive/data.pkl", string(stateDict("FloatStorage", 4, 3, []int64{2}, []int64{-1})), "archive/data/0", f4(1, 2, 3, 4)), "negative size or stride"},
		{"negative offset", zipFile(t, "archive/data.pkl", string(stateDict("FloatStorage", 4, -1, []int64{1}, []int64{1})), "archive/data/0", f4(1, 2, 3, 4)), "negative storage offset"},
		{"complex storage", zipFile(t, "archive/data.pkl", string(stateDict("ComplexFloatStorage", 1, 0, []int64{1}, []int64{1})), "archive/data/0", f4(1, 2)), "unsupported storage type torch.ComplexFloatStorage"},
		{"quantized", zipFile(t, "archive/data.pkl", string((&pk{}).op(0x80, 2, '}').str("q").global("torch._utils", "_rebuild_qtensor").op(')', 'R', 's', '.').b)), "unsupported tensor type"},
		{"self reference", zipFile(t, "archive/data.pkl", string(selfRef), "archive/data/0", f4(1)), "nest deeper"},
		{"exponential dag", zipFile(t, "archive/data.pkl", string(dag.b), "archive/data/0", f4(1)), "more than 1048576 entries"},
		{"unknown opcode", zipFile(t, "archive/data.pkl", "\x80\x02\xff."), "unknown pickle opcode 0xff"},
		{"lying string length", zipFile(t, "archive/data.pkl", "\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\x7f."), "runs past the end"},
		{"lying frame", zipFile(t, "archive/data.pkl", "\x80\x04\x95\xff\xff\xff\xff\x00\x00\x00\x00}."), "frame of 4294967295 bytes"},
		{"deep marks", zipFile(t, "archive/data.pkl", "\x80\x02"+strings.Repeat("(", maxMarkDepth+1)+"."), "nests deeper"},
		{"no stop", zipFile(t, "archive/data.pkl", "\x80\x02}"), "runs past the end"},
		// Pickles that make gopickle panic; Load must return an error.
		{"odd dict", zipFile(t, "archive/data.pkl", "\x80\x02(K\x01d."), "corrupt .pth"},
		{"empty long", zipFile(t, "archive/data.pkl", "\x80\x02\x8a\x00."), "corrupt .pth"},
		{"unhashable key", zipFile(t, "archive/data.pkl", "\x80\x02ccollections\nOrderedDict\n)RC\x01aK\x01s."), "corrupt .pth"},
		{"tar", append(make([]byte, 257), "ustar\x0000"...), "tar checkpoint"},
		{"legacy bad magic", []byte("\x80\x02K\x01."), "without the torch.save magic number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, names, err := LoadBytes(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(names, []string{"w"}) || !reflect.DeepEqual(got["w"].F32, []float32{2, 3, 4}) {
					t.Errorf("got %v %+v", names, got["w"])
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// legacyFile builds a legacy-format checkpoint around a hand-made object
// pickle, storage keys and raw storage blocks.
func legacyFile(obj []byte, keys []string, blocks ...[]byte) []byte {
	var b []byte
	b = append(b, "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."...) // magic number
	b = append(b, "\x80\x02M\xe9\x03."...)                                        // protocol 1001
	b = append(b, "\x80\x02}."...)                                                // sys info
	b = append(b, obj...)
	k := (&pk{}).op(0x80, 2, '(')
	for _, key := range keys {
		k.str(key)
	}
	b = append(b, k.op('l', '.').b...)
	for _, blk := range blocks {
		b = append(b, blk...)
	}
	return b
}

func legacyStateDict(numel int64, size, stride []int64) []byte {
	p := (&pk{}).op(0x80, 2, '}').str("w")
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", "LongStorage").str("k").str("cpu").int(numel).op('N', 't', 'Q')
	p.int(0).ints(size...).ints(stride...).op(0x89, '}', 't', 'R')
	return p.op('s', '.').b
}

func TestLegacyCrafted(t *testing.T) {
	block := func(numel int64, vals ...int64) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(numel))
		for _, v := range vals {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
		return b
	}
	sd := legacyStateDict(2, []int64{2}, []int64{1})
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"good", legacyFile(sd, []string{"k"}, block(2, -5, 6)), ""},
		{"size mismatch", legacyFile(sd, []string{"k"}, block(3, -5, 6, 7)), "has 3 elements, the pickle says 2"},
		{"truncated data", legacyFile(sd, []string{"k"}, block(2, -5)), "only 8 remain"},
		{"missing size", legacyFile(sd, []string{"k"}), "size"},
		{"unknown key", legacyFile(sd, []string{"zz"}, block(2, 1, 2)), `"zz" is stored but never referenced`},
		{"unstored key", legacyFile(sd, nil), `"k" is referenced but not stored`},
		{"twice", legacyFile(sd, []string{"k", "k"}, block(2, 1, 2), block(2, 1, 2)), "stored twice"},
		{"keys not list", legacyFile(sd, nil)[:0], "empty file"},
		{"lying numel", legacyFile(legacyStateDict(1<<60, []int64{1}, []int64{1}), []string{"k"}, block(1<<60, 1)), "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := LoadBytes(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if w := got["w"]; w.DType != nd.Int64 || !reflect.DeepEqual(w.I64, []int64{-5, 6}) {
					t.Errorf("got %+v", w)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestHalfToFloat32(t *testing.T) {
	tests := map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504,
		0x0001: 5.9604645e-08, 0x03ff: 6.097555e-05,
		0x7c00: float32(math.Inf(1)), 0xfc00: float32(math.Inf(-1)),
	}
	for bits, want := range tests {
		if got := nd.HalfToFloat32(bits); got != want {
			t.Errorf("nd.HalfToFloat32(%#04x) = %v, want %v", bits, got, want)
		}
	}
	if got := nd.HalfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("nd.HalfToFloat32(NaN) = %v", got)
	}
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"dtypes_legacy.pth", "views_legacy.pth", "legacy_view.pth", "shared_legacy.pth", "nested.pth", "views_proto4.pth"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(zipFile(f, "archive/data.pkl", string(stateDict("FloatStorage", 4, 1, []int64{3}, []int64{1})), "archive/data/0", "0123456789abcdef"))
	f.Add(legacyFile(legacyStateDict(2, []int64{2}, []int64{1}), []string{"k"}, make([]byte, 24)))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLoad(t, data)
	})
}

func checkLoad(t *testing.T, data []byte) {
	tensors, names, err := LoadBytes(data)
	if err != nil {
		return
	}
	if len(names) == 0 || len(tensors) != len(names) {
		t.Fatalf("%d tensors, %d names", len(tensors), len(names))
	}
	for _, name := range names {
		a := tensors[name]
		if a == nil || a.Size() != len(a.F32)+len(a.I64) {
			t.Fatalf("tensor %q: %+v inconsistent", name, a)
		}
	}
}

// FuzzReadDataPkl fuzzes the object pickle of a zip checkpoint. Mutating
// whole zip files mostly trips the archive's checksums; wrapping the fuzzed
// pickle in a fresh archive reaches the unpickler and tensor code instead.
func FuzzReadDataPkl(f *testing.F) {
	for _, name := range []string{"views.pth", "dtypes.pth", "shared.pth", "checkpoint.pth", "views_proto4.pth"} {
		zr, err := zip.OpenReader(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, rec := range zr.File {
			if strings.HasSuffix(rec.Name, "/data.pkl") {
				rc, _ := rec.Open()
				var buf bytes.Buffer
				buf.ReadFrom(rc)
				rc.Close()
				f.Add(buf.Bytes())
			}
		}
		zr.Close()
	}
	f.Add(stateDict("FloatStorage", 4, 1, []int64{3}, []int64{1}))
	f.Add([]byte("\x80\x02(K\x01d."))
	storage := string(bytes.Repeat([]byte{0x3f, 0x80, 0, 0}, 64))
	f.Fuzz(func(t *testing.T, pkl []byte) {
		records := []string{"archive/data.pkl", string(pkl)}
		for _, k := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"} {
			records = append(records, "archive/data/"+k, storage)
		}
		checkLoad(t, zipFile(t, records...))
	})
}

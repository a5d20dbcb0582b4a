// Package safetensors reads and writes Hugging Face .safetensors files as
// nd.Arrays.
//
// Safetensors is the weight format this app saves and prefers to load: unlike
// a PyTorch pickle it cannot run code, its header says up front where every
// tensor lies, and a file can be checked completely before any weight is
// trusted. The format is an 8-byte little-endian header length, a JSON
// header
//
//	{"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}
//
// and then the tensor bytes, little-endian and row-major, with offsets
// relative to the end of the header.
//
// It is hand-written rather than built on github.com/nlpodyssey/safetensors
// because that package decodes the header into a Go map, losing the tensor
// order of the file, and this one is small enough to own outright. Reading
// validates the file as strictly as the reference Rust implementation does:
// offsets must tile the data section exactly, and every tensor's byte length
// must match its shape and dtype, so a lying header is refused before any
// tensor memory is allocated.
package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"unicode/utf8"

	"spadepaint/model/nd"
)

// maxHeaderLen is the reference implementation's limit on the JSON header.
const maxHeaderLen = 100_000_000

const metadataKey = "__metadata__"

// File is the content of a .safetensors file.
type File struct {
	// Tensors holds every tensor by name. Floating-point tensors of any
	// width come back as nd.Float32, integer and bool tensors as nd.Int64.
	Tensors map[string]*nd.Array
	// Names lists the tensor names in the order of the file's header.
	Names []string
	// Metadata is the free-form string map of the "__metadata__" entry,
	// nil when the file has none.
	Metadata map[string]string
}

// dtypeInfo describes one safetensors element type.
type dtypeInfo struct {
	size  int
	float bool
}

var dtypes = map[string]dtypeInfo{
	"F64":  {8, true},
	"F32":  {4, true},
	"F16":  {2, true},
	"BF16": {2, true},
	"I64":  {8, false},
	"U64":  {8, false},
	"I32":  {4, false},
	"U32":  {4, false},
	"I16":  {2, false},
	"U16":  {2, false},
	"I8":   {1, false},
	"U8":   {1, false},
	"BOOL": {1, false},
}

// ReadFile reads and validates the .safetensors file at path.
func ReadFile(path string) (*File, error) {
	var file *File
	err := readPath(path, func(r io.ReaderAt, size int64) (err error) {
		file, err = Read(r, size)
		return err
	})
	return file, err
}

// readPath opens path and hands it and its size to read; read's error
// names the file.
func readPath(path string, read func(r io.ReaderAt, size int64) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := read(f, st.Size()); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// ReadBytes decodes a .safetensors file held in memory.
func ReadBytes(data []byte) (*File, error) {
	return Read(bytes.NewReader(data), int64(len(data)))
}

// entry is one tensor's header record.
type entry struct {
	name       string
	dtype      string
	shape      []int
	begin, end int64
}

// ReadMetadataFile reads only the header of a .safetensors file and
// returns its metadata: what a caller needs to tell a file's kind without
// reading hundreds of megabytes of tensors.
func ReadMetadataFile(path string) (map[string]string, error) {
	var metadata map[string]string
	err := readPath(path, func(r io.ReaderAt, size int64) (err error) {
		_, metadata, _, err = readHeader(r, size)
		return err
	})
	return metadata, err
}

// Read decodes a .safetensors file of size bytes from r. The whole header is
// validated before any tensor is read.
func Read(r io.ReaderAt, size int64) (*File, error) {
	entries, metadata, dataStart, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	f := &File{
		Tensors:  make(map[string]*nd.Array, len(entries)),
		Names:    make([]string, len(entries)),
		Metadata: metadata,
	}
	for i, e := range entries {
		a, err := readTensor(io.NewSectionReader(r, dataStart+e.begin, e.end-e.begin), e)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", e.name, err)
		}
		f.Names[i] = e.name
		f.Tensors[e.name] = a
	}
	return f, nil
}

// readHeader reads and validates the header of a file of size bytes: the
// tensors' records, the metadata and where the tensor data starts.
func readHeader(r io.ReaderAt, size int64) ([]entry, map[string]string, int64, error) {
	if size < 8 {
		return nil, nil, 0, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(io.NewSectionReader(r, 0, 8), lenBuf[:]); err != nil {
		return nil, nil, 0, fmt.Errorf("read header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > maxHeaderLen {
		return nil, nil, 0, fmt.Errorf("header length %d exceeds the %d byte limit", hlen, maxHeaderLen)
	}
	if hlen > uint64(size-8) {
		return nil, nil, 0, fmt.Errorf("header length %d exceeds the %d bytes after the length field", hlen, size-8)
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(io.NewSectionReader(r, 8, int64(hlen)), header); err != nil {
		return nil, nil, 0, fmt.Errorf("read header: %w", err)
	}
	dataStart := 8 + int64(hlen)
	dataLen := size - dataStart
	entries, metadata, err := parseHeader(header)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("header: %w", err)
	}
	if err := checkLayout(entries, dataLen); err != nil {
		return nil, nil, 0, err
	}
	return entries, metadata, dataStart, nil
}

// parseHeader decodes the JSON header, keeping the tensors in file order.
func parseHeader(header []byte) ([]entry, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object")
	}
	var entries []entry
	var metadata map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return nil, nil, fmt.Errorf("duplicate entry %q", name)
		}
		seen[name] = true
		if name == metadataKey {
			if err := dec.Decode(&metadata); err != nil {
				return nil, nil, fmt.Errorf("%s must map strings to strings: %w", metadataKey, err)
			}
			continue
		}
		var raw struct {
			DType       *string   `json:"dtype"`
			Shape       *[]uint64 `json:"shape"`
			DataOffsets *[]uint64 `json:"data_offsets"`
		}
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		e, err := makeEntry(name, raw.DType, raw.Shape, raw.DataOffsets)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the JSON object")
	}
	return entries, metadata, nil
}

func makeEntry(name string, dtype *string, shape, offsets *[]uint64) (entry, error) {
	switch {
	case dtype == nil:
		return entry{}, errors.New(`missing "dtype"`)
	case shape == nil:
		return entry{}, errors.New(`missing "shape"`)
	case offsets == nil:
		return entry{}, errors.New(`missing "data_offsets"`)
	case len(*offsets) != 2:
		return entry{}, fmt.Errorf("data_offsets %v must hold two numbers", *offsets)
	}
	info, ok := dtypes[*dtype]
	if !ok {
		return entry{}, fmt.Errorf("unsupported dtype %q", *dtype)
	}
	e := entry{name: name, dtype: *dtype, shape: make([]int, len(*shape))}
	b, end := (*offsets)[0], (*offsets)[1]
	if b > end || end > math.MaxInt64 {
		return entry{}, fmt.Errorf("invalid data_offsets [%d, %d]", b, end)
	}
	e.begin, e.end = int64(b), int64(end)
	// The element count must equal the byte length over the element size;
	// computing it with overflow checks rules out shapes that only fit
	// because a product wrapped around.
	n, overflow := uint64(1), false
	for i, d := range *shape {
		if d > math.MaxInt32*2 && d > end-b {
			overflow = true // no real tensor has such a dimension
		}
		e.shape[i] = int(min(d, math.MaxInt64))
		hi, lo := bits.Mul64(n, d)
		overflow = overflow || hi != 0
		n = lo
	}
	hi, nbytes := bits.Mul64(n, uint64(info.size))
	if n != 0 && (overflow || hi != 0) || nbytes != end-b {
		return entry{}, fmt.Errorf("shape %v of %s needs %s bytes, data_offsets [%d, %d] hold %d",
			*shape, *dtype, byteCount(*shape, info.size), b, end, end-b)
	}
	if n == 0 && overflow {
		return entry{}, fmt.Errorf("shape %v has an absurd dimension", *shape)
	}
	return e, nil
}

// byteCount formats the byte size of shape for error messages, saying
// "too many" instead of a wrapped number.
func byteCount(shape []uint64, size int) string {
	n := uint64(size)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return "too many"
		}
		n = lo
	}
	return fmt.Sprint(n)
}

// checkLayout requires the tensors to tile the data section exactly, with
// no gap, overlap or trailing bytes, as the reference implementation does.
func checkLayout(entries []entry, dataLen int64) error {
	sorted := make([]*entry, len(entries))
	for i := range entries {
		sorted[i] = &entries[i]
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].begin != sorted[j].begin {
			return sorted[i].begin < sorted[j].begin
		}
		return sorted[i].end < sorted[j].end
	})
	var pos int64
	for _, e := range sorted {
		switch {
		case e.begin < pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the previous tensor, which ends at %d", e.name, e.begin, e.end, pos)
		case e.begin > pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap after byte %d", e.name, e.begin, e.end, pos)
		case e.end > dataLen:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the %d data bytes (truncated file?)", e.name, e.begin, e.end, dataLen)
		}
		pos = e.end
	}
	if pos != dataLen {
		return fmt.Errorf("tensors cover %d of the %d data bytes", pos, dataLen)
	}
	return nil
}

// readTensor decodes one tensor's bytes, converting to float32 or int64.
// It works through the bytes in chunks so that no full-size copy of the raw
// data is ever held next to the result.
func readTensor(r io.Reader, e entry) (*nd.Array, error) {
	info := dtypes[e.dtype]
	n := int((e.end - e.begin) / int64(info.size))
	var f32 []float32
	var i64 []int64
	if info.float {
		f32 = make([]float32, n)
	} else {
		i64 = make([]int64, n)
	}
	chunk := make([]byte, min(64<<10, n*info.size))
	for done := 0; done < n; {
		m := min(len(chunk)/info.size, n-done)
		b := chunk[:m*info.size]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("read data: %w", err)
		}
		for i := 0; i < m; i++ {
			p := b[i*info.size:]
			j := done + i
			switch e.dtype {
			case "F64":
				f32[j] = float32(math.Float64frombits(binary.LittleEndian.Uint64(p)))
			case "F32":
				f32[j] = math.Float32frombits(binary.LittleEndian.Uint32(p))
			case "F16":
				f32[j] = nd.HalfToFloat32(binary.LittleEndian.Uint16(p))
			case "BF16":
				f32[j] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(p)) << 16)
			case "I64":
				i64[j] = int64(binary.LittleEndian.Uint64(p))
			case "U64":
				v := binary.LittleEndian.Uint64(p)
				if v > math.MaxInt64 {
					return nil, fmt.Errorf("element %d: uint64 value %d does not fit in int64", j, v)
				}
				i64[j] = int64(v)
			case "I32":
				i64[j] = int64(int32(binary.LittleEndian.Uint32(p)))
			case "U32":
				i64[j] = int64(binary.LittleEndian.Uint32(p))
			case "I16":
				i64[j] = int64(int16(binary.LittleEndian.Uint16(p)))
			case "U16":
				i64[j] = int64(binary.LittleEndian.Uint16(p))
			case "I8":
				i64[j] = int64(int8(p[0]))
			case "U8":
				i64[j] = int64(p[0])
			case "BOOL":
				if p[0] != 0 {
					i64[j] = 1
				}
			}
		}
		done += m
	}
	if info.float {
		return nd.NewF32(e.shape, f32)
	}
	return nd.NewI64(e.shape, i64)
}

// WriteFile writes the tensors to path atomically: it writes a temporary
// file in the same directory, syncs it and renames it over path, so a crash
// never leaves a half-written weight file behind.
func WriteFile(path string, names []string, tensors map[string]*nd.Array, metadata map[string]string) error {
	return WriteFileWith(path, names, tensors, metadata, WriteOptions{})
}

// WriteFileWith is WriteFile with options, as WriteWith is Write.
func WriteFileWith(path string, names []string, tensors map[string]*nd.Array, metadata map[string]string, o WriteOptions) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := WriteWith(bw, names, tensors, metadata, o); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Write encodes tensors as a .safetensors file.
//
// names selects the tensors to write; nil writes every tensor in the map.
// Whatever the order of names, the file lays the tensors out as the
// reference implementation does: wider element types first, then by name.
// That keeps every tensor aligned to its element size and makes the output
// a pure function of the tensors, byte-identical across runs. float32
// tensors are stored as F32 and int64 tensors as I64.
func Write(w io.Writer, names []string, tensors map[string]*nd.Array, metadata map[string]string) error {
	return WriteWith(w, names, tensors, metadata, WriteOptions{})
}

// WriteOptions tunes WriteWith. The zero value writes what Write writes.
type WriteOptions struct {
	// Half names float32 tensors to store as F16 (IEEE binary16, rounded
	// to nearest even by nd.Float32ToHalf), halving their size; the other
	// float32 tensors stay F32. Naming a tensor that is not written, or
	// that is not float32, is an error, and so is a finite value that
	// float16 cannot hold (|x| ≥ 65520 would become Inf): silently turning
	// a weight into Inf would break the model, so callers check the range
	// and keep such tensors in F32. Readers convert F16 back to float32.
	Half map[string]bool
}

// WriteWith is Write with options. F16 tensors sort after the wider F32 and
// I64 ones, as the reference implementation lays out any 2-byte type.
func WriteWith(w io.Writer, names []string, tensors map[string]*nd.Array, metadata map[string]string, o WriteOptions) error {
	if names == nil {
		for name := range tensors {
			names = append(names, name)
		}
	}
	type item struct {
		name  string
		a     *nd.Array
		dtype string
		size  int
		half  []uint16 // the F16 bits of a tensor stored as F16
	}
	items := make([]item, 0, len(names))
	seen := map[string]bool{}
	for _, name := range names {
		a, ok := tensors[name]
		switch {
		case !ok || a == nil:
			return fmt.Errorf("tensor %q: not in the map", name)
		case seen[name]:
			return fmt.Errorf("tensor %q: named twice", name)
		case name == metadataKey:
			return fmt.Errorf("tensor name %q is reserved", name)
		}
		seen[name] = true
		it := item{name: name, a: a}
		n := 0
		switch a.DType {
		case nd.Float32:
			it.dtype, it.size, n = "F32", 4, len(a.F32)
		case nd.Int64:
			it.dtype, it.size, n = "I64", 8, len(a.I64)
		default:
			return fmt.Errorf("tensor %q: unsupported dtype %v", name, a.DType)
		}
		for _, d := range a.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %q: negative dimension in shape %v", name, a.Shape)
			}
		}
		if a.Size() != n {
			return fmt.Errorf("tensor %q: shape %s needs %d elements, have %d", name, nd.ShapeString(a.Shape), a.Size(), n)
		}
		if o.Half[name] {
			if a.DType != nd.Float32 {
				return fmt.Errorf("tensor %q: only float32 tensors can be stored as F16, not %v", name, a.DType)
			}
			h, err := toHalf(a.F32)
			if err != nil {
				return fmt.Errorf("tensor %q: %w", name, err)
			}
			it.dtype, it.size, it.half = "F16", 2, h
		}
		items = append(items, it)
	}
	for name, on := range o.Half {
		if on && !seen[name] {
			return fmt.Errorf("tensor %q: to be stored as F16 but not written", name)
		}
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].size != items[j].size {
			return items[i].size > items[j].size
		}
		return items[i].name < items[j].name
	})

	var h bytes.Buffer
	h.WriteByte('{')
	if metadata != nil {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		writeString(&h, metadataKey)
		h.WriteString(":{")
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeString(&h, k)
			h.WriteByte(':')
			writeString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	var offset int64
	for i, it := range items {
		if i > 0 || metadata != nil {
			h.WriteByte(',')
		}
		nbytes := int64(it.a.Size()) * int64(it.size)
		writeString(&h, it.name)
		fmt.Fprintf(&h, `:{"dtype":"%s","shape":[`, it.dtype)
		for j, d := range it.a.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			fmt.Fprint(&h, d)
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, offset+nbytes)
		offset += nbytes
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(h.Len()))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for _, it := range items {
		for i := 0; i < it.a.Size(); i++ {
			if it.half != nil {
				buf = binary.LittleEndian.AppendUint16(buf, it.half[i])
			} else if it.a.DType == nd.Float32 {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(it.a.F32[i]))
			} else {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(it.a.I64[i]))
			}
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err := w.Write(buf)
	return err
}

// toHalf converts float32 values to float16 bits, refusing finite values
// that would overflow to Inf. NaN and ±Inf stay what they are.
func toHalf(x []float32) ([]uint16, error) {
	h := make([]uint16, len(x))
	for i, v := range x {
		h[i] = nd.Float32ToHalf(v)
		if h[i]&0x7fff == 0x7c00 && !math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("element %d is %g, beyond float16's range (±65504)", i, v)
		}
	}
	return h, nil
}

// writeString appends s as a JSON string without Go's HTML escaping, so
// names like "a<b" stay readable to other tools.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	b.Truncate(b.Len() - 1)
}

// Package npy reads and writes NumPy .npy files as nd.Arrays.
//
// The .npy format is the simplest way to move a single array between the
// Python training code and this app: reference activations for tests,
// label colour tables, exported weights. Only what such files contain is
// supported: C-order arrays of float and integer dtypes. Floats come back as
// float32 and integers as int64, the two types nd.Array has.
//
// Read never trusts the header: the amount of data it allocates for grows
// with the bytes actually present, so a header that claims a huge shape
// fails with an error instead of exhausting memory.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"spadepaint/model/nd"
)

const (
	magic = "\x93NUMPY"
	// maxHeaderLen bounds the header a file may declare. NumPy itself
	// refuses headers over 10000 bytes by default; this is more lenient
	// but still keeps a lying length field from allocating gigabytes.
	maxHeaderLen = 1 << 20
	// arrayAlign is the alignment NumPy pads the header to.
	arrayAlign = 64
	// growthAxisMaxDigits is the room NumPy leaves after the header so that
	// the first dimension can grow in place; Write copies it so that its
	// output matches numpy.save byte for byte.
	growthAxisMaxDigits = 21
)

// dtype describes one of the element types Read understands.
type dtype struct {
	kind  byte // 'f' float, 'i' signed, 'u' unsigned, 'b' bool
	size  int  // bytes per element
	order binary.ByteOrder
}

// parseDescr decodes a NumPy type string such as "<f4" or "|u1".
func parseDescr(descr string) (dtype, error) {
	if len(descr) < 3 {
		return dtype{}, fmt.Errorf("unsupported dtype %q", descr)
	}
	var d dtype
	switch descr[0] {
	case '<', '|', '=':
		// '=' is native order; NumPy never writes it, and every
		// platform this app runs on is little-endian.
		d.order = binary.LittleEndian
	case '>':
		d.order = binary.BigEndian
	default:
		return dtype{}, fmt.Errorf("unsupported dtype %q: unknown byte order %q", descr, descr[0])
	}
	d.kind = descr[1]
	size, err := strconv.Atoi(descr[2:])
	if err != nil {
		return dtype{}, fmt.Errorf("unsupported dtype %q", descr)
	}
	d.size = size
	ok := false
	switch d.kind {
	case 'f':
		ok = size == 2 || size == 4 || size == 8
	case 'i', 'u':
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case 'b':
		ok = size == 1
	}
	if !ok {
		return dtype{}, fmt.Errorf("unsupported dtype %q (want float16/32/64, int8-64, uint8-64 or bool)", descr)
	}
	return d, nil
}

// header is the decoded .npy header dictionary.
type header struct {
	descr   string
	fortran bool
	shape   []int
}

// ReadFile reads the .npy file at path.
func ReadFile(path string) (*nd.Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return a, nil
}

// Read decodes one .npy array from r. It reads exactly the header and the
// data the header describes, so several arrays written back to back can be
// read in turn.
func Read(r io.Reader) (*nd.Array, error) {
	h, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	d, err := parseDescr(h.descr)
	if err != nil {
		return nil, err
	}
	if h.fortran {
		return nil, errors.New("fortran_order arrays are not supported; save a C-order array (numpy.ascontiguousarray)")
	}
	n, err := checkedSize(h.shape)
	if err != nil {
		return nil, err
	}
	hi, nbytes := bits.Mul64(uint64(n), uint64(d.size))
	if hi != 0 || nbytes > math.MaxInt64 {
		return nil, fmt.Errorf("shape %v is too large", h.shape)
	}
	// Grow the buffer only as bytes arrive: the header may lie about the
	// shape, and a short file must cost no more than its own length.
	var buf bytes.Buffer
	got, err := buf.ReadFrom(io.LimitReader(r, int64(nbytes)))
	if err != nil {
		return nil, fmt.Errorf("read data: %w", err)
	}
	if uint64(got) != nbytes {
		return nil, fmt.Errorf("truncated data: shape %s of %s needs %d bytes, have %d",
			nd.ShapeString(h.shape), h.descr, nbytes, got)
	}
	return decode(buf.Bytes(), d, h.shape)
}

// maxElements keeps element counts small enough that byte sizes of any
// supported dtype still fit in an int64.
const maxElements = math.MaxInt64 / 8

// checkedSize is the element count of shape, or an error when a dimension is
// negative or the product is absurdly large.
func checkedSize(shape []int) (int, error) {
	n := uint64(1)
	overflow := false
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		hi, lo := bits.Mul64(n, uint64(s))
		if hi != 0 || lo > maxElements {
			overflow = true
			lo = 1 // keep going: a later zero dimension makes it empty
		}
		n = lo
	}
	for _, s := range shape {
		if s == 0 {
			return 0, nil
		}
	}
	if overflow {
		return 0, fmt.Errorf("shape %v is too large", shape)
	}
	return int(n), nil
}

func decode(b []byte, d dtype, shape []int) (*nd.Array, error) {
	n := len(b) / d.size
	if d.kind == 'f' {
		out := make([]float32, n)
		switch d.size {
		case 2:
			for i := range out {
				out[i] = nd.HalfToFloat32(d.order.Uint16(b[2*i:]))
			}
		case 4:
			for i := range out {
				out[i] = math.Float32frombits(d.order.Uint32(b[4*i:]))
			}
		case 8:
			for i := range out {
				out[i] = float32(math.Float64frombits(d.order.Uint64(b[8*i:])))
			}
		}
		return nd.NewF32(shape, out)
	}
	out := make([]int64, n)
	signed := d.kind == 'i'
	for i := range out {
		p := b[i*d.size:]
		switch {
		case d.size == 1 && signed:
			out[i] = int64(int8(p[0]))
		case d.size == 1:
			out[i] = int64(p[0])
		case d.size == 2 && signed:
			out[i] = int64(int16(d.order.Uint16(p)))
		case d.size == 2:
			out[i] = int64(d.order.Uint16(p))
		case d.size == 4 && signed:
			out[i] = int64(int32(d.order.Uint32(p)))
		case d.size == 4:
			out[i] = int64(d.order.Uint32(p))
		case signed:
			out[i] = int64(d.order.Uint64(p))
		default:
			v := d.order.Uint64(p)
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("element %d: uint64 value %d does not fit in int64", i, v)
			}
			out[i] = int64(v)
		}
	}
	if d.kind == 'b' {
		for i, v := range out {
			if v != 0 {
				out[i] = 1
			}
		}
	}
	return nd.NewI64(shape, out)
}

func readHeader(r io.Reader) (header, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return header{}, fmt.Errorf("read magic: %w", noEOF(err))
	}
	if string(pre[:6]) != magic {
		return header{}, fmt.Errorf("not a .npy file: bad magic %q", pre[:6])
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return header{}, fmt.Errorf("read header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return header{}, fmt.Errorf("read header length: %w", noEOF(err))
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > maxHeaderLen {
			return header{}, fmt.Errorf("header length %d exceeds the %d byte limit", n, maxHeaderLen)
		}
		hlen = int(n)
	default:
		return header{}, fmt.Errorf("unsupported .npy format version %d.%d", major, minor)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return header{}, fmt.Errorf("read %d byte header: %w", hlen, noEOF(err))
	}
	if major == 3 {
		if !utf8.Valid(text) {
			return header{}, errors.New("header is not valid UTF-8")
		}
	} else {
		// Versions 1 and 2 are latin-1; the dictionary only uses ASCII.
		for _, c := range text {
			if c >= 0x80 {
				return header{}, errors.New("header contains non-ASCII bytes")
			}
		}
	}
	h, err := parseHeader(string(text))
	if err != nil {
		return header{}, fmt.Errorf("parse header %q: %w", clip(string(text)), err)
	}
	return h, nil
}

// noEOF turns a bare io.EOF into io.ErrUnexpectedEOF: a file that ends
// before its header does is truncated, not empty by design.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func clip(s string) string {
	s = strings.TrimRight(s, " \n")
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// parseHeader parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseHeader(s string) (header, error) {
	p := &literalParser{s: s}
	var h header
	seen := map[string]bool{}
	p.skipSpace()
	if !p.eat('{') {
		return h, errors.New("want '{'")
	}
	for {
		p.skipSpace()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, fmt.Errorf("key: %w", err)
		}
		if seen[key] {
			return h, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		p.skipSpace()
		if !p.eat(':') {
			return h, fmt.Errorf("want ':' after %q", key)
		}
		p.skipSpace()
		switch key {
		case "descr":
			if h.descr, err = p.str(); err != nil {
				return h, fmt.Errorf("descr: %w (structured dtypes are not supported)", err)
			}
		case "fortran_order":
			if h.fortran, err = p.boolean(); err != nil {
				return h, fmt.Errorf("fortran_order: %w", err)
			}
		case "shape":
			if h.shape, err = p.tuple(); err != nil {
				return h, fmt.Errorf("shape: %w", err)
			}
		default:
			return h, fmt.Errorf("unexpected key %q", key)
		}
		p.skipSpace()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return h, errors.New("want ',' or '}'")
		}
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return h, errors.New("trailing data after '}'")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("missing key %q", k)
		}
	}
	return h, nil
}

// literalParser reads the few Python literals a .npy header uses.
type literalParser struct {
	s string
	i int
}

func (p *literalParser) skipSpace() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *literalParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a quoted string without escapes, which is all NumPy writes for
// keys and simple type strings.
func (p *literalParser) str() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("want a quoted string")
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", errors.New("escapes in strings are not supported")
	}
	p.i += end + 2
	return v, nil
}

func (p *literalParser) boolean() (bool, error) {
	switch {
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	}
	return false, errors.New("want True or False")
}

// tuple reads a tuple of non-negative ints: (), (3,), (2, 3).
func (p *literalParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("want '('")
	}
	shape := []int{}
	for {
		p.skipSpace()
		if p.eat(')') {
			return shape, nil
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		// Python 2 era files may write longs as 3L.
		digits := p.s[start:p.i]
		p.eat('L')
		if digits == "" {
			return nil, errors.New("want a non-negative integer")
		}
		v, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || v > maxElements {
			return nil, fmt.Errorf("dimension %s out of range", digits)
		}
		shape = append(shape, int(v))
		if len(shape) > 64 {
			return nil, errors.New("more than 64 dimensions")
		}
		p.skipSpace()
		if p.eat(')') {
			return shape, nil
		}
		if !p.eat(',') {
			return nil, errors.New("want ',' or ')'")
		}
	}
}

// WriteFile writes a to path as a version 1.0 .npy file.
func WriteFile(path string, a *nd.Array) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = Write(bw, a)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Write encodes a the way numpy.save does: float32 as '<f4', int64 as '<i8',
// format version 1.0 (2.0 only if the header does not fit), header padded
// to 64 bytes. For the arrays nd holds the output is byte-identical to
// numpy.save's.
func Write(w io.Writer, a *nd.Array) error {
	if a == nil {
		return errors.New("nil array")
	}
	var descr string
	var n int
	switch a.DType {
	case nd.Float32:
		descr, n = "<f4", len(a.F32)
	case nd.Int64:
		descr, n = "<i8", len(a.I64)
	default:
		return fmt.Errorf("unsupported dtype %v", a.DType)
	}
	size, err := checkedSize(a.Shape)
	if err != nil {
		return err
	}
	if size != n {
		return fmt.Errorf("shape %s needs %d elements, array has %d", nd.ShapeString(a.Shape), size, n)
	}
	if _, err := w.Write(encodeHeader(descr, a.Shape)); err != nil {
		return err
	}
	// Encode in chunks so that a large array needs no second full copy.
	buf := make([]byte, 0, 64<<10)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	for i := 0; i < n; i++ {
		if a.DType == nd.Float32 {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(a.F32[i]))
		} else {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(a.I64[i]))
		}
		if len(buf) == cap(buf) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// encodeHeader builds magic, version, length and the padded dictionary
// exactly as numpy.lib.format does.
func encodeHeader(descr string, shape []int) []byte {
	var d strings.Builder
	fmt.Fprintf(&d, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, pyTuple(shape))
	if len(shape) > 0 {
		if pad := growthAxisMaxDigits - len(strconv.Itoa(shape[0])); pad > 0 {
			d.WriteString(strings.Repeat(" ", pad))
		}
	}
	dict := d.String()
	hlen := len(dict) + 1 // the final newline
	major, lenSize := byte(1), 2
	if len(magic)+2+lenSize+hlen+arrayAlign > math.MaxUint16 {
		major, lenSize = 2, 4
	}
	pad := arrayAlign - (len(magic)+2+lenSize+hlen)%arrayAlign
	out := make([]byte, 0, len(magic)+2+lenSize+hlen+pad)
	out = append(out, magic...)
	out = append(out, major, 0)
	if major == 1 {
		out = binary.LittleEndian.AppendUint16(out, uint16(hlen+pad))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(hlen+pad))
	}
	out = append(out, dict...)
	out = append(out, strings.Repeat(" ", pad)...)
	return append(out, '\n')
}

// pyTuple formats shape as Python's repr of a tuple: (), (3,), (2, 3).
func pyTuple(shape []int) string {
	switch len(shape) {
	case 0:
		return "()"
	case 1:
		return "(" + strconv.Itoa(shape[0]) + ",)"
	}
	parts := make([]string, len(shape))
	for i, s := range shape {
		parts[i] = strconv.Itoa(s)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

package pth

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxMarkDepth bounds how many MARKs a pickle may leave open at once. The
// unpickler allocates a fresh stack per MARK, so without a bound a file of
// nothing but MARK bytes would cost a hundred times its size in memory.
// Real checkpoints nest a handful of levels deep.
const maxMarkDepth = 10000

// argument layouts of pickle opcodes, as in Python's pickletools.
const (
	argNone = iota
	argFixed
	argLine
	argTwoLines
	argLen1  // 1-byte length, then that many bytes
	argLen4  // 4-byte unsigned length
	argLen4s // 4-byte signed length
	argLen8  // 8-byte length
)

type opArg struct {
	kind int
	n    int // byte count for argFixed
}

// opcodes lists every opcode of pickle protocols 0 to 5.
var opcodes = map[byte]opArg{
	'(': {}, '.': {}, '0': {}, '1': {}, '2': {},
	'F': {kind: argLine}, 'I': {kind: argLine}, 'L': {kind: argLine},
	'J': {argFixed, 4}, 'K': {argFixed, 1}, 'M': {argFixed, 2},
	'N': {}, 'P': {kind: argLine}, 'Q': {}, 'R': {},
	'S': {kind: argLine}, 'T': {kind: argLen4s}, 'U': {kind: argLen1},
	'V': {kind: argLine}, 'X': {kind: argLen4},
	'a': {}, 'b': {}, 'c': {kind: argTwoLines}, 'd': {}, '}': {}, 'e': {},
	'g': {kind: argLine}, 'h': {argFixed, 1}, 'i': {kind: argTwoLines},
	'j': {argFixed, 4}, 'l': {}, ']': {}, 'o': {},
	'p': {kind: argLine}, 'q': {argFixed, 1}, 'r': {argFixed, 4},
	's': {}, 't': {}, ')': {}, 'u': {}, 'G': {argFixed, 8},
	// protocol 2
	0x80: {argFixed, 1}, 0x81: {}, 0x82: {argFixed, 1}, 0x83: {argFixed, 2},
	0x84: {argFixed, 4}, 0x85: {}, 0x86: {}, 0x87: {}, 0x88: {}, 0x89: {},
	0x8a: {kind: argLen1}, 0x8b: {kind: argLen4s},
	// protocol 3
	'B': {kind: argLen4}, 'C': {kind: argLen1},
	// protocol 4
	0x8c: {kind: argLen1}, 0x8d: {kind: argLen8}, 0x8e: {kind: argLen8},
	0x8f: {}, 0x90: {}, 0x91: {}, 0x92: {}, 0x93: {}, 0x94: {},
	0x95: {argFixed, 8}, // FRAME: its length only announces what follows
	// protocol 5
	0x96: {kind: argLen8}, 0x97: {}, 0x98: {},
}

// popsMark lists the opcodes that consume the topmost MARK.
var popsMark = map[byte]bool{'1': true, 'd': true, 'e': true, 'l': true, 't': true, 'u': true, 0x90: true, 0x91: true, 'i': true, 'o': true}

// readPickle reads one complete pickle (up to and including STOP) from r
// and returns its bytes. It reads no further, so the next pickle or raw
// storage data can follow. limit is how many bytes r still holds; every
// length a pickle declares is checked against it before anything is
// allocated, which is what keeps a lying length field in a corrupt file
// from making the unpickler allocate gigabytes.
func readPickle(r *bufio.Reader, limit int64) ([]byte, error) {
	var out []byte
	remaining := func() int64 { return limit - int64(len(out)) }
	take := func(n int64) ([]byte, error) {
		if n > remaining() {
			return nil, fmt.Errorf("pickle argument of %d bytes at offset %d runs past the end of the data", n, len(out))
		}
		start := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := io.ReadFull(r, out[start:]); err != nil {
			return nil, fmt.Errorf("pickle truncated at offset %d: %w", start, noEOF(err))
		}
		return out[start:], nil
	}
	line := func() error {
		for {
			if remaining() <= 0 {
				return errors.New("pickle truncated inside a text argument")
			}
			c, err := r.ReadByte()
			if err != nil {
				return fmt.Errorf("pickle truncated inside a text argument: %w", noEOF(err))
			}
			out = append(out, c)
			if c == '\n' {
				return nil
			}
		}
	}
	depth := 0
	for {
		b, err := take(1)
		if err != nil {
			if len(out) == 0 {
				return nil, errors.New("no pickle data")
			}
			return nil, err
		}
		op := b[0]
		arg, ok := opcodes[op]
		if !ok {
			return nil, fmt.Errorf("unknown pickle opcode 0x%02x at offset %d", op, len(out)-1)
		}
		switch arg.kind {
		case argFixed:
			v, err := take(int64(arg.n))
			if err != nil {
				return nil, err
			}
			if op == 0x95 {
				if n := binary.LittleEndian.Uint64(v); n > uint64(remaining()) {
					return nil, fmt.Errorf("pickle frame of %d bytes runs past the end of the data", n)
				}
			}
		case argLine:
			err = line()
		case argTwoLines:
			if err = line(); err == nil {
				err = line()
			}
		case argLen1, argLen4, argLen4s, argLen8:
			width := map[int]int{argLen1: 1, argLen4: 4, argLen4s: 4, argLen8: 8}[arg.kind]
			v, err := take(int64(width))
			if err != nil {
				return nil, err
			}
			var n uint64
			switch width {
			case 1:
				n = uint64(v[0])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(v))
				if arg.kind == argLen4s && n >= 1<<31 {
					return nil, fmt.Errorf("negative pickle length at offset %d", len(out)-5)
				}
			case 8:
				n = binary.LittleEndian.Uint64(v)
			}
			if n > uint64(remaining()) {
				return nil, fmt.Errorf("pickle argument of %d bytes at offset %d runs past the end of the data", n, len(out))
			}
			_, err = take(int64(n))
		}
		if err != nil {
			return nil, err
		}
		switch {
		case op == '(':
			if depth++; depth > maxMarkDepth {
				return nil, fmt.Errorf("pickle nests deeper than %d levels", maxMarkDepth)
			}
		case popsMark[op] && depth > 0:
			depth--
		case op == '.':
			return out, nil
		}
	}
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: data that stops in the
// middle of a structure is truncated.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

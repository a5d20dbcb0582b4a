// Package pth loads PyTorch checkpoints (files written by torch.save) as
// nd.Arrays, so that the SPADE generator trained in Python can be painted
// with here without a Python install or a conversion step.
//
// Both of torch.save's formats are read: the zip archive that PyTorch 1.6
// and later write by default (archive/data.pkl plus one archive/data/<key>
// record per storage) and the older stream format
// (_use_new_zipfile_serialization=False: magic number, protocol version
// and system info pickles, the object pickle, the storage key list, then
// the raw storages). Pickles are decoded with
// github.com/nlpodyssey/gopickle's unpickler, which never runs code.
// The PyTorch layer is this package's own rather than gopickle's pytorch
// package, which only loads from a named file, rejects nn.Parameter values
// and any non-torch class (an argparse.Namespace in a checkpoint), cannot
// read legacy storage views, and allocates whatever a storage's declared
// size asks for before reading it.
//
// A checkpoint is untrusted input. Every length in it is checked against
// the bytes actually present before memory is allocated for it (gopickle
// itself would allocate whatever a length field says, so each pickle is
// first walked opcode by opcode), the materialised tensors may total only
// a few times the storage data present, and any panic inside the unpickler
// is turned into an error.
package pth

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"

	"spadepaint/model/nd"
)

const (
	legacyMagic    = "1950a86a20f9469cfc6c" // torch.serialization.MAGIC_NUMBER
	legacyProtocol = 1001                   // torch.serialization.PROTOCOL_VERSION
	// maxPickleLen bounds data.pkl. A state dict pickle takes about a
	// hundred bytes per tensor, so this allows millions of tensors while
	// refusing a zip record that inflates without end.
	maxPickleLen = 256 << 20
)

// Load reads the checkpoint at path. It returns the tensors by name and
// the names in the order the checkpoint lists them.
//
// The checkpoint must hold a dict (usually a module's state_dict). If it
// has a "state_dict" entry that is itself a dict, as training checkpoints
// often do, that entry is loaded instead. Nested dicts are flattened,
// joining keys with "." (the way state_dict names submodules), and values
// that are not tensors (epoch counters, hyper-parameters, lists) are
// skipped. Floating-point tensors become nd.Float32 and integer and bool
// tensors nd.Int64, copied out in row-major order whatever their strides.
// Keys that name the very same tensor object (tied weights) share one
// *nd.Array.
func Load(path string) (map[string]*nd.Array, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	tensors, names, err := LoadReader(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return tensors, names, nil
}

// LoadBytes is Load for a checkpoint held in memory.
func LoadBytes(data []byte) (map[string]*nd.Array, []string, error) {
	return LoadReader(bytes.NewReader(data), int64(len(data)))
}

// LoadReader is Load for a checkpoint of size bytes read from r.
func LoadReader(r io.ReaderAt, size int64) (tensors map[string]*nd.Array, names []string, err error) {
	defer func() {
		// gopickle indexes and type-asserts without checking in a few
		// places; a corrupt file must not take the program down.
		if p := recover(); p != nil {
			tensors, names, err = nil, nil, fmt.Errorf("corrupt .pth: %v", p)
		}
	}()
	var head [512]byte
	n, err := r.ReadAt(head[:min(int64(len(head)), max(size, 0))], 0)
	if err != nil && err != io.EOF {
		return nil, nil, err
	}
	var obj any
	var st *storages
	switch {
	case n == 0:
		return nil, nil, errors.New("empty file")
	case bytes.HasPrefix(head[:n], []byte("PK\x03\x04")):
		obj, st, err = loadZip(r, size)
	case n >= 262 && string(head[257:262]) == "ustar":
		return nil, nil, errors.New("tar checkpoint of PyTorch before 0.4 is not supported; re-save it with a newer PyTorch")
	default: // the legacy format starts with a pickle of the magic number
		obj, st, err = loadLegacy(r, size)
	}
	if err != nil {
		return nil, nil, err
	}
	return collect(obj, st)
}

func loadZip(r io.ReaderAt, size int64) (any, *storages, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("truncated or corrupt zip archive: %w", err)
	}
	records := make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	prefix := ""
	for _, f := range zr.File {
		records[f.Name] = f
		dir, base, ok := strings.Cut(f.Name, "/")
		if !ok || strings.Contains(base, "/") {
			continue
		}
		switch base {
		case "data.pkl":
			if pkl != nil {
				return nil, nil, errors.New("zip archive holds more than one data.pkl")
			}
			pkl, prefix = f, dir+"/"
		case "constants.pkl":
			return nil, nil, errors.New("this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save model.state_dict() with torch.save")
		}
	}
	if pkl == nil {
		return nil, nil, errors.New("zip archive has no data.pkl: not a torch.save checkpoint")
	}
	if bo := records[prefix+"byteorder"]; bo != nil {
		b, err := readRecord(bo, 16)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", bo.Name, err)
		}
		if string(b) != "little" {
			return nil, nil, fmt.Errorf("byte order %q is not supported", b)
		}
	}
	data, err := readRecord(pkl, maxPickleLen+1)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", pkl.Name, err)
	}
	if len(data) > maxPickleLen {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes", pkl.Name, maxPickleLen)
	}
	st := newStorages(false)
	pickled, err := readPickle(bufio.NewReader(bytes.NewReader(data)), int64(len(data)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	obj, err := decode(pickled, st)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	for _, root := range st.order {
		f := records[prefix+"data/"+root.key]
		if f == nil {
			return nil, nil, fmt.Errorf("storage %q: no record %sdata/%s in the archive", root.key, prefix, root.key)
		}
		if err := root.fits(size); err != nil {
			return nil, nil, err
		}
		need := int64(root.numel) * int64(root.elem.size)
		if f.UncompressedSize64 < uint64(need) {
			return nil, nil, fmt.Errorf("storage %q: record holds %d bytes, %d %s elements need %d",
				root.key, f.UncompressedSize64, root.numel, root.elem.name, need)
		}
		if root.data, err = readRecord(f, need); err != nil {
			return nil, nil, fmt.Errorf("storage %q: %w", root.key, err)
		}
		if int64(len(root.data)) != need {
			return nil, nil, fmt.Errorf("storage %q: record is truncated: %d of %d bytes", root.key, len(root.data), need)
		}
	}
	return obj, st, nil
}

// readRecord reads at most limit bytes of a zip record. The buffer grows as
// bytes arrive, so a record whose header claims more than it holds costs
// only what it holds.
func readRecord(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(rc, limit)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func loadLegacy(r io.ReaderAt, size int64) (any, *storages, error) {
	c := &cursor{r: r, size: size}
	magic, err := c.unpickle(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("not a PyTorch checkpoint: %w", err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Text(16) != legacyMagic {
		return nil, nil, errors.New("not a PyTorch checkpoint: a pickle without the torch.save magic number")
	}
	proto, err := c.unpickle(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("protocol version: %w", err)
	}
	if p, ok := proto.(int); !ok || p != legacyProtocol {
		return nil, nil, fmt.Errorf("unsupported legacy protocol version %v", proto)
	}
	sysInfo, err := c.unpickle(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("system info: %w", err)
	}
	if d, ok := sysInfo.(*types.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le != true {
			return nil, nil, errors.New("big-endian checkpoints are not supported")
		}
	}
	st := newStorages(true)
	obj, err := c.unpickle(st)
	if err != nil {
		return nil, nil, err
	}
	rawKeys, err := c.unpickle(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("storage keys: %w", err)
	}
	keys, ok := rawKeys.(*types.List)
	if !ok {
		return nil, nil, fmt.Errorf("storage keys are %T, want a list", rawKeys)
	}
	for _, k := range *keys {
		key, ok := k.(string)
		if !ok {
			return nil, nil, fmt.Errorf("storage key is %T, want a string", k)
		}
		root := st.byKey[key]
		if root == nil {
			return nil, nil, fmt.Errorf("storage %q is stored but never referenced", key)
		}
		if root.data != nil {
			return nil, nil, fmt.Errorf("storage %q is stored twice", key)
		}
		var hdr [8]byte
		if err := c.read(hdr[:]); err != nil {
			return nil, nil, fmt.Errorf("storage %q: size: %w", key, err)
		}
		if err := root.fits(size); err != nil {
			return nil, nil, err
		}
		numel := int64(binary.LittleEndian.Uint64(hdr[:]))
		if numel != int64(root.numel) {
			return nil, nil, fmt.Errorf("storage %q has %d elements, the pickle says %d", key, numel, root.numel)
		}
		need := numel * int64(root.elem.size)
		if need > c.size-c.off {
			return nil, nil, fmt.Errorf("storage %q needs %d bytes, only %d remain (truncated file?)", key, need, c.size-c.off)
		}
		root.data = make([]byte, need)
		if err := c.read(root.data); err != nil {
			return nil, nil, fmt.Errorf("storage %q: %w", key, err)
		}
	}
	for _, root := range st.order {
		if root.data == nil {
			return nil, nil, fmt.Errorf("storage %q is referenced but not stored", root.key)
		}
	}
	return obj, st, nil
}

// cursor reads a legacy file front to back.
type cursor struct {
	r         io.ReaderAt
	off, size int64
}

func (c *cursor) read(b []byte) error {
	if int64(len(b)) > c.size-c.off {
		return io.ErrUnexpectedEOF
	}
	if _, err := io.ReadFull(io.NewSectionReader(c.r, c.off, int64(len(b))), b); err != nil {
		return noEOF(err)
	}
	c.off += int64(len(b))
	return nil
}

// unpickle reads the next pickle; st resolves storages, nil where the
// pickle must not refer to any.
func (c *cursor) unpickle(st *storages) (any, error) {
	rest := c.size - c.off
	data, err := readPickle(bufio.NewReader(io.NewSectionReader(c.r, c.off, rest)), rest)
	if err != nil {
		return nil, err
	}
	c.off += int64(len(data))
	return decode(data, st)
}

// decode unpickles one pickle that readPickle has checked.
func decode(data []byte, st *storages) (any, error) {
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass
	if st != nil {
		u.PersistentLoad = st.persistentLoad
	}
	return u.Load()
}

package canvas

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
)

// ErrTooLarge is returned (wrapped) by Load for images wider or taller than
// MaxSize.
var ErrTooLarge = errors.New("label map too large")

// ErrFormat is returned (wrapped) by Load for PNGs that are not label maps:
// neither paletted nor 8-bit grayscale.
var ErrFormat = errors.New("not a paletted or 8-bit grayscale PNG")

// ClassError reports a pixel whose value is not a class of the palette.
type ClassError struct {
	ID    uint8
	X, Y  int
	Limit int // the palette's Len: ids must be below it
}

func (e *ClassError) Error() string {
	if int(e.ID) >= e.Limit {
		return fmt.Sprintf("class id %d at (%d, %d) out of range: the palette has ids 0..%d", e.ID, e.X, e.Y, e.Limit-1)
	}
	return fmt.Sprintf("class id %d at (%d, %d) is not a class of the palette (ids 0..%d)", e.ID, e.X, e.Y, e.Limit-1)
}

// Save writes m as an 8-bit paletted PNG: pixel values are class ids and the
// embedded palette holds the class colours, so image viewers show the
// colours and training scripts read the ids.
func (m *LabelMap) Save(w io.Writer) error {
	// Go's encoder picks the bit depth from the palette length and would write
	// 1-, 2- or 4-bit PNGs for small palettes; padding the palette to 256
	// entries forces the 8-bit form label-map readers expect.
	cols := make(color.Palette, 256)
	copy(cols, m.img.Palette)
	for i := len(m.img.Palette); i < len(cols); i++ {
		cols[i] = color.NRGBA{A: 0xff}
	}
	img := *m.img
	img.Palette = cols
	if err := png.Encode(w, &img); err != nil {
		return fmt.Errorf("save label map: %w", err)
	}
	return nil
}

// PNG header layout: signature, IHDR length and type, then width, height,
// bit depth and colour type.
const (
	pngHeaderLen  = 8 + 8 + 13
	ihdrBitDepth  = 24
	ihdrColorType = 25
	pngGray       = 0
	pngPaletted   = 3
	// maxHeader is how many bytes may precede the image data (IHDR,
	// PLTE and ancillary chunks such as an ICC profile).
	maxHeader = 1 << 20
)

// Load reads a label map PNG whose pixel values are class ids of pal:
// paletted at any bit depth (the file's own palette is ignored, pal's colours
// are used) or 8-bit grayscale. It checks the size in the header before
// decoding any pixels, and rejects pixel values that are not classes of pal
// with a *ClassError.
func Load(r io.Reader, pal Palette) (*LabelMap, error) {
	if err := pal.Validate(); err != nil {
		return nil, fmt.Errorf("load label map: %w", err)
	}
	// Keep the bytes DecodeConfig consumes so that Decode can reread them.
	// DecodeConfig reads up to the PLTE chunk for paletted images; the limit
	// stops a file with huge chunks before it from filling memory here.
	var head bytes.Buffer
	cfg, err := png.DecodeConfig(io.TeeReader(io.LimitReader(r, maxHeader), &head))
	if err != nil {
		return nil, fmt.Errorf("load label map: header: %w", err)
	}
	if cfg.Width > MaxSize || cfg.Height > MaxSize {
		return nil, fmt.Errorf("load label map: %d×%d: %w (max %d×%d)", cfg.Width, cfg.Height, ErrTooLarge, MaxSize, MaxSize)
	}
	hdr := head.Bytes()
	if len(hdr) < pngHeaderLen {
		return nil, fmt.Errorf("load label map: header: %w", io.ErrUnexpectedEOF)
	}
	switch depth, ct := hdr[ihdrBitDepth], hdr[ihdrColorType]; {
	case ct == pngPaletted:
	case ct == pngGray && depth == 8:
	default:
		// Lower-depth gray is scaled to 0..255 by the decoder, so its values
		// are not ids; 16-bit and colour images are not label maps at all.
		return nil, fmt.Errorf("load label map: colour type %d, bit depth %d: %w", ct, depth, ErrFormat)
	}

	img, err := png.Decode(io.MultiReader(&head, r))
	if err != nil {
		return nil, fmt.Errorf("load label map: %w", err)
	}
	var pix []uint8
	var stride int
	switch img := img.(type) {
	case *image.Paletted:
		pix, stride = img.Pix, img.Stride
	case *image.Gray:
		pix, stride = img.Pix, img.Stride
	default:
		return nil, fmt.Errorf("load label map: decoded as %T: %w", img, ErrFormat)
	}
	b := img.Bounds()
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("load label map: decoded %v, header said %d×%d", b.Size(), cfg.Width, cfg.Height)
	}

	m, err := newLabelMap(image.Rect(0, 0, b.Dx(), b.Dy()), pal)
	if err != nil {
		return nil, fmt.Errorf("load label map: %w", err)
	}
	limit := pal.Len()
	for y := 0; y < b.Dy(); y++ {
		row := pix[y*stride : y*stride+b.Dx()]
		for x, id := range row {
			if !m.valid[id] {
				return nil, fmt.Errorf("load label map: %w", &ClassError{ID: id, X: x, Y: y, Limit: limit})
			}
		}
		copy(m.img.Pix[y*m.img.Stride:], row)
	}
	return m, nil
}

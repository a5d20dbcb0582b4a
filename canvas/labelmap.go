package canvas

import (
	"fmt"
	"image"
)

// MaxSize is the largest width or height of a label map, in pixels. It bounds
// the memory a loaded file can claim (MaxSize² bytes, 64 MiB).
const MaxSize = 8192

// LabelMap is a semantic label map: one class id per pixel. It wraps an
// *image.Paletted whose palette holds the class colours, so the image can be
// shown or encoded as it is while its pixel values stay class ids.
//
// All changes go through LabelMap methods (directly or through a Tool) so that
// a History can record the pixels before a stroke touches them.
type LabelMap struct {
	img   *image.Paletted
	pal   Palette
	valid classSet
	// rec is the History recorder of the stroke in progress, nil otherwise.
	rec *recorder
}

// NewLabelMap returns a w×h label map filled with class fill.
func NewLabelMap(w, h int, pal Palette, fill uint8) (*LabelMap, error) {
	if w <= 0 || h <= 0 || w > MaxSize || h > MaxSize {
		return nil, fmt.Errorf("new label map: size %d×%d outside 1..%d", w, h, MaxSize)
	}
	m, err := newLabelMap(image.Rect(0, 0, w, h), pal)
	if err != nil {
		return nil, fmt.Errorf("new label map: %w", err)
	}
	if !m.valid[fill] {
		return nil, fmt.Errorf("new label map: fill class %d is not in the palette", fill)
	}
	if fill != 0 {
		for i := range m.img.Pix {
			m.img.Pix[i] = fill
		}
	}
	return m, nil
}

// newLabelMap allocates a map over r with every pixel 0, which need not be a
// valid class; callers overwrite the pixels.
func newLabelMap(r image.Rectangle, pal Palette) (*LabelMap, error) {
	if err := pal.Validate(); err != nil {
		return nil, err
	}
	// Copy the classes so that a caller editing its slice cannot break the
	// map's invariant that every pixel is a palette class.
	pal.Classes = append([]Class(nil), pal.Classes...)
	return &LabelMap{
		img:   image.NewPaletted(r, pal.Colors()),
		pal:   pal,
		valid: newClassSet(pal),
	}, nil
}

// Bounds returns the map's rectangle; its origin is always (0, 0).
func (m *LabelMap) Bounds() image.Rectangle { return m.img.Rect }

// Palette returns a copy of the map's palette.
func (m *LabelMap) Palette() Palette {
	p := m.pal
	p.Classes = append([]Class(nil), p.Classes...)
	return p
}

// Image returns the underlying paletted image. It shares the map's pixels:
// read it, do not write it, since writes would bypass undo recording and the
// class checks.
func (m *LabelMap) Image() *image.Paletted { return m.img }

// Valid reports whether class is defined by the map's palette.
func (m *LabelMap) Valid(class uint8) bool { return m.valid[class] }

// ClassAt returns the class id at p, or false if p is outside the map.
func (m *LabelMap) ClassAt(p image.Point) (uint8, bool) {
	if !p.In(m.img.Rect) {
		return 0, false
	}
	return m.img.Pix[m.img.PixOffset(p.X, p.Y)], true
}

// Set paints the single pixel p and returns the changed rectangle (empty if
// p is outside the map, class is not in the palette, or the pixel already
// had that class).
func (m *LabelMap) Set(p image.Point, class uint8) image.Rectangle {
	return m.span(p.Y, p.X, p.X+1, class)
}

// FillRect paints every pixel of r that lies inside the map and returns the
// bounding rectangle of the pixels that changed.
func (m *LabelMap) FillRect(r image.Rectangle, class uint8) image.Rectangle {
	r = r.Intersect(m.img.Rect)
	var changed image.Rectangle
	for y := r.Min.Y; y < r.Max.Y; y++ {
		changed = changed.Union(m.span(y, r.Min.X, r.Max.X, class))
	}
	return changed
}

// Clone returns an independent copy of the map, e.g. for a renderer running
// on another goroutine.
func (m *LabelMap) Clone() *LabelMap {
	img := *m.img
	img.Pix = append([]uint8(nil), m.img.Pix...)
	img.Palette = append(m.img.Palette[:0:0], m.img.Palette...)
	c := *m
	c.img = &img
	c.rec = nil
	return &c
}

// span paints pixels x0 ≤ x < x1 of row y (clipped to the map) and returns
// the rectangle of pixels whose value changed. It is the one primitive every
// painting operation goes through: it tells the recorder which pixels are
// about to change, and only rows that really change are recorded, so a
// stroke over its own colour costs no undo memory.
func (m *LabelMap) span(y, x0, x1 int, class uint8) image.Rectangle {
	b := m.img.Rect
	if y < b.Min.Y || y >= b.Max.Y || !m.valid[class] {
		return image.Rectangle{}
	}
	x0, x1 = max(x0, b.Min.X), min(x1, b.Max.X)
	if x0 >= x1 {
		return image.Rectangle{}
	}
	off := m.img.PixOffset(x0, y)
	row := m.img.Pix[off : off+x1-x0]
	first := -1
	for i, v := range row {
		if v != class {
			first = i
			break
		}
	}
	if first < 0 {
		return image.Rectangle{}
	}
	last := first
	for i := len(row) - 1; i > first; i-- {
		if row[i] != class {
			last = i
			break
		}
	}
	changed := image.Rect(x0+first, y, x0+last+1, y+1)
	if m.rec != nil {
		m.rec.touch(changed)
	}
	for i := first; i <= last; i++ {
		row[i] = class
	}
	return changed
}

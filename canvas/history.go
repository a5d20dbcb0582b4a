package canvas

import (
	"image"
)

// Default History limits.
const (
	DefaultMaxSteps = 200
	DefaultMaxBytes = 256 << 20
)

// stepOverhead is what a History step costs beyond its pixels, counted so
// that many tiny steps still respect the byte cap.
const stepOverhead = 64

// History is a per-stroke undo/redo stack for one LabelMap at a time.
//
// A stroke is recorded between Begin and Commit. While recording, the first
// change to any 64×64 tile saves that tile's pixels, so a step costs memory in
// proportion to the area the stroke touched, not to the map. Commit keeps only
// the pixels of the bounding rectangle of what changed. Undo and Redo swap
// those pixels with the map's, so one buffer serves both directions.
type History struct {
	maxSteps, maxBytes int
	undo, redo         []step
	bytes              int
	rec                recorder
}

// step is one committed stroke: the rectangle it changed and, while on the
// undo stack, the pixels from before the stroke (after it, on the redo stack).
type step struct {
	rect image.Rectangle
	pix  []uint8
}

func (s step) size() int { return len(s.pix) + stepOverhead }

// NewHistory returns a History that keeps at most maxSteps steps and about
// maxBytes bytes of pixels; values ≤ 0 select DefaultMaxSteps and
// DefaultMaxBytes. The newest step is kept even when it alone exceeds
// maxBytes, so the last action can always be undone.
func NewHistory(maxSteps, maxBytes int) *History {
	if maxSteps <= 0 {
		maxSteps = DefaultMaxSteps
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &History{maxSteps: maxSteps, maxBytes: maxBytes}
}

// Begin starts recording a stroke on m. A stroke still open is committed
// first.
func (h *History) Begin(m *LabelMap) {
	h.Commit()
	h.rec.start(m)
}

// Recording reports whether a stroke is open.
func (h *History) Recording() bool { return h.rec.m != nil }

// Changed returns the bounding rectangle of what the open stroke changed so
// far.
func (h *History) Changed() image.Rectangle { return h.rec.changed }

// Revert puts back the pixels the open stroke changed, keeping the stroke
// open, and returns the rectangle it restored. Shape tools use it to replace
// their preview on every pointer move.
func (h *History) Revert() image.Rectangle { return h.rec.revert() }

// Commit ends the open stroke and returns the rectangle it changed. A stroke
// that changed nothing leaves no step and keeps the redo stack.
func (h *History) Commit() image.Rectangle {
	if h.rec.m == nil {
		return image.Rectangle{}
	}
	r := h.rec.changed
	if r.Empty() {
		h.rec.end()
		return r
	}
	s := step{rect: r, pix: h.rec.before(r)}
	h.rec.end()
	h.clearRedo()
	h.undo = append(h.undo, s)
	h.bytes += s.size()
	h.trim()
	return r
}

// Cancel reverts and ends the open stroke without leaving a step, and
// returns the rectangle it restored.
func (h *History) Cancel() image.Rectangle {
	r := h.rec.revert()
	h.rec.end()
	return r
}

// Undo reverts the newest step on m and returns the rectangle it changed
// (empty if there is nothing to undo). An open stroke is committed first.
func (h *History) Undo(m *LabelMap) image.Rectangle {
	h.Commit()
	if len(h.undo) == 0 {
		return image.Rectangle{}
	}
	s := h.undo[len(h.undo)-1]
	h.undo = h.undo[:len(h.undo)-1]
	s.swap(m)
	h.redo = append(h.redo, s)
	return s.rect
}

// Redo re-applies the newest undone step on m and returns the rectangle it
// changed (empty if there is nothing to redo).
func (h *History) Redo(m *LabelMap) image.Rectangle {
	h.Commit()
	if len(h.redo) == 0 {
		return image.Rectangle{}
	}
	s := h.redo[len(h.redo)-1]
	h.redo = h.redo[:len(h.redo)-1]
	s.swap(m)
	h.undo = append(h.undo, s)
	return s.rect
}

// CanUndo reports whether Undo would change anything.
func (h *History) CanUndo() bool { return len(h.undo) > 0 || !h.rec.changed.Empty() }

// CanRedo reports whether Redo would change anything.
func (h *History) CanRedo() bool { return len(h.redo) > 0 }

// Len returns the number of undo and redo steps held.
func (h *History) Len() (undo, redo int) { return len(h.undo), len(h.redo) }

// Bytes returns the memory the held steps account for.
func (h *History) Bytes() int { return h.bytes }

// Clear drops every step, e.g. after a new map was loaded. An open stroke
// is ended and kept as painted.
func (h *History) Clear() {
	h.rec.end()
	clear(h.undo)
	clear(h.redo)
	h.undo, h.redo, h.bytes = h.undo[:0], h.redo[:0], 0
}

func (h *History) clearRedo() {
	for _, s := range h.redo {
		h.bytes -= s.size()
	}
	clear(h.redo)
	h.redo = h.redo[:0]
}

// trim drops the oldest steps until both caps hold, always keeping the
// newest.
func (h *History) trim() {
	n := 0
	for len(h.undo)-n > h.maxSteps || (h.bytes > h.maxBytes && len(h.undo)-n > 1) {
		h.bytes -= h.undo[n].size()
		n++
	}
	if n > 0 {
		k := copy(h.undo, h.undo[n:])
		clear(h.undo[k:])
		h.undo = h.undo[:k]
	}
}

// swap exchanges the step's pixels with the map's pixels in its rectangle:
// on the undo stack the step holds the "before" pixels, and after the swap it
// holds the "after" pixels, ready for redo (and vice versa).
func (s step) swap(m *LabelMap) {
	r := s.rect.Intersect(m.img.Rect)
	if r != s.rect {
		// A step from a different (smaller) map; applying part of it would
		// corrupt the picture, so do nothing.
		return
	}
	w := r.Dx()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		off := m.img.PixOffset(r.Min.X, y)
		row := m.img.Pix[off : off+w]
		saved := s.pix[(y-r.Min.Y)*w : (y-r.Min.Y+1)*w]
		for i := range row {
			row[i], saved[i] = saved[i], row[i]
		}
	}
}

// Tile geometry of the recorder.
const (
	tileShift = 6
	tileSize  = 1 << tileShift
	tileArea  = tileSize * tileSize
)

// keepStore is how much tile memory the recorder keeps between strokes;
// anything more, left over from one huge stroke, is given back.
const keepStore = 16 << 20

// recorder saves the pixels of a map's tiles just before a stroke first
// changes them.
type recorder struct {
	m      *LabelMap
	tilesX int
	// slot holds, per tile, its index in store, or -1 if not saved.
	slot []int32
	// saved lists the saved tiles in the order they were saved.
	saved   []int32
	store   []uint8
	changed image.Rectangle
}

func (r *recorder) start(m *LabelMap) {
	b := m.img.Rect
	tx := (b.Dx() + tileSize - 1) >> tileShift
	ty := (b.Dy() + tileSize - 1) >> tileShift
	if len(r.slot) != tx*ty || r.tilesX != tx {
		r.slot = make([]int32, tx*ty)
		for i := range r.slot {
			r.slot[i] = -1
		}
		r.tilesX = tx
	}
	r.m = m
	r.changed = image.Rectangle{}
	m.rec = r
}

func (r *recorder) end() {
	if r.m == nil {
		return
	}
	r.m.rec = nil
	r.m = nil
	for _, id := range r.saved {
		r.slot[id] = -1
	}
	r.saved = r.saved[:0]
	if cap(r.store) > keepStore {
		r.store = nil
	}
	r.store = r.store[:0]
	r.changed = image.Rectangle{}
}

// touch is called by the map before it changes the pixels of c, a single row.
func (r *recorder) touch(c image.Rectangle) {
	ty := c.Min.Y >> tileShift
	for tx := c.Min.X >> tileShift; tx <= (c.Max.X-1)>>tileShift; tx++ {
		if id := ty*r.tilesX + tx; r.slot[id] < 0 {
			r.save(id)
		}
	}
	r.changed = r.changed.Union(c)
}

// tileRect returns the part of the map that tile id covers.
func (r *recorder) tileRect(id int) image.Rectangle {
	x, y := (id%r.tilesX)<<tileShift, (id/r.tilesX)<<tileShift
	return image.Rect(x, y, x+tileSize, y+tileSize).Intersect(r.m.img.Rect)
}

func (r *recorder) save(id int) {
	k := len(r.saved)
	r.slot[id] = int32(k)
	r.saved = append(r.saved, int32(id))
	r.store = append(r.store, make([]uint8, tileArea)...)
	t := r.tileRect(id)
	dst := r.store[k*tileArea:]
	for y := t.Min.Y; y < t.Max.Y; y++ {
		off := r.m.img.PixOffset(t.Min.X, y)
		copy(dst[(y-t.Min.Y)*tileSize:], r.m.img.Pix[off:off+t.Dx()])
	}
}

// before returns the pre-stroke pixels of rect (inside the map), row-major.
func (r *recorder) before(rect image.Rectangle) []uint8 {
	img := r.m.img
	out := make([]uint8, rect.Dx()*rect.Dy())
	w := rect.Dx()
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		dst := out[(y-rect.Min.Y)*w:]
		ty := y >> tileShift
		for x := rect.Min.X; x < rect.Max.X; {
			tx := x >> tileShift
			end := min(rect.Max.X, (tx+1)<<tileShift)
			if k := r.slot[ty*r.tilesX+tx]; k >= 0 {
				src := r.store[int(k)*tileArea+(y&(tileSize-1))*tileSize:]
				copy(dst[x-rect.Min.X:end-rect.Min.X], src[x&(tileSize-1):])
			} else {
				off := img.PixOffset(x, y)
				copy(dst[x-rect.Min.X:end-rect.Min.X], img.Pix[off:off+end-x])
			}
			x = end
		}
	}
	return out
}

// revert copies every saved tile back into the map. The saved copies stay
// valid (the map now equals them), so the stroke can go on recording.
func (r *recorder) revert() image.Rectangle {
	if r.m == nil {
		return image.Rectangle{}
	}
	for k, id := range r.saved {
		t := r.tileRect(int(id))
		src := r.store[k*tileArea:]
		for y := t.Min.Y; y < t.Max.Y; y++ {
			off := r.m.img.PixOffset(t.Min.X, y)
			copy(r.m.img.Pix[off:off+t.Dx()], src[(y-t.Min.Y)*tileSize:])
		}
	}
	c := r.changed
	r.changed = image.Rectangle{}
	return c
}

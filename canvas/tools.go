package canvas

import (
	"image"
)

// Tool paints onto a LabelMap. It acts on data only; the Editor (and through
// it the Widget) turns pointer events into calls.
type Tool interface {
	// Stroke paints the part of a stroke from `from` to `to` with class and
	// returns the bounding rectangle of the pixels that changed. What the
	// points mean depends on the tool's StrokeKind. Points may lie outside
	// the map; painting is clipped to it.
	Stroke(m *LabelMap, from, to image.Point, class uint8) image.Rectangle
}

// StrokeKind says how the Editor drives a tool during a press-drag-release.
type StrokeKind int

const (
	// Freehand tools (brushes, pencil, eraser) paint each pointer movement,
	// from the previous point to the new one.
	Freehand StrokeKind = iota
	// Shape tools (line, rectangle) paint one shape from the press point to
	// the current point; the previous preview is reverted on every move.
	Shape
	// Click tools (fill, eyedropper) act once, at the press point.
	Click
)

// KindedTool is implemented by tools that are not Freehand.
type KindedTool interface {
	Tool
	StrokeKind() StrokeKind
}

// KindOf returns how t is driven: its StrokeKind, or Freehand.
func KindOf(t Tool) StrokeKind {
	if k, ok := t.(KindedTool); ok {
		return k.StrokeKind()
	}
	return Freehand
}

// SizedTool is implemented by tools with a size in pixels.
type SizedTool interface {
	Tool
	// BrushSize returns the tool's size in pixels.
	BrushSize() int
	// WithBrushSize returns a copy of the tool with another size.
	WithBrushSize(size int) Tool
}

// Picker is implemented by tools that read a class instead of painting.
type Picker interface {
	Tool
	// Pick returns the class at p, or false if p is outside the map.
	Pick(m *LabelMap, p image.Point) (uint8, bool)
}

// Footprint is the area a tool covers around the pointer: a Size×Size box
// (or the disc inside it). The Widget draws it as the cursor outline.
type Footprint struct {
	Size   int
	Square bool
}

// Bounds returns the box the footprint covers when centred on pixel p. For
// even sizes the extra pixel is on the top and left.
func (f Footprint) Bounds(p image.Point) image.Rectangle {
	lo := -(f.Size / 2)
	return image.Rect(p.X+lo, p.Y+lo, p.X+lo+f.Size, p.Y+lo+f.Size)
}

// Footprinter is implemented by tools that paint around the pointer.
type Footprinter interface {
	Footprint() Footprint
}

// MaxBrushSize is the largest tool size; larger sizes are clamped to it.
const MaxBrushSize = 512

func clampSize(n int) int { return min(max(n, 1), MaxBrushSize) }

// RoundBrush paints a disc of diameter Size along the pointer's path.
type RoundBrush struct{ Size int }

// Stroke implements Tool.
func (t RoundBrush) Stroke(m *LabelMap, from, to image.Point, class uint8) image.Rectangle {
	return roundStamp(clampSize(t.Size)).along(m, from, to, class)
}

// BrushSize implements SizedTool.
func (t RoundBrush) BrushSize() int { return clampSize(t.Size) }

// WithBrushSize implements SizedTool.
func (t RoundBrush) WithBrushSize(n int) Tool { return RoundBrush{Size: clampSize(n)} }

// Footprint implements Footprinter.
func (t RoundBrush) Footprint() Footprint { return Footprint{Size: clampSize(t.Size)} }

// SquareBrush paints a Size×Size square along the pointer's path.
type SquareBrush struct{ Size int }

// Stroke implements Tool.
func (t SquareBrush) Stroke(m *LabelMap, from, to image.Point, class uint8) image.Rectangle {
	return squareStamp(clampSize(t.Size)).along(m, from, to, class)
}

// BrushSize implements SizedTool.
func (t SquareBrush) BrushSize() int { return clampSize(t.Size) }

// WithBrushSize implements SizedTool.
func (t SquareBrush) WithBrushSize(n int) Tool { return SquareBrush{Size: clampSize(n)} }

// Footprint implements Footprinter.
func (t SquareBrush) Footprint() Footprint { return Footprint{Size: clampSize(t.Size), Square: true} }

// Pencil paints single pixels along the pointer's path.
type Pencil struct{}

// Stroke implements Tool.
func (Pencil) Stroke(m *LabelMap, from, to image.Point, class uint8) image.Rectangle {
	return squareStamp(1).along(m, from, to, class)
}

// Footprint implements Footprinter.
func (Pencil) Footprint() Footprint { return Footprint{Size: 1, Square: true} }

// Eraser paints a disc of diameter Size along the pointer's path with the
// palette's don't-care class, or with Background if the palette has none. It
// ignores the class it is given.
type Eraser struct {
	Size       int
	Background uint8
}

// Stroke implements Tool.
func (t Eraser) Stroke(m *LabelMap, from, to image.Point, _ uint8) image.Rectangle {
	return roundStamp(clampSize(t.Size)).along(m, from, to, t.Class(m))
}

// Class returns the class the eraser paints on m.
func (t Eraser) Class(m *LabelMap) uint8 {
	if dc := m.pal.DontCare; dc >= 0 {
		return uint8(dc)
	}
	return t.Background
}

// BrushSize implements SizedTool.
func (t Eraser) BrushSize() int { return clampSize(t.Size) }

// WithBrushSize implements SizedTool.
func (t Eraser) WithBrushSize(n int) Tool {
	return Eraser{Size: clampSize(n), Background: t.Background}
}

// Footprint implements Footprinter.
func (t Eraser) Footprint() Footprint { return Footprint{Size: clampSize(t.Size)} }

// Fill flood-fills the 4-connected region of equal class around the point
// `to` (diagonal neighbours are not connected, so a one-pixel diagonal line
// is a wall).
type Fill struct{}

// Stroke implements Tool.
func (Fill) Stroke(m *LabelMap, _, to image.Point, class uint8) image.Rectangle {
	return floodFill(m, to, class)
}

// StrokeKind implements KindedTool.
func (Fill) StrokeKind() StrokeKind { return Click }

// Eyedropper picks the class under the pointer; it paints nothing.
type Eyedropper struct{}

// Stroke implements Tool; it changes nothing.
func (Eyedropper) Stroke(*LabelMap, image.Point, image.Point, uint8) image.Rectangle {
	return image.Rectangle{}
}

// StrokeKind implements KindedTool.
func (Eyedropper) StrokeKind() StrokeKind { return Click }

// Pick implements Picker.
func (Eyedropper) Pick(m *LabelMap, p image.Point) (uint8, bool) { return m.ClassAt(p) }

// Line paints a straight line of width Size (round ends) from the press point
// to the current point.
type Line struct{ Size int }

// Stroke implements Tool.
func (t Line) Stroke(m *LabelMap, from, to image.Point, class uint8) image.Rectangle {
	return roundStamp(clampSize(t.Size)).along(m, from, to, class)
}

// StrokeKind implements KindedTool.
func (Line) StrokeKind() StrokeKind { return Shape }

// BrushSize implements SizedTool.
func (t Line) BrushSize() int { return clampSize(t.Size) }

// WithBrushSize implements SizedTool.
func (t Line) WithBrushSize(n int) Tool { return Line{Size: clampSize(n)} }

// Footprint implements Footprinter.
func (t Line) Footprint() Footprint { return Footprint{Size: clampSize(t.Size)} }

// Rectangle paints the axis-aligned rectangle whose opposite corner pixels
// are the press point and the current point: filled, or as an outline Size
// pixels thick drawn inside those corners.
type Rectangle struct {
	Size   int
	Filled bool
}

// Stroke implements Tool.
func (t Rectangle) Stroke(m *LabelMap, from, to image.Point, class uint8) image.Rectangle {
	r := image.Rectangle{Min: from, Max: to}.Canon()
	r.Max = r.Max.Add(image.Pt(1, 1)) // the corners are pixels, inclusive
	s := clampSize(t.Size)
	if t.Filled || r.Dx() <= 2*s || r.Dy() <= 2*s {
		return m.FillRect(r, class)
	}
	changed := m.FillRect(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+s), class)
	changed = changed.Union(m.FillRect(image.Rect(r.Min.X, r.Max.Y-s, r.Max.X, r.Max.Y), class))
	changed = changed.Union(m.FillRect(image.Rect(r.Min.X, r.Min.Y+s, r.Min.X+s, r.Max.Y-s), class))
	return changed.Union(m.FillRect(image.Rect(r.Max.X-s, r.Min.Y+s, r.Max.X, r.Max.Y-s), class))
}

// StrokeKind implements KindedTool.
func (Rectangle) StrokeKind() StrokeKind { return Shape }

// BrushSize implements SizedTool.
func (t Rectangle) BrushSize() int { return clampSize(t.Size) }

// WithBrushSize implements SizedTool.
func (t Rectangle) WithBrushSize(n int) Tool { return Rectangle{Size: clampSize(n), Filled: t.Filled} }

// stamp is a brush shape: for each row from the top, the half-open range of
// x offsets it covers, relative to the pointer pixel.
type stamp struct {
	top  int
	rows [][2]int
}

// squareStamp returns a d×d square; for even d the extra pixel is on the top
// and left, matching Footprint.Bounds.
func squareStamp(d int) stamp {
	lo := -(d / 2)
	s := stamp{top: lo, rows: make([][2]int, d)}
	for i := range s.rows {
		s.rows[i] = [2]int{lo, lo + d}
	}
	return s
}

// roundStamp returns the pixels of a d×d box (placed as in squareStamp) whose
// centres lie within the disc of diameter d inscribed in the box. Distances
// are doubled so everything stays in integers: in those units the pixel
// centre of row i is at 2i+1-d from the disc centre and the radius is d.
func roundStamp(d int) stamp {
	s := squareStamp(d)
	for i := range s.rows {
		a := 2*i + 1 - d
		j := 0
		for ; j < d/2; j++ {
			b := 2*j + 1 - d
			if a*a+b*b <= d*d {
				break
			}
		}
		s.rows[i] = [2]int{s.top + j, s.top + d - j}
	}
	return s
}

// at paints the stamp centred on p.
func (s stamp) at(m *LabelMap, p image.Point, class uint8) image.Rectangle {
	var changed image.Rectangle
	for i, r := range s.rows {
		changed = changed.Union(m.span(p.Y+s.top+i, p.X+r[0], p.X+r[1], class))
	}
	return changed
}

// along stamps at every point of the line from a to b, so a fast pointer
// movement that skips pixels still leaves a continuous stroke. Stamps that
// would lie entirely outside the map are skipped.
func (s stamp) along(m *LabelMap, a, b image.Point, class uint8) image.Rectangle {
	if !m.valid[class] {
		return image.Rectangle{}
	}
	// A stamp covers offsets [top, top+len(rows)) on both axes around its
	// centre, so only centres in reach can touch the map.
	d := len(s.rows)
	reach := m.Bounds()
	reach.Min = reach.Min.Sub(image.Pt(s.top+d-1, s.top+d-1))
	reach.Max = reach.Max.Sub(image.Pt(s.top, s.top))
	// Skip segments that pass nowhere near the map without walking them.
	seg := image.Rectangle{Min: a, Max: b}.Canon()
	seg.Max = seg.Max.Add(image.Pt(1, 1))
	if !seg.Overlaps(reach) {
		return image.Rectangle{}
	}
	var changed image.Rectangle
	line(a, b, func(p image.Point) {
		if p.In(reach) {
			changed = changed.Union(s.at(m, p, class))
		}
	})
	return changed
}

// line calls visit for every point of the Bresenham line from a to b, both
// included. Consecutive points differ by at most one pixel on each axis.
func line(a, b image.Point, visit func(image.Point)) {
	dx, dy := abs(b.X-a.X), -abs(b.Y-a.Y)
	sx, sy := sign(b.X-a.X), sign(b.Y-a.Y)
	e := dx + dy
	p := a
	for {
		visit(p)
		if p == b {
			return
		}
		// A step may move both axes at once, so the line is 8-connected.
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			p.X += sx
		}
		if e2 <= dx {
			e += dx
			p.Y += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// floodFill paints the 4-connected region of p's class containing p with
// class. It is a scanline fill with an explicit stack, so its depth does not
// depend on the region's shape and it cannot overflow the goroutine stack.
func floodFill(m *LabelMap, p image.Point, class uint8) image.Rectangle {
	target, ok := m.ClassAt(p)
	if !ok || target == class || !m.valid[class] {
		return image.Rectangle{}
	}
	b := m.img.Rect
	pix, stride := m.img.Pix, m.img.Stride
	at := func(x, y int) uint8 { return pix[y*stride+x] }

	var changed image.Rectangle
	stack := []image.Point{p}
	for len(stack) > 0 {
		q := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if at(q.X, q.Y) != target {
			continue // filled since it was pushed
		}
		l, r := q.X, q.X+1
		for l > b.Min.X && at(l-1, q.Y) == target {
			l--
		}
		for r < b.Max.X && at(r, q.Y) == target {
			r++
		}
		changed = changed.Union(m.span(q.Y, l, r, class))
		// Seed one point per run of target pixels directly above and below
		// [l, r). Looking only within [l, r), not at l-1 or r, is what keeps
		// the fill 4-connected.
		for _, y := range [2]int{q.Y - 1, q.Y + 1} {
			if y < b.Min.Y || y >= b.Max.Y {
				continue
			}
			inRun := false
			for x := l; x < r; x++ {
				if at(x, y) == target {
					if !inRun {
						stack = append(stack, image.Pt(x, y))
						inRun = true
					}
				} else {
					inRun = false
				}
			}
		}
	}
	return changed
}

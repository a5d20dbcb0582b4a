package canvas

import (
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	fynecanvas "fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// Zoom limits, in screen units per map pixel.
const (
	MinScale = 1.0 / 16
	MaxScale = 64
)

// Widget shows a LabelMap in its class colours and lets the user paint it.
//
// The primary button paints with the current tool and class, the secondary
// button picks the class under the pointer, the middle button pans.
// Ctrl+scroll (Cmd+scroll on macOS) zooms around the pointer, plain scroll
// pans. Keyboard shortcuts are the app's business: it calls Undo, Redo,
// SetTool, SetClass and SetBrushSize.
//
// Painting happens synchronously in the input event and never waits for
// anything: the map is changed, the changed pixels are recoloured and
// OnChanged is told. Every method must be called on Fyne's UI goroutine.
type Widget struct {
	widget.BaseWidget

	// OnChanged is called after pixels of the map changed, with the
	// bounding rectangle in map pixels. final is false while a stroke is
	// in progress, and true once for the whole stroke when the mouse is
	// released, and for undo, redo and SetMap. It runs inside the input
	// event, so it must return quickly: to render, take a Clone of Map()
	// and hand it to another goroutine.
	OnChanged func(rect image.Rectangle, final bool)
	// OnClassPicked is called when the eyedropper or a secondary click picks
	// a class. The widget has already made it the current class.
	OnClassPicked func(class uint8)

	ed     *Editor
	tool   Tool
	class  uint8
	size   int
	stroke image.Rectangle // everything the stroke in progress changed

	// display holds the map in class colours. Only changed rectangles are
	// recoloured, and an *image.RGBA goes to the GPU without conversion.
	display *image.RGBA
	colors  [256]color.RGBA

	img, over      *fynecanvas.Image
	bg             *fynecanvas.Rectangle
	outer, inner   *fynecanvas.Circle
	outerSq, innSq *fynecanvas.Rectangle
	opacity        float64

	scale   float32       // screen units per map pixel
	offset  fyne.Position // the map's top-left corner in widget coordinates
	fit     bool          // fit the map into the widget until the user zooms or pans
	hover   fyne.Position
	inside  bool
	panning bool

	// modifiers returns the keyboard modifiers held now; tests replace it.
	modifiers func() fyne.KeyModifier
}

var (
	_ desktop.Mouseable   = (*Widget)(nil)
	_ desktop.Hoverable   = (*Widget)(nil)
	_ desktop.Cursorable  = (*Widget)(nil)
	_ fyne.Draggable      = (*Widget)(nil)
	_ fyne.Scrollable     = (*Widget)(nil)
	_ fyne.WidgetRenderer = (*widgetRenderer)(nil)
)

// NewWidget returns a widget editing m, painting with a round brush of size
// 8 and class 0 (or the palette's first class). A nil h gets a History
// with the default limits.
func NewWidget(m *LabelMap, h *History) *Widget {
	w := &Widget{
		ed:      NewEditor(m, h),
		tool:    RoundBrush{Size: 8},
		size:    8,
		class:   m.Palette().Classes[0].ID,
		opacity: 0.5,
		fit:     true,
	}
	w.modifiers = currentModifiers
	w.img = fynecanvas.NewImageFromImage(nil)
	w.img.ScaleMode = fynecanvas.ImageScalePixels
	w.img.FillMode = fynecanvas.ImageFillStretch
	w.over = fynecanvas.NewImageFromImage(nil)
	w.over.FillMode = fynecanvas.ImageFillStretch
	w.over.Hide()
	w.bg = fynecanvas.NewRectangle(color.NRGBA{R: 0x50, G: 0x50, B: 0x50, A: 0xff})
	// The outline is drawn twice, black around white, so it shows on every
	// class colour.
	w.outer = &fynecanvas.Circle{StrokeColor: color.Black, StrokeWidth: 1}
	w.inner = &fynecanvas.Circle{StrokeColor: color.White, StrokeWidth: 1}
	w.outerSq = &fynecanvas.Rectangle{StrokeColor: color.Black, StrokeWidth: 1}
	w.innSq = &fynecanvas.Rectangle{StrokeColor: color.White, StrokeWidth: 1}
	w.setMap(m)
	w.ExtendBaseWidget(w)
	return w
}

// currentModifiers asks a desktop driver for the modifier keys held now.
func currentModifiers() fyne.KeyModifier {
	if a := fyne.CurrentApp(); a != nil {
		if d, ok := a.Driver().(desktop.Driver); ok {
			return d.CurrentKeyModifiers()
		}
	}
	return 0
}

// Map returns the map being edited.
func (w *Widget) Map() *LabelMap { return w.ed.Map() }

// History returns the undo history of the current map.
func (w *Widget) History() *History { return w.ed.History() }

// SetMap replaces the map being edited, e.g. after loading a file. The undo
// history starts empty (with the same limits) and the view is fitted again.
func (w *Widget) SetMap(m *LabelMap) {
	w.endStroke()
	old := w.ed.History()
	w.ed = NewEditor(m, NewHistory(old.maxSteps, old.maxBytes))
	w.setMap(m)
	w.fit = true
	w.Refresh()
	w.notify(m.Bounds(), true)
}

func (w *Widget) setMap(m *LabelMap) {
	for i, c := range m.Palette().Colors() {
		w.colors[i] = color.RGBAModel.Convert(c).(color.RGBA)
	}
	if !m.Valid(w.class) {
		w.class = m.Palette().Classes[0].ID
	}
	w.display = image.NewRGBA(m.Bounds())
	w.recolor(m.Bounds())
	w.img.Image = w.display
}

// Tool returns the current tool.
func (w *Widget) Tool() Tool { return w.tool }

// SetTool selects the tool the primary button paints with. A tool with a
// size keeps its own size, which becomes the widget's brush size.
func (w *Widget) SetTool(t Tool) {
	w.endStroke()
	w.tool = t
	if s, ok := t.(SizedTool); ok {
		w.size = s.BrushSize()
	}
	w.updateCursor()
}

// Class returns the class the tools paint with.
func (w *Widget) Class() uint8 { return w.class }

// SetClass selects the class the tools paint with. Ids not in the map's
// palette are ignored.
func (w *Widget) SetClass(class uint8) {
	if w.Map().Valid(class) {
		w.class = class
	}
}

// BrushSize returns the size of the current tool, or the size last set.
func (w *Widget) BrushSize() int { return w.size }

// SetBrushSize sets the size, in map pixels, of the current tool if it has
// one.
func (w *Widget) SetBrushSize(size int) {
	w.size = clampSize(size)
	if s, ok := w.tool.(SizedTool); ok {
		w.tool = s.WithBrushSize(w.size)
	}
	w.updateCursor()
}

// Undo undoes the last stroke; it reports whether there was one.
func (w *Widget) Undo() bool {
	w.endStroke()
	r := w.ed.Undo()
	w.notify(r, true)
	return !r.Empty()
}

// Redo redoes the last undone stroke; it reports whether there was one.
func (w *Widget) Redo() bool {
	w.endStroke()
	r := w.ed.Redo()
	w.notify(r, true)
	return !r.Empty()
}

// SetOverlay shows img (typically the rendered photo) stretched over the
// map with the overlay opacity; nil removes it.
func (w *Widget) SetOverlay(img image.Image) {
	w.over.Image = img
	w.layout(w.Size())
	w.over.Refresh()
}

// SetOverlayOpacity sets how opaque the overlay is, from 0 (hidden) to 1.
func (w *Widget) SetOverlayOpacity(opacity float64) {
	w.opacity = min(max(opacity, 0), 1)
	w.layout(w.Size())
	fynecanvas.Refresh(w.over)
}

// Scale returns the zoom: screen units per map pixel.
func (w *Widget) Scale() float32 { return w.scale }

// SetScale zooms to scale screen units per map pixel, keeping the centre of
// the widget in place.
func (w *Widget) SetScale(scale float32) {
	s := w.Size()
	w.ZoomAt(fyne.NewPos(s.Width/2, s.Height/2), scale/w.scale)
}

// ZoomAt multiplies the zoom by factor, keeping the map point under pos (in
// widget coordinates) in place.
func (w *Widget) ZoomAt(pos fyne.Position, factor float32) {
	if w.scale <= 0 || factor <= 0 {
		return
	}
	ns := min(max(w.scale*factor, MinScale), MaxScale)
	k := ns / w.scale
	w.offset = fyne.NewPos(pos.X-(pos.X-w.offset.X)*k, pos.Y-(pos.Y-w.offset.Y)*k)
	w.scale = ns
	w.fit = false
	// Moving and resizing the images is enough: re-uploading the pixels, as
	// Refresh would, is not needed to change the view.
	w.layout(w.Size())
}

// Pan moves the view by d screen units.
func (w *Widget) Pan(d fyne.Delta) {
	w.offset = w.offset.AddXY(d.DX, d.DY)
	w.fit = false
	w.layout(w.Size())
}

// FitToView zooms and centres the map to fit the widget, and keeps it
// fitted when the widget is resized, until the next zoom or pan.
func (w *Widget) FitToView() {
	w.fit = true
	w.layout(w.Size())
}

// MapPoint returns the map pixel under pos, in widget coordinates. It may
// lie outside the map.
func (w *Widget) MapPoint(pos fyne.Position) image.Point {
	if w.scale <= 0 {
		return image.Pt(-1, -1)
	}
	return image.Pt(
		int(math.Floor(float64((pos.X-w.offset.X)/w.scale))),
		int(math.Floor(float64((pos.Y-w.offset.Y)/w.scale))),
	)
}

// MinSize implements fyne.Widget.
func (w *Widget) MinSize() fyne.Size { return fyne.NewSize(64, 64) }

// CreateRenderer implements fyne.Widget.
func (w *Widget) CreateRenderer() fyne.WidgetRenderer {
	w.ExtendBaseWidget(w)
	return &widgetRenderer{w: w}
}

// Cursor implements desktop.Cursorable.
func (w *Widget) Cursor() desktop.Cursor { return desktop.CrosshairCursor }

// MouseDown implements desktop.Mouseable.
func (w *Widget) MouseDown(ev *desktop.MouseEvent) {
	w.setHover(ev.Position)
	switch ev.Button {
	case desktop.MouseButtonPrimary:
		w.press(w.MapPoint(ev.Position))
	case desktop.MouseButtonSecondary:
		w.pick(w.MapPoint(ev.Position))
	case desktop.MouseButtonTertiary:
		w.panning = true
	}
}

// MouseUp implements desktop.Mouseable.
func (w *Widget) MouseUp(*desktop.MouseEvent) {
	w.endStroke()
	w.panning = false
}

// Dragged implements fyne.Draggable. Fyne sends drags for the primary and
// middle buttons once the pointer moved a little after MouseDown.
func (w *Widget) Dragged(ev *fyne.DragEvent) {
	w.setHover(ev.Position)
	if w.panning {
		w.Pan(ev.Dragged)
		return
	}
	p := w.MapPoint(ev.Position)
	if _, ok := w.tool.(Picker); ok {
		w.pick(p)
		return
	}
	if !w.ed.Active() {
		// No MouseDown came first (it landed on another object, or the
		// event was synthesised): start where this movement started.
		w.press(w.MapPoint(ev.Position.Subtract(ev.Dragged)))
	}
	w.notify(w.ed.Move(p), false)
}

// DragEnd implements fyne.Draggable.
func (w *Widget) DragEnd() {
	w.endStroke()
	w.panning = false
}

// MouseIn implements desktop.Hoverable.
func (w *Widget) MouseIn(ev *desktop.MouseEvent) { w.setHover(ev.Position) }

// MouseMoved implements desktop.Hoverable.
func (w *Widget) MouseMoved(ev *desktop.MouseEvent) { w.setHover(ev.Position) }

// MouseOut implements desktop.Hoverable.
func (w *Widget) MouseOut() {
	w.inside = false
	w.updateCursor()
}

// Scrolled implements fyne.Scrollable: Ctrl (or Cmd) + scroll zooms around
// the pointer, scroll alone pans.
func (w *Widget) Scrolled(ev *fyne.ScrollEvent) {
	if w.modifiers()&(fyne.KeyModifierControl|fyne.KeyModifierSuper) == 0 {
		w.Pan(ev.Scrolled)
		return
	}
	pos := ev.Position
	if pos.IsZero() && ev.AbsolutePosition.IsZero() {
		// Some event sources leave the position unset; use the last known
		// pointer position, or the centre.
		pos = w.hover
		if !w.inside {
			s := w.Size()
			pos = fyne.NewPos(s.Width/2, s.Height/2)
		}
	}
	// One wheel notch (25 units on most platforms) zooms by about 19%.
	w.ZoomAt(pos, float32(math.Pow(2, float64(ev.Scrolled.DY)/100)))
}

func (w *Widget) press(p image.Point) {
	if _, ok := w.tool.(Picker); ok {
		w.pick(p)
		return
	}
	w.stroke = image.Rectangle{}
	w.notify(w.ed.Press(p, w.tool, w.class), false)
}

func (w *Widget) pick(p image.Point) {
	picker, ok := w.tool.(Picker)
	if !ok {
		picker = Eyedropper{}
	}
	c, ok := picker.Pick(w.Map(), p)
	if !ok || c == w.class {
		return
	}
	w.SetClass(c)
	if w.OnClassPicked != nil {
		w.OnClassPicked(c)
	}
}

// endStroke commits the stroke in progress and reports everything it
// changed, previews included, as final.
func (w *Widget) endStroke() {
	if !w.ed.Active() {
		return
	}
	r := w.ed.Release().Union(w.stroke)
	w.stroke = image.Rectangle{}
	w.notify(r, true)
}

// notify recolours the changed pixels and tells OnChanged.
func (w *Widget) notify(r image.Rectangle, final bool) {
	if r.Empty() {
		return
	}
	if w.ed.Active() {
		w.stroke = w.stroke.Union(r)
	}
	w.recolor(r)
	w.img.Refresh()
	if w.OnChanged != nil {
		w.OnChanged(r, final)
	}
}

// recolor updates the display image from the map within r.
func (w *Widget) recolor(r image.Rectangle) {
	m := w.Map().Image()
	r = r.Intersect(m.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := m.Pix[m.PixOffset(r.Min.X, y):]
		dst := w.display.Pix[w.display.PixOffset(r.Min.X, y):]
		for i := range r.Dx() {
			c := w.colors[src[i]]
			d := dst[4*i : 4*i+4 : 4*i+4]
			d[0], d[1], d[2], d[3] = c.R, c.G, c.B, c.A
		}
	}
}

func (w *Widget) setHover(pos fyne.Position) {
	w.hover, w.inside = pos, true
	w.updateCursor()
}

// layout places the map, the overlay and the cursor for the widget size.
func (w *Widget) layout(size fyne.Size) {
	b := w.Map().Bounds()
	if w.fit || w.scale <= 0 {
		if size.Width <= 0 || size.Height <= 0 {
			return
		}
		w.scale = min(size.Width/float32(b.Dx()), size.Height/float32(b.Dy()))
		w.scale = min(max(w.scale, MinScale), MaxScale)
		w.offset = fyne.NewPos(
			(size.Width-float32(b.Dx())*w.scale)/2,
			(size.Height-float32(b.Dy())*w.scale)/2,
		)
	}
	w.bg.Move(fyne.NewPos(0, 0))
	w.bg.Resize(size)
	mapSize := fyne.NewSize(float32(b.Dx())*w.scale, float32(b.Dy())*w.scale)
	for _, img := range []*fynecanvas.Image{w.img, w.over} {
		img.Move(w.offset)
		img.Resize(mapSize)
	}
	w.over.Translucency = 1 - w.opacity
	if w.over.Image != nil && w.opacity > 0 {
		w.over.Show()
	} else {
		w.over.Hide()
	}
	w.updateCursor()
}

// updateCursor draws the tool's footprint, snapped to the map pixels it
// will paint, around the pointer.
func (w *Widget) updateCursor() {
	for _, o := range []fyne.CanvasObject{w.outer, w.inner, w.outerSq, w.innSq} {
		o.Hide()
	}
	fp, ok := w.tool.(Footprinter)
	if !ok || !w.inside || w.scale <= 0 || w.panning {
		return
	}
	f := fp.Footprint()
	box := f.Bounds(w.MapPoint(w.hover))
	pos := fyne.NewPos(w.offset.X+float32(box.Min.X)*w.scale, w.offset.Y+float32(box.Min.Y)*w.scale)
	size := fyne.NewSize(float32(box.Dx())*w.scale, float32(box.Dy())*w.scale)
	outer, inner := fyne.CanvasObject(w.outer), fyne.CanvasObject(w.inner)
	if f.Square {
		outer, inner = w.outerSq, w.innSq
	}
	outer.Move(pos)
	outer.Resize(size)
	inner.Move(pos.AddXY(1, 1))
	inner.Resize(size.SubtractWidthHeight(2, 2))
	outer.Show()
	inner.Show()
	fynecanvas.Refresh(outer)
	fynecanvas.Refresh(inner)
}

// widgetRenderer draws a Widget; the widget owns the objects and the view
// state, the renderer only lays them out.
type widgetRenderer struct {
	w *Widget
}

func (r *widgetRenderer) Layout(size fyne.Size) { r.w.layout(size) }

func (r *widgetRenderer) MinSize() fyne.Size { return r.w.MinSize() }

func (r *widgetRenderer) Refresh() {
	r.w.layout(r.w.Size())
	for _, o := range r.Objects() {
		o.Refresh()
	}
}

func (r *widgetRenderer) Objects() []fyne.CanvasObject {
	w := r.w
	return []fyne.CanvasObject{w.bg, w.img, w.over, w.outer, w.inner, w.outerSq, w.innSq}
}

func (r *widgetRenderer) Destroy() {}

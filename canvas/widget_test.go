package canvas

import (
	"image"
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
)

type change struct {
	rect  image.Rectangle
	final bool
}

// newTestWidget shows m in an unpadded test window of the given size, so
// widget and canvas coordinates coincide, and records OnChanged calls.
func newTestWidget(t *testing.T, m *LabelMap, size fyne.Size) (*Widget, fyne.Window, *[]change) {
	t.Helper()
	test.NewTempApp(t)
	w := NewWidget(m, nil)
	var changes []change
	w.OnChanged = func(r image.Rectangle, final bool) { changes = append(changes, change{r, final}) }
	win := test.NewTempWindow(t, w)
	win.SetPadded(false)
	win.Resize(size)
	if w.Size() != size {
		t.Fatalf("widget size %v, want %v", w.Size(), size)
	}
	return w, win, &changes
}

func checkChanges(t *testing.T, changes []change, final image.Rectangle) {
	t.Helper()
	if len(changes) < 2 {
		t.Fatalf("OnChanged called %d times, want progress and a final call", len(changes))
	}
	for i, c := range changes[:len(changes)-1] {
		if c.final || c.rect.Empty() {
			t.Errorf("call %d: %v", i, c)
		}
		if !c.rect.In(final) {
			t.Errorf("call %d: rect %v outside the stroke's %v", i, c.rect, final)
		}
	}
	if last := changes[len(changes)-1]; !last.final || last.rect != final {
		t.Errorf("last call %v, want final %v", last, final)
	}
}

func TestWidgetDragPaintsExactPixels(t *testing.T) {
	m := newMap(t, 20, 15, testPalette(), sky)
	orig := m.Clone()
	w, win, changes := newTestWidget(t, m, fyne.NewSize(40, 30)) // 2 units per pixel
	if w.Scale() != 2 {
		t.Fatalf("scale %v, want 2", w.Scale())
	}
	w.SetTool(Pencil{})
	w.SetClass(grass)

	// Drag from (11, 11) to (31, 21) units: map pixels (5, 5) to (15, 10).
	test.Drag(win.Canvas(), fyne.NewPos(31, 21), 20, 10)

	want := orig.Clone()
	Pencil{}.Stroke(want, image.Pt(5, 5), image.Pt(15, 10), grass)
	if !samePixels(m, want) {
		t.Fatalf("after drag:%s\nwant:%s", ascii(m), ascii(want))
	}
	if n := countClass(m, grass); n != 11 {
		t.Errorf("%d pixels painted, want 11", n)
	}
	checkChanges(t, *changes, image.Rect(5, 5, 16, 11))
	// The displayed colours follow the map.
	if got, want := w.display.RGBAAt(15, 10), rgba(testPalette().Classes[grass].Color); got != want {
		t.Errorf("display colour %v, want %v", got, want)
	}

	if !w.Undo() {
		t.Fatal("nothing to undo")
	}
	if !samePixels(m, orig) {
		t.Fatal("undo did not restore the map")
	}
	if got := (*changes)[len(*changes)-1]; got != (change{image.Rect(5, 5, 16, 11), true}) {
		t.Errorf("undo reported %v", got)
	}
	if got := w.display.RGBAAt(15, 10); got != rgba(testPalette().Classes[sky].Color) {
		t.Errorf("display not recoloured after undo: %v", got)
	}
	if !w.Redo() || !samePixels(m, want) {
		t.Fatal("redo did not repaint the stroke")
	}
}

func TestWidgetMouseSequence(t *testing.T) {
	m := newMap(t, 32, 32, testPalette(), sky)
	orig := m.Clone()
	w, _, changes := newTestWidget(t, m, fyne.NewSize(128, 128)) // 4 units per pixel
	w.SetTool(RoundBrush{Size: 3})
	w.SetClass(tree)

	// What the GLFW driver sends: MouseDown, drags (each with the current
	// position and the movement since the previous event), then MouseUp and
	// DragEnd.
	at := func(x, y float32) fyne.PointEvent { return fyne.PointEvent{Position: fyne.NewPos(x, y)} }
	w.MouseDown(&desktop.MouseEvent{PointEvent: at(10, 10), Button: desktop.MouseButtonPrimary})
	w.Dragged(&fyne.DragEvent{PointEvent: at(50, 14), Dragged: fyne.NewDelta(40, 4)})
	w.Dragged(&fyne.DragEvent{PointEvent: at(90, 100), Dragged: fyne.NewDelta(40, 86)}) // a fast jump
	w.MouseUp(&desktop.MouseEvent{PointEvent: at(90, 100), Button: desktop.MouseButtonPrimary})
	w.DragEnd()

	want := orig.Clone()
	e := NewEditor(want, nil)
	e.Press(image.Pt(2, 2), RoundBrush{Size: 3}, tree)
	e.Move(image.Pt(12, 3))
	e.Move(image.Pt(22, 25))
	r := e.Release()
	if !samePixels(m, want) {
		t.Fatalf("got:%s\nwant:%s", ascii(m), ascii(want))
	}
	checkChanges(t, *changes, r)
	if undos, _ := w.History().Len(); undos != 1 {
		t.Errorf("one stroke left %d undo steps", undos)
	}
}

func TestWidgetShapePreview(t *testing.T) {
	m := newMap(t, 16, 16, testPalette(), sky)
	w, _, changes := newTestWidget(t, m, fyne.NewSize(64, 64))
	w.SetTool(Rectangle{Size: 1})
	w.SetClass(sea)
	at := func(x, y float32) fyne.PointEvent { return fyne.PointEvent{Position: fyne.NewPos(x, y)} }
	w.MouseDown(&desktop.MouseEvent{PointEvent: at(2, 2), Button: desktop.MouseButtonPrimary})
	w.Dragged(&fyne.DragEvent{PointEvent: at(62, 62), Dragged: fyne.NewDelta(60, 60)})
	w.Dragged(&fyne.DragEvent{PointEvent: at(22, 30), Dragged: fyne.NewDelta(-40, -32)})
	w.MouseUp(&desktop.MouseEvent{PointEvent: at(22, 30), Button: desktop.MouseButtonPrimary})

	want := newMap(t, 16, 16, testPalette(), sky)
	Rectangle{Size: 1}.Stroke(want, image.Pt(0, 0), image.Pt(5, 7), sea)
	if !samePixels(m, want) {
		t.Fatalf("got:%s\nwant:%s", ascii(m), ascii(want))
	}
	// The final call covers the big preview that was taken back too, so a
	// renderer refreshes it.
	if last := (*changes)[len(*changes)-1]; !last.final || last.rect != m.Bounds() {
		t.Errorf("final call %v, want the whole map", last)
	}
}

func TestWidgetZoomAndPan(t *testing.T) {
	m := newMap(t, 50, 25, testPalette(), sky)
	w, win, _ := newTestWidget(t, m, fyne.NewSize(200, 150))
	if w.Scale() != 4 || w.offset != fyne.NewPos(0, 25) {
		t.Fatalf("fitted scale %v offset %v, want 4 and (0, 25)", w.Scale(), w.offset)
	}
	var mods fyne.KeyModifier
	w.modifiers = func() fyne.KeyModifier { return mods }

	pos := fyne.NewPos(101, 61)
	test.MoveMouse(win.Canvas(), pos)
	under := w.MapPoint(pos)

	mods = fyne.KeyModifierControl
	test.Scroll(win.Canvas(), pos, 0, 25)
	if w.Scale() <= 4 {
		t.Fatalf("ctrl+scroll up did not zoom in: scale %v", w.Scale())
	}
	if got := w.MapPoint(pos); got != under {
		t.Errorf("zoom moved the pixel under the pointer from %v to %v", under, got)
	}
	test.Scroll(win.Canvas(), pos, 0, -50)
	if w.Scale() >= 4 {
		t.Errorf("ctrl+scroll down did not zoom out: scale %v", w.Scale())
	}

	mods = 0
	before := w.offset
	test.Scroll(win.Canvas(), pos, 7, -9)
	if got := w.offset.Subtract(before); got != fyne.NewPos(7, -9) {
		t.Errorf("scroll panned by %v, want (7, -9)", got)
	}

	w.ZoomAt(pos, 1e6)
	if w.Scale() != MaxScale {
		t.Errorf("scale %v, want the maximum %v", w.Scale(), float32(MaxScale))
	}
	w.FitToView()
	if w.Scale() != 4 {
		t.Errorf("FitToView scale %v, want 4", w.Scale())
	}

	// The middle button pans and paints nothing.
	orig := m.Clone()
	before = w.offset
	w.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: pos}, Button: desktop.MouseButtonTertiary})
	w.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: pos.AddXY(30, 5)}, Dragged: fyne.NewDelta(30, 5)})
	w.MouseUp(&desktop.MouseEvent{Button: desktop.MouseButtonTertiary})
	w.DragEnd()
	if got := w.offset.Subtract(before); got != fyne.NewPos(30, 5) {
		t.Errorf("middle drag panned by %v", got)
	}
	if !samePixels(m, orig) {
		t.Error("panning painted")
	}

	// Painting after zoom and pan lands on the pixel under the pointer.
	w.SetScale(8)
	w.SetTool(Pencil{})
	w.SetClass(sea)
	p := fyne.NewPos(77, 93)
	target := w.MapPoint(p)
	w.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: p}, Button: desktop.MouseButtonPrimary})
	w.MouseUp(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: p}, Button: desktop.MouseButtonPrimary})
	if c, _ := m.ClassAt(target); c != sea || countClass(m, sea) != 1 {
		t.Errorf("click painted %d pixels; %v is %d", countClass(m, sea), target, c)
	}
}

func TestWidgetPickClass(t *testing.T) {
	m := parseMap(t, testPalette(), "..~~", "..~~", "gg~~", "ggTT")
	w, _, changes := newTestWidget(t, m, fyne.NewSize(40, 40))
	var picked []uint8
	w.OnClassPicked = func(c uint8) { picked = append(picked, c) }
	at := func(x, y float32) fyne.PointEvent { return fyne.PointEvent{Position: fyne.NewPos(x, y)} }

	// Secondary click picks, whatever the tool.
	w.MouseDown(&desktop.MouseEvent{PointEvent: at(35, 5), Button: desktop.MouseButtonSecondary})
	w.MouseUp(&desktop.MouseEvent{PointEvent: at(35, 5), Button: desktop.MouseButtonSecondary})
	// The eyedropper picks with the primary button, also while dragging.
	w.SetTool(Eyedropper{})
	w.MouseDown(&desktop.MouseEvent{PointEvent: at(5, 25), Button: desktop.MouseButtonPrimary})
	w.Dragged(&fyne.DragEvent{PointEvent: at(35, 35), Dragged: fyne.NewDelta(30, 10)})
	w.DragEnd()
	if want := []uint8{sea, grass, tree}; len(picked) != 3 || picked[0] != want[0] || picked[1] != want[1] || picked[2] != want[2] {
		t.Errorf("picked %v, want %v", picked, want)
	}
	if w.Class() != tree {
		t.Errorf("class %d, want %d", w.Class(), tree)
	}
	if len(*changes) != 0 {
		t.Errorf("picking reported changes %v", *changes)
	}
	w.SetClass(200) // not in the palette: ignored
	if w.Class() != tree {
		t.Errorf("invalid class accepted: %d", w.Class())
	}
}

func TestWidgetToolsAndCursor(t *testing.T) {
	m := newMap(t, 10, 10, testPalette(), sky)
	w, win, _ := newTestWidget(t, m, fyne.NewSize(100, 100))
	w.SetTool(RoundBrush{Size: 3})
	if w.BrushSize() != 3 {
		t.Errorf("brush size %d after SetTool, want 3", w.BrushSize())
	}
	w.SetBrushSize(5)
	if got := w.Tool().(SizedTool).BrushSize(); got != 5 {
		t.Errorf("tool size %d after SetBrushSize(5)", got)
	}
	test.MoveMouse(win.Canvas(), fyne.NewPos(55, 45)) // pixel (5, 4)
	if !w.outer.Visible() || !w.inner.Visible() || w.outerSq.Visible() {
		t.Fatal("round outline not shown")
	}
	// Size 5 around pixel (5, 4) covers pixels (3, 2)-(8, 7).
	if w.outer.Position() != fyne.NewPos(30, 20) || w.outer.Size() != fyne.NewSize(50, 50) {
		t.Errorf("outline at %v size %v", w.outer.Position(), w.outer.Size())
	}
	w.SetTool(SquareBrush{Size: 2})
	if !w.outerSq.Visible() || w.outer.Visible() || w.outerSq.Size() != fyne.NewSize(20, 20) {
		t.Error("square outline not shown")
	}
	w.SetTool(Fill{})
	if w.outer.Visible() || w.outerSq.Visible() {
		t.Error("fill shows a brush outline")
	}
	if w.BrushSize() != 2 {
		t.Errorf("size changed by an unsized tool: %d", w.BrushSize())
	}
	w.SetTool(Pencil{})
	test.MoveMouse(win.Canvas(), fyne.NewPos(500, 500)) // off the window
	if w.outerSq.Visible() {
		t.Error("outline shown after the pointer left")
	}
	if w.Cursor() != desktop.CrosshairCursor {
		t.Error("not a crosshair cursor")
	}
}

func TestWidgetOverlayAndSetMap(t *testing.T) {
	m := newMap(t, 8, 8, testPalette(), sky)
	w, win, changes := newTestWidget(t, m, fyne.NewSize(80, 80))
	photo := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	w.SetOverlay(photo)
	w.SetOverlayOpacity(0.25)
	if !w.over.Visible() || w.over.Translucency != 0.75 || w.over.Size() != fyne.NewSize(80, 80) {
		t.Errorf("overlay visible %v translucency %v size %v", w.over.Visible(), w.over.Translucency, w.over.Size())
	}
	w.SetOverlayOpacity(0)
	if w.over.Visible() {
		t.Error("overlay shown at opacity 0")
	}
	w.SetOverlayOpacity(2)
	if w.over.Translucency != 0 {
		t.Errorf("opacity not clamped: translucency %v", w.over.Translucency)
	}
	w.SetOverlay(nil)
	if w.over.Visible() {
		t.Error("nil overlay shown")
	}

	test.Drag(win.Canvas(), fyne.NewPos(50, 50), 20, 0)
	m2 := newMap(t, 4, 2, testPalette(), tree)
	*changes = nil
	w.SetMap(m2)
	if w.Map() != m2 || w.History().CanUndo() {
		t.Error("SetMap kept the old map or history")
	}
	if len(*changes) != 1 || (*changes)[0] != (change{m2.Bounds(), true}) {
		t.Errorf("SetMap reported %v", *changes)
	}
	if w.Scale() != 20 {
		t.Errorf("new map not fitted: scale %v", w.Scale())
	}
	if got := w.display.RGBAAt(3, 1); got != rgba(testPalette().Classes[tree].Color) {
		t.Errorf("display colour %v", got)
	}
}

func TestWidgetRenders(t *testing.T) {
	m := parseMap(t, testPalette(), ".~", "gT")
	_, win, _ := newTestWidget(t, m, fyne.NewSize(40, 40))
	img := win.Canvas().Capture()
	for _, tt := range []struct {
		x, y  int
		class uint8
	}{{10, 10, sky}, {30, 10, sea}, {10, 30, grass}, {30, 30, tree}} {
		got := color.NRGBAModel.Convert(img.At(tt.x, tt.y))
		if want := testPalette().Classes[tt.class].Color; got != want {
			t.Errorf("rendered %v at (%d, %d), want %v", got, tt.x, tt.y, want)
		}
	}
}

func countClass(m *LabelMap, c uint8) int {
	n := 0
	for _, v := range m.img.Pix {
		if v == c {
			n++
		}
	}
	return n
}

func rgba(c color.NRGBA) color.RGBA { return color.RGBAModel.Convert(c).(color.RGBA) }

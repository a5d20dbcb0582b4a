package canvas

import (
	"image"
	"testing"
)

func TestUndoRedoSequence(t *testing.T) {
	m := newMap(t, 16, 12, testPalette(), sky)
	e := NewEditor(m, NewHistory(0, 0))
	states := []*LabelMap{m.Clone()}
	paint := func(tool Tool, class uint8, pts ...image.Point) {
		t.Helper()
		e.Press(pts[0], tool, class)
		for _, p := range pts[1:] {
			e.Move(p)
		}
		if r := e.Release(); r.Empty() {
			t.Fatalf("stroke changed nothing")
		}
		states = append(states, m.Clone())
	}
	paint(RoundBrush{Size: 3}, grass, image.Pt(2, 2), image.Pt(12, 9))
	paint(Fill{}, sea, image.Pt(15, 0))
	paint(Rectangle{Size: 1}, tree, image.Pt(1, 1), image.Pt(14, 10), image.Pt(10, 8))
	paint(Pencil{}, sky, image.Pt(0, 11), image.Pt(15, 11))

	type op int
	const (
		undo op = iota
		redo
	)
	steps := []struct {
		op      op
		changed bool
		state   int // index into states after the op
	}{
		{undo, true, 3},
		{undo, true, 2},
		{redo, true, 3},
		{undo, true, 2},
		{undo, true, 1},
		{undo, true, 0},
		{undo, false, 0},
		{redo, true, 1},
		{redo, true, 2},
		{redo, true, 3},
		{redo, true, 4},
		{redo, false, 4},
		{undo, true, 3},
	}
	for i, s := range steps {
		var r image.Rectangle
		before := m.Clone()
		if s.op == undo {
			r = e.Undo()
		} else {
			r = e.Redo()
		}
		if r.Empty() == s.changed {
			t.Fatalf("step %d: rect %v, want changed=%v", i, r, s.changed)
		}
		if !samePixels(m, states[s.state]) {
			t.Fatalf("step %d: map is not state %d:%s\nwant:%s", i, s.state, ascii(m), ascii(states[s.state]))
		}
		if c := changedRect(before, m); !c.In(r) && !c.Empty() {
			t.Errorf("step %d: pixels changed in %v, outside the reported %v", i, c, r)
		}
	}

	// A new stroke clears the redo stack.
	if _, redos := e.History().Len(); redos != 1 {
		t.Fatalf("redo steps = %d, want 1", redos)
	}
	c, _ := m.ClassAt(image.Pt(8, 6))
	e.Press(image.Pt(8, 6), Pencil{}, (c+1)%4)
	e.Release()
	if e.History().CanRedo() {
		t.Error("redo still possible after a new stroke")
	}
	if r := e.Redo(); !r.Empty() {
		t.Errorf("redo after a new stroke changed %v", r)
	}
}

func TestNoOpStrokeLeavesNoStep(t *testing.T) {
	m := newMap(t, 8, 8, testPalette(), sky)
	e := NewEditor(m, nil)
	e.Press(image.Pt(1, 1), Pencil{}, grass)
	e.Release()
	e.Undo()
	// Painting sky on sky changes nothing: no step, and redo survives.
	e.Press(image.Pt(4, 4), RoundBrush{Size: 3}, sky)
	e.Move(image.Pt(6, 6))
	if r := e.Release(); !r.Empty() {
		t.Fatalf("no-op stroke reported %v", r)
	}
	if undos, redos := e.History().Len(); undos != 0 || redos != 1 {
		t.Fatalf("undo, redo = %d, %d; want 0, 1", undos, redos)
	}
}

func TestHistoryStepCap(t *testing.T) {
	const strokes, limit = 150, 100
	m := newMap(t, 64, 64, testPalette(), sky)
	e := NewEditor(m, NewHistory(limit, 0))
	var states []*LabelMap
	for i := range strokes {
		states = append(states, m.Clone())
		p := image.Pt(i%64, i/64*3)
		e.Press(p, RoundBrush{Size: 2}, uint8(1+i%3))
		e.Move(p.Add(image.Pt(0, 1)))
		e.Release()
	}
	if undos, _ := e.History().Len(); undos != limit {
		t.Fatalf("history holds %d steps, want %d", undos, limit)
	}
	for i := range limit {
		if e.Undo().Empty() {
			t.Fatalf("undo %d failed", i+1)
		}
	}
	if r := e.Undo(); !r.Empty() {
		t.Fatalf("undo %d succeeded (%v); the cap is %d", limit+1, r, limit)
	}
	if want := states[strokes-limit]; !samePixels(m, want) {
		t.Fatalf("after %d undos the map is not the state after stroke %d", limit, strokes-limit)
	}
	for i := range limit {
		if e.Redo().Empty() {
			t.Fatalf("redo %d failed", i+1)
		}
	}
	if e.History().CanRedo() {
		t.Fatal("more redo steps than undone")
	}
}

func TestHistoryByteCap(t *testing.T) {
	m := newMap(t, 256, 256, testPalette(), sky)
	// Each 10×10 square costs 100 pixel bytes plus the step overhead.
	const cost = 100 + stepOverhead
	h := NewHistory(1000, 5*cost)
	e := NewEditor(m, h)
	for i := range 8 {
		e.Press(image.Pt(5+i*20, 5), SquareBrush{Size: 10}, grass)
		e.Release()
		if h.Bytes() > 5*cost {
			t.Fatalf("after %d strokes history holds %d bytes, cap %d", i+1, h.Bytes(), 5*cost)
		}
	}
	if undos, _ := h.Len(); undos != 5 {
		t.Fatalf("history holds %d steps, want 5", undos)
	}
	// A stroke larger than the cap on its own is kept (and everything
	// older is dropped), so the last action can always be undone.
	e.Press(image.Pt(255, 255), Fill{}, sea)
	e.Release()
	if undos, _ := h.Len(); undos != 1 {
		t.Fatalf("history holds %d steps after a huge stroke, want 1", undos)
	}
	if r := e.Undo(); r != image.Rect(0, 0, 256, 256) {
		t.Fatalf("undoing the fill changed %v", r)
	}
}

func TestHistoryRecordsOnlyChangedRect(t *testing.T) {
	m := newMap(t, 1024, 1024, testPalette(), sky)
	h := NewHistory(0, 0)
	e := NewEditor(m, h)
	e.Press(image.Pt(500, 500), Pencil{}, grass)
	e.Move(image.Pt(503, 501))
	if r := e.Release(); r != image.Rect(500, 500, 504, 502) {
		t.Fatalf("stroke rect %v", r)
	}
	if got, want := h.Bytes(), 4*2+stepOverhead; got != want {
		t.Fatalf("a 4×2 stroke costs %d bytes, want %d", got, want)
	}
	// A stroke spanning two far corners records its bounding rectangle,
	// which here is the whole map: that is the documented bound.
	e.Press(image.Pt(0, 0), Pencil{}, tree)
	e.Release()
	e.Press(image.Pt(1023, 1023), Pencil{}, tree)
	e.Release()
	if got, want := h.Bytes(), 4*2+stepOverhead+2*(1+stepOverhead); got != want {
		t.Fatalf("three small strokes cost %d bytes, want %d", got, want)
	}
}

func TestShapePreviewUndo(t *testing.T) {
	m := parseMap(t, testPalette(),
		"..........",
		".~~~~~~~~.",
		".~......~.",
		".~~~~~~~~.",
		"..........",
	)
	orig := m.Clone()
	e := NewEditor(m, nil)
	e.Press(image.Pt(0, 0), Line{Size: 1}, tree)
	for _, p := range []image.Point{{9, 4}, {9, 0}, {0, 4}, {5, 2}} {
		r := e.Move(p)
		// The preview shows exactly the line from the anchor to p over the
		// original pixels.
		want := orig.Clone()
		Line{Size: 1}.Stroke(want, image.Pt(0, 0), p, tree)
		if !samePixels(m, want) {
			t.Fatalf("preview to %v:%s\nwant:%s", p, ascii(m), ascii(want))
		}
		if r.Empty() {
			t.Errorf("move to %v reported no change", p)
		}
	}
	e.Release()
	e.Undo()
	if !samePixels(m, orig) {
		t.Fatalf("undo after previews:%s\nwant:%s", ascii(m), ascii(orig))
	}
}

func TestCancel(t *testing.T) {
	m := newMap(t, 100, 100, testPalette(), sky)
	orig := m.Clone()
	e := NewEditor(m, nil)
	e.Press(image.Pt(10, 10), RoundBrush{Size: 9}, grass)
	e.Move(image.Pt(90, 80))
	if r := e.Cancel(); r.Empty() {
		t.Fatal("cancel restored nothing")
	}
	if !samePixels(m, orig) {
		t.Fatal("cancel left pixels changed")
	}
	if e.History().CanUndo() {
		t.Fatal("a cancelled stroke left an undo step")
	}
}

// TestRecorderTiles checks before-images across tile borders and with map
// sizes that are not multiples of the tile size.
func TestRecorderTiles(t *testing.T) {
	m := newMap(t, 200, 70, testPalette(), sky)
	m.FillRect(image.Rect(0, 0, 200, 35), sea)
	orig := m.Clone()
	h := NewHistory(0, 0)
	h.Begin(m)
	m.FillRect(image.Rect(60, 30, 199, 70), grass)
	m.Set(image.Pt(0, 0), tree)
	m.Set(image.Pt(199, 69), tree)
	if got := h.Changed(); got != m.Bounds() {
		t.Fatalf("changed %v", got)
	}
	after := m.Clone()
	h.Commit()
	h.Undo(m)
	if !samePixels(m, orig) {
		t.Fatal("undo did not restore the original")
	}
	h.Redo(m)
	if !samePixels(m, after) {
		t.Fatal("redo did not restore the stroke")
	}
}

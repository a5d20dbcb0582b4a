package canvas

import (
	"image"
)

// Editor turns pointer events into recorded strokes: it drives a Tool on a
// LabelMap and records each press-drag-release as one History step. It is the
// Widget's whole painting logic, kept free of Fyne so it can be tested and
// reused (for scripted edits, say).
type Editor struct {
	m *LabelMap
	h *History

	active       bool
	tool         Tool
	kind         StrokeKind
	class        uint8
	anchor, last image.Point
}

// NewEditor returns an Editor painting on m and recording into h. A nil h
// gets a History with the default limits.
func NewEditor(m *LabelMap, h *History) *Editor {
	if h == nil {
		h = NewHistory(0, 0)
	}
	return &Editor{m: m, h: h}
}

// Map returns the map being edited.
func (e *Editor) Map() *LabelMap { return e.m }

// History returns the editor's history.
func (e *Editor) History() *History { return e.h }

// Active reports whether a stroke is in progress.
func (e *Editor) Active() bool { return e.active }

// Press starts a stroke of tool t with class at map pixel p and returns the
// rectangle that changed. A stroke still in progress is finished first.
// Pickers paint nothing; use Pick for them.
func (e *Editor) Press(p image.Point, t Tool, class uint8) image.Rectangle {
	e.Release()
	e.active, e.tool, e.kind, e.class = true, t, KindOf(t), class
	e.anchor, e.last = p, p
	e.h.Begin(e.m)
	return t.Stroke(e.m, p, p, class)
}

// Move continues the stroke to p and returns the rectangle that changed,
// including pixels a shape tool's previous preview gave back.
func (e *Editor) Move(p image.Point) image.Rectangle {
	if !e.active || p == e.last {
		return image.Rectangle{}
	}
	from := e.last
	e.last = p
	switch e.kind {
	case Freehand:
		return e.tool.Stroke(e.m, from, p, e.class)
	case Shape:
		reverted := e.h.Revert()
		return reverted.Union(e.tool.Stroke(e.m, e.anchor, p, e.class))
	}
	return image.Rectangle{} // Click tools act on press only.
}

// Release ends the stroke, records it as one undo step and returns the
// rectangle the whole stroke changed.
func (e *Editor) Release() image.Rectangle {
	if !e.active {
		return image.Rectangle{}
	}
	e.active = false
	e.tool = nil
	return e.h.Commit()
}

// Cancel ends the stroke, putting back every pixel it changed, and returns
// that rectangle.
func (e *Editor) Cancel() image.Rectangle {
	if !e.active {
		return image.Rectangle{}
	}
	e.active = false
	e.tool = nil
	return e.h.Cancel()
}

// Undo finishes any stroke, undoes the newest step and returns the rectangle
// it changed.
func (e *Editor) Undo() image.Rectangle {
	e.Release()
	return e.h.Undo(e.m)
}

// Redo redoes the newest undone step and returns the rectangle it changed.
func (e *Editor) Redo() image.Rectangle {
	e.Release()
	return e.h.Redo(e.m)
}

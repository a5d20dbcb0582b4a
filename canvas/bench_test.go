package canvas

import (
	"image"
	"testing"
)

// BenchmarkBrushStroke paints a 1000-pixel stroke with a size-16 round brush
// through the Editor, undo recording included, as 50 pointer events.
func BenchmarkBrushStroke(b *testing.B) {
	m := newMap(b, 1024, 1024, testPalette(), sky)
	e := NewEditor(m, NewHistory(10, 0))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		class := uint8(1 + i%3)
		e.Press(image.Pt(12, 12), RoundBrush{Size: 16}, class)
		for j := 1; j <= 50; j++ {
			e.Move(image.Pt(12+j*20, 12+j*12))
		}
		e.Release()
	}
}

// BenchmarkBrushStrokeRaw is the same stroke without undo recording, in a
// single call.
func BenchmarkBrushStrokeRaw(b *testing.B) {
	m := newMap(b, 1024, 1024, testPalette(), sky)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		RoundBrush{Size: 16}.Stroke(m, image.Pt(12, 12), image.Pt(1012, 612), uint8(1+i%3))
	}
}

// BenchmarkFill flood-fills a 2048×2048 map whose region is cut into
// horizontal bands joined at alternating ends, so the scanline fill has
// thousands of runs to follow.
func BenchmarkFill(b *testing.B) {
	m := newMap(b, 2048, 2048, testPalette(), sky)
	for y := 1; y < 2048; y += 2 {
		m.FillRect(image.Rect(0, y, 2048, y+1), tree)
		gap := 0
		if y%4 == 3 {
			gap = 2047
		}
		m.Set(image.Pt(gap, y), sky)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Alternate sea and sky so every iteration fills the same region.
		class := uint8(sea)
		if i%2 == 1 {
			class = sky
		}
		if r := (Fill{}).Stroke(m, image.Pt(0, 0), image.Pt(0, 0), class); r.Empty() {
			b.Fatal("fill changed nothing")
		}
	}
}

// BenchmarkFillRecorded is a whole-map fill through the Editor, so it pays
// for saving the undo tiles and the step.
func BenchmarkFillRecorded(b *testing.B) {
	m := newMap(b, 2048, 2048, testPalette(), sky)
	e := NewEditor(m, NewHistory(4, 0))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.Press(image.Pt(100, 100), Fill{}, uint8(1+i%3))
		e.Release()
	}
}

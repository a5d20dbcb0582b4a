// Package canvas is the painting layer of spadepaint: the semantic label map
// a person paints, the tools that paint it, per-stroke undo/redo, label PNG
// input/output and a Fyne widget that shows and edits the map.
//
// A label map is an *image.Paletted whose pixel values are class ids. It is
// never anti-aliased or blended: every pixel always holds exactly one class
// id that the palette defines, because the SPADE generator one-hot encodes the
// ids and a blended value would be a different (wrong) class.
//
// The data types (LabelMap, the tools, History and Editor) know nothing about
// widgets, so they are tested and benchmarked without a display. Widget is a
// thin Fyne layer over an Editor. All of them are meant to be used from one
// goroutine (Fyne's UI goroutine); code that renders the map elsewhere should
// take a Clone in the OnChanged callback and hand that copy over.
package canvas

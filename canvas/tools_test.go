package canvas

import (
	"image"
	"testing"
)

// stroke drives tool through an Editor: press at pts[0], move through the
// rest, release. It returns the rectangle the Editor reported on release.
func stroke(m *LabelMap, tool Tool, class uint8, pts ...image.Point) image.Rectangle {
	e := NewEditor(m, nil)
	e.Press(pts[0], tool, class)
	for _, p := range pts[1:] {
		e.Move(p)
	}
	return e.Release()
}

func TestToolsGolden(t *testing.T) {
	pt := image.Pt
	tests := []struct {
		name  string
		pal   Palette
		w, h  int
		start []string // initial map; empty means all sky
		tool  Tool
		class uint8
		pts   []image.Point
	}{
		{name: "round1_dab", tool: RoundBrush{Size: 1}, pts: []image.Point{pt(5, 4)}},
		{name: "round2_dab", tool: RoundBrush{Size: 2}, pts: []image.Point{pt(5, 4)}},
		{name: "round3_dab", tool: RoundBrush{Size: 3}, pts: []image.Point{pt(5, 4)}},
		{name: "round4_dab", tool: RoundBrush{Size: 4}, pts: []image.Point{pt(5, 4)}},
		{name: "round5_dab", tool: RoundBrush{Size: 5}, pts: []image.Point{pt(5, 4)}},
		{name: "round7_dab", tool: RoundBrush{Size: 7}, pts: []image.Point{pt(5, 4)}},
		{name: "round3_stroke", tool: RoundBrush{Size: 3}, pts: []image.Point{pt(1, 1), pt(6, 3), pt(10, 7)}},
		{name: "round5_edge", tool: RoundBrush{Size: 5}, pts: []image.Point{pt(-1, 0), pt(11, 8)}},
		{name: "square1_dab", tool: SquareBrush{Size: 1}, pts: []image.Point{pt(5, 4)}},
		{name: "square4_dab", tool: SquareBrush{Size: 4}, pts: []image.Point{pt(5, 4)}},
		{name: "square3_stroke", tool: SquareBrush{Size: 3}, pts: []image.Point{pt(1, 7), pt(10, 2)}},
		{name: "pencil_stroke", tool: Pencil{}, pts: []image.Point{pt(0, 0), pt(11, 3), pt(2, 8), pt(2, 8)}},
		{
			name: "eraser_dontcare", pal: dcPalette(), tool: Eraser{Size: 3, Background: sky}, class: tree,
			start: []string{
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
			},
			pts: []image.Point{pt(2, 2), pt(9, 6)},
		},
		{
			name: "eraser_background", tool: Eraser{Size: 3, Background: sea}, class: tree,
			start: []string{
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
				"gggggggggggg",
			},
			pts: []image.Point{pt(2, 2), pt(9, 6)},
		},
		{
			name: "fill", tool: Fill{}, class: sea,
			start: []string{
				"......T.....",
				"......T.....",
				"..TTTTT.....",
				"..T...T..T..",
				"..T.T.T..T..",
				"..T...T..T..",
				"..TTTTT..T..",
				"T........T..",
				".T.......T..",
			},
			pts: []image.Point{pt(0, 0), pt(11, 8)}, // fills at the press point only
		},
		{name: "line1", tool: Line{Size: 1}, pts: []image.Point{pt(0, 8), pt(11, 0), pt(6, 6), pt(11, 2)}},
		{name: "line3", tool: Line{Size: 3}, pts: []image.Point{pt(1, 1), pt(3, 8), pt(10, 6)}},
		{name: "rect1_outline", tool: Rectangle{Size: 1}, pts: []image.Point{pt(1, 1), pt(11, 8), pt(9, 6)}},
		{name: "rect2_outline", tool: Rectangle{Size: 2}, pts: []image.Point{pt(10, 7), pt(1, 1)}},
		{name: "rect_filled", tool: Rectangle{Size: 1, Filled: true}, pts: []image.Point{pt(8, 1), pt(2, 6)}},
		{name: "rect3_thick_small", tool: Rectangle{Size: 3}, pts: []image.Point{pt(2, 2), pt(6, 6)}},
		{name: "rect_clipped", tool: Rectangle{Size: 1}, pts: []image.Point{pt(-3, 4), pt(8, 20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pal := tt.pal
			if pal.Classes == nil {
				pal = testPalette()
			}
			w, h := tt.w, tt.h
			if w == 0 {
				w, h = 12, 9
			}
			var m *LabelMap
			if tt.start != nil {
				m = parseMap(t, pal, tt.start...)
			} else {
				m = newMap(t, w, h, pal, sky)
			}
			class := tt.class
			if class == 0 {
				class = grass
			}
			before := m.Clone()
			got := stroke(m, tt.tool, class, tt.pts...)
			if want := changedRect(before, m); got != want {
				t.Errorf("stroke reported %v changed, pixels changed in %v", got, want)
			}
			checkGolden(t, tt.name, m)
		})
	}
}

// TestStampShapes spells out the brush shapes the golden files hold, so a
// reviewer can see them without an image viewer.
func TestStampShapes(t *testing.T) {
	tests := []struct {
		tool Tool
		want []string
	}{
		{RoundBrush{Size: 1}, []string{".....", "..g..", "....."}},
		{RoundBrush{Size: 2}, []string{".....", ".gg..", ".gg..", "....."}},
		{RoundBrush{Size: 3}, []string{".....", ".ggg.", ".ggg.", ".ggg.", "....."}},
		{RoundBrush{Size: 4}, []string{"......", "..gg..", ".gggg.", ".gggg.", "..gg..", "......"}},
		{RoundBrush{Size: 5}, []string{".......", "..ggg..", ".ggggg.", ".ggggg.", ".ggggg.", "..ggg..", "......."}},
		{SquareBrush{Size: 2}, []string{".....", ".gg..", ".gg..", "....."}},
	}
	for _, tt := range tests {
		m := newMap(t, len(tt.want[0]), len(tt.want), testPalette(), sky)
		c := image.Pt(len(tt.want[0])/2, len(tt.want)/2)
		tt.tool.Stroke(m, c, c, grass)
		want := parseMap(t, testPalette(), tt.want...)
		if !samePixels(m, want) {
			t.Errorf("%#v at %v:%s\nwant:%s", tt.tool, c, ascii(m), ascii(want))
		}
	}
}

func TestFillBoundaries(t *testing.T) {
	tests := []struct {
		name      string
		start     []string
		at        image.Point
		class     uint8
		want      []string
		unchanged bool
	}{
		{
			name: "diagonal wall does not leak",
			start: []string{
				"...T",
				"..T.",
				".T..",
				"T...",
			},
			at: image.Pt(0, 0), class: sea,
			want: []string{
				"~~~T",
				"~~T.",
				"~T..",
				"T...",
			},
		},
		{
			name: "diagonal gap inside a ring",
			start: []string{
				"TTTTT",
				"T...T",
				"T.T.T",
				"T...T",
				"TTTT.",
			},
			at: image.Pt(1, 1), class: grass,
			want: []string{
				"TTTTT",
				"TgggT",
				"TgTgT",
				"TgggT",
				"TTTT.",
			},
		},
		{
			name: "fills a wall class region itself",
			start: []string{
				"T.T",
				"TTT",
				"..T",
			},
			at: image.Pt(2, 2), class: sea,
			want: []string{
				"~.~",
				"~~~",
				"..~",
			},
		},
		{
			name:  "same class is a no-op",
			start: []string{"..", ".."},
			at:    image.Pt(0, 0), class: sky, unchanged: true,
			want: []string{"..", ".."},
		},
		{
			name:  "outside the map is a no-op",
			start: []string{"..", ".."},
			at:    image.Pt(2, 0), class: sea, unchanged: true,
			want: []string{"..", ".."},
		},
		{
			name:  "class not in the palette is a no-op",
			start: []string{"..", ".."},
			at:    image.Pt(0, 0), class: 9, unchanged: true,
			want: []string{"..", ".."},
		},
		{
			name: "serpentine region",
			start: []string{
				"........",
				"TTTTTTT.",
				"........",
				".TTTTTTT",
				"........",
			},
			at: image.Pt(7, 4), class: grass,
			want: []string{
				"gggggggg",
				"TTTTTTTg",
				"gggggggg",
				"gTTTTTTT",
				"gggggggg",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseMap(t, testPalette(), tt.start...)
			r := Fill{}.Stroke(m, tt.at, tt.at, tt.class)
			want := parseMap(t, testPalette(), tt.want...)
			if !samePixels(m, want) {
				t.Errorf("got:%s\nwant:%s", ascii(m), ascii(want))
			}
			if r.Empty() != tt.unchanged {
				t.Errorf("changed rect %v, want empty=%v", r, tt.unchanged)
			}
		})
	}
}

func TestFillLargeRegionIsIterative(t *testing.T) {
	// A one-pixel-wide spiral-free comb: thousands of runs that a recursive
	// fill would descend into one by one.
	m := newMap(t, 2048, 2048, testPalette(), sky)
	for x := 1; x < 2048; x += 2 {
		m.FillRect(image.Rect(x, 0, x+1, 2047), tree)
		if x%4 == 3 {
			m.Set(image.Pt(x, 2047), tree)
			m.Set(image.Pt(x, 0), sky)
		}
	}
	r := Fill{}.Stroke(m, image.Pt(0, 0), image.Pt(0, 0), sea)
	if r != m.Bounds() {
		t.Fatalf("fill changed %v, want the whole map", r)
	}
	for i, v := range m.img.Pix {
		if v == sky {
			t.Fatalf("pixel %d still sky", i)
		}
	}
}

func TestEyedropper(t *testing.T) {
	m := parseMap(t, testPalette(),
		".~",
		"gT",
	)
	tests := []struct {
		p    image.Point
		want uint8
		ok   bool
	}{
		{image.Pt(0, 0), sky, true},
		{image.Pt(1, 0), sea, true},
		{image.Pt(0, 1), grass, true},
		{image.Pt(1, 1), tree, true},
		{image.Pt(2, 1), 0, false},
		{image.Pt(-1, 0), 0, false},
	}
	for _, tt := range tests {
		got, ok := Eyedropper{}.Pick(m, tt.p)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Pick(%v) = %d, %v; want %d, %v", tt.p, got, ok, tt.want, tt.ok)
		}
	}
	before := m.Clone()
	if r := stroke(m, Eyedropper{}, sea, image.Pt(0, 0), image.Pt(1, 1)); !r.Empty() || !samePixels(m, before) {
		t.Errorf("eyedropper stroke changed %v", r)
	}
}

func TestStrokeContinuity(t *testing.T) {
	tests := []struct {
		name string
		tool Tool
		from image.Point
		to   image.Point
	}{
		{"pencil shallow", Pencil{}, image.Pt(2, 3), image.Pt(497, 150)},
		{"pencil steep", Pencil{}, image.Pt(300, 2), image.Pt(250, 297)},
		{"pencil backwards", Pencil{}, image.Pt(490, 290), image.Pt(3, 1)},
		{"round 3", RoundBrush{Size: 3}, image.Pt(5, 290), image.Pt(495, 4)},
		{"square 2", SquareBrush{Size: 2}, image.Pt(5, 5), image.Pt(495, 295)},
		{"from outside", Pencil{}, image.Pt(-400, -100), image.Pt(499, 299)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMap(t, 500, 300, testPalette(), sky)
			// One pointer event covering the whole segment, as a fast mouse
			// move produces.
			stroke(m, tt.tool, grass, tt.from, tt.to)
			for _, p := range []image.Point{tt.from, tt.to} {
				if c, ok := m.ClassAt(p); ok && c != grass {
					t.Errorf("end point %v not painted", p)
				}
			}
			// Every painted pixel must belong to one 8-connected component.
			painted, reached := 0, 0
			var start image.Point
			for i, v := range m.img.Pix {
				if v == grass {
					painted++
					start = image.Pt(i%m.img.Stride, i/m.img.Stride)
				}
			}
			seen := make([]bool, len(m.img.Pix))
			stack := []image.Point{start}
			seen[start.Y*m.img.Stride+start.X] = true
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				reached++
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						q := p.Add(image.Pt(dx, dy))
						if c, ok := m.ClassAt(q); ok && c == grass && !seen[q.Y*m.img.Stride+q.X] {
							seen[q.Y*m.img.Stride+q.X] = true
							stack = append(stack, q)
						}
					}
				}
			}
			if painted == 0 || reached != painted {
				t.Errorf("%d pixels painted, %d connected to the rest", painted, reached)
			}
			// A 1-pixel pencil line has exactly one pixel per step of the
			// longer axis (inside the map).
			if _, ok := tt.tool.(Pencil); ok && tt.from.In(m.Bounds()) {
				d := tt.to.Sub(tt.from)
				if want := max(abs(d.X), abs(d.Y)) + 1; painted != want {
					t.Errorf("pencil painted %d pixels, want %d", painted, want)
				}
			}
		})
	}
}

func TestSizedTools(t *testing.T) {
	for _, tool := range []SizedTool{RoundBrush{Size: 3}, SquareBrush{Size: 3}, Eraser{Size: 3, Background: sea}, Line{Size: 3}, Rectangle{Size: 3, Filled: true}} {
		got := tool.WithBrushSize(7).(SizedTool)
		if got.BrushSize() != 7 {
			t.Errorf("%#v.WithBrushSize(7).BrushSize() = %d", tool, got.BrushSize())
		}
		if KindOf(got) != KindOf(tool) {
			t.Errorf("%#v changed kind", tool)
		}
		if got := tool.WithBrushSize(0).(SizedTool).BrushSize(); got != 1 {
			t.Errorf("%#v size 0 clamps to %d, want 1", tool, got)
		}
		if got := tool.WithBrushSize(1 << 20).(SizedTool).BrushSize(); got != MaxBrushSize {
			t.Errorf("%#v huge size clamps to %d, want %d", tool, got, MaxBrushSize)
		}
	}
	if e := (Eraser{Size: 3, Background: sea}).WithBrushSize(5).(Eraser); e.Background != sea {
		t.Errorf("eraser lost its background class: %#v", e)
	}
	if r := (Rectangle{Size: 1, Filled: true}).WithBrushSize(5).(Rectangle); !r.Filled {
		t.Errorf("rectangle lost Filled: %#v", r)
	}
}

func TestFootprintMatchesStamp(t *testing.T) {
	for size := 1; size <= 9; size++ {
		for _, tool := range []Tool{RoundBrush{Size: size}, SquareBrush{Size: size}} {
			m := newMap(t, 21, 21, testPalette(), sky)
			c := image.Pt(10, 10)
			r := tool.Stroke(m, c, c, grass)
			if want := tool.(Footprinter).Footprint().Bounds(c); r != want {
				t.Errorf("%#v painted %v, footprint says %v", tool, r, want)
			}
		}
	}
}

func TestStrokeFarOutside(t *testing.T) {
	m := newMap(t, 10, 10, testPalette(), sky)
	// Walking a billion-pixel segment would hang the UI; one that cannot
	// reach the map is rejected up front.
	far := image.Pt(-1_000_000_000, 5)
	if r := (RoundBrush{Size: 9}).Stroke(m, far, far.Add(image.Pt(0, 1_000_000_000)), grass); !r.Empty() {
		t.Fatalf("changed %v", r)
	}
	// A segment ending just inside still paints its end.
	if r := (Pencil{}).Stroke(m, image.Pt(-100, 3), image.Pt(0, 3), grass); r != image.Rect(0, 3, 1, 4) {
		t.Fatalf("changed %v", r)
	}
}

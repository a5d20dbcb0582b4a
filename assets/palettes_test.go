package assets

import (
	"image/color"
	"strconv"
	"strings"
	"testing"

	"spadepaint/canvas"
)

func TestPalettes(t *testing.T) {
	for _, tc := range []struct {
		name     PaletteName
		classes  int
		len      int // Palette.Len: largest id + 1
		dontCare int
		absent   []uint8 // ids that must not be classes
		names    map[uint8]string
		groups   map[uint8]canvas.Group
	}{
		{Landscape, 16, 16, -1, nil,
			map[uint8]string{0: "sky-other", 1: "clouds", 6: "sea", 10: "tree", 15: "fog"},
			map[uint8]canvas.Group{0: canvas.SkyWater, 2: canvas.Landscape, 9: canvas.Plants, 13: canvas.Ground}},
		{ADE20K, 151, 151, 150, nil,
			map[uint8]string{0: "wall", 2: "sky", 4: "tree", 16: "mountain", 26: "sea", 89: "television", 149: "flag", 150: "don't care"},
			map[uint8]canvas.Group{1: canvas.Buildings, 2: canvas.SkyWater, 9: canvas.Plants, 34: canvas.Landscape, 6: canvas.Ground, 12: canvas.Other}},
		{COCO, 172, 183, 182, []uint8{11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90},
			map[uint8]string{0: "person", 12: "stop sign", 90 + 1: "banner", 105: "clouds", 123: "grass", 134: "mountain",
				154: "sea", 156: "sky-other", 168: "tree", 181: "wood", 182: "don't care"},
			map[uint8]canvas.Group{156: canvas.SkyWater, 134: canvas.Landscape, 168: canvas.Plants, 153: canvas.Ground, 95: canvas.Buildings, 0: canvas.Other}},
		{Cityscapes, 34, 34, -1, nil,
			map[uint8]string{0: "unlabeled", 7: "road", 11: "building", 21: "vegetation", 23: "sky", 26: "car", 33: "bicycle"},
			map[uint8]canvas.Group{23: canvas.SkyWater, 21: canvas.Plants, 7: canvas.Ground, 11: canvas.Buildings, 26: canvas.Other}},
	} {
		t.Run(tc.name.String(), func(t *testing.T) {
			p, err := Palette(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if len(p.Classes) != tc.classes || p.Len() != tc.len || p.DontCare != tc.dontCare {
				t.Errorf("got %d classes, Len %d, DontCare %d; want %d, %d, %d",
					len(p.Classes), p.Len(), p.DontCare, tc.classes, tc.len, tc.dontCare)
			}
			seenColor := map[[3]uint8]string{}
			for i, c := range p.Classes {
				if i > 0 && c.ID <= p.Classes[i-1].ID {
					t.Errorf("class %q: id %d not ascending", c.Name, c.ID)
				}
				k := [3]uint8{c.Color.R, c.Color.G, c.Color.B}
				if other, dup := seenColor[k]; dup {
					t.Errorf("classes %q and %q share colour %v", other, c.Name, c.Color)
				}
				seenColor[k] = c.Name
			}
			for _, id := range tc.absent {
				if c, ok := p.Class(id); ok {
					t.Errorf("id %d should be absent, is %q", id, c.Name)
				}
			}
			for id, want := range tc.names {
				if c, _ := p.Class(id); c.Name != want {
					t.Errorf("id %d is %q, want %q", id, c.Name, want)
				}
			}
			for id, want := range tc.groups {
				if c, _ := p.Class(id); c.Group != want {
					t.Errorf("id %d (%s) is in group %v, want %v", id, c.Name, c.Group, want)
				}
			}
		})
	}
	if _, err := Palette(PaletteName(99)); err == nil {
		t.Error("Palette(99) did not fail")
	}
}

func TestPaletteFresh(t *testing.T) {
	p, _ := Palette(Landscape)
	p.Classes[0].Name = "changed"
	if q, _ := Palette(Landscape); q.Classes[0].Name != "sky-other" {
		t.Error("Palette returned shared, mutable classes")
	}
}

func TestGenericPalette(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{-1, 0}, {0, 0}, {3, 3}, {256, 256}, {300, 256}} {
		p := GenericPalette(tc.n)
		if len(p.Classes) != tc.want || p.DontCare != -1 {
			t.Errorf("GenericPalette(%d): %d classes, DontCare %d", tc.n, len(p.Classes), p.DontCare)
		}
		seen := map[[3]uint8]bool{}
		for i, c := range p.Classes {
			if int(c.ID) != i || c.Name != "class "+strconv.Itoa(i) || c.Color.A != 0xff {
				t.Fatalf("GenericPalette(%d) class %d = %+v", tc.n, i, c)
			}
			k := [3]uint8{c.Color.R, c.Color.G, c.Color.B}
			if seen[k] {
				t.Fatalf("GenericPalette(%d): colour %v repeats at %d", tc.n, c.Color, i)
			}
			seen[k] = true
		}
	}
	// The first colours are SPADE's labelcolormap: 0 maroon, 1 green, 2 olive.
	p := GenericPalette(3)
	for i, want := range [][3]uint8{{128, 0, 0}, {0, 128, 0}, {128, 128, 0}} {
		if c := p.Classes[i].Color; [3]uint8{c.R, c.G, c.B} != want {
			t.Errorf("class %d colour %v, want %v", i, c, want)
		}
	}
}

func TestParsePalette(t *testing.T) {
	good := "# comment\n\n0\tsky\t#8ECDF0\tskywater\r\n 3 \t big rock \t#8c8c8c\n7\tvoid\t#000000\tDontCare\n5\tthing\t#010203\n"
	p, err := ParsePalette(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []canvas.Class{
		{ID: 0, Name: "sky", Color: rgb(0x8e, 0xcd, 0xf0), Group: canvas.SkyWater},
		{ID: 3, Name: "big rock", Color: rgb(0x8c, 0x8c, 0x8c), Group: canvas.Other},
		{ID: 7, Name: "void", Color: rgb(0, 0, 0), Group: canvas.Other},
		{ID: 5, Name: "thing", Color: rgb(1, 2, 3), Group: canvas.Other},
	}
	if len(p.Classes) != len(want) || p.DontCare != 7 {
		t.Fatalf("got %+v", p)
	}
	for i := range want {
		if p.Classes[i] != want[i] {
			t.Errorf("class %d = %+v, want %+v", i, p.Classes[i], want[i])
		}
	}

	for _, tc := range []struct{ in, err string }{
		{"", "no classes"},
		{"# only a comment\n", "no classes"},
		{"0\tsky\n", "line 1: want id, name"},
		{"0\tsky\t#000000\tOther\textra\n", "line 1: want id, name"},
		{"0 sky #000000\n", "line 1: want id, name"},
		{"\n256\tsky\t#000000\n", "line 2: class id \"256\""},
		{"-1\tsky\t#000000\n", "line 1: class id \"-1\""},
		{"x\tsky\t#000000\n", "line 1: class id \"x\""},
		{"0\t\t#000000\n", "line 1: class 0 has no name"},
		{"0\tsky\t000000\n", "line 1: colour \"000000\""},
		{"0\tsky\t#00000g\n", "line 1: colour \"#00000g\""},
		{"0\tsky\t#0000000\n", "line 1: colour"},
		{"0\tsky\t#000000\tSky\n", "line 1: unknown group \"Sky\""},
		{"0\ta\t#000000\n#\n0\tb\t#000001\n", "line 3: class id 0 appears twice"},
		{"0\ta\t#000000\tdontcare\n1\tb\t#000001\tDontCare\n", "line 2: second don't-care class (first is id 0)"},
	} {
		_, err := ParsePalette(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParsePalette(%q) error %v, want one containing %q", tc.in, err, tc.err)
		}
	}
}

func rgb(r, g, b uint8) color.NRGBA { return color.NRGBA{r, g, b, 0xff} }

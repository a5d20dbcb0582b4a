package assets

import (
	"bufio"
	"embed"
	"errors"
	"fmt"
	"image/color"
	"io"
	"strconv"
	"strings"

	"spadepaint/canvas"
)

// PaletteName names one of the built-in class palettes.
type PaletteName int

// The built-in palettes, one for each model family the app ships with.
const (
	// Landscape is the project's own 16-class landscape model.
	Landscape PaletteName = iota
	// ADE20K is the official SPADE ade20k model: 150 classes and don't care.
	ADE20K
	// COCO is the official SPADE coco model: COCO-Stuff's 182 label ids (the
	// 11 never-annotated thing ids left out) and don't care.
	COCO
	// Cityscapes is the official SPADE cityscapes model: labelIds 0..33.
	Cityscapes
)

// paletteFileNames maps each PaletteName to its file under palettes/.
var paletteFileNames = [...]string{
	Landscape:  "landscape",
	ADE20K:     "ade20k",
	COCO:       "coco",
	Cityscapes: "cityscapes",
}

// String returns the palette's short name, which is also its file's base name.
func (n PaletteName) String() string {
	if n < 0 || int(n) >= len(paletteFileNames) {
		return fmt.Sprintf("PaletteName(%d)", int(n))
	}
	return paletteFileNames[n]
}

//go:embed palettes/*.txt
var paletteFiles embed.FS

// Palette returns a fresh copy of the named built-in palette.
func Palette(name PaletteName) (canvas.Palette, error) {
	if name < 0 || int(name) >= len(paletteFileNames) {
		return canvas.Palette{}, fmt.Errorf("unknown palette %v", name)
	}
	file := "palettes/" + name.String() + ".txt"
	f, err := paletteFiles.Open(file)
	if err != nil {
		return canvas.Palette{}, err
	}
	defer f.Close()
	p, err := ParsePalette(f)
	if err != nil {
		return canvas.Palette{}, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// GenericPalette returns n classes named "class 0", "class 1", … with ids
// 0..n-1, distinct colours and no don't-care class, for imported models of
// unknown datasets. n is clamped to 0..256, the ids a label map can hold.
// The colours are the bit-interleaved PASCAL VOC colour map (SPADE's
// labelcolormap), which is distinct for every id.
func GenericPalette(n int) canvas.Palette {
	n = min(max(n, 0), 256)
	p := canvas.Palette{Classes: make([]canvas.Class, n), DontCare: -1}
	for i := range n {
		var r, g, b uint8
		for j, id := 0, i+1; j < 8; j, id = j+1, id>>3 {
			r |= uint8(id&1) << (7 - j)
			g |= uint8(id>>1&1) << (7 - j)
			b |= uint8(id>>2&1) << (7 - j)
		}
		p.Classes[i] = canvas.Class{
			ID:    uint8(i),
			Name:  "class " + strconv.Itoa(i),
			Color: color.NRGBA{r, g, b, 0xff},
			Group: canvas.Other,
		}
	}
	return p
}

// groupNames are the group column's values, matched without regard to case.
var groupNames = map[string]canvas.Group{
	"skywater":  canvas.SkyWater,
	"landscape": canvas.Landscape,
	"plants":    canvas.Plants,
	"ground":    canvas.Ground,
	"buildings": canvas.Buildings,
	"other":     canvas.Other,
}

// ParsePalette reads a class list such as a model's classes.txt: one class a
// line, "id<TAB>name<TAB>#rrggbb[<TAB>group]", where id is 0..255, group is
// one of SkyWater, Landscape, Plants, Ground, Buildings, Other (any case;
// Other if absent) or DontCare, which makes that class (group Other) the
// palette's don't-care class. Blank lines and lines starting with '#' are
// skipped; spaces around fields are ignored. Errors name the line.
func ParsePalette(r io.Reader) (canvas.Palette, error) {
	p := canvas.Palette{DontCare: -1}
	var seen [256]bool
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		c, dontCare, err := parseClassLine(text)
		if err != nil {
			return canvas.Palette{}, fmt.Errorf("line %d: %w", line, err)
		}
		if seen[c.ID] {
			return canvas.Palette{}, fmt.Errorf("line %d: class id %d appears twice", line, c.ID)
		}
		seen[c.ID] = true
		if dontCare {
			if p.DontCare != -1 {
				return canvas.Palette{}, fmt.Errorf("line %d: second don't-care class (first is id %d)", line, p.DontCare)
			}
			p.DontCare = int(c.ID)
		}
		p.Classes = append(p.Classes, c)
	}
	if err := sc.Err(); err != nil {
		return canvas.Palette{}, err
	}
	if len(p.Classes) == 0 {
		return canvas.Palette{}, errors.New("no classes")
	}
	return p, nil
}

// parseClassLine parses one non-blank, non-comment class line.
func parseClassLine(text string) (c canvas.Class, dontCare bool, err error) {
	fields := strings.Split(text, "\t")
	if len(fields) < 3 || len(fields) > 4 {
		return c, false, fmt.Errorf("want id, name, #rrggbb and optional group separated by tabs, got %d fields", len(fields))
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	id, err := strconv.ParseUint(fields[0], 10, 8)
	if err != nil {
		return c, false, fmt.Errorf("class id %q is not a number in 0..255", fields[0])
	}
	if fields[1] == "" {
		return c, false, fmt.Errorf("class %d has no name", id)
	}
	col, ok := parseHexColor(fields[2])
	if !ok {
		return c, false, fmt.Errorf("colour %q is not #rrggbb", fields[2])
	}
	c = canvas.Class{ID: uint8(id), Name: fields[1], Color: col, Group: canvas.Other}
	if len(fields) == 4 && fields[3] != "" {
		g := strings.ToLower(fields[3])
		if g == "dontcare" {
			return c, true, nil
		}
		if c.Group, ok = groupNames[g]; !ok {
			return canvas.Class{}, false, fmt.Errorf("unknown group %q", fields[3])
		}
	}
	return c, false, nil
}

// parseHexColor parses "#rrggbb" as an opaque colour.
func parseHexColor(s string) (color.NRGBA, bool) {
	if len(s) != 7 || s[0] != '#' {
		return color.NRGBA{}, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.NRGBA{}, false
	}
	return color.NRGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}, true
}

package canvas

import (
	"errors"
	"fmt"
	"image/color"
)

// Group is the family a class belongs to; the app uses it to arrange the
// class palette the way GauGAN does.
type Group int

// The class groups.
const (
	SkyWater Group = iota
	Landscape
	Plants
	Ground
	Buildings
	Other
)

// String returns the group's display name.
func (g Group) String() string {
	switch g {
	case SkyWater:
		return "Sky & water"
	case Landscape:
		return "Landscape"
	case Plants:
		return "Plants"
	case Ground:
		return "Ground"
	case Buildings:
		return "Buildings"
	case Other:
		return "Other"
	}
	return fmt.Sprintf("Group(%d)", int(g))
}

// Class is one semantic class: the id stored in label map pixels, a name and
// the colour it is shown in.
type Class struct {
	ID    uint8
	Name  string
	Color color.NRGBA
	Group Group
}

// Palette is the set of classes a label map may contain. Ids need not be
// dense or sorted, but each may appear once.
type Palette struct {
	Classes []Class
	// DontCare is the class id of the "don't care" (unlabelled) class that the
	// eraser paints, or -1 if the palette has none.
	DontCare int
}

// Len is the number of class id slots: the largest id plus one. Every pixel
// value of a valid label map is below Len.
func (p Palette) Len() int {
	n := 0
	for _, c := range p.Classes {
		n = max(n, int(c.ID)+1)
	}
	return n
}

// Class returns the class with the given id.
func (p Palette) Class(id uint8) (Class, bool) {
	for _, c := range p.Classes {
		if c.ID == id {
			return c, true
		}
	}
	return Class{}, false
}

// Colors returns the colour of every id slot, indexed by class id, so it can
// serve directly as an image.Paletted palette. Slots without a class are
// opaque black; a valid label map never uses them.
func (p Palette) Colors() color.Palette {
	cols := make(color.Palette, p.Len())
	for i := range cols {
		cols[i] = color.NRGBA{A: 0xff}
	}
	for _, c := range p.Classes {
		cols[c.ID] = c.Color
	}
	return cols
}

// Validate reports whether the palette is usable: it has at least one class,
// no id appears twice, and DontCare is -1 or one of its ids.
func (p Palette) Validate() error {
	if len(p.Classes) == 0 {
		return errors.New("palette has no classes")
	}
	var seen [256]bool
	for _, c := range p.Classes {
		if seen[c.ID] {
			return fmt.Errorf("palette has class id %d twice", c.ID)
		}
		seen[c.ID] = true
	}
	if p.DontCare != -1 && (p.DontCare < 0 || p.DontCare > 255 || !seen[p.DontCare]) {
		return fmt.Errorf("palette don't-care id %d is not one of its classes", p.DontCare)
	}
	return nil
}

// classSet is a lookup table of the ids a palette defines, so that painting
// and loading check an id in constant time.
type classSet [256]bool

func newClassSet(p Palette) classSet {
	var s classSet
	for _, c := range p.Classes {
		s[c.ID] = true
	}
	return s
}

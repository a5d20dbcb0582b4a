package app

import (
	"spadepaint/assets"
	"spadepaint/canvas"
	"spadepaint/model"
)

// paletteFor picks the class list of a model: by preset name, else by
// the class count of the standard datasets (official checkpoints come
// without names), else generic names.
func paletteFor(c model.Config) canvas.Palette {
	name, ok := map[string]assets.PaletteName{
		"landscape": assets.Landscape, "ade20k": assets.ADE20K, "coco": assets.COCO, "cityscapes": assets.Cityscapes,
	}[c.Name]
	if !ok {
		name, ok = map[int]assets.PaletteName{
			151: assets.ADE20K, 183: assets.COCO, 35: assets.Cityscapes,
		}[c.NumClasses()]
	}
	if ok {
		if p, err := assets.Palette(name); err == nil && p.Len() <= c.NumClasses() {
			return p
		}
	}
	p := assets.GenericPalette(c.NumClasses())
	if c.ContainDontCare {
		p.DontCare = c.NumClasses() - 1
	}
	return p
}

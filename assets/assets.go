// Package assets embeds what the app ships: the default model (when it
// has been trained), class palettes and style preset photos.
package assets

import (
	"bytes"
	"embed"
	"image"
	_ "image/jpeg" // style presets are JPEGs
	"io/fs"
	"path"
	"strings"
)

//go:embed styles/*.jpg models
var files embed.FS

// DefaultModel returns the embedded default model file, or false when
// the build has none.
func DefaultModel() ([]byte, bool) {
	b, err := files.ReadFile("models/default.safetensors")
	return b, err == nil
}

// StylePreset is one shipped style photo.
type StylePreset struct {
	Name  string
	Image image.Image
}

// StylePresets decodes the shipped style photos, sorted by name.
func StylePresets() ([]StylePreset, error) {
	names, err := fs.Glob(files, "styles/*.jpg")
	if err != nil {
		return nil, err
	}
	var out []StylePreset
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		out = append(out, StylePreset{Name: strings.TrimSuffix(path.Base(n), ".jpg"), Image: img})
	}
	return out, nil
}

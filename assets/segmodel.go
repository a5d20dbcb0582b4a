package assets

// SegModel returns the embedded segmentation network that `spadepaint
// eval` scores label fidelity with (models/seg.safetensors, trained by
// `make seg-model`), or false when the build has none.
func SegModel() ([]byte, bool) {
	b, err := files.ReadFile("models/seg.safetensors")
	return b, err == nil
}

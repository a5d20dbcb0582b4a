package eval

import (
	"image"
	"math/rand/v2"

	"spadepaint/train/landscape"
)

func init() { Landscape = landscapeSource }

// landscapeSource renders layout seed under landscape.RandomStyle drawn
// from styleSeed (PCG seeded with styleSeed).
func landscapeSource(seed, styleSeed int64, w, h int) (*image.Paletted, image.Image, []float64) {
	st := landscape.RandomStyle(rand.New(rand.NewPCG(uint64(styleSeed), 0x57A1E)))
	lab, photo := landscape.Generate(seed, w, h, st)
	return lab, photo, st.Vector()
}

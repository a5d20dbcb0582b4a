package eval

import (
	"image"
	"image/color"
	"math"
	"math/rand"
)

// toySource is a tiny stand-in for the landscape generator: sky over a
// horizon, a mountain, grass and sea, a round tree, coloured by a
// 3-parameter style (brightness, warmth, saturation) with pixel noise.
func toySource(seed, styleSeed int64, w, h int) (*image.Paletted, image.Image, []float64) {
	r := rand.New(rand.NewSource(seed))
	horizon := int(float64(h) * (0.35 + 0.25*r.Float64()))
	peakX, peakH := r.Float64()*float64(w), float64(h)*(0.1+0.2*r.Float64())
	split := int(float64(w) * r.Float64())
	tx, ty, tr := r.Float64()*float64(w), float64(horizon)+float64(h)*0.2, float64(h)*(0.05+0.1*r.Float64())
	sr := rand.New(rand.NewSource(styleSeed))
	style := []float64{sr.Float64(), sr.Float64(), sr.Float64()}
	pal := make(color.Palette, 16)
	for i := range pal {
		pal[i] = color.Gray{uint8(i)}
	}
	lab := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	photo := image.NewNRGBA(image.Rect(0, 0, w, h))
	base := map[uint8][3]float64{0: {0.5, 0.7, 0.95}, 2: {0.45, 0.4, 0.35}, 6: {0.1, 0.3, 0.6}, 9: {0.35, 0.7, 0.25}, 10: {0.1, 0.35, 0.15}}
	nr := rand.New(rand.NewSource(seed ^ 77))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c uint8
			mount := float64(horizon) - peakH*math.Max(0, 1-math.Abs(float64(x)-peakX)/(float64(w)*0.3))
			switch {
			case float64(y) < mount && y < horizon:
				c = 0
			case y < horizon:
				c = 2
			case math.Hypot(float64(x)-tx, float64(y)-ty) < tr:
				c = 10
			case x < split:
				c = 9
			default:
				c = 6
			}
			lab.Pix[y*lab.Stride+x] = c
			b := base[c]
			g := 0.5 + style[0]
			warm := (style[1] - 0.5) * 0.3
			sat := 0.5 + style[2]
			m := (b[0] + b[1] + b[2]) / 3
			rgb := [3]float64{b[0] + warm, b[1], b[2] - warm}
			o := photo.PixOffset(x, y)
			for k := 0; k < 3; k++ {
				v := (m + (rgb[k]-m)*sat) * g
				v += 0.04 * nr.NormFloat64()
				photo.Pix[o+k] = uint8(math.Max(0, math.Min(255, v*255)))
			}
			photo.Pix[o+3] = 255
		}
	}
	return lab, photo, style
}

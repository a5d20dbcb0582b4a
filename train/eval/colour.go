package eval

import (
	"image"
	"math"

	"github.com/disintegration/imaging"
)

// ColourStats summarises an image's colours: the mean and standard
// deviation of each CIE L*a*b* channel (D65 white) over all pixels,
// [mean L, mean a, mean b, std L, std a, std b]. L runs 0…100 and a, b
// roughly −100…100, so the six numbers are on comparable scales.
type ColourStats [6]float64

// srgbLinear maps an 8-bit sRGB value to linear light.
var srgbLinear = func() (t [256]float64) {
	for i := range t {
		v := float64(i) / 255
		if v <= 0.04045 {
			t[i] = v / 12.92
		} else {
			t[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return t
}()

// Lab converts one 8-bit sRGB colour to CIE L*a*b* (D65).
func Lab(r, g, b uint8) (L, A, B float64) {
	lr, lg, lb := srgbLinear[r], srgbLinear[g], srgbLinear[b]
	x := (0.4124564*lr + 0.3575761*lg + 0.1804375*lb) / 0.95047
	y := 0.2126729*lr + 0.7151522*lg + 0.0721750*lb
	z := (0.0193339*lr + 0.1191920*lg + 0.9503041*lb) / 1.08883
	f := func(t float64) float64 {
		if t > 216.0/24389 {
			return math.Cbrt(t)
		}
		return (24389.0/27*t + 16) / 116
	}
	fx, fy, fz := f(x), f(y), f(z)
	return 116*fy - 16, 500 * (fx - fy), 200 * (fy - fz)
}

// LabStats computes the colour statistics of img.
func LabStats(img image.Image) ColourStats {
	n := toNRGBA(img)
	b := n.Bounds()
	var sum, sq [3]float64
	cnt := 0
	for y := 0; y < b.Dy(); y++ {
		row := n.Pix[y*n.Stride:]
		for x := 0; x < b.Dx(); x++ {
			L, A, B := Lab(row[4*x], row[4*x+1], row[4*x+2])
			for c, v := range [3]float64{L, A, B} {
				sum[c] += v
				sq[c] += v * v
			}
			cnt++
		}
	}
	var s ColourStats
	for c := 0; c < 3; c++ {
		m := sum[c] / float64(cnt)
		s[c] = m
		s[3+c] = math.Sqrt(math.Max(0, sq[c]/float64(cnt)-m*m))
	}
	return s
}

// Dist is the Euclidean distance between two colour statistics.
func (s ColourStats) Dist(o ColourStats) float64 {
	var d float64
	for i := range s {
		d += (s[i] - o[i]) * (s[i] - o[i])
	}
	return math.Sqrt(d)
}

// toNRGBA returns img as an NRGBA at the origin (no copy when it is one).
func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Bounds().Min == (image.Point{}) {
		return n
	}
	return imaging.Clone(img)
}

// MeanAbsDiff is the mean absolute difference of two same-sized images
// over their RGB values, in [0, 1].
func MeanAbsDiff(a, b image.Image) float64 {
	na, nb := toNRGBA(a), toNRGBA(b)
	w, h := na.Bounds().Dx(), na.Bounds().Dy()
	if nb.Bounds().Dx() != w || nb.Bounds().Dy() != h {
		nb = imaging.Resize(nb, w, h, imaging.Linear)
	}
	var s int64
	for y := 0; y < h; y++ {
		ra, rb := na.Pix[y*na.Stride:], nb.Pix[y*nb.Stride:]
		for x := 0; x < 4*w; x++ {
			if x&3 == 3 {
				continue
			}
			d := int64(ra[x]) - int64(rb[x])
			if d < 0 {
				d = -d
			}
			s += d
		}
	}
	return float64(s) / (255 * 3 * float64(w*h))
}

// MeanPairwiseDiff is the mean of MeanAbsDiff over all unordered pairs
// of imgs (0 for fewer than two).
func MeanPairwiseDiff(imgs []image.Image) float64 {
	var s float64
	n := 0
	for i := range imgs {
		for j := i + 1; j < len(imgs); j++ {
			s += MeanAbsDiff(imgs[i], imgs[j])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

// Fidelity counts how often outputs are closest to their own references.
// d[i][j] is the distance from output i to reference j (reference i is
// output i's own).
type Fidelity struct {
	// Wins counts the pairs (i, j ≠ i) with d[i][i] < d[i][j], ties half.
	Wins float64
	// Pairs is the number of such pairs.
	Pairs int
	// Top1 counts the outputs whose own reference is strictly the nearest.
	Top1 int
	// N is the number of outputs.
	N int
}

// Add scores one group's distance matrix.
func (f *Fidelity) Add(d [][]float64) {
	for i, row := range d {
		top := true
		for j, v := range row {
			if j == i {
				continue
			}
			f.Pairs++
			switch {
			case row[i] < v:
				f.Wins++
			case row[i] == v:
				f.Wins += 0.5
				top = false
			default:
				top = false
			}
		}
		if top {
			f.Top1++
		}
		f.N++
	}
}

// Pairwise is the fraction of pairs won: 1 for outputs that always sit
// nearest their own reference, 0.5 for outputs unrelated to them.
func (f Fidelity) Pairwise() float64 { return f.Wins / float64(f.Pairs) }

// TopOne is the fraction of outputs whose own reference is the nearest
// (chance: 1/group size).
func (f Fidelity) TopOne() float64 { return float64(f.Top1) / float64(f.N) }

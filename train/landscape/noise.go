package landscape

import "math"

// Noise: everything per pixel reads precomputed tiles (tileable gradient
// noise summed over octaves), so a pixel costs a few table reads and no
// transcendental functions. Per-column curves (ridgelines, coastlines)
// use 1-D gradient noise computed on the fly.

const (
	tileBits = 8
	tileSize = 1 << tileBits
	tileMask = tileSize - 1
)

// tile is a tileable tileSize×tileSize noise texture, values roughly in
// [-1, 1].
type tile [tileSize * tileSize]float32

var (
	// fbmTile: six octaves, periods 128 down to 4 texels.
	fbmTile = buildTile(0x1234567, []int{128, 64, 32, 16, 8, 4}, []float32{1, 0.5, 0.25, 0.125, 0.0625, 0.031})
	// detailTile: high-frequency octaves for surface grain.
	detailTile = buildTile(0x89abcde, []int{32, 16, 8, 4}, []float32{0.5, 0.5, 0.35, 0.25})
	// grainTile: white-ish noise (period 2 to 4) for blades, twigs, film grain.
	grainTile = buildWhite(0x2468ace)
)

// hash32 mixes a lattice point and a seed into 32 random bits.
func hash32(x, y int32, seed uint32) uint32 {
	h := uint32(x)*0x8da6b343 ^ uint32(y)*0xd8163841 ^ seed*0xcb1ab31f
	h ^= h >> 15
	h *= 0x2c1b3c6d
	h ^= h >> 12
	h *= 0x297a2d39
	h ^= h >> 15
	return h
}

// hashf is hash32 as a float in [0, 1).
func hashf(x, y int32, seed uint32) float32 {
	return float32(hash32(x, y, seed)>>8) * (1.0 / (1 << 24))
}

// buildTile sums periodic 2-D gradient noise octaves and normalises the
// result to [-1, 1].
func buildTile(seed uint32, periods []int, amps []float32) *tile {
	t := new(tile)
	for o, period := range periods {
		p := tileSize / period // lattice cells across the tile
		gx := make([]float32, p*p)
		gy := make([]float32, p*p)
		for i := range gx {
			a := float64(hashf(int32(i), int32(o), seed)) * 2 * math.Pi
			gx[i], gy[i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
		cell := float32(period)
		for y := 0; y < tileSize; y++ {
			fy := float32(y) / cell
			iy := int(fy)
			ty := fy - float32(iy)
			y0, y1 := iy%p, (iy+1)%p
			for x := 0; x < tileSize; x++ {
				fx := float32(x) / cell
				ix := int(fx)
				tx := fx - float32(ix)
				x0, x1 := ix%p, (ix+1)%p
				d00 := gx[y0*p+x0]*tx + gy[y0*p+x0]*ty
				d10 := gx[y0*p+x1]*(tx-1) + gy[y0*p+x1]*ty
				d01 := gx[y1*p+x0]*tx + gy[y1*p+x0]*(ty-1)
				d11 := gx[y1*p+x1]*(tx-1) + gy[y1*p+x1]*(ty-1)
				sx := tx * tx * tx * (tx*(tx*6-15) + 10)
				sy := ty * ty * ty * (ty*(ty*6-15) + 10)
				a := d00 + (d10-d00)*sx
				b := d01 + (d11-d01)*sx
				t[y*tileSize+x] += amps[o] * (a + (b-a)*sy)
			}
		}
	}
	normalise(t)
	return t
}

// buildWhite is hashed white noise, lightly blurred so that bilinear reads
// do not look blocky.
func buildWhite(seed uint32) *tile {
	raw := new(tile)
	for i := range raw {
		raw[i] = hashf(int32(i), 7, seed)*2 - 1
	}
	t := new(tile)
	for y := 0; y < tileSize; y++ {
		for x := 0; x < tileSize; x++ {
			s := 4 * raw[y*tileSize+x]
			s += raw[y*tileSize+(x+1)&tileMask] + raw[y*tileSize+(x-1)&tileMask]
			s += raw[((y+1)&tileMask)*tileSize+x] + raw[((y-1)&tileMask)*tileSize+x]
			t[y*tileSize+x] = s
		}
	}
	normalise(t)
	return t
}

// normalise scales t to zero mean and a peak of 1.
func normalise(t *tile) {
	var mean float64
	for _, v := range t {
		mean += float64(v)
	}
	mean /= float64(len(t))
	var peak float32
	for i := range t {
		t[i] -= float32(mean)
		peak = max(peak, abs32(t[i]))
	}
	for i := range t {
		t[i] /= peak
	}
}

// floor32 is ⌊v⌋ for |v| < 2³¹.
func floor32(v float32) int32 {
	i := int32(v)
	if float32(i) > v {
		i--
	}
	return i
}

// at reads t bilinearly at texel coordinates (u, v), wrapping.
func (t *tile) at(u, v float32) float32 {
	iu, iv := floor32(u), floor32(v)
	fu, fv := u-float32(iu), v-float32(iv)
	x0, y0 := iu&tileMask, (iv&tileMask)<<tileBits
	x1, y1 := (iu+1)&tileMask, ((iv+1)&tileMask)<<tileBits
	a := t[y0|x0]
	b := t[y0|x1]
	c := t[y1|x0]
	d := t[y1|x1]
	ab := a + (b-a)*fu
	cd := c + (d-c)*fu
	return ab + (cd-ab)*fv
}

// near reads t at the nearest texel below (u, v), wrapping.
func (t *tile) near(u, v float32) float32 {
	return t[(floor32(v)&tileMask)<<tileBits|floor32(u)&tileMask]
}

// grad1 is 1-D gradient noise in about [-0.5, 0.5].
func grad1(x float32, seed uint32) float32 {
	i := floor32(x)
	f := x - float32(i)
	g0 := hashf(i, 0, seed)*2 - 1
	g1 := hashf(i+1, 0, seed)*2 - 1
	a, b := g0*f, g1*(f-1)
	s := f * f * (3 - 2*f)
	return a + (b-a)*s
}

// fbm1 sums octaves of grad1, result in about [-1, 1].
func fbm1(x float32, octaves int, seed uint32) float32 {
	var s, amp, norm float32 = 0, 1, 0
	for o := 0; o < octaves; o++ {
		s += amp * grad1(x, seed+uint32(o)*0x9e37)
		norm += amp
		amp *= 0.5
		x *= 2.03
	}
	return 2 * s / norm
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

func clampf(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// smooth is smoothstep from e0 to e1.
func smooth(e0, e1, v float32) float32 {
	t := clamp01((v - e0) / (e1 - e0))
	return t * t * (3 - 2*t)
}

func lerp(a, b, t float32) float32 { return a + (b-a)*t }

func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }

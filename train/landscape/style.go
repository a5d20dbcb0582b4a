package landscape

import (
	"math"
	"math/rand/v2"
)

// Style is how a scene is photographed: light, season, weather and colour
// grading. It changes the photo only; the label map depends on the seed
// alone. Every field is continuous, so styles interpolate.
type Style struct {
	// TimeOfDay runs 0 dawn, 0.15 morning, 0.35 noon, 0.55 golden hour,
	// 0.7 sunset, 0.82 dusk (blue hour), 1 night.
	TimeOfDay float64
	// Season runs 0 spring, 1/3 summer, 2/3 autumn, 1 winter (snow cover,
	// bare trees).
	Season float64
	// Weather runs 0 clear, 0.5 overcast, 1 haze (hazy, washed-out air
	// with a diffuse sun).
	Weather float64
	// Sun is the sun's bearing from -1 (left, slightly behind the camera)
	// through 0 (straight ahead, backlit) to 1 (right, slightly behind).
	Sun float64
	// Grade is the colour grading applied last.
	Grade Grade
}

// Grade is a photo's colour grading.
type Grade struct {
	// Temperature: -1 cool (blue) .. 0 neutral .. 1 warm (orange).
	Temperature float64
	// Saturation multiplies chroma: 1 leaves it, 0 is grey.
	Saturation float64
	// Contrast around mid grey: 1 leaves it.
	Contrast float64
	// Exposure in stops: 0 leaves it.
	Exposure float64
}

// VectorNames names the entries of Style.Vector, in order.
var VectorNames = []string{"time_of_day", "season", "weather", "sun", "temperature", "saturation", "contrast", "exposure"}

// Vector returns the style parameters as numbers, in VectorNames' order.
func (s Style) Vector() []float64 {
	return []float64{s.TimeOfDay, s.Season, s.Weather, s.Sun,
		s.Grade.Temperature, s.Grade.Saturation, s.Grade.Contrast, s.Grade.Exposure}
}

// StyleFromVector is the inverse of Style.Vector; it panics unless v has
// len(VectorNames) entries.
func StyleFromVector(v []float64) Style {
	if len(v) != len(VectorNames) {
		panic("landscape: style vector has the wrong length")
	}
	return Style{TimeOfDay: v[0], Season: v[1], Weather: v[2], Sun: v[3],
		Grade: Grade{Temperature: v[4], Saturation: v[5], Contrast: v[6], Exposure: v[7]}}
}

// DefaultStyle is a clear summer late morning with neutral grading.
func DefaultStyle() Style {
	return Style{TimeOfDay: 0.25, Season: 0.33, Weather: 0.05, Sun: 0.45, Grade: Grade{Saturation: 1, Contrast: 1}}
}

// NamedStyle is a style with a name, for presets.
type NamedStyle struct {
	Name  string
	Style Style
}

// Presets are distinct looks for style preset images.
func Presets() []NamedStyle {
	g := Grade{Saturation: 1, Contrast: 1}
	return []NamedStyle{
		{"dawn", Style{TimeOfDay: 0.02, Season: 0.2, Weather: 0.15, Sun: -0.2, Grade: g}},
		{"noon", Style{TimeOfDay: 0.35, Season: 0.33, Weather: 0.0, Sun: 0.7, Grade: g}},
		{"golden-hour", Style{TimeOfDay: 0.56, Season: 0.4, Weather: 0.1, Sun: -0.45, Grade: Grade{Temperature: 0.2, Saturation: 1.1, Contrast: 1.05}}},
		{"sunset", Style{TimeOfDay: 0.7, Season: 0.45, Weather: 0.1, Sun: 0.1, Grade: Grade{Saturation: 1.15, Contrast: 1.1}}},
		{"dusk", Style{TimeOfDay: 0.83, Season: 0.5, Weather: 0.05, Sun: -0.1, Grade: g}},
		{"night", Style{TimeOfDay: 1, Season: 0.4, Weather: 0.0, Sun: 0.3, Grade: g}},
		{"overcast", Style{TimeOfDay: 0.3, Season: 0.45, Weather: 0.5, Sun: 0.5, Grade: g}},
		{"haze", Style{TimeOfDay: 0.42, Season: 0.36, Weather: 0.95, Sun: -0.3, Grade: Grade{Temperature: 0.15, Saturation: 0.9, Contrast: 0.9}}},
		{"spring", Style{TimeOfDay: 0.22, Season: 0.02, Weather: 0.12, Sun: 0.6, Grade: Grade{Saturation: 1.1, Contrast: 1}}},
		{"autumn", Style{TimeOfDay: 0.45, Season: 0.68, Weather: 0.1, Sun: -0.6, Grade: Grade{Temperature: 0.1, Saturation: 1.1, Contrast: 1.05}}},
		{"winter", Style{TimeOfDay: 0.3, Season: 1, Weather: 0.2, Sun: 0.55, Grade: Grade{Temperature: -0.2, Saturation: 0.95, Contrast: 1}}},
		{"faded-film", Style{TimeOfDay: 0.3, Season: 0.55, Weather: 0.25, Sun: 0.8, Grade: Grade{Temperature: 0.35, Saturation: 0.7, Contrast: 0.8, Exposure: 0.25}}},
	}
}

// RandomStyle draws a style: every time of day, season and weather, with
// daylight scenes more common than night, and a random grade.
func RandomStyle(rng *rand.Rand) Style {
	var s Style
	switch u := rng.Float64(); {
	case u < 0.12:
		s.TimeOfDay = rng.Float64() * 0.12
	case u < 0.6:
		s.TimeOfDay = 0.12 + rng.Float64()*0.48
	case u < 0.85:
		s.TimeOfDay = 0.6 + rng.Float64()*0.2
	default:
		s.TimeOfDay = 0.8 + rng.Float64()*0.2
	}
	s.Season = rng.Float64()
	switch u := rng.Float64(); {
	case u < 0.55:
		s.Weather = rng.Float64() * 0.3
	case u < 0.8:
		s.Weather = 0.3 + rng.Float64()*0.4
	default:
		s.Weather = 0.7 + rng.Float64()*0.3
	}
	s.Sun = rng.Float64()*2 - 1
	s.Grade = Grade{
		Temperature: clamp64(rng.NormFloat64()*0.3, -1, 1),
		Saturation:  clamp64(1+rng.NormFloat64()*0.15, 0.5, 1.5),
		Contrast:    clamp64(1+rng.NormFloat64()*0.1, 0.7, 1.35),
		Exposure:    clamp64(rng.NormFloat64()*0.2, -0.6, 0.6),
	}
	return s
}

func clamp64(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// rgb is a linear-ish colour, 1 = white.
type rgb struct{ r, g, b float32 }

func (c rgb) add(d rgb) rgb       { return rgb{c.r + d.r, c.g + d.g, c.b + d.b} }
func (c rgb) mul(d rgb) rgb       { return rgb{c.r * d.r, c.g * d.g, c.b * d.b} }
func (c rgb) scale(k float32) rgb { return rgb{c.r * k, c.g * k, c.b * k} }
func (c rgb) luma() float32       { return 0.3*c.r + 0.59*c.g + 0.11*c.b }
func mix(a, b rgb, t float32) rgb {
	return rgb{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t}
}
func grey(v float32) rgb { return rgb{v, v, v} }
func hexc(v uint32) rgb {
	return rgb{float32(v>>16&255) / 255, float32(v>>8&255) / 255, float32(v&255) / 255}
}
func (c rgb) desat(t float32) rgb { return mix(c, grey(c.luma()), t) }
func (c rgb) addScaled(d rgb, k float32) rgb {
	return rgb{c.r + d.r*k, c.g + d.g*k, c.b + d.b*k}
}

// key is one time-of-day keyframe.
type key struct {
	t       float32
	elev    float32 // sun elevation, degrees
	zenith  rgb
	horizon rgb
	sun     rgb // direct light
	ambient rgb // sky light on surfaces
	glow    rgb // glow around the sun and along the horizon below it
	stars   float32
}

var dayKeys = []key{
	{t: 0, elev: 2, zenith: hexc(0x3a4f86), horizon: hexc(0xf0b49a), sun: rgb{1.0, 0.62, 0.42}, ambient: rgb{0.42, 0.42, 0.55}, glow: rgb{1.0, 0.55, 0.35}},
	{t: 0.15, elev: 22, zenith: hexc(0x3f74c4), horizon: hexc(0xc4d8ea), sun: rgb{1.0, 0.9, 0.78}, ambient: rgb{0.48, 0.55, 0.68}, glow: rgb{0.9, 0.8, 0.65}},
	{t: 0.35, elev: 58, zenith: hexc(0x2e69c8), horizon: hexc(0xb9d3ee), sun: rgb{1.05, 1.0, 0.93}, ambient: rgb{0.5, 0.58, 0.72}, glow: rgb{0.7, 0.7, 0.65}},
	{t: 0.55, elev: 14, zenith: hexc(0x4470b0), horizon: hexc(0xecd7ae), sun: rgb{1.05, 0.78, 0.48}, ambient: rgb{0.48, 0.48, 0.56}, glow: rgb{1.0, 0.72, 0.4}},
	{t: 0.7, elev: 1, zenith: hexc(0x34406e), horizon: hexc(0xf58a45), sun: rgb{1.0, 0.5, 0.22}, ambient: rgb{0.36, 0.3, 0.4}, glow: rgb{1.0, 0.45, 0.15}},
	{t: 0.82, elev: -6, zenith: hexc(0x161e42), horizon: hexc(0x7a5a70), sun: rgb{0, 0, 0}, ambient: rgb{0.16, 0.17, 0.27}, glow: rgb{0.55, 0.3, 0.25}, stars: 0.3},
	{t: 1, elev: -25, zenith: hexc(0x03060f), horizon: hexc(0x101a2e), sun: rgb{0.09, 0.11, 0.16}, ambient: rgb{0.045, 0.055, 0.09}, glow: rgb{0.05, 0.06, 0.08}, stars: 1},
}

// seasonKey is one season keyframe: albedos of the vegetation.
type seasonKey struct {
	t               float32
	grass, grassDry rgb
	leaf, leaf2     rgb // deciduous foliage (two extremes trees vary between)
	conifer         rgb
	bush            rgb
	flowers         [3]rgb
	snow            float32 // snow cover on the ground and plants
	bare            float32 // deciduous trees without leaves
	hillVeg         rgb
}

var seasonKeys = []seasonKey{
	{t: 0, grass: rgb{0.3, 0.48, 0.13}, grassDry: rgb{0.38, 0.44, 0.2}, leaf: rgb{0.34, 0.52, 0.16}, leaf2: rgb{0.75, 0.68, 0.72}, conifer: rgb{0.08, 0.19, 0.09},
		bush: rgb{0.22, 0.38, 0.12}, flowers: [3]rgb{{0.95, 0.55, 0.75}, {0.95, 0.92, 0.9}, {0.95, 0.85, 0.2}}, hillVeg: rgb{0.25, 0.38, 0.14}},
	{t: 0.33, grass: rgb{0.2, 0.38, 0.08}, grassDry: rgb{0.45, 0.42, 0.18}, leaf: rgb{0.13, 0.29, 0.07}, leaf2: rgb{0.2, 0.34, 0.09}, conifer: rgb{0.06, 0.15, 0.07},
		bush: rgb{0.14, 0.27, 0.08}, flowers: [3]rgb{{0.9, 0.15, 0.12}, {0.95, 0.8, 0.15}, {0.55, 0.35, 0.8}}, hillVeg: rgb{0.17, 0.3, 0.1}},
	{t: 0.66, grass: rgb{0.38, 0.38, 0.14}, grassDry: rgb{0.55, 0.45, 0.22}, leaf: rgb{0.78, 0.38, 0.08}, leaf2: rgb{0.85, 0.65, 0.12}, conifer: rgb{0.07, 0.15, 0.07},
		bush: rgb{0.5, 0.22, 0.08}, flowers: [3]rgb{{0.6, 0.35, 0.75}, {0.95, 0.9, 0.85}, {0.9, 0.55, 0.1}}, hillVeg: rgb{0.42, 0.32, 0.14}},
	{t: 1, grass: rgb{0.5, 0.47, 0.35}, grassDry: rgb{0.45, 0.4, 0.3}, leaf: rgb{0.3, 0.26, 0.23}, leaf2: rgb{0.36, 0.32, 0.28}, conifer: rgb{0.06, 0.12, 0.08},
		bush: rgb{0.3, 0.24, 0.2}, flowers: [3]rgb{{0.85, 0.85, 0.9}, {0.7, 0.6, 0.75}, {0.8, 0.75, 0.6}}, snow: 0.75, bare: 1, hillVeg: rgb{0.55, 0.55, 0.58}},
}

func interpKeys(t float32) key {
	ks := dayKeys
	if t <= ks[0].t {
		return ks[0]
	}
	for i := 1; i < len(ks); i++ {
		if t <= ks[i].t {
			a, b := ks[i-1], ks[i]
			u := (t - a.t) / (b.t - a.t)
			return key{t: t, elev: lerp(a.elev, b.elev, u), zenith: mix(a.zenith, b.zenith, u), horizon: mix(a.horizon, b.horizon, u),
				sun: mix(a.sun, b.sun, u), ambient: mix(a.ambient, b.ambient, u), glow: mix(a.glow, b.glow, u), stars: lerp(a.stars, b.stars, u)}
		}
	}
	return ks[len(ks)-1]
}

func interpSeason(t float32) seasonKey {
	ks := seasonKeys
	if t <= ks[0].t {
		return ks[0]
	}
	for i := 1; i < len(ks); i++ {
		if t <= ks[i].t {
			a, b := ks[i-1], ks[i]
			u := (t - a.t) / (b.t - a.t)
			var s seasonKey
			s.t = t
			s.grass, s.grassDry = mix(a.grass, b.grass, u), mix(a.grassDry, b.grassDry, u)
			s.leaf, s.leaf2 = mix(a.leaf, b.leaf, u), mix(a.leaf2, b.leaf2, u)
			s.conifer, s.bush = mix(a.conifer, b.conifer, u), mix(a.bush, b.bush, u)
			for j := range s.flowers {
				s.flowers[j] = mix(a.flowers[j], b.flowers[j], u)
			}
			// Snow arrives late: no snow until deep into autumn.
			s.snow = lerp(a.snow, b.snow, u*u*u)
			s.bare = lerp(a.bare, b.bare, u*u)
			s.hillVeg = mix(a.hillVeg, b.hillVeg, u)
			return s
		}
	}
	return ks[len(ks)-1]
}

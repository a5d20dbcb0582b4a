package landscape

import "math"

// look is the lighting and colour of one picture: a Style applied to a
// scene's camera.
type look struct {
	st       Style
	se       seasonKey
	overcast float32
	haze     float32
	night    float32 // 0 day .. 1 night

	lx, ly, lz float32 // direction to the light (x right, y up, z forward)
	sunElev    float32 // sun elevation, radians (negative below the horizon)
	sunFront   float32 // how much the sun is ahead of the camera (cos of its bearing)
	sunSide    float32 // sin of the bearing
	sunX, sunY float32 // sun on the screen (may be outside)
	sunVisible bool
	sunR       float32 // disk radius, pixels
	moon       bool

	sun, amb        rgb // direct light, sky light
	zenith, horizon rgb
	glow            rgb
	hazeCol         rgb
	cloudLit        rgb
	cloudShade      rgb
	stars           float32
	atmK            float32 // extinction per world unit

	skyRow  []rgb     // per row: the sky without sun or clouds
	rowGlow []float32 // per row: horizon glow weight
	groundA []float32 // per row: atmospheric fade of the ground plane
	cloudZ  []float32 // per row: distance to the cloud layer

	// grading
	wbR, wbG, wbB float32
	sat           float32
	lut           [lutSize]uint8
	vignette      float32
}

const lutSize = 2048

// lutMax is the largest value the tone curve distinguishes.
const lutMax = 2.0

func newLook(st Style, s *scene) *look {
	lk := &look{st: st}
	tod := clamp01(float32(st.TimeOfDay))
	k := interpKeys(tod)
	lk.se = interpSeason(clamp01(float32(st.Season)))
	w := clamp01(float32(st.Weather))
	if w <= 0.5 {
		lk.overcast = smooth(0, 0.5, w)
	} else {
		lk.overcast = 1 - 0.75*smooth(0.5, 1, w)
	}
	lk.haze = 0.08 + 0.92*smooth(0.45, 1, w)
	lk.night = smooth(0.78, 0.95, tod)
	lk.stars = k.stars * (1 - lk.overcast) * (1 - lk.haze*0.7)

	// The sun: bearing from the style, elevation from the time of day. At
	// night the light is the moon's, higher in the sky.
	bearing := float64(clampf(float32(st.Sun), -1, 1)) * 150 * math.Pi / 180
	elev := float64(k.elev) * math.Pi / 180
	lk.sunElev = float32(elev)
	lk.sunFront = float32(math.Cos(bearing))
	lk.sunSide = float32(math.Sin(bearing))
	lightElev := elev
	if elev < 0.05 {
		lightElev = 0.05 + (35*math.Pi/180-0.05)*float64(smooth(0.82, 1, tod))
	}
	lk.lx = float32(math.Sin(bearing) * math.Cos(lightElev))
	lk.ly = float32(math.Sin(lightElev))
	lk.lz = float32(math.Cos(bearing) * math.Cos(lightElev))
	showElev := elev
	lk.moon = lk.night > 0.5
	if lk.moon {
		showElev = lightElev
	}
	if c := math.Cos(bearing); c > 0.05 {
		lk.sunX = s.cx + s.f*float32(math.Tan(bearing))
		lk.sunY = s.yh - s.f*float32(math.Tan(showElev)/c)
		lk.sunVisible = showElev > -0.02 && lk.sunX > -s.fw*0.1 && lk.sunX < s.fw*1.1
	} else {
		// Behind the camera: put it far off to the side for the glow terms.
		lk.sunX = s.cx + s.fw*3*float32(math.Copysign(1, math.Sin(bearing)))
		lk.sunY = s.yh - s.f*float32(math.Tan(showElev))
	}
	lk.sunR = s.fh * 0.018

	o := lk.overcast
	lk.sun = k.sun.scale(1.15 * (1 - 0.85*o))
	bright := k.horizon.luma()
	lk.amb = mix(k.ambient.scale(0.9), grey(k.ambient.luma()*1.15+k.sun.luma()*0.25), o)
	lk.zenith = mix(k.zenith, grey(0.55*bright+0.1*k.zenith.luma()), o)
	lk.horizon = mix(k.horizon, grey(0.78*bright+0.05), o*0.9)
	lk.glow = k.glow.scale(1 - 0.8*o)
	// Haze: milky sky, yellowish grey air.
	hz := lk.haze
	hzCol := mix(k.horizon, grey(k.horizon.luma()*1.05).mul(rgb{1.04, 1.0, 0.92}), 0.6)
	lk.zenith = mix(lk.zenith, mix(lk.zenith, hzCol, 0.6), smooth(0.3, 1, hz))
	lk.horizon = mix(lk.horizon, hzCol, smooth(0.2, 1, hz)*0.7)
	lk.sun = lk.sun.scale(1 - 0.35*smooth(0.4, 1, hz))
	lk.hazeCol = lk.horizon
	lk.atmK = 0.00012 * (1 + 14*hz*hz) * (1 + 2*o)
	lk.cloudLit = lk.sun.scale(0.9).add(lk.amb.scale(0.75)).add(lk.glow.scale(0.15))
	lk.cloudShade = lk.amb.scale(0.9).add(lk.horizon.scale(0.1)).mul(rgb{0.92, 0.93, 1})
	if o > 0 {
		g := grey(0.6 * bright)
		lk.cloudLit = mix(lk.cloudLit, g.scale(1.15), o*0.8)
		lk.cloudShade = mix(lk.cloudShade, g.scale(0.7), o*0.8)
	}

	// Auto exposure: a camera exposes for the lit land, less so at night.
	land := lk.amb.luma()*0.85 + lk.sun.luma()*(0.3+0.7*max(lk.ly, 0))
	expo := clampf(1.05/max(land, 0.05), 0.9, 2.2)
	expo = lerp(expo, min(expo, 1.3), lk.night)
	lk.sun, lk.amb = lk.sun.scale(expo), lk.amb.scale(expo)
	lk.zenith, lk.horizon, lk.glow = lk.zenith.scale(expo), lk.horizon.scale(expo), lk.glow.scale(expo)
	lk.hazeCol = lk.hazeCol.scale(expo)
	lk.cloudLit, lk.cloudShade = lk.cloudLit.scale(expo), lk.cloudShade.scale(expo)

	h := s.h
	lk.skyRow = make([]rgb, h)
	lk.rowGlow = make([]float32, h)
	lk.groundA = make([]float32, h)
	lk.cloudZ = make([]float32, h)
	for y := 0; y < h; y++ {
		e := (s.yh - float32(y) - 0.5) / s.f // tan of the elevation
		t := float32(1 - math.Exp(-float64(max(e, 0))*2.6))
		t = float32(math.Sqrt(float64(t)))
		lk.skyRow[y] = mix(lk.horizon, lk.zenith, t)
		lk.rowGlow[y] = float32(math.Exp(-float64(max(e, 0)) * 7))
		if gz := s.gz[y]; gz > 0 {
			lk.groundA[y] = lk.fade(gz)
		} else {
			lk.groundA[y] = 1
		}
		lk.cloudZ[y] = 1 / (max(e, 0) + 0.035)
	}

	// Grading.
	tp := float32(st.Grade.Temperature)
	lk.wbR, lk.wbG, lk.wbB = 1+0.14*tp, 1+0.03*tp, 1-0.16*tp
	ex := float32(math.Exp2(st.Grade.Exposure))
	lk.wbR *= ex
	lk.wbG *= ex
	lk.wbB *= ex
	lk.sat = float32(st.Grade.Saturation)
	contrast := float64(st.Grade.Contrast)
	if contrast <= 0 {
		contrast = 1
	}
	for i := range lk.lut {
		v := float64(i) / (lutSize - 1) * lutMax
		// Soft shoulder above 0.8, then contrast around mid grey.
		if v > 0.8 {
			v = 0.8 + 0.2*(1-math.Exp(-(v-0.8)/0.2))
		}
		v = 0.5 + (v-0.5)*contrast
		// A gentle S-curve.
		v = clamp64(v, 0, 1)
		v = v + 0.08*math.Sin(2*math.Pi*v)*0.5*contrast
		lk.lut[i] = uint8(clamp64(v, 0, 1)*255 + 0.5)
	}
	lk.vignette = 0.15
	return lk
}

// fade is the atmospheric veil over something at distance d.
func (lk *look) fade(d float32) float32 {
	return float32(1 - math.Exp(-float64(d*lk.atmK)))
}

// light is the light reaching a surface with normal (nx, ny, nz), the z axis
// pointing away from the camera; wrap softens the terminator.
func (lk *look) light(nx, ny, nz, wrap float32) rgb {
	d := nx*lk.lx + ny*lk.ly + nz*lk.lz
	d = (d + wrap) / (1 + wrap)
	if d < 0 {
		d = 0
	}
	skyFacing := 0.6 + 0.4*ny
	return rgb{lk.amb.r*skyFacing + lk.sun.r*d, lk.amb.g*skyFacing + lk.sun.g*d, lk.amb.b*skyFacing + lk.sun.b*d}
}

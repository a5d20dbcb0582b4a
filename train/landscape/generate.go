package landscape

import (
	"image"
	"image/color"
	"sync"

	"spadepaint/assets"
)

// Palette returns the landscape class colours, indexed by class id.
func Palette() color.Palette {
	paletteOnce.Do(func() {
		p, err := assets.Palette(assets.Landscape)
		if err != nil {
			panic("landscape: " + err.Error())
		}
		palette = p.Colors()
		if len(palette) != int(NumClasses) {
			panic("landscape: the landscape palette does not have 16 classes")
		}
	})
	return palette
}

var (
	paletteOnce sync.Once
	palette     color.Palette
)

// scratch buffers reused across calls.
type scratch struct {
	bg    []uint8
	depth []float32
	col   []rgb
	aux   []float32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (b *scratch) size(n int) {
	if cap(b.bg) < n {
		b.bg = make([]uint8, n)
		b.depth = make([]float32, n)
		b.col = make([]rgb, n)
		b.aux = make([]float32, n)
	}
	b.bg, b.depth, b.col, b.aux = b.bg[:n], b.depth[:n], b.col[:n], b.aux[:n]
}

// Generate draws landscape number seed at w×h in the given style. labels
// holds class ids (the landscape palette embedded); photo is the picture,
// every pixel rendered from its label's class. The same seed gives the
// same label map whatever the style, and the same seed and style the same
// bytes.
func Generate(seed int64, w, h int, style Style) (labels *image.Paletted, photo *image.NRGBA) {
	if w < 1 || h < 1 {
		panic("landscape: empty image")
	}
	s := newScene(seed, w, h)
	lk := newLook(style, s)
	labels = image.NewPaletted(image.Rect(0, 0, w, h), Palette())
	photo = image.NewNRGBA(image.Rect(0, 0, w, h))
	b := scratchPool.Get().(*scratch)
	b.size(w * h)
	r := &renderer{s: s, lk: lk, w: w, h: h, lab: labels.Pix, bg: b.bg, depth: b.depth, col: b.col, aux: b.aux}
	for i := range r.lab {
		r.lab[i] = unset
	}
	clear(r.col)
	r.layers()
	r.background()
	copy(r.bg, r.lab)
	r.sprites()
	r.fog()
	r.water()
	r.finish(photo)
	scratchPool.Put(b)
	return labels, photo
}

// fog lays the fog bank over everything beyond its distance.
func (r *renderer) fog() {
	s, lk := r.s, r.lk
	if !s.fog {
		return
	}
	fogCol := lk.hazeCol.scale(0.75).add(lk.amb.scale(0.35)).addScaled(lk.sun, 0.25*max(lk.ly, 0.1))
	y0 := max(int(s.fogY-s.fogHal*1.6), 0)
	y1 := min(int(s.fogY+s.fogHal*1.6), r.h-1)
	for y := y0; y <= y1; y++ {
		fy := float32(y) + 0.5
		t := (fy - s.fogY) / s.fogHal
		prof := 1 - t*t
		Y := fy / s.unit
		for x := 0; x < r.w; x++ {
			i := y*r.w + x
			if r.depth[i] <= s.fogDist {
				continue
			}
			X := r.tx(x)
			n := fbmTile.at(X*0.35+s.ox[fFog], Y*1.1+s.oy[fFog])
			d := prof + 0.6*n
			if d <= 0.45 {
				continue
			}
			a := smooth(0.45, 0.9, d)
			c := fogCol.scale(0.95 + 0.08*n)
			r.lab[i] = Fog
			r.depth[i] = s.fogDist
			r.col[i] = mix(r.col[i], c, 0.6+0.4*a)
		}
	}
}

// water colours the water pixels. A water pixel mirrors what stands
// beyond its far shore: an object at distance d whose foot is on row b
// appears mirrored about b, so for each water row the reflection is the
// first pixel up the column whose mirror image reaches that row (flat
// ground never does; the sky mirrors about the horizon). The reflection is
// rippled and darkened over the water's own colour.
func (r *renderer) water() {
	s, lk := r.s, r.lk
	w, h := r.w, r.h
	deepLit := func(c rgb) rgb { return c.mul(lk.amb.add(lk.sun.scale(0.5 * max(lk.ly, 0)))) }
	dSea, dRiver, dLake := deepLit(rgb{0.02, 0.1, 0.16}), deepLit(rgb{0.06, 0.11, 0.09}), deepLit(rgb{0.03, 0.1, 0.1})
	calm := 0.4 + 0.6*hashf(1, 2, s.seed)
	crest := lk.skyRow[max(int(s.yh)-int(s.fh*0.2), 0)]
	glitter := lk.sunVisible && (lk.sunElev > -0.02 || lk.moon)
	reflRow := make([]int32, h)
	for x := 0; x < w; x++ {
		for y0 := 0; y0 < h; {
			if !isWater(r.bg[y0*w+x]) {
				y0++
				continue
			}
			y1 := y0
			for y1 < h && isWater(r.bg[y1*w+x]) {
				y1++
			}
			r.mirrorRun(x, y0, y1, reflRow)
			for y := y0; y < y1; y++ {
				i := y*w + x
				c := r.lab[i]
				if !isWater(c) {
					continue
				}
				gz := s.gz[y]
				gx := (float32(x) + 0.5 - s.cx) * gz / s.f
				near := clamp01((float32(y) - s.yh) / (s.fh - s.yh))
				var dcol rgb
				rough := calm
				switch c {
				case Sea:
					dcol, rough = dSea, rough*1.6
				case River:
					dcol, rough = dRiver, rough*1.3
				default:
					dcol, rough = dLake, rough*0.8
				}
				wave := detailTile.at(gx*1.5+s.ox[fWater], gz*1.5+s.oy[fWater])
				wave2 := fbmTile.at(gx*0.4+s.ox[fWater], gz*0.6+s.oy[fWater])
				ampPx := (0.5 + 5*near) * rough * s.unit
				yy := min(max(y+int((wave*0.8+wave2*0.5)*ampPx), y0), y1-1)
				rx := min(max(x+int(wave2*ampPx*0.6), 0), w-1)
				var refl rgb
				if ry := reflRow[yy]; ry < 0 {
					refl = lk.skyRow[0]
				} else {
					j := int(ry)*w + rx
					if isWater(r.lab[j]) {
						j = int(ry)*w + x
					}
					refl = r.col[j]
				}
				// Fresnel: mirror-like at grazing angles, darker looking down.
				tanV := (float32(y) + 0.5 - s.yh) / s.f
				fres := clampf(0.92-2.2*tanV, 0.25, 0.92)
				col := mix(dcol, refl.scale(0.85), fres)
				// Crests catch the sky; glitter under the sun.
				col = col.addScaled(crest, 0.08*max(wave, 0)*rough)
				if glitter {
					dxs := (float32(x) + 0.5 - lk.sunX) / s.f
					band := 0.02 + 0.4*tanV
					if dxs*dxs < band*band {
						if gl := grainTile.at(gx*8+s.ox[fMisc], gz*8); gl > 0.25 {
							k := (1 - lk.overcast) * (1 - dxs*dxs/(band*band)) * (gl - 0.25) * 2.5
							col = col.addScaled(lk.sun.add(lk.glow.scale(0.3)), k)
						}
					}
				}
				if aux := max(r.aux[i], 0); c == Sea && aux < 0.06 {
					// Surf along the coast, shallow water inside it.
					foam := grainTile.at(gx*3+s.ox[fMisc], gz*6) + 0.8*(1-aux/0.06) - 0.6
					if foam > 0 {
						col = mix(col, lk.amb.add(lk.sun.scale(max(lk.ly, 0))).scale(0.85), clamp01(foam*2))
					}
					shallow := 1 - aux/0.06
					col = mix(col, rgb{0.25, 0.55, 0.5}.mul(lk.amb.add(lk.sun.scale(0.6))), shallow*0.25*(1-fres))
				}
				r.col[i] = mix(col, lk.hazeCol, lk.groundA[y]*0.7)
			}
			y0 = y1
		}
	}
}

// mirrorRun finds, for each row of the water run [y0, y1) in column x, the
// row it reflects (-1: the sky beyond the top of the picture).
func (r *renderer) mirrorRun(x, y0, y1 int, out []int32) {
	s := r.s
	w := r.w
	shore := s.gz[y0] * 0.9 // only what stands beyond the far shore reflects
	p := y0 - 1
	for y := y0; y < y1; y++ {
		want := float32(y) + 0.5
		for ; p >= 0; p-- {
			d := r.depth[p*w+x]
			if d < shore || isWater(r.lab[p*w+x]) {
				continue
			}
			foot := s.yh
			if d < skyDepth {
				foot += s.camH * s.f / d
			}
			if 2*foot-(float32(p)+0.5) >= want {
				break
			}
		}
		out[y] = int32(p)
	}
}

// finish grades the colours and writes the photo.
func (r *renderer) finish(photo *image.NRGBA) {
	lk := r.lk
	w, h := r.w, r.h
	cxn, cyn := float32(w)/2, float32(h)/2
	inv := 1 / (cxn*cxn + cyn*cyn)
	const scale = (lutSize - 1) / lutMax
	sat := lk.sat
	for y := 0; y < h; y++ {
		dy := float32(y) + 0.5 - cyn
		pix := photo.Pix[y*photo.Stride : y*photo.Stride+4*w]
		for x := 0; x < w; x++ {
			c := r.col[y*w+x]
			dx := float32(x) + 0.5 - cxn
			v := 1 - lk.vignette*(dx*dx+dy*dy)*inv
			cr, cg, cb := c.r*lk.wbR*v, c.g*lk.wbG*v, c.b*lk.wbB*v
			l := 0.3*cr + 0.59*cg + 0.11*cb
			cr = l + (cr-l)*sat
			cg = l + (cg-l)*sat
			cb = l + (cb-l)*sat
			pix[4*x] = lk.lut[lutIndex(cr*scale)]
			pix[4*x+1] = lk.lut[lutIndex(cg*scale)]
			pix[4*x+2] = lk.lut[lutIndex(cb*scale)]
			pix[4*x+3] = 0xff
		}
	}
}

func lutIndex(v float32) int {
	if v <= 0 {
		return 0
	}
	if v >= lutSize-1 {
		return lutSize - 1
	}
	return int(v)
}

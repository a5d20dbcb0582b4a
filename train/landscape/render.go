package landscape

// renderer draws one scene in one look: labels and photo together, every
// photo pixel from the renderer of its own class.
type renderer struct {
	s     *scene
	lk    *look
	w, h  int
	lab   []uint8 // labels (the output's Pix)
	bg    []uint8 // labels before sprites and fog (for water run tops)
	depth []float32
	col   []rgb
	aux   []float32 // ground pixels: the class's aux value

	shadowF            rgb // shadowed / lit ground colour
	shadowDX, shadowDZ float32
	shadowLen          float32 // shadow length per height
}

const skyDepth = 1e9

// texture scale: coordinates in "256-pixel" units so that a scene looks
// the same at any size.
func (r *renderer) tx(x int) float32 { return (float32(x) + 0.5) / r.s.unit }

// background draws the sky, the clouds and the ground plane wherever the
// layers left the pixel unset.
func (r *renderer) background() {
	s := r.s
	w := r.w
	var ri rowInfo
	for y := 0; y < r.h; y++ {
		gz := s.gz[y]
		row := y * w
		s.row(&ri, gz)
		for x := 0; x < w; x++ {
			i := row + x
			if r.lab[i] != unset {
				continue
			}
			if gz > 0 {
				gx := (float32(x) + 0.5 - s.cx) * gz / s.f
				c, aux := s.ground(gx, gz, &ri)
				r.lab[i], r.depth[i], r.aux[i] = c, gz, aux
				if !isWater(c) {
					r.col[i] = r.groundColour(c, aux, x, y, gx, gz)
				}
				continue
			}
			r.depth[i] = skyDepth
			r.lab[i], r.col[i] = r.sky(x, y)
		}
	}
}

// unset marks pixels no pass has drawn yet.
const unset = 255

// sky colours a sky pixel and decides whether it is cloud.
func (r *renderer) sky(x, y int) (uint8, rgb) {
	s, lk := r.s, r.lk
	fx, fy := float32(x)+0.5, float32(y)+0.5
	c := lk.skyRow[y]
	dx := (fx - lk.sunX) / s.f
	dy := (fy - lk.sunY) / s.f
	d2 := dx*dx + dy*dy
	// Glow around the sun and along the horizon under it.
	front := clamp01(lk.sunFront + 0.3)
	g := front * (0.05/(d2+0.05)*0.55 + 0.004/(d2+0.004)*0.5)
	g += lk.rowGlow[y] * (0.35*front/(1+dx*dx*4) + 0.12)
	c = c.addScaled(lk.glow, g*(0.5+0.5*lk.haze))
	if lk.sunVisible {
		rr := lk.sunR
		if lk.moon {
			rr *= 0.7
		}
		if dd := (fx-lk.sunX)*(fx-lk.sunX) + (fy-lk.sunY)*(fy-lk.sunY); dd < rr*rr {
			a := (1 - lk.overcast) * (1 - 0.6*lk.haze)
			disk := rgb{1.6, 1.5, 1.3}
			if lk.moon {
				disk = rgb{0.8, 0.82, 0.85}
			} else if lk.sunElev < 0.1 {
				disk = rgb{1.6, 1.1, 0.6}
			}
			c = mix(c, disk, a)
		}
	}
	if lk.stars > 0 {
		if h := hash32(int32(x), int32(y), s.seed^0x57a5); h < uint32(0.004*float32(1<<32)) {
			c = c.add(grey(lk.stars * (0.2 + 0.6*float32(h&255)/255)))
		}
	}

	// Clouds on a plane above: their texture shrinks toward the horizon.
	if s.cloudThr >= 1.5 {
		return Sky, c
	}
	cz := lk.cloudZ[y]
	d := r.cloudDensity(fx, cz)
	if d <= 0 {
		return Sky, c
	}
	// Lit from the sun's side: compare with the density a step toward it.
	sx, sy := lk.sunX-fx, lk.sunY-fy
	n := sqrt32(sx*sx+sy*sy) + 1e-3
	step := 6 * s.unit
	y2 := int(fy + sy/n*step)
	y2 = min(max(y2, 0), r.h-1)
	d2c := r.cloudDensity(fx+sx/n*step, lk.cloudZ[y2])
	lit := clamp01(0.55 + (d-d2c)*2.5)
	alpha := smooth(0, 0.3, d)
	body := mix(lk.cloudShade, lk.cloudLit, lit)
	// Thick cores are darker underneath; thin edges near the sun glow.
	body = body.scale(1 - 0.25*smooth(0.3, 0.9, d)*(1-lit))
	body = body.addScaled(lk.glow, g*(1-alpha)*1.2)
	tex := detailTile.at(fx/s.unit*0.5+s.ox[fCloudDetail], fy/s.unit*0.5)
	body = body.scale(1 + 0.06*tex)
	cc := mix(c, body, 0.35+0.65*alpha)
	// Far clouds fade into the horizon.
	cc = mix(cc, c, smooth(8, 28, cz)*0.8)
	return Clouds, cc
}

// cloudDensity is how far the cloud field exceeds the threshold at screen
// column fx and cloud distance cz.
func (r *renderer) cloudDensity(fx, cz float32) float32 {
	s := r.s
	// Compress the far distances: far clouds merge into bands instead of
	// aliasing.
	g := cz / (1 + cz*(1.0/14))
	u := (fx - s.cx) / s.f * g
	k := 40 * s.cloudScale
	v := fbmTile.at(u*k/s.cloudStretch+s.ox[fCloud], g*k*0.7+s.oy[fCloud])
	v += 0.3 * detailTile.at(u*k*2.5+s.ox[fCloudDetail], g*k*1.8) / (1 + g*0.15)
	// Fewer clouds toward the horizon.
	return v - s.cloudThr - 0.5*smooth(4, 12, g)
}

// groundColour colours a ground-plane pixel (not water).
func (r *renderer) groundColour(c uint8, aux float32, x, y int, gx, gz float32) rgb {
	s, lk := r.s, r.lk
	// Undulations and cloud shadows modulate the sunlight.
	und := fbmTile.at(gx*0.25+s.ox[fGround], gz*0.25+s.oy[fGround])
	tex := detailTile.at(gx*3+s.ox[fTex1], gz*3+s.oy[fTex1])
	near := 1 / (1 + gz*0.08)
	shade := 1 + 0.35*und
	if s.cloudThr < 1.5 {
		cs := fbmTile.at(gx*0.02+s.ox[fCloud], gz*0.02+s.oy[fCloud]) - s.cloudThr
		shade *= 1 - 0.55*smooth(-0.05, 0.1, cs)
	}
	// Grass and stones catch low sun better than a flat plane would.
	sunUp := 0.3 + 0.7*max(lk.ly, 0)
	li := lk.amb.scale(0.85+0.1*und).addScaled(lk.sun, sunUp*clampf(shade, 0, 1.3))
	X, Y := r.tx(x), (float32(y)+0.5)/s.unit
	var alb rgb
	snowy := lk.se.snow
	switch c {
	case Grass, Flower:
		patch := fbmTile.at(gx*0.12+s.ox[fTex2], gz*0.12+s.oy[fTex2])
		alb = mix(lk.se.grass, lk.se.grassDry, smooth(-0.3, 0.7, patch+0.3*und))
		// Blades: short vertical strokes on the screen, tufts on the ground.
		blade := grainTile.at(X*1.4, Y*0.3+X*0.1)
		tuft := detailTile.at(gx*5+s.ox[fTex3], gz*5+s.oy[fTex3])
		alb = alb.scale(0.9 + 0.15*tex*(0.3+0.7*near) + (0.12+0.22*near)*blade + 0.15*tuft*near)
		if c == Flower {
			pick := fbmTile.at(gx*0.7+s.ox[fMisc], gz*0.7)
			fc := lk.se.flowers[0]
			if pick > 0.15 {
				fc = lk.se.flowers[1]
			} else if pick < -0.2 {
				fc = lk.se.flowers[2]
			}
			dens := (0.55 + 0.3*fbmTile.at(gx*0.5+s.ox[fFlower], gz*0.5)) * (1 - 0.5*snowy)
			// Blossoms: dots of a pixel or two, larger near the camera.
			k := 1.1 - 0.5*near
			dot := grainTile.at(X*k+s.ox[fFlower], Y*k*1.2+s.oy[fFlower])
			if dot > 0.5-dens*0.8 {
				alb = mix(alb, fc.scale(0.8+0.4*dot), 0.85)
			} else {
				alb = mix(alb, fc, dens*0.15)
			}
		}
		if snowy > 0 {
			alb = mix(alb, grey(0.9), snowy*smooth(0.1, 0.5, snowy+0.5*patch+0.3*tex))
		}
	case Dirt:
		alb = s.dirtAlbedo.scale(0.85 + 0.25*tex + 0.12*grainTile.at(X*2, Y*2)*near)
		if aux > 0 { // a path: worn middle, grassy edges
			alb = alb.scale(1.05)
		}
		if snowy > 0 {
			alb = mix(alb, grey(0.85), snowy*0.5*smooth(-0.2, 0.4, tex))
		}
	case Sand:
		alb = s.sandAlbedo.scale(0.92 + 0.1*tex + 0.06*grainTile.at(X*3, Y*3)*near)
		wet := 1 - smooth(0, 0.35, aux)
		alb = alb.scale(1 - 0.35*wet)
	case Rock:
		// Outcrops: a bumpy slab lit from its own normal, cracked, mossy
		// and sunk into the grass at the rim.
		const k = 10
		hx := s.field(fRock, gx+0.05, gz, k)
		hz := s.field(fRock, gx, gz+0.05, k)
		h0 := aux + s.rockThr + gz*0.002
		nx, nz := -(hx-h0)*12, -(hz-h0)*12
		crack := 1 - smooth(0, 0.05, abs32(detailTile.at(gx*5+s.ox[fTex3], gz*5+s.oy[fTex3])+0.15*tex))
		crack *= smooth(-0.1, 0.3, fbmTile.at(gx*2+s.oy[fTex3], gz*2+s.ox[fTex3]))
		alb = s.rockAlbedo.scale(0.8 + 0.3*tex - 0.45*crack*(0.3+0.7*near))
		rim := 1 - smooth(0, 0.12, aux)
		moss := clamp01(smooth(0.2, 0.7, und+0.5*tex)*0.5+rim*0.6) * (1 - snowy)
		alb = mix(alb, lk.se.grass.scale(0.7), moss*0.6)
		if snowy > 0 {
			alb = mix(alb, grey(0.85), snowy*smooth(0.1, 0.5, -nz+tex))
		}
		inv := 1 / sqrt32(1+nx*nx+nz*nz)
		li = lk.light(nx*inv, inv, nz*inv, 0.2)
		li = li.scale(1 - 0.3*rim)
	case Snow:
		alb = mix(lk.se.grassDry, grey(0.86), 0.65+0.3*smooth(-0.4, 0.3, tex))
	default:
		alb = grey(0.5)
	}
	col := alb.mul(li)
	return mix(col, lk.hazeCol, lk.groundA[y])
}

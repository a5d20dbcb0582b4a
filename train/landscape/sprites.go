package landscape

import "math"

// sprites draws the trees, bushes and boulders: first their shadows on
// the ground, then the sprites near to far, each pixel only where the
// sprite is nearer than what is there (so hidden pixels cost nothing).
func (r *renderer) sprites() {
	r.shadowSetup()
	for i := range r.s.sprites {
		if sp := &r.s.sprites[i]; sp.h >= 8*r.s.unit {
			r.shadow(sp)
		}
	}
	for i := len(r.s.sprites) - 1; i >= 0; i-- {
		sp := &r.s.sprites[i]
		switch sp.kind {
		case spConifer:
			r.conifer(sp)
		case spBroadleaf:
			r.broadleaf(sp)
		case spBush:
			r.blob(sp, 0.45, 0.55, sp.y)
		case spBoulder:
			r.blob(sp, 0.45, 0.55, sp.y+sp.h*0.08)
		}
	}
}

// hidden reports whether pixel (x, y) is outside the picture or already
// nearer than sp.
func (r *renderer) hidden(x, y int, sp *sprite) bool {
	return x < 0 || x >= r.w || y < 0 || y >= r.h || r.depth[y*r.w+x] <= sp.z
}

// put writes one sprite pixel if it is nearer than what is there; fade is
// the sprite's atmospheric veil.
func (r *renderer) put(x, y int, sp *sprite, c rgb, fade float32) {
	if x < 0 || x >= r.w || y < 0 || y >= r.h {
		return
	}
	i := y*r.w + x
	if r.depth[i] <= sp.z {
		return
	}
	r.lab[i] = sp.class
	r.depth[i] = sp.z
	r.col[i] = mix(c, r.lk.hazeCol, fade)
}

// clump is one lobe of a crown or a bush, in units of the crown's radii.
type clump struct{ x, y, r float32 }

// clumps lays out n lobes for a sprite; flat keeps them in the upper half
// (bushes sit on the ground).
func clumps(sp *sprite, out *[8]clump, flat bool) int {
	n := 4 + int(sp.seed>>3%4)
	out[0] = clump{0, 0.05, 0.72}
	for j := 1; j < n; j++ {
		h1 := hashf(int32(sp.seed), int32(j*3), 11)
		h2 := hashf(int32(sp.seed), int32(j*3+1), 11)
		h3 := hashf(int32(sp.seed), int32(j*3+2), 11)
		a := 2 * math.Pi * (float64(j)/float64(n-1) + float64(h1)*0.3)
		rad := 0.3 + 0.25*h2
		c := clump{rad * float32(math.Cos(a)), rad * 0.85 * float32(math.Sin(a)), 0.34 + 0.22*h3}
		if flat {
			c.y = -abs32(c.y) * 0.6
		}
		out[j] = c
	}
	return n
}

// lobe finds the lobe that (dx, dy) lies deepest in: how deep (> 0 inside)
// and the offset from its centre in its radius.
func lobe(cl *[8]clump, n int, dx, dy float32) (in, nx, ny float32) {
	in = -1e9
	for j := 0; j < n; j++ {
		c := &cl[j]
		ex, ey := (dx-c.x)/c.r, (dy-c.y)/c.r
		if v := 1 - ex*ex - ey*ey; v > in {
			in, nx, ny = v, ex, ey
		}
	}
	return in, nx, ny
}

// conifer draws a spruce: stacked tiers narrowing to a point, on a short
// trunk.
func (r *renderer) conifer(sp *sprite) {
	lk := r.lk
	top := sp.y - sp.h
	y0 := max(int(top), 0)
	y1 := min(int(sp.y+0.5), r.h-1)
	tiers := 4 + float32(sp.seed%5)
	fol := lk.se.conifer.scale(0.85 + 0.3*sp.variant)
	sd := float32(sp.seed & 0x3ff)
	u := r.s.unit
	fade := lk.fade(sp.z)
	for y := y0; y <= y1; y++ {
		fy := float32(y) + 0.5
		rel := (fy - top) / sp.h
		if rel < 0 {
			continue
		}
		var hw float32
		trunk := rel > 0.9
		if trunk {
			hw = max(sp.w*0.09, 0.5)
		} else {
			t := rel * tiers
			tp := t - float32(int(t))
			hw = sp.w * (0.08 + 0.92*rel/0.9) * (0.55 + 0.45*tp)
			hw *= 1 + 0.3*grainTile.at(sd, fy/u*1.3)
		}
		x0 := int(sp.x - hw + 0.5)
		x1 := int(sp.x + hw - 0.5)
		for x := x0; x <= x1; x++ {
			if r.hidden(x, y, sp) {
				continue
			}
			fx := float32(x) + 0.5
			xr := clampf((fx-sp.x)/(hw+0.5), -1, 1)
			var c rgb
			if trunk {
				c = rgb{0.22, 0.16, 0.12}.mul(lk.light(xr, 0, -0.7, 0.2))
			} else {
				t := rel * tiers
				tp := t - float32(int(t))
				needles := grainTile.at(fx/u*1.4+sd, fy/u*1.4)
				li := lk.light(xr*0.8+0.3*needles, 0.2+0.5*(1-tp), -0.6, 0.35)
				c = fol.scale(0.75 + 0.35*needles + 0.15*(1-tp)).mul(li)
				if lk.se.snow > 0 {
					sn := lk.se.snow * smooth(0.2, 0.6, 1-tp+0.4*needles)
					c = mix(c, grey(0.85).mul(li), sn*0.7)
				}
			}
			r.put(x, y, sp, c, fade)
		}
	}
}

// broadleaf draws a deciduous tree: a crown of leafy lobes on a trunk;
// bare twigs in winter, through which the background shows.
func (r *renderer) broadleaf(sp *sprite) {
	lk := r.lk
	trunkH := sp.h * (0.25 + 0.15*sp.variant)
	ry := (sp.h - trunkH) * 0.55
	cy := sp.y - sp.h + ry
	rx := sp.w
	sd := float32(sp.seed & 0x3ff)
	u := r.s.unit
	fol := mix(lk.se.leaf, lk.se.leaf2, sp.variant*sp.variant)
	fol = fol.scale(0.85 + 0.3*hashf(int32(sp.seed), 9, 1))
	bare := lk.se.bare
	tw := max(rx*0.08, 0.6)
	fade := lk.fade(sp.z)
	var cl [8]clump
	n := clumps(sp, &cl, false)
	y0 := max(int(cy-ry*1.3), 0)
	y1 := min(int(sp.y+0.5), r.h-1)
	x0 := max(int(sp.x-rx*1.3), 0)
	x1 := min(int(sp.x+rx*1.3), r.w-1)
	// Leaf texture scale: clusters of a few pixels, larger on near trees.
	lt := clampf(24/rx, 0.6, 1.5) / u
	for y := y0; y <= y1; y++ {
		fy := float32(y) + 0.5
		dy := (fy - cy) / ry
		for x := x0; x <= x1; x++ {
			if r.hidden(x, y, sp) {
				continue
			}
			fx := float32(x) + 0.5
			dx := (fx - sp.x) / rx
			if dx*dx+dy*dy > 1.8 {
				if fy > cy && abs32(fx-sp.x) < tw*(1+0.5*(fy-cy)/sp.h) {
					c := rgb{0.25, 0.2, 0.16}.mul(lk.light((fx-sp.x)/tw, 0, -0.7, 0.2))
					r.put(x, y, sp, c, fade)
				}
				continue
			}
			leaves := grainTile.at(fx*lt+sd, fy*lt)
			in, lx, ly := lobe(&cl, n, dx, dy)
			edge := 0.3*fbmTile.at(dx*14+sd, dy*14+sd) + 0.25*leaves
			if in+edge > 0 {
				// Normal: the lobe's sphere blended with the whole crown's.
				nx := 0.6*lx + 0.4*dx
				ny := -(0.6*ly + 0.4*dy)
				nz := -sqrt32(clamp01(1 - nx*nx - ny*ny))
				li := lk.light(nx, ny, nz, 0.35)
				// Deep inside the crown and under lobes is darker.
				ao := 0.75 + 0.25*clamp01(in*3) - 0.15*clamp01(dy)
				fine := grainTile.at(fx*lt*2.3+sd, fy*lt*2.3+sd)
				tone := 0.62 + 0.45*leaves + 0.18*fine
				if leaves+0.5*fine < -0.45 {
					tone *= 0.55 // gaps between leaf clusters
				}
				c := fol.scale(tone * ao).mul(li)
				if bare > 0 {
					twig := rgb{0.3, 0.26, 0.23}.scale(0.8 + 0.4*leaves).mul(li)
					behind := r.col[y*r.w+x]
					if isWater(r.lab[y*r.w+x]) {
						behind = lk.horizon // water is coloured after the sprites
					}
					t := mix(twig, behind, clamp01(0.45+0.6*leaves-0.3*in))
					c = mix(c, t, bare)
					if lk.se.snow > 0 {
						c = mix(c, grey(0.8).mul(li), lk.se.snow*0.25*smooth(0, 0.6, leaves-dy))
					}
				}
				r.put(x, y, sp, c, fade)
				continue
			}
			if fy > cy && abs32(fx-sp.x) < tw*(1+0.5*(fy-cy)/sp.h) {
				c := rgb{0.25, 0.2, 0.16}.mul(lk.light((fx-sp.x)/tw, 0, -0.7, 0.2))
				r.put(x, y, sp, c, fade)
			}
		}
	}
}

// blob draws a bush (leafy lobes) or a boulder (a lumpy dome), cut flat
// at floor.
func (r *renderer) blob(sp *sprite, cyFrac, ryFrac, floor float32) {
	lk := r.lk
	ry := sp.h * ryFrac
	cy := sp.y - sp.h*cyFrac
	rx := sp.w
	sd := float32(sp.seed & 0x3ff)
	u := r.s.unit
	fade := lk.fade(sp.z)
	y0 := max(int(cy-ry*1.4), 0)
	y1 := min(int(floor+0.5), r.h-1)
	x0 := max(int(sp.x-rx*1.4), 0)
	x1 := min(int(sp.x+rx*1.4), r.w-1)
	rock := sp.kind == spBoulder
	var base rgb
	if rock {
		base = r.s.rockAlbedo.scale(0.8 + 0.4*sp.variant)
	} else {
		base = mix(lk.se.bush, lk.se.grass, 0.3).scale(0.85 + 0.4*sp.variant)
		if lk.se.bare > 0 {
			base = mix(base, rgb{0.28, 0.22, 0.18}, lk.se.bare*0.6)
		}
	}
	var cl [8]clump
	n := clumps(sp, &cl, true)
	lt := clampf(24/rx, 0.6, 1.5) / u
	for y := y0; y <= y1; y++ {
		fy := float32(y) + 0.5
		if fy > floor {
			continue
		}
		dy := (fy - cy) / ry
		for x := x0; x <= x1; x++ {
			if r.hidden(x, y, sp) {
				continue
			}
			fx := float32(x) + 0.5
			dx := (fx - sp.x) / rx
			if dx*dx+dy*dy > 2 {
				continue
			}
			tex := grainTile.at(fx*lt+sd, fy*lt)
			var c rgb
			if rock {
				lump := fbmTile.at(dx*3+sd, dy*3+sd)
				d := dx*dx + dy*dy
				if d >= 1+0.5*lump-0.1 {
					continue
				}
				facet := detailTile.at(dx*5+sd, dy*5)
				li := lk.light(dx*0.8+0.6*facet, -dy*0.9+0.2, -sqrt32(clamp01(1-d)), 0.1)
				c = base.scale(0.8 + 0.15*tex + 0.2*lump).mul(li)
				if lk.se.snow > 0 {
					c = mix(c, grey(0.85).mul(li), lk.se.snow*smooth(0.2, 0.6, -dy+0.3*tex))
				} else {
					c = mix(c, lk.se.grass.mul(li), 0.35*smooth(0.1, 0.6, -dy+0.5*facet))
				}
			} else {
				in, lx, ly := lobe(&cl, n, dx, dy)
				if in+0.3*fbmTile.at(dx*14+sd, dy*14+sd)+0.2*tex <= 0 {
					continue
				}
				nx := 0.6*lx + 0.4*dx
				ny := -(0.6*ly + 0.4*dy)
				li := lk.light(nx, ny, -sqrt32(clamp01(1-nx*nx-ny*ny)), 0.35)
				ao := 0.75 + 0.25*clamp01(in*3) - 0.2*clamp01(dy+0.3)
				fine := grainTile.at(fx*lt*2.3+sd, fy*lt*2.3+sd)
				c = base.scale((0.65 + 0.45*tex + 0.15*fine) * ao).mul(li)
				if lk.se.snow > 0 {
					c = mix(c, grey(0.85).mul(li), lk.se.snow*0.6*smooth(0.1, 0.6, -dy+0.4*tex))
				}
			}
			r.put(x, y, sp, c, fade)
		}
	}
}

// onGround are the classes a sprite's shadow falls on.
var onGround = [NumClasses]bool{Grass: true, Flower: true, Sand: true, Dirt: true, Rock: true, Snow: true}

// shadowSetup computes the shadow colour factor and direction.
func (r *renderer) shadowSetup() {
	lk := r.lk
	sunUp := 0.3 + 0.7*max(lk.ly, 0)
	f := func(a, s float32) float32 { return a / max(a+s*sunUp, 1e-4) }
	r.shadowF = rgb{f(lk.amb.r, lk.sun.r), f(lk.amb.g, lk.sun.g), f(lk.amb.b, lk.sun.b)}
	d := sqrt32(lk.lx*lk.lx + lk.lz*lk.lz)
	if d < 1e-3 {
		r.shadowDX, r.shadowDZ = 0, -1
	} else {
		r.shadowDX, r.shadowDZ = -lk.lx/d, -lk.lz/d
	}
	ly := max(lk.ly, 0.08)
	r.shadowLen = min(sqrt32(1-ly*ly)/ly, 4)
}

// shadow darkens the ground under and behind a sprite: its shadow cast
// away from the sun (an ellipse on the ground) and a little contact
// darkening at its foot.
func (r *renderer) shadow(sp *sprite) {
	s := r.s
	z := sp.z
	R := sp.w * z / s.f
	H := sp.h * z / s.f
	if sp.kind == spBroadleaf || sp.kind == spConifer {
		R *= 0.8
	}
	L := H * r.shadowLen
	fx := (sp.x-s.cx)*z/s.f + r.shadowDX*L*0.5
	fz := z + r.shadowDZ*L*0.5
	ra := L*0.5 + R
	rad := ra + R
	// Screen bounds: project points around the ellipse.
	x0f, x1f, y0f, y1f := float32(1e9), float32(-1e9), float32(1e9), float32(-1e9)
	zBottom := s.camH * s.f / max(s.fh-s.yh, 1)
	for k := 0; k < 16; k++ {
		ca, sa := unitCircle[k][0], unitCircle[k][1]
		wx := fx + r.shadowDX*ra*ca - r.shadowDZ*R*sa
		wz := fz + r.shadowDZ*ra*ca + r.shadowDX*R*sa
		if wz < zBottom {
			// It runs out of the bottom of the picture: the projection
			// of the near points is no bound.
			x0f, x1f, y1f = -1, s.fw+1, s.fh+1
			wz = zBottom
		}
		px := s.cx + wx*s.f/wz
		py := s.yh + s.camH*s.f/wz
		x0f, x1f = min(x0f, px), max(x1f, px)
		y0f, y1f = min(y0f, py), max(y1f, py)
	}
	x0, x1 := max(int(x0f)-1, 0), min(int(x1f)+1, r.w-1)
	yTop, yBot := max(int(y0f)-1, 0), min(int(y1f)+1, r.h-1)
	if yTop > yBot || x0 > x1 {
		return
	}
	sunK := 1 - r.lk.overcast*0.9
	footX := (sp.x - s.cx) * z / s.f
	for y := yTop; y <= yBot; y++ {
		gz := s.gz[y]
		if gz <= 0 {
			continue
		}
		for x := x0; x <= x1; x++ {
			i := y*r.w + x
			if !onGround[r.lab[i]&15] || r.lab[i] >= NumClasses || r.depth[i] < z-rad {
				continue
			}
			gx := (float32(x) + 0.5 - s.cx) * gz / s.f
			dx, dz := gx-fx, gz-fz
			a := (dx*r.shadowDX + dz*r.shadowDZ) / ra
			p := (-dx*r.shadowDZ + dz*r.shadowDX) / R
			k := float32(0)
			if d := a*a + p*p; d < 1 {
				k = sunK * smooth(1, 0.6, d)
			}
			// Contact darkening around the foot.
			ex, ez := (gx-footX)/R, (gz-z)/R
			ao := 0.3 * smooth(1.2, 0.3, ex*ex+ez*ez)
			if k == 0 && ao == 0 {
				continue
			}
			c := r.col[i]
			f := mix(grey(1), r.shadowF, k).scale(1 - ao)
			r.col[i] = c.mul(f)
		}
	}
}

// unitCircle holds 16 points on the unit circle.
var unitCircle = func() (p [16][2]float32) {
	for k := range p {
		a := 2 * math.Pi * float64(k) / 16
		p[k] = [2]float32{float32(math.Cos(a)), float32(math.Sin(a))}
	}
	return p
}()

package landscape

// layers draws the mountain ranges and hill bands column by column, front
// to back: a sample of the height field covers the rows between its
// projection and the highest row drawn so far in that column.
func (r *renderer) layers() {
	s := r.s
	if len(s.layer) == 0 {
		return
	}
	const stepMul = 1.015
	for x := 0; x < r.w; x++ {
		dir := (float32(x) + 0.5 - s.cx) / s.f
		ymin := float32(r.h)
		for _, l := range s.layer {
			flat := l.emax * 0.004
			ymin = min(ymin, s.yh+s.camH*s.f/l.z0)
			for Z := l.z0; Z < l.z1; Z *= stepMul {
				X := dir * Z
				e, ridge := l.height(X, Z)
				canopy := float32(0)
				if l.kind == layerHill {
					canopy = l.canopyAt(X, Z)
				}
				row := s.yh + (s.camH-e-canopy)*s.f/Z
				if row >= ymin {
					continue
				}
				if e+canopy > flat {
					y0 := max(ceil32(row-0.5), 0)
					y1 := min(ceil32(ymin-0.5), r.h)
					if y0 < y1 {
						var c uint8
						var col rgb
						if l.kind == layerMountain {
							c, col = r.mountainSample(l, X, Z, e, ridge)
						} else {
							c, col = r.hillSample(l, X, Z, e, canopy, ridge)
						}
						for y := y0; y < y1; y++ {
							i := y*r.w + x
							r.lab[i], r.depth[i], r.col[i] = c, Z, col
						}
					}
				}
				ymin = row
			}
		}
	}
}

func ceil32(v float32) int {
	i := int(v)
	if float32(i) < v {
		i++
	}
	return i
}

// canopyAt is the height of the forest canopy on a hill at (X, Z).
func (l *layer) canopyAt(X, Z float32) float32 {
	f := l.forest(X, Z)
	if f <= 0 {
		return 0
	}
	g := grainTile.at(X*0.45+l.ox, Z*0.45+l.oy)
	var shape float32
	if l.conifer {
		shape = 0.45 + 0.55*clamp01(g+0.3)
		shape *= shape
	} else {
		shape = 0.7 + 0.3*g
	}
	return l.canopy * smooth(0, 0.1, f) * shape
}

// mountainSample colours one sample of a mountain range: rock, snow or
// vegetation, lit from the height field's normal.
func (r *renderer) mountainSample(l *layer, X, Z, e, ridge float32) (uint8, rgb) {
	lk := r.lk
	eps := Z * 0.004
	ex, _ := l.height(X+eps, Z)
	ez, _ := l.height(X, Z+eps)
	dx, dz := (ex-e)/eps, (ez-e)/eps
	steep := dx*dx + dz*dz
	inv := 1 / sqrt32(1+steep)
	li := lk.light(-dx*inv, inv, -dz*inv, 0.12)
	u, v := X*l.k+l.ox, Z*l.k+l.oy
	d := detailTile.at(u*9, v*9)
	cls := Mountain
	var alb rgb
	snowLine := l.snowE + l.emax*(0.12*d-0.15*(1-ridge))
	if e > snowLine && steep < 3.5 {
		cls = Snow
		alb = grey(0.9 + 0.05*d)
	} else {
		strata := detailTile.at(u*2, e*l.k*6)
		// Darker rock bands and patches, pale scree in the gullies.
		patch := fbmTile.at(u*1.7+57, v*1.7+91)
		alb = l.albedo.scale(0.75 + 0.18*strata + 0.15*d + 0.2*ridge + 0.25*patch)
		alb = mix(alb, l.albedo.scale(1.25).desat(0.3), 0.35*smooth(0.5, 0.1, ridge)*smooth(0.5, 2.5, steep))
		if veg := l.veg * smooth(l.vegE, l.vegE*0.5, e+l.emax*0.1*d) * (1 - smooth(1.5, 4, steep)); veg > 0 {
			vc := mix(lk.se.conifer, lk.se.hillVeg, 0.3).scale(1.3 + 0.3*d)
			alb = mix(alb, vc, veg)
		}
		if lk.se.snow > 0 {
			alb = mix(alb, grey(0.85), lk.se.snow*smooth(0.2, -0.3, steep-1+d)*0.8)
		}
	}
	c := alb.mul(li)
	a := lk.fade(Z)
	a += (1 - a) * 0.4 * (1 - e/l.emax) * lk.haze
	return cls, mix(c, lk.hazeCol, a)
}

// hillSample colours one sample of a hill band: grassland or forest.
func (r *renderer) hillSample(l *layer, X, Z, e, canopy, ridge float32) (uint8, rgb) {
	lk := r.lk
	eps := Z * 0.004
	ex, _ := l.height(X+eps, Z)
	ez, _ := l.height(X, Z+eps)
	dx, dz := (ex-e)/eps, (ez-e)/eps
	a := lk.fade(Z)
	u, v := X*l.k+l.ox, Z*l.k+l.oy
	patch := fbmTile.at(u*4, v*4)
	if canopy > 0.4 {
		cx := l.canopyAt(X+eps, Z)
		cz := l.canopyAt(X, Z+eps)
		dx += (cx - canopy) / eps * 0.3
		dz += (cz - canopy) / eps * 0.3
		inv := 1 / sqrt32(1+dx*dx+dz*dz)
		li := lk.light(-dx*inv, inv, -dz*inv, 0.3)
		fol := lk.se.conifer
		if !l.conifer {
			fol = mix(lk.se.leaf, lk.se.conifer, 0.35)
		}
		g := grainTile.at(X*0.9+l.oy, Z*0.9+l.ox)
		c := fol.scale(0.85 + 0.2*g + 0.15*patch).mul(li)
		c = c.scale(0.75 + 0.25*clamp01(canopy/l.canopy))
		if lk.se.snow > 0 {
			c = mix(c, grey(0.8).mul(li), lk.se.snow*0.35*clamp01(g+0.4))
		}
		return Tree, mix(c, lk.hazeCol, a)
	}
	inv := 1 / sqrt32(1+dx*dx+dz*dz)
	li := lk.light(-dx*inv, inv, -dz*inv, 0.25)
	alb := mix(lk.se.grass, lk.se.grassDry, 0.3+0.4*patch)
	alb = mix(alb, l.albedo, 0.3)
	alb = mix(alb, lk.se.hillVeg, 0.5*l.veg*smooth(-0.1, 0.4, patch))
	alb = alb.scale(0.9 + 0.15*detailTile.at(u*12, v*12))
	if lk.se.snow > 0 {
		alb = mix(alb, grey(0.88), lk.se.snow*smooth(-0.4, 0.2, patch))
	}
	return Hill, mix(alb.mul(li), lk.hazeCol, a)
}

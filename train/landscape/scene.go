package landscape

import (
	"math"
	"math/rand/v2"
)

// Class ids of the landscape palette (assets/palettes/landscape.txt).
const (
	Sky uint8 = iota
	Clouds
	Mountain
	Hill
	Rock
	Snow
	Sea
	River
	WaterOther
	Grass
	Tree
	Bush
	Flower
	Sand
	Dirt
	Fog
	// NumClasses is the number of classes.
	NumClasses
)

// ClassNames are the class names by id, as in the landscape palette.
var ClassNames = [NumClasses]string{"sky-other", "clouds", "mountain", "hill", "rock", "snow", "sea", "river",
	"water-other", "grass", "tree", "bush", "flower", "sand", "dirt", "fog"}

// isWater reports whether c is one of the water classes.
func isWater(c uint8) bool { return c == Sea || c == River || c == WaterOther }

// The scene is laid out in a simple camera model: a pinhole camera at
// height camH (the world unit, about 2 m) looking horizontally, so that the
// horizon is a row, a ground point at distance z lies camH·f/z pixels below
// the horizon and an object of height h at distance z is h·f/z pixels
// tall. Mountains and hills are screen-space layers standing at a fixed
// distance; the ground plane in front of them carries water, paths, patches
// and the sprites (trees, bushes, boulders).

const (
	layerMountain = iota
	layerHill
)

// layer is a mountain range or a band of hills: a height field over a
// band of distances, drawn column by column front to back (voxel space).
type layer struct {
	kind     int
	z0, z1   float32 // distance band
	emax     float32 // highest elevation, world units
	k        float32 // texels per world unit of the main noise
	ox, oy   float32
	snowE    float32 // snow above this elevation (1e9: none)
	vegE     float32 // vegetation below this elevation
	albedo   rgb
	veg      float32
	sideFall float32 // coastal headlands: height falls off toward one side (0: none, ±1: side)
	// hills: forest where the forest noise exceeds forestThr; canopy
	// height in world units
	forestThr float32
	canopy    float32
	conifer   bool
	seed      uint32
}

// sprite kinds.
const (
	spConifer = iota
	spBroadleaf
	spBush
	spBoulder
)

// sprite is an object standing on the ground plane.
type sprite struct {
	kind     int
	x, y     float32 // foot, pixels
	w, h     float32 // half width and height, pixels
	z        float32 // distance
	seed     uint32
	variant  float32 // 0..1, colour variation
	class    uint8
	occluded float32 // rows above y hidden behind the horizon objects: unused
}

// scene is everything about a picture that the label map depends on. It is
// drawn from the seed alone.
type scene struct {
	w, h  int
	fw    float32
	fh    float32
	yh    float32 // horizon row
	f     float32 // focal length, pixels
	cx    float32
	camH  float32
	unit  float32 // pixels per 1/256 of the image height (texture scaling)
	seed  uint32
	gz    []float32 // per row: ground distance (0 above the horizon)
	ox    [16]float32
	oy    [16]float32
	layer []*layer // near to far

	sea                                   bool
	coastZ, coastSlope, coastAmp, coastFq float32
	seaShore                              uint8
	seaShoreW                             float32
	seaFar                                float32 // sea for sure beyond this distance

	lake                         bool
	lakeX, lakeZ, lakeRX, lakeRZ float32
	lakeShore                    uint8
	lakeShoreW                   float32

	river                                           bool
	riverX, riverDrift, riverAmp, riverFq, riverW   float32
	riverZ0, riverZ1                                float32
	path                                            bool
	pathX, pathDrift, pathAmp, pathFq, pathW, pathZ float32

	flowerThr, rockThr, dirtThr, snowThr float32
	forestThr, forestScale               float32
	isolated                             float32 // chance of a lone tree per cell
	coniferShare                         float32
	bushThr                              float32
	boulders                             float32
	treeH                                float32 // typical tree height, world units
	sprites                              []sprite

	fog                   bool
	fogDist, fogY, fogHal float32

	cloudThr, cloudScale, cloudStretch float32
	farGround                          float32 // how far the ground plane runs before the horizon objects
	rockAlbedo, dirtAlbedo, sandAlbedo rgb
}

// newScene lays out the scene for seed at w×h.
func newScene(seed int64, w, h int) *scene {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5ade5ca1e))
	s := &scene{w: w, h: h, fw: float32(w), fh: float32(h)}
	s.seed = uint32(rng.Uint64())
	s.unit = s.fh / 256
	s.f = 1.05 * float32(max(w, h))
	s.cx = s.fw / 2
	for i := range s.ox {
		s.ox[i] = float32(rng.Float64() * tileSize)
		s.oy[i] = float32(rng.Float64() * tileSize)
	}
	uf := func(a, b float64) float32 { return float32(a + (b-a)*rng.Float64()) }
	chance := func(p float64) bool { return rng.Float64() < p }

	s.yh = s.fh * uf(0.3, 0.6)
	s.camH = uf(1, 5)
	if chance(0.3) {
		s.camH = uf(5, 14) // a viewpoint up a slope
	}
	s.gz = make([]float32, h)
	for y := range s.gz {
		if d := float32(y) + 0.5 - s.yh; d > 0 {
			s.gz[y] = s.camH * s.f / max(d, 0.5)
		}
	}

	// Water: none, a lake or the sea.
	switch u := rng.Float64(); {
	case u < 0.3:
		s.sea = true
	case u < 0.65:
		s.lake = true
	}
	seaScene := s.sea

	// Horizon objects: mountain ranges and hills.
	nMount := 0
	switch u := rng.Float64(); {
	case u < 0.2:
	case u < 0.55:
		nMount = 1
	case u < 0.85:
		nMount = 2
	default:
		nMount = 3
	}
	if seaScene && nMount > 1 {
		nMount = 1
	}
	nHill := 0
	if chance(0.65) {
		nHill = 1
		if chance(0.3) {
			nHill = 2
		}
	}
	var layers []*layer
	hillZ := s.camH * uf(40, 200)
	for i := 0; i < nHill; i++ {
		l := s.newLayer(rng, layerHill, hillZ)
		if seaScene {
			l.sideFall = 1
			if chance(0.5) {
				l.sideFall = -1
			}
		}
		layers = append(layers, l)
		hillZ = l.z1 * uf(1, 1.5)
	}
	mountZ := max(hillZ*uf(1.2, 2), s.camH*uf(600, 1500))
	for i := 0; i < nMount; i++ {
		l := s.newLayer(rng, layerMountain, mountZ)
		layers = append(layers, l)
		mountZ = l.z1 * uf(1, 1.4)
	}
	s.layer = layers
	s.farGround = 1e9
	if len(layers) > 0 {
		s.farGround = layers[0].z0
	}

	// The sea's coast runs across the view at some distance.
	if s.sea {
		s.coastZ = s.camH * uf(4, 25)
		s.coastSlope = uf(-0.5, 0.5)
		s.coastAmp = s.coastZ * uf(0.1, 0.5)
		s.coastFq = uf(1, 3) / s.coastZ
		// |gx| ≤ 0.5·gz on the picture, so the coast is nearer than this.
		s.seaFar = 1.2 * (s.coastZ + s.coastAmp) / (1 - 0.5*abs32(s.coastSlope))
		switch u := rng.Float64(); {
		case u < 0.6:
			s.seaShore, s.seaShoreW = Sand, s.coastZ*uf(0.1, 0.4)
		case u < 0.8:
			s.seaShore, s.seaShoreW = Rock, s.coastZ*uf(0.05, 0.2)
		default:
			s.seaShore, s.seaShoreW = Grass, 0
		}
	}
	if s.lake {
		s.lakeZ = s.camH * uf(6, 30)
		s.lakeRZ = s.lakeZ * uf(0.3, 0.7)
		s.lakeX = s.lakeZ * uf(-0.4, 0.4)
		s.lakeRX = s.lakeZ * uf(0.4, 1.5)
		switch u := rng.Float64(); {
		case u < 0.3:
			s.lakeShore, s.lakeShoreW = Sand, uf(0.1, 0.3)
		case u < 0.45:
			s.lakeShore, s.lakeShoreW = Rock, uf(0.05, 0.2)
		case u < 0.6:
			s.lakeShore, s.lakeShoreW = Dirt, uf(0.05, 0.15)
		default:
			s.lakeShore, s.lakeShoreW = Grass, 0
		}
	}
	if !s.sea && chance(0.35) {
		s.river = true
		s.riverZ1 = min(s.farGround, s.camH*uf(60, 400))
		s.riverZ0 = 0
		if chance(0.3) {
			s.riverZ0 = s.camH * uf(2, 6)
		}
		s.riverX = s.camH * uf(-3, 3)
		s.riverDrift = uf(-0.4, 0.4)
		s.riverAmp = s.camH * uf(2, 10)
		s.riverFq = 1 / uf(15, 60)
		s.riverW = s.camH * uf(0.6, 2.5)
	}
	if chance(0.3) {
		s.path = true
		s.pathX = s.camH * uf(-1.5, 1.5)
		s.pathDrift = uf(-0.5, 0.5)
		s.pathAmp = s.camH * uf(0.5, 3)
		s.pathFq = 1 / uf(5, 20)
		s.pathW = uf(0.5, 1.2)
		s.pathZ = s.camH * uf(15, 80)
	}
	s.flowerThr = 2
	if chance(0.45) {
		s.flowerThr = uf(0.05, 0.45)
	}
	s.rockThr = 2
	if chance(0.4) {
		s.rockThr = uf(0.35, 0.6)
	}
	s.dirtThr = 2
	if chance(0.3) {
		s.dirtThr = uf(0.35, 0.6)
	}
	s.snowThr = 2
	if nMount > 0 && chance(0.05) {
		s.snowThr = uf(0.3, 0.55)
	}
	s.forestThr = 2
	if chance(0.55) {
		s.forestThr = uf(0, 0.45)
	}
	s.forestScale = uf(0.5, 1.5)
	s.isolated = 0
	if chance(0.5) {
		s.isolated = uf(0.002, 0.03)
	}
	s.coniferShare = uf(0, 1)
	if chance(0.3) {
		s.coniferShare = float32(math.Round(float64(s.coniferShare)))
	}
	s.bushThr = 2
	if chance(0.55) {
		s.bushThr = uf(0.0, 0.5)
	}
	s.boulders = 0
	if chance(0.35) {
		s.boulders = uf(0.005, 0.04)
	}
	s.treeH = uf(3, 8)

	if chance(0.18) {
		s.fog = true
		s.fogDist = s.camH * uf(30, 300)
		if len(layers) > 0 {
			s.fogDist = layers[0].z0 * uf(0.5, 1.2)
		}
		s.fogY = s.yh - s.fh*uf(-0.02, 0.06)
		s.fogHal = s.fh * uf(0.03, 0.1)
	}

	switch u := rng.Float64(); {
	case u < 0.2:
		s.cloudThr = 2 // clear sky
	case u < 0.7:
		s.cloudThr = uf(0.1, 0.4) // cumulus
		s.cloudStretch = uf(0.8, 1.5)
	case u < 0.85:
		s.cloudThr = uf(-0.1, 0.15) // stratocumulus
		s.cloudStretch = uf(1, 2)
	default:
		s.cloudThr = uf(0.2, 0.35) // streaks
		s.cloudStretch = uf(3, 6)
	}
	s.cloudScale = uf(0.6, 1.6)

	s.rockAlbedo = mix(rgb{0.42, 0.41, 0.4}, rgb{0.48, 0.4, 0.33}, uf(0, 1))
	s.dirtAlbedo = mix(rgb{0.42, 0.3, 0.2}, rgb{0.5, 0.42, 0.32}, uf(0, 1))
	s.sandAlbedo = mix(rgb{0.82, 0.74, 0.58}, rgb{0.75, 0.66, 0.5}, uf(0, 1))

	s.placeSprites()
	return s
}

// newLayer builds a mountain range or a band of hills starting at
// distance z0.
func (s *scene) newLayer(rng *rand.Rand, kind int, z0 float32) *layer {
	uf := func(a, b float64) float32 { return float32(a + (b-a)*rng.Float64()) }
	l := &layer{kind: kind, z0: z0, seed: uint32(rng.Uint64())}
	l.ox, l.oy = uf(0, tileSize), uf(0, tileSize)
	l.snowE, l.forestThr = 1e9, 2
	switch kind {
	case layerMountain:
		l.z1 = z0 * uf(1.8, 3)
		// Height as a fraction of the picture at the band's front.
		l.emax = s.fh * uf(0.3, 0.75) * z0 / s.f
		l.emax = min(l.emax, (s.yh-2)*z0/s.f*1.4)
		l.k = 128 / (l.emax * uf(2.5, 5))
		if rng.Float64() < 0.7 {
			l.snowE = l.emax * uf(0.35, 0.8)
		}
		l.vegE = l.emax * uf(0.1, 0.45)
		l.albedo = mix(rgb{0.4, 0.39, 0.38}, rgb{0.46, 0.39, 0.32}, uf(0, 1))
		l.veg = uf(0, 1)
		if rng.Float64() < 0.3 {
			l.veg = 0
		}
	case layerHill:
		l.z1 = z0 * uf(1.5, 3)
		l.emax = s.fh * uf(0.06, 0.25) * z0 / s.f
		l.k = 128 / (l.emax * uf(8, 20))
		l.vegE = l.emax * 2
		l.albedo = mix(rgb{0.3, 0.33, 0.16}, rgb{0.4, 0.36, 0.22}, uf(0, 1))
		l.veg = uf(0.3, 1)
		l.conifer = rng.Float64() < 0.5
		if rng.Float64() < 0.65 {
			l.forestThr = uf(-0.3, 0.3)
			l.canopy = uf(5, 12)
		}
	}
	return l
}

// height is the layer's elevation at world position (X, Z) and the ridge
// value (1 on crests, 0 in gullies).
func (l *layer) height(X, Z float32) (e, ridge float32) {
	u, v := X*l.k+l.ox, Z*l.k+l.oy
	n := fbmTile.at(u, v)
	env := smooth(l.z0, l.z0+(l.z1-l.z0)*0.3, Z)
	if l.sideFall != 0 {
		env *= 1 - smooth(-0.3, 0.4, l.sideFall*X/Z+0.15*n)
	}
	if l.kind == layerMountain {
		r := 1 - abs32(n)
		r *= r
		d := detailTile.at(u*2.1, v*2.1)
		mass := 0.55 + 0.45*fbmTile.at(u*0.23+31, v*0.23+17)
		e = l.emax * env * mass * (0.25 + 0.75*r*r + 0.07*d*r)
		return e, r
	}
	e = l.emax * env * clamp01(0.55+0.6*n)
	return e, 0.5 + 0.5*n
}

// forest is how far (X, Z) on a hill lies inside its forest (> 0).
func (l *layer) forest(X, Z float32) float32 {
	if l.forestThr > 1.5 {
		return -1
	}
	return fbmTile.at(X*l.k*2.3+l.oy, Z*l.k*2.3+l.ox) - l.forestThr
}

// field reads fbm noise number i at world position (gx, gz), k texels per
// world unit.
func (s *scene) field(i int, gx, gz, k float32) float32 {
	return fbmTile.at(gx*k+s.ox[i], gz*k+s.oy[i])
}

// Noise field numbers (offsets into the tiles).
const (
	fLake = iota
	fFlower
	fRock
	fDirt
	fSnow
	fForest
	fBush
	fGround
	fCloud
	fTex1
	fTex2
	fTex3
	fFog
	fWater
	fCloudDetail
	fMisc
)

// coast returns the sea's coast distance at lateral position gx.
func (s *scene) coast(gx float32) float32 {
	c := s.coastZ + s.coastSlope*gx + s.coastAmp*fbm1(gx*s.coastFq, 4, s.seed^0xc0a5)
	return max(c, s.coastZ*0.3)
}

// rowInfo holds what the ground classification needs that depends on
// the distance alone: where the river and the path run.
type rowInfo struct {
	gz             float32
	river, path    bool
	riverX, riverW float32
	pathX, pathW   float32
}

// row fills ri for ground distance gz.
func (s *scene) row(ri *rowInfo, gz float32) {
	ri.gz = gz
	ri.river = s.river && gz > s.riverZ0 && gz < s.riverZ1
	if ri.river {
		ri.riverX = s.riverX + s.riverDrift*gz + s.riverAmp*fbm1(gz*s.riverFq, 3, s.seed^0x7123)
		ri.riverW = s.riverW * (1 + 0.3*fbm1(gz*s.riverFq*3, 2, s.seed^0x7321))
	}
	ri.path = s.path && gz < s.pathZ
	if ri.path {
		ri.pathX = s.pathX + s.pathDrift*gz + s.pathAmp*fbm1(gz*s.pathFq, 3, s.seed^0x9a7)
		ri.pathW = s.pathW * (1 + 0.25*fbm1(gz*0.7, 2, s.seed^0x9b7))
	}
}

// ground classifies the ground plane at (gx, ri.gz). aux carries a class
// specific value: for water and shores, how far into the water or the
// shore band the point lies (0 at the water line).
func (s *scene) ground(gx, gz float32, ri *rowInfo) (uint8, float32) {
	if s.sea {
		if gz > s.seaFar {
			return Sea, 1 // beyond any coast
		}
		c := s.coast(gx)
		if gz > c {
			return Sea, (gz - c) / c
		}
		if gz > c-s.seaShoreW {
			return s.seaShore, (c - gz) / s.seaShoreW
		}
	}
	if s.lake {
		dx := (gx - s.lakeX) / s.lakeRX
		dz := (gz - s.lakeZ) / s.lakeRZ
		v := 1 - dx*dx - dz*dz + 0.6*s.field(fLake, gx, gz, 40/s.lakeRX)
		if v > 0 {
			return WaterOther, v
		}
		if v > -s.lakeShoreW {
			return s.lakeShore, -v / s.lakeShoreW
		}
	}
	if ri.river {
		if d := abs32(gx - ri.riverX); d < ri.riverW {
			return River, 1 - d/ri.riverW
		}
	}
	if ri.path && abs32(gx-ri.pathX) < ri.pathW {
		return Dirt, 1
	}
	if gz < 250 {
		const k = 1
		// Patches fade out with distance so the far ground stays calm.
		far := gz * 0.002
		if s.rockThr < 2 {
			if v := s.field(fRock, gx*k, gz*k, 10) - s.rockThr - far; v > 0 {
				return Rock, v
			}
		}
		if s.snowThr < 2 && s.field(fSnow, gx*k, gz*k, 3) > s.snowThr+far*3 {
			return Snow, 0
		}
		if s.dirtThr < 2 && s.field(fDirt, gx*k, gz*k, 4) > s.dirtThr+far {
			return Dirt, 0
		}
		if s.flowerThr < 2 && gz < 120 && s.field(fFlower, gx*k, gz*k, 2.5) > s.flowerThr+far*2 {
			return Flower, 0
		}
	}
	return Grass, 0
}

// placeSprites scatters trees, bushes and boulders over the ground plane,
// far to near so that drawing in order paints the near ones last.
func (s *scene) placeSprites() {
	zFar := min(s.farGround*0.98, 220*s.treeH/5)
	zNear := 1.5 * s.camH
	halfTan := s.fw / 2 / s.f
	for z := zFar; z > zNear; {
		spacing := 1.8 + z*0.012
		row := int32(z * 16)
		xr := halfTan*z + 6
		for gx := -xr; gx < xr; gx += spacing {
			col := int32(gx * 16)
			h := hash32(col, row, s.seed)
			jx := gx + (float32(h&0xffff)/65536-0.5)*spacing
			jz := z + (float32(h>>16)/65536-0.5)*spacing
			s.maybeSprite(jx, jz, h)
		}
		z -= spacing * (0.7 + 0.1*float32(row&3))
	}
}

// maybeSprite decides what stands at ground point (gx, gz), if anything.
func (s *scene) maybeSprite(gx, gz float32, h uint32) {
	if gz <= 0.5 {
		return
	}
	r := hashf(int32(h), 1, s.seed)
	r2 := hashf(int32(h), 2, s.seed)
	kind := -1
	forest := s.field(fForest, gx, gz, s.forestScale) - s.forestThr
	switch {
	case forest > 0 && r < 0.85:
		kind = spBroadleaf
	case r < s.isolated:
		kind = spBroadleaf
	case s.bushThr < 2 && s.field(fBush, gx, gz, 1.5) > s.bushThr && r < 0.5:
		kind = spBush
	case r2 < s.boulders:
		kind = spBoulder
	}
	if kind < 0 {
		return
	}
	var ri rowInfo
	s.row(&ri, gz)
	c, _ := s.ground(gx, gz, &ri)
	switch kind {
	case spBoulder:
		if isWater(c) {
			return
		}
	default:
		if c != Grass && c != Flower {
			return
		}
	}
	var wWorld, hWorld float32
	v := hashf(int32(h), 3, s.seed)
	switch kind {
	case spBroadleaf:
		if hashf(int32(h), 4, s.seed) < s.coniferShare {
			kind = spConifer
		}
		hWorld = s.treeH * (0.6 + 0.8*v)
		wWorld = hWorld * 0.35
		if kind == spBroadleaf {
			wWorld = hWorld * (0.35 + 0.2*hashf(int32(h), 5, s.seed))
		}
		if forest < 0.15 && forest > 0 {
			hWorld *= 0.5 + forest*3 // smaller trees at the forest edge
		}
	case spBush:
		hWorld = 0.4 + 0.8*v
		wWorld = hWorld * (0.8 + 0.6*hashf(int32(h), 5, s.seed))
	case spBoulder:
		hWorld = 0.2 + 1.2*v*v
		wWorld = hWorld * (0.7 + 0.6*hashf(int32(h), 5, s.seed))
	}
	px := s.cx + gx*s.f/gz
	py := s.yh + s.camH*s.f/gz
	hp := hWorld * s.f / gz
	wp := wWorld * s.f / gz
	// Only a few trees stand near enough to fill the frame, at its edges.
	limit := s.fh * 0.55
	switch {
	case kind == spBush:
		limit = s.fh * 0.22
	case kind == spBoulder:
		limit = s.fh * 0.3
	case abs32(px-s.cx) > 0.3*s.fw && hashf(int32(h), 7, s.seed) < 0.3:
		limit = s.fh * 1.3
	}
	if hp > limit || hp < 1.2 || px+wp < 0 || px-wp > s.fw || py-hp > s.fh {
		return
	}
	cls := Tree
	switch kind {
	case spBush:
		cls = Bush
	case spBoulder:
		cls = Rock
	}
	s.sprites = append(s.sprites, sprite{kind: kind, x: px, y: py, w: wp, h: hp, z: gz, seed: h, variant: hashf(int32(h), 6, s.seed), class: cls})
}

package model

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// engTrace, when set (by tests), receives the time of each main-path step.
var engTrace func(step string, d time.Duration)

func engTraceStep(step string, start time.Time) time.Time {
	now := time.Now()
	if engTrace != nil {
		engTrace(step, now.Sub(start))
	}
	return now
}

// The engine is a hand-written CPU implementation of the generator's
// eval-mode forward pass, equal to the gorgonia graph (and PyTorch) within
// float32 rounding, built for live painting:
//
//   - Every SPADE layer's γ and β depend on the label map only. They are
//     computed once per label map and kept, folded with the batch-norm
//     statistics into one multiply-add per value (A = (1+γ)/σ,
//     B = β − μ·A), so a new style re-runs only the main path.
//   - When the labels change, each layer recomputes γ and β only in the box
//     the change can reach at its scale (the changed pixels, nearest-resized,
//     dilated by 2 for mlp_shared and mlp_gamma/beta, 1 more with instance
//     edges), and the main path is re-run (every one of its values depends
//     on every label through the 3×3 convolutions at 8×8).
//   - mlp_shared (and the first conv without a VAE) reads a one-hot map: it
//     is a gather of weight columns per class (engGather), not a GEMM over
//     semantic_nc channels.
//   - 3×3 convs on large maps run as Winograd F(4×4, 3×3) (engine_winograd.go:
//     a quarter of the multiplies, transforms in AVX2); the wide layers at
//     low resolution, whose F(4×4) weights (4× the stored ones) would not
//     fit in memory, as Winograd F(2×2, 3×3) (engine_wino2.go: 16/9 the
//     weights, 4/9 of the multiplies) on maps of 16×16 and more, or as
//     im2col + GEMM on the stored weights below. Feature maps live in
//     zero-bordered planes (engGeom), which make im2col a set of contiguous
//     copies and keep tiles and borders simple.
//   - GEMMs run on the engine's own packed kernels (engine_gemm.go: AVX-512
//     12×32 or AVX2 6×16) where they beat the build's BLAS, else through
//     gonum's blas32 interface (OpenBLAS with the openblas tag,
//     single-threaded during a render); either way they are split over
//     the engine's own goroutines like every other loop, so both cores
//     stay busy.
//   - All large buffers are allocated once and reused; the weights are
//     read from Params in place except the Winograd-transformed ones and
//     the gather tables.

// engScale is one resolution at which SPADE layers run.
type engScale struct {
	g      engGeom
	ys, xs []int // nearest source row/column in the full-size label map
}

// engSpade is one SPADE layer.
type engSpade struct {
	name   string
	C      int
	scale  int
	shared *engGather   // mlp_shared: semantic → nhidden, ReLU
	wgb    [2][]float32 // mlp_gamma and mlp_beta weights [C][nhidden][3][3], as stored
	wino   *winoWeights // both for Winograd, on large maps
	bgb    []float32    // [2C]
	// mean and rstd are the batch-norm running statistics (rstd =
	// 1/sqrt(var+eps)); nil for instance norm.
	mean, rstd []float32
	// sw and sb are the style modulation (Config.StyleMod): weights
	// [2C][z_dim], mlp_style_gamma's rows then mlp_style_beta's, and
	// biases [2C], times StyleModGain; nil without it.
	sw, sb []float32
}

// engConv is a main-path convolution.
type engConv struct {
	out, in, k int
	w          []float32     // [out][in·k·k] as stored (weight_orig for spectral norm)
	tap        []float32     // 3×3 only: tap-major copy [9][out][in], or nil to use im2col
	wino       *winoWeights  // 3×3 on large maps: Winograd weights (then tap is nil)
	wino2      *wino2Weights // wide 3×3 on small maps: F(2×2) weights
	direct     []float32     // conv_img run directly (engine_img.go): [in][9][3]·alpha
	alpha      float32       // 1/σ for spectral norm, else 1
	bias       []float32     // nil without bias
}

type engBlock struct {
	block
	scale               int
	norm0, norm1, normS int // indices into engine.spades; normS < 0 without learned shortcut
	conv0, conv1        *engConv
	convS               *engConv
}

// engItem is the label-dependent state of one batch item.
type engItem struct {
	valid bool
	cls   []uint8
	inst  []int32 // nil when the model has no instance channel or the labels had none
	codes [][]uint16
	// pending is, per SPADE layer (and the first conv without a VAE,
	// last), the box of the full-size label map whose changes the layer
	// has not taken in yet.
	pending []engRect
	ab      [][]float32 // per SPADE layer: A in planes [0, C), B in [C, 2C)
	x0      []float32   // without a VAE: fc(seg), the main path's input
}

type engine struct {
	c      Config
	scales []engScale
	spades []*engSpade
	blocks []*engBlock
	nh     int

	fcW, fcB []float32  // with a VAE: the linear layer z → 16·ngf·sh·sw
	fcGather *engGather // without a VAE: the first conv on the label map
	convImg  *engConv

	items []*engItem

	// scratch, reused by every render
	x     [2][]float32
	t, dx []float32
	actv  []float32
	tmp   []float32
	col   []float32
	cmp   []float32 // compact GEMM output of engIm2colConv3Compact
	fcOut []float32
	mean  []float32
	rstd  []float32
	edge  []bool
	wino  winoScratch
	img   [][]float32 // per worker: convImgDirect's row ring and output rows
	// With StyleMod: per SPADE layer, the item's A and B with the style
	// code's offsets (styled), and the offsets [2C] of the largest layer.
	abz  [][]float32
	soff []float32
	lane *engLane // the second lane of refresh's small SPADE layers; nil with one worker
}

// engLane is the scratch of one concurrent run of updateSpade: refresh
// runs the SPADE layers on small maps two at a time (their branches depend
// on the labels only, so they are independent), as on those maps each
// layer's own split over the cores spends much of its time waiting at its
// barriers; a second layer fills those gaps. Lane 0 is the engine's own
// scratch (e.actv, e.col, e.wino, and e.x[0] or e.tmp for boxes).
type engLane struct {
	actv, col, out []float32
	wino           winoScratch
}

// A SPADE layer runs in refresh's second lane when its map is at most
// engLaneMaxHW and its γ/β conv at most engLaneMaxWork multiply-adds per
// tap (2C·nhidden·H·W): layers where the split's barriers cost more than
// the arithmetic. Wide layers gain nothing from a lane and would size its
// scratch: ADE20K's 128² layers would add ~30 MB to the peak.
const (
	engLaneMaxHW   = 128 * 128
	engLaneMaxWork = 1 << 26
)

// inLane says whether SPADE layer sp runs in refresh's lanes.
func (e *engine) inLane(sp *engSpade) bool {
	g := e.scales[sp.scale].g
	return g.H*g.W <= engLaneMaxHW && 2*sp.C*e.nh*g.H*g.W <= engLaneMaxWork
}

type engConvKind int

const (
	engIm2col engConvKind = iota
	engTap
	engWino
	engWino2
	engDirect
)

// engUseWinograd says whether a 3×3 conv with out×in weights on maps of
// layout g runs as Winograd, whose weights take 4× the memory: on large
// maps (where the weights are small), and on mid-sized maps where the
// transformed weights stay under `budget` floats. The widest layers at low
// resolution keep im2col on the stored weights.
func engUseWinograd(g engGeom, out, in, budget int) bool {
	if g.H*g.W >= 64*64 {
		return true
	}
	return g.H*g.W >= 16*16 && 36*out*in <= budget
}

// Transformed-weight budgets per conv for maps under 64×64: the main
// path's convs take up to 20M floats (ADE20K's up_0, 113 MB in all, for a
// quarter of its multiplies); the γ/β convs, one per SPADE layer, 2M.
// Variables only so that tests can send small models down the paths of
// large ones (the F(2×2) convs).
var (
	engWinoTrunkBudget = 20 << 20
	engWinoSpadeBudget = 2 << 20
)

// newEngine prepares the weights of generator params p for config c.
func newEngine(c Config, p Params) (*engine, error) {
	e := &engine{c: c, nh: c.NHidden}
	H, W := c.Height(), c.Width
	for _, s := range generatorScales(c) {
		e.scales = append(e.scales, engScale{g: newEngGeom(s.H, s.W), ys: nearestIndex(H, s.H), xs: nearestIndex(W, s.W)})
	}
	f32 := func(key string) ([]float32, error) { return p.F32(key) }
	spade := func(prefix string, C, scale int) (int, error) {
		sp := &engSpade{name: prefix, C: C, scale: scale}
		ws, err := f32(prefix + ".mlp_shared.0.weight")
		if err != nil {
			return 0, err
		}
		bs, err := f32(prefix + ".mlp_shared.0.bias")
		if err != nil {
			return 0, err
		}
		sp.shared = newEngGather(c, ws, bs, e.nh, true)
		sp.bgb = make([]float32, 2*C)
		for k, name := range []string{"mlp_gamma", "mlp_beta"} {
			w, err := f32(prefix + "." + name + ".weight")
			if err != nil {
				return 0, err
			}
			b, err := f32(prefix + "." + name + ".bias")
			if err != nil {
				return 0, err
			}
			copy(sp.bgb[k*C:], b)
			sp.wgb[k] = w
		}
		if c.StyleMod {
			var err error
			if sp.sw, sp.sb, err = StyleModWeights(p, prefix); err != nil {
				return 0, err
			}
		}
		if g := e.scales[scale].g; engUseWinograd(g, 2*C, e.nh, engWinoSpadeBudget) {
			sp.wino = newWinoWeights(2*C, e.nh, 1, func(o, i int) []float32 {
				k := o / C
				o %= C
				return sp.wgb[k][(o*e.nh+i)*9 : (o*e.nh+i)*9+9]
			})
		}
		if c.Norm == BatchNorm {
			m, err := f32(prefix + ".param_free_norm.running_mean")
			if err != nil {
				return 0, err
			}
			v, err := f32(prefix + ".param_free_norm.running_var")
			if err != nil {
				return 0, err
			}
			sp.mean = m
			sp.rstd = make([]float32, C)
			for i := range sp.rstd {
				sp.rstd[i] = float32(1 / math.Sqrt(float64(v[i])+normEps))
			}
		}
		e.spades = append(e.spades, sp)
		return len(e.spades) - 1, nil
	}
	conv := func(prefix string, sn, bias bool, kind engConvKind) (*engConv, error) {
		key := prefix + ".weight"
		if sn {
			key = prefix + ".weight_orig"
		}
		t, ok := p[key]
		if !ok {
			return nil, fmt.Errorf("missing weight %s", key)
		}
		w, err := f32(key)
		if err != nil {
			return nil, err
		}
		sh := t.Shape()
		cv := &engConv{out: sh[0], in: sh[1], k: sh[2], w: w, alpha: 1}
		if sn {
			u, err := f32(prefix + ".weight_u")
			if err != nil {
				return nil, err
			}
			v, err := f32(prefix + ".weight_v")
			if err != nil {
				return nil, err
			}
			sigma, err := spectralSigma(w, u, v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", prefix, err)
			}
			cv.alpha = float32(1 / sigma)
		}
		if bias {
			if cv.bias, err = f32(prefix + ".bias"); err != nil {
				return nil, err
			}
		}
		if cv.k == 3 && kind == engWino {
			cv.wino = newWinoWeights(cv.out, cv.in, float64(cv.alpha), func(o, i int) []float32 {
				return w[(o*cv.in+i)*9 : (o*cv.in+i)*9+9]
			})
			cv.wino.band = winoBandTrunk
		} else if cv.k == 3 && kind == engDirect {
			cv.direct = newImgWeights(w, cv.in, cv.alpha)
		} else if cv.k == 3 && kind == engWino2 {
			cv.wino2 = newWino2Weights(cv.out, cv.in, float64(cv.alpha), func(o, i int) []float32 {
				return w[(o*cv.in+i)*9 : (o*cv.in+i)*9+9]
			})
		} else if cv.k == 3 && kind == engTap {
			cv.tap = make([]float32, len(w))
			for o := 0; o < cv.out; o++ {
				for i := 0; i < cv.in; i++ {
					for t := 0; t < 9; t++ {
						cv.tap[(t*cv.out+o)*cv.in+i] = w[(o*cv.in+i)*9+t]
					}
				}
			}
		}
		return cv, nil
	}
	scale := 0
	var err error
	for _, blk := range generatorBlocks(c) {
		if blk.UpBefore {
			scale++
		}
		g := e.scales[scale].g
		// Winograd where the map is large and the weights small; im2col
		// bands for the wide layers at low resolution, whose weights are
		// big (a transformed or tap-major copy would cost too much memory)
		// and maps small.
		mid := min(blk.Fin, blk.Fout)
		kind0, kind1 := engIm2col, engIm2col
		if engUseWinograd(g, mid, blk.Fin, engWinoTrunkBudget) {
			kind0 = engWino
		} else if engUseWino2(g, mid, blk.Fin) {
			kind0 = engWino2
		}
		if engUseWinograd(g, blk.Fout, mid, engWinoTrunkBudget) {
			kind1 = engWino
		} else if engUseWino2(g, blk.Fout, mid) {
			kind1 = engWino2
		}
		b := &engBlock{block: blk, scale: scale, normS: -1}
		if blk.Fin != blk.Fout {
			if b.normS, err = spade(blk.Name+".norm_s", blk.Fin, scale); err != nil {
				return nil, err
			}
			if b.convS, err = conv(blk.Name+".conv_s", true, false, engIm2col); err != nil {
				return nil, err
			}
		}
		if b.norm0, err = spade(blk.Name+".norm_0", blk.Fin, scale); err != nil {
			return nil, err
		}
		if b.norm1, err = spade(blk.Name+".norm_1", mid, scale); err != nil {
			return nil, err
		}
		if b.conv0, err = conv(blk.Name+".conv_0", true, true, kind0); err != nil {
			return nil, err
		}
		if b.conv1, err = conv(blk.Name+".conv_1", true, true, kind1); err != nil {
			return nil, err
		}
		e.blocks = append(e.blocks, b)
	}
	imgKind := engTap
	if engImgDirect(3) {
		imgKind = engDirect
	} else if gl := e.scales[len(e.scales)-1].g; engUseWinograd(gl, 3, finalNC(c), engWinoSpadeBudget) {
		imgKind = engWino
	}
	if e.convImg, err = conv("conv_img", false, true, imgKind); err != nil {
		return nil, err
	}
	if c.UseVAE {
		if e.fcW, err = f32("fc.weight"); err != nil {
			return nil, err
		}
		if e.fcB, err = f32("fc.bias"); err != nil {
			return nil, err
		}
	} else {
		w, err := f32("fc.weight")
		if err != nil {
			return nil, err
		}
		b, err := f32("fc.bias")
		if err != nil {
			return nil, err
		}
		e.fcGather = newEngGather(c, w, b, 16*c.NGF, false)
	}
	e.alloc()
	return e, nil
}

// alloc sizes the scratch buffers for the largest layer that uses each.
func (e *engine) alloc() {
	var nx, nt, ndx, nact, ncol, ncmp, nc int
	g0 := e.scales[0].g
	nx = 16 * e.c.NGF * g0.Plane
	for _, b := range e.blocks {
		g := e.scales[b.scale].g
		nx = max(nx, max(b.Fin, b.Fout)*g.Plane)
		mid := min(b.Fin, b.Fout)
		if b.conv0.wino == nil && b.conv0.wino2 == nil {
			nt = max(nt, b.Fin*g.Plane)
		}
		if b.conv1.wino == nil && b.conv1.wino2 == nil {
			nt = max(nt, mid*g.Plane)
		}
		// conv_s modulates its input in chunks of at least 32 channels
		// (unless the engine's GEMM does it while packing).
		if b.convS != nil && !(engOwnGemm && engGemmKernel()) {
			nt = max(nt, min(b.Fin, 32)*g.Plane)
		}
		ndx = max(ndx, mid*g.Plane)
		nact = max(nact, e.nh*g.Plane)
		nc = max(nc, b.Fin, b.Fout)
		for _, cv := range []*engConv{b.conv0, b.conv1} {
			if cv.tap == nil && cv.wino == nil && cv.wino2 == nil {
				k := 9 * cv.in
				ncol = max(ncol, k*min(g.span(), max(256, (4<<20)/k)))
				if g.span() <= max(256, (4<<20)/k) {
					ncmp = max(ncmp, cv.out*g.H*g.W)
				}
			}
		}
	}
	for _, sp := range e.spades {
		if sp.wino == nil {
			k := 9 * e.nh
			ncol = max(ncol, k*min(e.scales[sp.scale].g.span(), max(256, (4<<20)/k)))
		}
	}
	gl := e.scales[len(e.scales)-1].g
	ndx = max(ndx, 3*gl.Plane)
	// The Winograd scratch at its largest, so that it never grows (the
	// garbage of growing would sit in memory until the next GC).
	var nv, nm int
	need := func(g engGeom, out, in int, w4 *winoWeights, w2 *wino2Weights) {
		if w4 != nil {
			v, m := winoScratchNeed(g, w4)
			nv, nm = max(nv, v), max(nm, m)
		}
		if w2 != nil {
			nt := (g.H / 2) * (g.W / 2)
			nv, nm = max(nv, 16*in*nt), max(nm, 16*out*nt)
		}
	}
	for _, b := range e.blocks {
		g := e.scales[b.scale].g
		for _, cv := range []*engConv{b.conv0, b.conv1} {
			need(g, cv.out, cv.in, cv.wino, cv.wino2)
		}
	}
	for _, sp := range e.spades {
		need(e.scales[sp.scale].g, 2*sp.C, e.nh, sp.wino, nil)
	}
	need(gl, e.convImg.out, e.convImg.in, e.convImg.wino, nil)
	if e.convImg.direct != nil {
		e.img = make([][]float32, engWorkers())
		for i := range e.img {
			e.img[i] = make([]float32, imgScratchNeed(gl, e.convImg.in))
		}
	}
	e.wino.v = make([]float32, nv)
	e.wino.m = make([]float32, nm)
	if engWorkers() > 1 {
		// Sized for the small layers only, as lane 0 is for all.
		l := &engLane{}
		var lv, lm, la, lc int
		for _, sp := range e.spades {
			g := e.scales[sp.scale].g
			if !e.inLane(sp) {
				continue
			}
			la = max(la, e.nh*g.Plane)
			if sp.wino != nil {
				v, m := winoScratchNeed(g, sp.wino)
				lv, lm = max(lv, v), max(lm, m)
			} else {
				k := 9 * e.nh
				lc = max(lc, k*min(g.span(), max(256, (4<<20)/k)))
			}
		}
		if la > 0 {
			l.actv, l.col = make([]float32, la), make([]float32, lc)
			l.wino.v, l.wino.m = make([]float32, lv), make([]float32, lm)
			e.lane = l
		}
	}
	// The label-dependent branches (refresh) and the main path (trunk)
	// never run at the same time: the branches' mlp_shared activations
	// live in the main path's second feature-map buffer.
	nx = max(nx, nact)
	e.x[0] = make([]float32, nx)
	e.x[1] = make([]float32, nx)
	e.t = make([]float32, nt)
	e.dx = make([]float32, ndx)
	e.actv = e.x[1][:nact]
	e.col = make([]float32, ncol)
	e.cmp = make([]float32, ncmp)
	e.mean = make([]float32, nc)
	e.rstd = make([]float32, nc)
	e.edge = make([]bool, e.c.Height()*e.c.Width)
	if e.c.UseVAE {
		e.fcOut = make([]float32, len(e.fcB))
	}
	if e.c.StyleMod {
		for _, sp := range e.spades {
			e.abz = append(e.abz, make([]float32, 2*sp.C*e.scales[sp.scale].g.Plane))
			e.soff = make([]float32, max(len(e.soff), 2*sp.C))
		}
	}
}

// styled returns the modulations the main path reads: the item's own
// (A and B of the label map), or with StyleMod those plus the style
// code's per-channel offsets γ_z and β_z, in e.abz:
//
//	A' = (1+γ+γ_z)·rstd = A + γ_z·rstd,  B' = β + β_z − mean·A' = B + β_z − mean·γ_z·rstd
//
// (rstd = 1, mean = 0 for instance norm). The border stays zero, so that
// the modulated padding is still 0. One pass over every A and B per
// render: the label map's part stays cached, the style's is per-channel.
func (e *engine) styled(it *engItem, z []float32) [][]float32 {
	if !e.c.StyleMod {
		return it.ab
	}
	zd := e.c.ZDim
	for i, sp := range e.spades {
		C := sp.C
		g := e.scales[sp.scale].g
		off := e.soff[:2*C]
		engParallel(2*C, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				s := float64(sp.sb[o])
				for k, w := range sp.sw[o*zd : (o+1)*zd] {
					s += float64(w) * float64(z[k])
				}
				off[o] = float32(s)
			}
		})
		src, dst := it.ab[i], e.abz[i]
		engParallel(C, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				da, db := off[ch], off[C+ch]
				if sp.rstd != nil {
					da *= sp.rstd[ch]
					db -= sp.mean[ch] * da
				}
				for k, d := range [2]float32{da, db} {
					// The border of e.abz is never written: zero.
					p := (k*C + ch) * g.Plane
					for y := 0; y < g.H; y++ {
						q := p + g.pos(y, 0)
						s, t := src[q:q+g.W], dst[q:q+g.W]
						for x, v := range s {
							t[x] = v + d
						}
					}
				}
			}
		})
	}
	return e.abz
}

// item returns the state of batch item i, allocating its caches once.
func (e *engine) item(i int) *engItem {
	for len(e.items) <= i {
		it := &engItem{pending: make([]engRect, len(e.spades)+1)}
		for _, sp := range e.spades {
			it.ab = append(it.ab, make([]float32, 2*sp.C*e.scales[sp.scale].g.Plane))
		}
		for _, s := range e.scales {
			it.codes = append(it.codes, make([]uint16, s.g.H*s.g.W))
		}
		if !e.c.UseVAE {
			it.x0 = make([]float32, 16*e.c.NGF*e.scales[0].g.Plane)
		}
		e.items = append(e.items, it)
	}
	return e.items[i]
}

// dropCache forgets every item's labels, so the next render is cold.
func (e *engine) dropCache() {
	for _, it := range e.items {
		it.valid = false
	}
}

// generate renders labels with style codes z into a new image.
func (e *engine) generate(ctx context.Context, l *Labels, z []float32) (*Image, error) {
	c := e.c
	H, W := c.Height(), c.Width
	img := &Image{N: l.N, H: H, W: W, Pix: make([]float32, l.N*3*H*W)}
	if engBLASSerial != nil && !(engOwnGemm && engGemmKernel()) {
		defer engBLASSerial()()
	}
	for n := 0; n < l.N; n++ {
		it := e.item(n)
		e.setLabels(it, l, n)
		if err := e.refresh(ctx, it); err != nil {
			return nil, err
		}
		var zn []float32
		if c.UseVAE {
			zn = z[n*c.ZDim : (n+1)*c.ZDim]
		}
		if err := e.trunk(ctx, it, zn, img.Pix[n*3*H*W:(n+1)*3*H*W]); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// setLabels compares item n of l with the item's last labels and marks
// the box of changed pixels (grown by 1 with instance edges, which change
// around a changed id) pending in every label-dependent layer.
func (e *engine) setLabels(it *engItem, l *Labels, n int) {
	c := e.c
	H, W := l.H, l.W
	cls := l.Class[n*H*W : (n+1)*H*W]
	var inst []int32
	if c.Instance && l.Instance != nil {
		inst = l.Instance[n*H*W : (n+1)*H*W]
	}
	full := engRect{0, 0, W, H}
	var changed engRect
	if !it.valid || (inst == nil) != (it.inst == nil) {
		changed = full
	} else {
		for y := 0; y < H; y++ {
			a, b := cls[y*W:(y+1)*W], it.cls[y*W:(y+1)*W]
			var ia, ib []int32
			if inst != nil {
				ia, ib = inst[y*W:(y+1)*W], it.inst[y*W:(y+1)*W]
			}
			if bytes.Equal(a, b) && slices.Equal(ia, ib) {
				continue
			}
			x0, x1 := W, 0
			for x := 0; x < W; x++ {
				if a[x] != b[x] || (ia != nil && ia[x] != ib[x]) {
					x0, x1 = min(x0, x), x+1
				}
			}
			changed = changed.union(engRect{x0, y, x1, y + 1})
		}
		if c.Instance {
			changed = changed.dilate(1).clip(H, W)
		}
	}
	if changed.empty() {
		return
	}
	it.cls = append(it.cls[:0], cls...)
	if inst != nil {
		it.inst = append(it.inst[:0], inst...)
	} else {
		it.inst = nil
	}
	it.valid = true
	var edge []bool
	if c.Instance {
		edge = e.edge
		clear(edge)
		if inst != nil {
			engEdges(inst, H, W, edge)
		}
	}
	for si, s := range e.scales {
		codes := it.codes[si]
		for oy, sy := range s.ys {
			for ox, sx := range s.xs {
				src := sy*W + sx
				code := uint16(cls[src])
				if edge != nil {
					code <<= 1
					if edge[src] {
						code |= 1
					}
				}
				codes[oy*s.g.W+ox] = code
			}
		}
	}
	for i := range it.pending {
		it.pending[i] = it.pending[i].union(changed)
	}
}

// engEdges is edges without allocation: dst must be cleared.
func engEdges(inst []int32, h, w int, dst []bool) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if x+1 < w && inst[i] != inst[i+1] {
				dst[i], dst[i+1] = true, true
			}
			if y+1 < h && inst[i] != inst[i+w] {
				dst[i], dst[i+w] = true, true
			}
		}
	}
}

// scaleBox maps a box of the full-size label map to the pixels of scale s
// that read it through the nearest resize.
func (e *engine) scaleBox(r engRect, s int) engRect {
	sc := e.scales[s]
	y0 := sort.SearchInts(sc.ys, r.Y0)
	y1 := sort.SearchInts(sc.ys, r.Y1)
	x0 := sort.SearchInts(sc.xs, r.X0)
	x1 := sort.SearchInts(sc.xs, r.X1)
	return engRect{x0, y0, x1, y1}
}

// refresh brings every label-dependent layer of the item up to date with
// its labels. A cancelled context stops it between layers; the layers not
// done keep their pending boxes for the next render.
func (e *engine) refresh(ctx context.Context, it *engItem) error {
	run := func(i int, lane *engLane) error {
		r := it.pending[i]
		if r.empty() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sp := e.spades[i]
		g := e.scales[sp.scale].g
		box := e.scaleBox(r, sp.scale).dilate(2).clip(g.H, g.W)
		if !box.empty() {
			e.updateSpadeLane(it, i, box, lane)
		}
		it.pending[i] = engRect{}
		return nil
	}
	var small, large []int
	for i, sp := range e.spades {
		if e.lane != nil && e.inLane(sp) {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	if len(small) > 0 {
		// Two lanes take the small layers from a shared counter, each
		// with its own scratch.
		var next atomic.Int32
		var err1 error
		lanes := func(lane *engLane) error {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(small) {
					return nil
				}
				if err := run(small[k], lane); err != nil {
					return err
				}
			}
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			err1 = lanes(e.lane)
		}()
		err0 := lanes(nil)
		wg.Wait()
		if err := cmp.Or(err0, err1); err != nil {
			return err
		}
	}
	for _, i := range large {
		if err := run(i, nil); err != nil {
			return err
		}
	}
	if e.fcGather != nil {
		i := len(e.spades)
		if r := it.pending[i]; !r.empty() {
			g := e.scales[0].g
			box := e.scaleBox(r, 0).dilate(1).clip(g.H, g.W)
			if !box.empty() {
				e.fcGather.run(it.codes[0], g.H, g.W, box, it.x0, g.Plane, g.PW, g.pos(box.Y0, box.X0))
			}
			it.pending[i] = engRect{}
		}
	}
	return nil
}

// updateSpade recomputes A and B of SPADE layer i in box (at its scale).
func (e *engine) updateSpade(it *engItem, i int, box engRect) {
	e.updateSpadeLane(it, i, box, nil)
}

// updateSpadeLane is updateSpade on the scratch of lane (nil: lane 0).
func (e *engine) updateSpadeLane(it *engItem, i int, box engRect, lane *engLane) {
	actv, col, wino := e.actv, e.col, &e.wino
	if lane != nil {
		actv, col, wino = lane.actv, lane.col, &lane.wino
	}
	sp := e.spades[i]
	g := e.scales[sp.scale].g
	C := sp.C
	if 2*box.dx()*box.dy() > g.H*g.W {
		box = engRect{0, 0, g.W, g.H} // cheaper than a copy of most of the map
	}
	full := box == engRect{0, 0, g.W, g.H}
	sg := newEngGeom(box.dy(), box.dx()) // the box's own padded layout
	// mlp_shared over the box and a 1-pixel ring (zero outside the image).
	ts := time.Now()
	sp.shared.run(it.codes[sp.scale], g.H, g.W, box.dilate(1), actv, sg.Plane, sg.PW, 0)
	engTraceStep(sp.name+" gather", ts)
	ab := it.ab[i]
	if sp.wino != nil {
		winoConv(sg, sp.wino, actv, &winoOut{dst: ab, foldDstPlane: g.Plane, pw: g.PW, off: g.pos(box.Y0, box.X0),
			fold: true, foldC: C, mean: sp.mean, rstd: sp.rstd, foldB: sp.bgb}, wino, nil)
		return
	}
	out := ab
	if !full {
		// γ and β of a box go to the main path's first feature-map
		// buffer (free, as e.actv is), or where that is too small to a
		// buffer of their own.
		n := 2 * C * sg.Plane
		switch {
		case lane != nil:
			if cap(lane.out) < n {
				lane.out = make([]float32, n)
			}
			out = lane.out[:n]
		case n <= len(e.x[0]):
			out = e.x[0][:n]
		default:
			if cap(e.tmp) < n {
				e.tmp = make([]float32, n)
			}
			out = e.tmp[:n]
		}
	}
	engIm2colConv3(sg, sp.wgb[:], C, e.nh, 1, actv, 0, out, col)
	// Fold: A = (1+γ)·rstd, B = β − mean·A (batch norm), or A = 1+γ, B = β.
	engParallel(C, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			bg, bb := sp.bgb[ch], sp.bgb[C+ch]
			r, m := float32(1), float32(0)
			if sp.rstd != nil {
				r, m = sp.rstd[ch], sp.mean[ch]
			}
			for y := box.Y0; y < box.Y1; y++ {
				so := sg.pos(y-box.Y0, 0)
				do := g.pos(y, box.X0)
				gs := out[ch*sg.Plane+so : ch*sg.Plane+so+box.dx()]
				bs := out[(C+ch)*sg.Plane+so : (C+ch)*sg.Plane+so+box.dx()]
				ad := ab[ch*g.Plane+do : ch*g.Plane+do+box.dx()]
				bd := ab[(C+ch)*g.Plane+do : (C+ch)*g.Plane+do+box.dx()]
				for x := range gs {
					a := (1 + gs[x] + bg) * r
					ad[x] = a
					bd[x] = bs[x] + bb - m*a
				}
			}
			if full {
				g.finish(ab, nil, ch, ch+1)
				g.finish(ab, nil, C+ch, C+ch+1)
			}
		}
	})
}

// finish restores the zero border of channels [c0, c1) after a GEMM wrote
// its span (junk columns) and adds bias when given.
func (g engGeom) finish(buf, bias []float32, c0, c1 int) {
	for c := c0; c < c1; c++ {
		p := buf[c*g.Plane : (c+1)*g.Plane]
		clear(p[:g.origin()])
		clear(p[g.origin()+g.span():])
		var b float32
		if bias != nil {
			b = bias[c]
		}
		for y := 0; y < g.H; y++ {
			row := p[g.pos(y, 0) : g.pos(y, 0)+g.W+2]
			if bias != nil {
				for x := range row[:g.W] {
					row[x] += b
				}
			}
			row[g.W], row[g.W+1] = 0, 0
		}
	}
}

// conv3 runs a 3×3 conv of the main path: out = alpha·conv(in) + beta·out,
// then the bias and the border.
//
// With pre, the conv reads pre's modulation of in (lrelu(norm(in)·A+B)):
// fused into the Winograd input transform, or written to e.t first.
func (e *engine) conv3(g engGeom, cv *engConv, in []float32, pre *winoPre, beta float32, out []float32) {
	if cv.wino != nil {
		winoConv(g, cv.wino, in, &winoOut{dst: out, plane: g.Plane, pw: g.PW, off: g.origin(), bias: cv.bias, beta: beta}, &e.wino, pre)
		if beta == 0 {
			engParallel(cv.out, func(lo, hi int) { g.clearBorder(out, lo, hi) })
		}
		return
	}
	if cv.wino2 != nil {
		wino2Conv(g, cv.wino2, in, pre, cv.bias, beta, out, &e.wino)
		if beta == 0 {
			engParallel(cv.out, func(lo, hi int) { g.clearBorder(out, lo, hi) })
		}
		return
	}
	if pre != nil {
		engModulate(g, in, pre.ab, pre.C, pre.mean, pre.rstd, pre.relu, e.t)
		in = e.t
	}
	switch hw := g.H * g.W; {
	case cv.tap != nil:
		engShiftConv3(g, cv.tap, cv.out, cv.in, cv.alpha, in, beta, out)
	case 9*cv.in*hw <= len(e.col) && cv.out*hw <= len(e.cmp):
		engIm2colConv3Compact(g, cv.w, cv.out, cv.in, cv.alpha, in, beta, out, e.col, e.cmp)
	default:
		engIm2colConv3(g, [][]float32{cv.w}, cv.out, cv.in, cv.alpha, in, beta, out, e.col)
	}
	engParallel(cv.out, func(lo, hi int) { g.finish(out, cv.bias, lo, hi) })
}

// convS writes conv_s(norm_s(x)) (1×1, no bias) to out over the GEMM
// span. With the engine's own GEMM the modulation is done as B is packed;
// otherwise in chunks of input channels that fit e.t.
func (e *engine) convS(g engGeom, b *engBlock, x, ab, mean, rstd, out []float32) {
	cv, fin := b.convS, b.Fin
	o := g.origin()
	if engOwnGemm && engGemmKernel() {
		engParallel(engWorkers(), func(lo, hi int) {
			w := engWorkers()
			j0, j1 := g.span()*lo/w, g.span()*hi/w
			pack := func(dst []float32, k0, kc, p0, nc int) {
				for jp := 0; jp < nc; jp += gemmNR {
					nr := min(gemmNR, nc-jp)
					panel := dst[(jp/gemmNR)*kc*gemmNR : (jp/gemmNR+1)*kc*gemmNR]
					q := o + j0 + p0 + jp
					for kk := 0; kk < kc; kk++ {
						ch := k0 + kk
						xs := x[ch*g.Plane+q : ch*g.Plane+q+nr]
						as := ab[ch*g.Plane+q : ch*g.Plane+q+nr]
						bs := ab[(fin+ch)*g.Plane+q : (fin+ch)*g.Plane+q+nr]
						d := panel[kk*gemmNR : kk*gemmNR+gemmNR]
						if nr == 32 {
							// A full AVX-512 panel, as arrays: no bounds
							// checks (ADE20K's up_3 conv_s: 18 → 16 ms).
							xa, aa, ba, da := (*[32]float32)(xs), (*[32]float32)(as), (*[32]float32)(bs), (*[32]float32)(d)
							if mean == nil {
								for j := range da {
									da[j] = xa[j]*aa[j] + ba[j]
								}
							} else {
								m, r := mean[ch], rstd[ch]
								for j := range da {
									da[j] = (xa[j]-m)*r*aa[j] + ba[j]
								}
							}
							continue
						}
						if mean == nil {
							for j, v := range xs {
								d[j] = v*as[j] + bs[j]
							}
						} else {
							m, r := mean[ch], rstd[ch]
							for j, v := range xs {
								d[j] = (v-m)*r*as[j] + bs[j]
							}
						}
						clear(d[nr:])
					}
				}
			}
			engSgemmGoB(cv.out, j1-j0, fin, cv.alpha, cv.w, fin, pack, 0, out[o+j0:], g.Plane)
		})
		return
	}
	kc := min(fin, len(e.t)/g.Plane)
	for c0 := 0; c0 < fin; c0 += kc {
		c1 := min(fin, c0+kc)
		engModulateRange(g, x, ab, fin, c0, c1, mean, rstd, false, e.t)
		var beta float32
		if c0 > 0 {
			beta = 1
		}
		engPsgemm(cv.out, g.span(), c1-c0, cv.alpha, cv.w[c0:], fin, e.t[o:], g.Plane, beta, out[o:], g.Plane)
	}
}

// trunk runs the main path from z (or the cached fc output) with the
// item's cached modulations, writing the image [3, H, W] to dst.
func (e *engine) trunk(ctx context.Context, it *engItem, z []float32, dst []float32) error {
	c := e.c
	g0 := e.scales[0].g
	cur, other := e.x[0], e.x[1]
	C0 := 16 * c.NGF
	if c.UseVAE {
		engPsgemm(len(e.fcB), 1, c.ZDim, 1, e.fcW, c.ZDim, z, 1, 0, e.fcOut, 1)
		hw := g0.H * g0.W
		clear(cur[:C0*g0.Plane])
		for ch := 0; ch < C0; ch++ {
			for y := 0; y < g0.H; y++ {
				for x := 0; x < g0.W; x++ {
					j := ch*hw + y*g0.W + x
					cur[ch*g0.Plane+g0.pos(y, x)] = e.fcOut[j] + e.fcB[j]
				}
			}
		}
	} else {
		copy(cur, it.x0)
	}
	ab := e.styled(it, z)
	gPrev := g0
	for _, b := range e.blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		tb := time.Now()
		g := e.scales[b.scale].g
		if b.UpBefore {
			engParallel(b.Fin, func(lo, hi int) { engUpsample2(gPrev, g, cur, other, lo, hi) })
			cur, other = other, cur
		}
		gPrev = g
		var mean, rstd []float32
		if c.Norm == InstanceNorm {
			engPlaneStats(g, cur, b.Fin, e.mean, e.rstd)
			mean, rstd = e.mean, e.rstd
		}
		ts := engTraceStep(b.Name+" up/stats", tb)
		res, learned := cur, b.convS != nil
		if learned {
			e.convS(g, b, cur, ab[b.normS], mean, rstd, other)
			engParallel(b.Fout, func(lo, hi int) { g.finish(other, nil, lo, hi) })
			ts = engTraceStep(b.Name+" conv_s", ts)
			res = other
		}
		mid := min(b.Fin, b.Fout)
		e.conv3(g, b.conv0, cur, &winoPre{ab: ab[b.norm0], C: b.Fin, mean: mean, rstd: rstd, relu: true}, 0, e.dx)
		ts = engTraceStep(b.Name+" conv_0", ts)
		if c.Norm == InstanceNorm {
			engPlaneStats(g, e.dx, mid, e.mean, e.rstd)
		}
		e.conv3(g, b.conv1, e.dx, &winoPre{ab: ab[b.norm1], C: mid, mean: mean, rstd: rstd, relu: true}, 1, res)
		engTraceStep(b.Name+" conv_1", ts)
		if learned {
			cur, other = res, cur
		}
	}
	// out = tanh(conv_img(lrelu(x)))
	tf := time.Now()
	g := gPrev
	if e.convImg.direct != nil {
		e.convImgDirect(g, e.convImg, cur, dst)
		engTraceStep("final conv_img", tf)
		return nil
	}
	var pre *winoPre
	if e.convImg.wino != nil {
		pre = &winoPre{relu: true} // in the Winograd input transform
	} else {
		nf := finalNC(c)
		engParallel(nf, func(lo, hi int) {
			x := cur[lo*g.Plane : hi*g.Plane]
			for i, v := range x {
				x[i] = engLeaky(v)
			}
		})
		tf = engTraceStep("final lrelu", tf)
	}
	e.conv3(g, e.convImg, cur, pre, 0, e.dx)
	tf = engTraceStep("final conv_img", tf)
	defer engTraceStep("final tanh", tf)
	engParallel(3*g.H, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ch, y := r/g.H, r%g.H
			src := e.dx[ch*g.Plane+g.pos(y, 0) : ch*g.Plane+g.pos(y, 0)+g.W]
			d := dst[(ch*g.H+y)*g.W : (ch*g.H+y+1)*g.W]
			for x, v := range src {
				d[x] = float32(math.Tanh(float64(v)))
			}
		}
	})
	return nil
}

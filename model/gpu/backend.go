//go:build gpu

package gpu

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"gorgonia.org/cu"

	"spadepaint/model"
)

// Backend is a model's inference on a Device: it implements model.Backend.
//
// Generate mirrors the CPU engine's trunk (model/engine.go) on the device,
// NCHW planes without padding, one batch item at a time:
//
//   - label branch, per SPADE layer, when an item's labels change:
//     mlp_shared as a gather over the one-hot codes (gather3, ReLU),
//     mlp_gamma and mlp_beta as one im2col + GEMM (2C rows), folded with
//     the batch-norm statistics into A and B (spade_fold), kept on the
//     device; without a VAE also the first conv (a gather, no ReLU);
//   - main path at every render: fc(z) or the cached first conv, blocks
//     with nearest upsampling, instance-norm statistics, modulation +
//     leaky ReLU, convs as im2col + GEMM + bias, residual by GEMM with
//     beta 1, then leaky ReLU, conv_img and tanh.
//
// A render whose labels equal the item's last ones (a new style) runs the
// main path only; any change recomputes the item's whole label branch.
type Backend struct {
	mu     sync.Mutex
	d      *Device
	c      model.Config
	closed bool

	scales []model.Size
	spades []*spadeW
	blocks []*blockW
	nc1    int // gather table entries per tap: codes + the zero entry

	fcW, fcB devBuf // with a VAE: linear z → 16·ngf·sh·sw
	fcTab    devBuf // without: the first conv's gather table
	convImg  *convW

	enc          []*convW // style encoder convs (stride 2), nil without encoder
	encMu, encLV *convW   // fc_mu, fc_var: out = zdim, in = 8·ngf·16

	items []*itemState

	// With StyleMod: per SPADE layer, A and B plus the style code's
	// offsets (abz), and every layer's offsets, uploaded at once (soff).
	abz  []devBuf
	soff devBuf
	hoff []float32 // soff's values on the host, reused by every render

	// scratch, sized once for the largest layer
	x      [2]devBuf
	t, dx  devBuf
	actv   devBuf
	col    devBuf
	mean   devBuf
	rstd   devBuf
	z      devBuf
	encBuf [3]devBuf // input image, then two layer outputs in turn
	encOut devBuf    // μ then log-variance

	owned []devBuf // every buffer above (copies of the handles), freed by Close
}

// convW is a conv's (or linear layer's) effective weight on the device.
type convW struct {
	out, in, k int
	w          devBuf // [out][in·k·k], W_orig/σ for spectral norm
	bias       devBuf // n = 0 without bias
}

// spadeW is one SPADE layer's weights on the device.
type spadeW struct {
	name       string
	C, scale   int
	tab        devBuf // mlp_shared gather table [nhidden][9][nc1]
	wgb        devBuf // mlp_gamma then mlp_beta weights, [2C][nhidden·9]
	bgb        devBuf // their biases [2C]
	mean, rstd devBuf // batch-norm running mean and 1/sqrt(var+eps); n = 0 for instance norm
	// With StyleMod, on the host: the style modulation's weights [2C][z_dim]
	// (mlp_style_gamma's rows, then mlp_style_beta's) and biases [2C], times
	// StyleModGain, and
	// the batch-norm statistics to fold its offsets with (nil for
	// instance norm).
	sw, sb, hmean, hrstd []float32
}

type blockW struct {
	model.BackendBlock
	norm0, norm1, normS int // indices into spades; normS < 0 without learned shortcut
	conv0, conv1, convS *convW
}

// itemState is what one batch item keeps between renders on the device.
type itemState struct {
	valid bool
	cls   []uint8
	inst  []int32  // nil without instance map
	codes []devBuf // per scale, int32 codes
	ab    []devBuf // per SPADE layer: A in planes [0, C), B in [C, 2C)
	x0    devBuf   // without a VAE: the first conv of the labels
}

// NewBackend uploads the weights of m's generator (and style encoder) to d.
// Closing the Backend frees them; d stays open.
func NewBackend(d *Device, m *model.Model) (*Backend, error) {
	c := m.Config
	b := &Backend{d: d, c: c, scales: model.GeneratorScales(c), nc1: model.LabelCodeCount(c) + 1}
	err := d.do(func() error { return b.build(m) })
	if err != nil {
		d.do(func() error { b.freeAll(); return nil })
		return nil, fmt.Errorf("gpu backend for %s: %w", c.Name, err)
	}
	return b, nil
}

// alloc gives dst n values of new device memory, freed by Close.
func (b *Backend) alloc(dst *devBuf, n int) error {
	if err := b.d.ensure(dst, n); err != nil {
		return err
	}
	b.owned = append(b.owned, *dst)
	return nil
}

// put uploads v to new device memory in dst.
func (b *Backend) put(dst *devBuf, v []float32) error {
	if err := b.alloc(dst, len(v)); err != nil {
		return err
	}
	return upload(*dst, 0, v)
}

func (b *Backend) freeAll() {
	for i := range b.owned {
		b.d.free(&b.owned[i])
	}
	b.owned = nil
}

// gatherTable builds a 3×3 conv on the one-hot label map as the CPU
// engine's gather does: per output channel, tap and code, the weight of
// the code's class (plus the edge channel's on edges, plus the bias at
// the centre tap), and a zero entry for taps outside the map.
func gatherTable(c model.Config, w, bias []float32, nout int) []float32 {
	ncodes := model.LabelCodeCount(c)
	nc1 := ncodes + 1
	tab := make([]float32, nout*9*nc1)
	for o := 0; o < nout; o++ {
		for t := 0; t < 9; t++ {
			row := tab[(o*9+t)*nc1 : (o*9+t+1)*nc1]
			for code := 0; code < ncodes; code++ {
				row[code] = model.GatherEntry(c, w, bias, o, t, code)
			}
		}
	}
	return tab
}

func (b *Backend) conv(p model.Params, prefix string, sn, bias bool) (*convW, error) {
	w, shape, err := model.LayerWeight(p, prefix, sn)
	if err != nil {
		return nil, err
	}
	cv := &convW{out: shape[0], in: shape[1], k: 1}
	if len(shape) == 4 {
		if shape[2] != shape[3] {
			return nil, fmt.Errorf("%s: %d×%d kernel is not square", prefix, shape[2], shape[3])
		}
		cv.k = shape[2]
	}
	if err := b.put(&cv.w, w); err != nil {
		return nil, fmt.Errorf("upload %s: %w", prefix, err)
	}
	if bias {
		bv, err := p.F32(prefix + ".bias")
		if err != nil {
			return nil, err
		}
		if err := b.put(&cv.bias, bv); err != nil {
			return nil, fmt.Errorf("upload %s.bias: %w", prefix, err)
		}
	}
	return cv, nil
}

func (b *Backend) spade(g model.Params, prefix string, C, scale int) (int, error) {
	c := b.c
	sp := &spadeW{name: prefix, C: C, scale: scale}
	ws, err := g.F32(prefix + ".mlp_shared.0.weight")
	if err != nil {
		return 0, err
	}
	bs, err := g.F32(prefix + ".mlp_shared.0.bias")
	if err != nil {
		return 0, err
	}
	if err := b.put(&sp.tab, gatherTable(c, ws, bs, c.NHidden)); err != nil {
		return 0, fmt.Errorf("upload %s.mlp_shared: %w", prefix, err)
	}
	var wgb, bgb []float32
	for _, name := range []string{"mlp_gamma", "mlp_beta"} {
		w, err := g.F32(prefix + "." + name + ".weight")
		if err != nil {
			return 0, err
		}
		bv, err := g.F32(prefix + "." + name + ".bias")
		if err != nil {
			return 0, err
		}
		if len(w) != C*c.NHidden*9 || len(bv) != C {
			return 0, fmt.Errorf("%s.%s: %d weights and %d biases, want %d and %d", prefix, name, len(w), len(bv), C*c.NHidden*9, C)
		}
		wgb = append(wgb, w...)
		bgb = append(bgb, bv...)
	}
	if err := b.put(&sp.wgb, wgb); err != nil {
		return 0, fmt.Errorf("upload %s.mlp_gamma/beta: %w", prefix, err)
	}
	if err := b.put(&sp.bgb, bgb); err != nil {
		return 0, fmt.Errorf("upload %s.mlp_gamma/beta bias: %w", prefix, err)
	}
	if c.Norm == model.BatchNorm {
		mean, err := g.F32(prefix + ".param_free_norm.running_mean")
		if err != nil {
			return 0, err
		}
		v, err := g.F32(prefix + ".param_free_norm.running_var")
		if err != nil {
			return 0, err
		}
		rstd := make([]float32, len(v))
		for i := range rstd {
			rstd[i] = float32(1 / math.Sqrt(float64(v[i])+model.NormEps))
		}
		if err := b.put(&sp.mean, mean); err != nil {
			return 0, err
		}
		if err := b.put(&sp.rstd, rstd); err != nil {
			return 0, err
		}
		sp.hmean, sp.hrstd = mean, rstd
	}
	if c.StyleMod {
		if sp.sw, sp.sb, err = model.StyleModWeights(g, prefix); err != nil {
			return 0, err
		}
	}
	b.spades = append(b.spades, sp)
	return len(b.spades) - 1, nil
}

// build uploads the weights and sizes the scratch buffers (on the device
// goroutine).
func (b *Backend) build(m *model.Model) error {
	c := b.c
	g := m.G
	var err error
	for _, blk := range model.GeneratorBlocks(c) {
		bw := &blockW{BackendBlock: blk, normS: -1}
		if blk.Fin != blk.Fout {
			if bw.normS, err = b.spade(g, blk.Name+".norm_s", blk.Fin, blk.Scale); err != nil {
				return err
			}
			if bw.convS, err = b.conv(g, blk.Name+".conv_s", true, false); err != nil {
				return err
			}
		}
		mid := min(blk.Fin, blk.Fout)
		if bw.norm0, err = b.spade(g, blk.Name+".norm_0", blk.Fin, blk.Scale); err != nil {
			return err
		}
		if bw.norm1, err = b.spade(g, blk.Name+".norm_1", mid, blk.Scale); err != nil {
			return err
		}
		if bw.conv0, err = b.conv(g, blk.Name+".conv_0", true, true); err != nil {
			return err
		}
		if bw.conv1, err = b.conv(g, blk.Name+".conv_1", true, true); err != nil {
			return err
		}
		b.blocks = append(b.blocks, bw)
	}
	if b.convImg, err = b.conv(g, "conv_img", false, true); err != nil {
		return err
	}
	fw, err := g.F32("fc.weight")
	if err != nil {
		return err
	}
	fb, err := g.F32("fc.bias")
	if err != nil {
		return err
	}
	if c.UseVAE {
		if err := b.put(&b.fcW, fw); err != nil {
			return fmt.Errorf("upload fc: %w", err)
		}
		if err := b.put(&b.fcB, fb); err != nil {
			return fmt.Errorf("upload fc.bias: %w", err)
		}
	} else if err := b.put(&b.fcTab, gatherTable(c, fw, fb, 16*c.NGF)); err != nil {
		return fmt.Errorf("upload fc: %w", err)
	}
	if m.HasEncoder() {
		for i := range model.EncoderWidths(c) {
			cv, err := b.conv(m.E, fmt.Sprintf("layer%d.0", i+1), true, false)
			if err != nil {
				return fmt.Errorf("encoder: %w", err)
			}
			b.enc = append(b.enc, cv)
		}
		if b.encMu, err = b.conv(m.E, "fc_mu", false, true); err != nil {
			return fmt.Errorf("encoder: %w", err)
		}
		if b.encLV, err = b.conv(m.E, "fc_var", false, true); err != nil {
			return fmt.Errorf("encoder: %w", err)
		}
	}
	return b.allocScratch()
}

// allocScratch sizes the shared buffers for the largest layer using each.
func (b *Backend) allocScratch() error {
	c := b.c
	s0 := b.scales[0]
	nx := 16 * c.NGF * s0.H * s0.W
	var nt, ndx, ncol, nact, nc int
	nc = 16 * c.NGF
	for _, bl := range b.blocks {
		s := b.scales[bl.Scale]
		hw := s.H * s.W
		mid := min(bl.Fin, bl.Fout)
		nx = max(nx, max(bl.Fin, bl.Fout)*hw)
		nt = max(nt, bl.Fin*hw)
		ndx = max(ndx, mid*hw)
		ncol = max(ncol, 9*bl.Fin*hw, 9*mid*hw)
		nc = max(nc, bl.Fin, bl.Fout)
	}
	for _, sp := range b.spades {
		s := b.scales[sp.scale]
		ncol = max(ncol, 9*c.NHidden*s.H*s.W)
		nact = max(nact, c.NHidden*s.H*s.W)
	}
	last := b.scales[len(b.scales)-1]
	ndx = max(ndx, 3*last.H*last.W)
	ncol = max(ncol, 9*model.FinalNC(c)*last.H*last.W)
	if len(b.enc) > 0 {
		s := c.EncoderSize()
		in := 3
		nenc := 3 * s * s
		for _, cv := range b.enc {
			s = (s+2-cv.k)/2 + 1
			ncol = max(ncol, cv.in*cv.k*cv.k*s*s)
			nenc = max(nenc, cv.out*s*s)
			nc = max(nc, cv.out)
			in = cv.out
		}
		feat := in * s * s
		if c.EncoderStats {
			feat += model.EncoderStatsLen // uploaded after the last map
		}
		if feat != b.encMu.in {
			return fmt.Errorf("encoder: last layer gives %d values, fc_mu takes %d", feat, b.encMu.in)
		}
		nenc = max(nenc, feat)
		for i := range b.encBuf {
			if err := b.alloc(&b.encBuf[i], nenc); err != nil {
				return err
			}
		}
		if err := b.alloc(&b.encOut, 2*c.ZDim); err != nil {
			return err
		}
	}
	for _, a := range []struct {
		p *devBuf
		n int
	}{{&b.x[0], nx}, {&b.x[1], nx}, {&b.t, nt}, {&b.dx, ndx}, {&b.actv, nact}, {&b.col, ncol},
		{&b.mean, nc}, {&b.rstd, nc}, {&b.z, max(c.ZDim, 1)}} {
		if err := b.alloc(a.p, a.n); err != nil {
			return err
		}
	}
	if c.StyleMod {
		n := 0
		b.abz = make([]devBuf, len(b.spades))
		for i, sp := range b.spades {
			s := b.scales[sp.scale]
			if err := b.alloc(&b.abz[i], 2*sp.C*s.H*s.W); err != nil {
				return err
			}
			n += 2 * sp.C
		}
		if err := b.alloc(&b.soff, n); err != nil {
			return err
		}
	}
	return nil
}

// styled returns the modulations the main path reads: the item's A and
// B, or with StyleMod those plus the style code's per-channel offsets in
// b.abz, as the CPU engine's styled: A' = A + γ_z·rstd, B' = B + β_z −
// mean·γ_z·rstd. The offsets (a few thousand multiply-adds per layer)
// are computed on the host and uploaded at once; the planes are a copy
// and add_bias.
func (b *Backend) styled(it *itemState, z []float32) ([]devBuf, error) {
	if !b.c.StyleMod {
		return it.ab, nil
	}
	zd := b.c.ZDim
	if len(b.hoff) != b.soff.n {
		b.hoff = make([]float32, b.soff.n)
	}
	at := 0
	for _, sp := range b.spades {
		C := sp.C
		o := b.hoff[at : at+2*C]
		at += 2 * C
		for r := range o {
			s := float64(sp.sb[r])
			for k, w := range sp.sw[r*zd : (r+1)*zd] {
				s += float64(w) * float64(z[k])
			}
			o[r] = float32(s)
		}
		if sp.hrstd != nil {
			for ch := 0; ch < C; ch++ {
				o[ch] *= sp.hrstd[ch]
				o[C+ch] -= sp.hmean[ch] * o[ch]
			}
		}
	}
	if err := upload(b.soff, 0, b.hoff); err != nil {
		return nil, err
	}
	at = 0
	for i, sp := range b.spades {
		s := b.scales[sp.scale]
		hw := s.H * s.W
		if err := cu.MemcpyDtoD(b.abz[i].ptr, it.ab[i].ptr, int64(4*2*sp.C*hw)); err != nil {
			return nil, fmt.Errorf("%s style: %w", sp.name, err)
		}
		if err := b.d.launchN(b.d.k.addBias, 2*sp.C*hw, b.abz[i].ptr, 2*sp.C, hw, b.soff.at(at)); err != nil {
			return nil, fmt.Errorf("%s style: %w", sp.name, err)
		}
		at += 2 * sp.C
	}
	return b.abz, nil
}

// Device names the GPU.
func (b *Backend) Device() string { return b.d.Name() + " (CUDA)" }

// DropCache forgets every item's labels: the next render recomputes the
// label branch.
func (b *Backend) DropCache() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, it := range b.items {
		it.valid = false
	}
}

// Close frees the backend's device memory; the Device stays open.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	err := b.d.do(func() error { b.freeAll(); return nil })
	if err == ErrClosed {
		return nil // the context, and its memory, are gone already
	}
	return err
}

// item returns batch item n's state, allocating its device buffers once
// (on the device goroutine).
func (b *Backend) item(n int) (*itemState, error) {
	for len(b.items) <= n {
		it := &itemState{codes: make([]devBuf, len(b.scales)), ab: make([]devBuf, len(b.spades))}
		for i, s := range b.scales {
			if err := b.alloc(&it.codes[i], s.H*s.W); err != nil {
				return nil, err
			}
		}
		for i, sp := range b.spades {
			s := b.scales[sp.scale]
			if err := b.alloc(&it.ab[i], 2*sp.C*s.H*s.W); err != nil {
				return nil, err
			}
		}
		if !b.c.UseVAE {
			s0 := b.scales[0]
			if err := b.alloc(&it.x0, 16*b.c.NGF*s0.H*s0.W); err != nil {
				return nil, err
			}
		}
		b.items = append(b.items, it)
	}
	return b.items[n], nil
}

// sameLabels says whether item n of l equals the labels the item holds.
func (b *Backend) sameLabels(it *itemState, l *model.Labels, n int) bool {
	if !it.valid {
		return false
	}
	hw := l.H * l.W
	if !bytes.Equal(it.cls, l.Class[n*hw:(n+1)*hw]) {
		return false
	}
	var inst []int32
	if b.c.Instance && l.Instance != nil {
		inst = l.Instance[n*hw : (n+1)*hw]
	}
	return (inst == nil) == (it.inst == nil) && slices.Equal(inst, it.inst)
}

// Generate renders labels with style codes z on the device.
func (b *Backend) Generate(ctx context.Context, l *model.Labels, z []float32) (*model.Image, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	c := b.c
	if l.H != c.Height() || l.W != c.Width || len(l.Class) != l.N*l.H*l.W {
		return nil, fmt.Errorf("gpu: labels %d×%d×%d do not fit the model's %d×%d", l.N, l.W, l.H, c.Width, c.Height())
	}
	if c.UseVAE && len(z) != l.N*c.ZDim {
		return nil, fmt.Errorf("gpu: style code has %d values, want %d", len(z), l.N*c.ZDim)
	}
	H, W := l.H, l.W
	img := &model.Image{N: l.N, H: H, W: W, Pix: make([]float32, l.N*3*H*W)}
	for n := 0; n < l.N; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var it *itemState
		if err := b.d.do(func() (err error) { it, err = b.item(n); return err }); err != nil {
			return nil, err
		}
		var codes [][]int32
		if !b.sameLabels(it, l, n) {
			codes = model.LabelCodes(c, l, n, b.scales)
			it.valid = false
			it.cls = append(it.cls[:0], l.Class[n*H*W:(n+1)*H*W]...)
			it.inst = nil
			if c.Instance && l.Instance != nil {
				it.inst = append([]int32(nil), l.Instance[n*H*W:(n+1)*H*W]...)
			}
		}
		var zn []float32
		if c.UseVAE {
			zn = z[n*c.ZDim : (n+1)*c.ZDim]
		}
		dst := img.Pix[n*3*H*W : (n+1)*3*H*W]
		err := b.d.do(func() error {
			if codes != nil {
				if err := b.labelBranch(it, codes); err != nil {
					return err
				}
			}
			return b.trunk(ctx, it, zn, dst)
		})
		if err != nil {
			return nil, err
		}
		if codes != nil {
			it.valid = true
		}
	}
	return img, nil
}

// labelBranch recomputes every SPADE layer's A and B (and the first conv
// without a VAE) for the item's new codes.
func (b *Backend) labelBranch(it *itemState, codes [][]int32) error {
	d, c := b.d, b.c
	for i := range b.scales {
		if err := upload(it.codes[i], 0, codes[i]); err != nil {
			return fmt.Errorf("upload labels: %w", err)
		}
	}
	nh := c.NHidden
	for i, sp := range b.spades {
		s := b.scales[sp.scale]
		hw := s.H * s.W
		if err := d.launch(d.k.gather3, (hw+255)/256, nh, 1, 256, it.codes[sp.scale].ptr, s.H, s.W, sp.tab.ptr, b.nc1, 1, b.actv.ptr); err != nil {
			return fmt.Errorf("%s: %w", sp.name, err)
		}
		if err := d.launchN(d.k.im2col, nh*9*hw, b.actv.ptr, nh, s.H, s.W, 3, 3, 1, 1, s.H, s.W, b.col.ptr); err != nil {
			return fmt.Errorf("%s: %w", sp.name, err)
		}
		ab := it.ab[i]
		if err := d.gemm(false, false, 2*sp.C, hw, nh*9, 1, sp.wgb.ptr, nh*9, b.col.ptr, hw, 0, ab.ptr, hw); err != nil {
			return fmt.Errorf("%s: %w", sp.name, err)
		}
		if err := d.launchN(d.k.spadeFold, sp.C*hw, ab.ptr, sp.C, hw, sp.bgb.ptr, ptrOf(sp.mean), ptrOf(sp.rstd)); err != nil {
			return fmt.Errorf("%s: %w", sp.name, err)
		}
	}
	if !c.UseVAE {
		s := b.scales[0]
		if err := d.launch(d.k.gather3, (s.H*s.W+255)/256, 16*c.NGF, 1, 256, it.codes[0].ptr, s.H, s.W, b.fcTab.ptr, b.nc1, 0, it.x0.ptr); err != nil {
			return fmt.Errorf("fc: %w", err)
		}
	}
	return nil
}

// ptrOf is a buffer's address, 0 for an absent one.
func ptrOf(b devBuf) cu.DevicePtr {
	if b.n == 0 {
		return 0
	}
	return b.ptr
}

// conv3 is out = conv(in) (+ beta·out) + bias for a k×k conv with padding
// k/2 and stride 1 on an h×w map, as im2col + GEMM.
func (b *Backend) conv3(cv *convW, in cu.DevicePtr, h, w int, beta float32, out cu.DevicePtr) error {
	d := b.d
	hw := h * w
	kk := cv.in * cv.k * cv.k
	src := in
	if cv.k != 1 {
		if err := d.launchN(d.k.im2col, kk*hw, in, cv.in, h, w, cv.k, cv.k, 1, cv.k/2, h, w, b.col.ptr); err != nil {
			return err
		}
		src = b.col.ptr
	}
	if err := d.gemm(false, false, cv.out, hw, kk, 1, cv.w.ptr, kk, src, hw, beta, out, hw); err != nil {
		return err
	}
	if cv.bias.n > 0 {
		return d.launchN(d.k.addBias, cv.out*hw, out, cv.out, hw, cv.bias.ptr)
	}
	return nil
}

// trunk runs the main path for one item and downloads the image [3, H, W]
// into dst.
func (b *Backend) trunk(ctx context.Context, it *itemState, z []float32, dst []float32) error {
	d, c := b.d, b.c
	slope := float32(model.LeakySlope)
	eps := float32(model.NormEps)
	s0 := b.scales[0]
	C0 := 16 * c.NGF
	cur, other := b.x[0], b.x[1]
	if c.UseVAE {
		if err := upload(b.z, 0, z); err != nil {
			return err
		}
		n := C0 * s0.H * s0.W
		if err := d.gemm(false, false, n, 1, c.ZDim, 1, b.fcW.ptr, c.ZDim, b.z.ptr, 1, 0, cur.ptr, 1); err != nil {
			return fmt.Errorf("fc: %w", err)
		}
		if err := d.launchN(d.k.addBias, n, cur.ptr, n, 1, b.fcB.ptr); err != nil {
			return fmt.Errorf("fc: %w", err)
		}
	} else if err := cu.MemcpyDtoD(cur.ptr, it.x0.ptr, int64(4*C0*s0.H*s0.W)); err != nil {
		return fmt.Errorf("fc: %w", err)
	}
	ab, err := b.styled(it, z)
	if err != nil {
		return err
	}
	prev := s0
	for _, bl := range b.blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := b.scales[bl.Scale]
		hw := s.H * s.W
		if bl.UpBefore {
			if err := d.launchN(d.k.upsample2, bl.Fin*hw, cur.ptr, bl.Fin, prev.H, prev.W, other.ptr); err != nil {
				return fmt.Errorf("%s: %w", bl.Name, err)
			}
			cur, other = other, cur
		}
		prev = s
		var mean, rstd cu.DevicePtr
		if c.Norm == model.InstanceNorm {
			if err := d.launch(d.k.planeStats, bl.Fin, 1, 1, 256, cur.ptr, hw, eps, b.mean.ptr, b.rstd.ptr); err != nil {
				return fmt.Errorf("%s: %w", bl.Name, err)
			}
			mean, rstd = b.mean.ptr, b.rstd.ptr
		}
		res, learned := cur, bl.convS != nil
		if learned {
			if err := d.launchN(d.k.modulate, bl.Fin*hw, cur.ptr, ab[bl.normS].ptr, bl.Fin, hw, mean, rstd, 0, slope, b.t.ptr); err != nil {
				return fmt.Errorf("%s norm_s: %w", bl.Name, err)
			}
			if err := b.conv3(bl.convS, b.t.ptr, s.H, s.W, 0, other.ptr); err != nil {
				return fmt.Errorf("%s conv_s: %w", bl.Name, err)
			}
			res = other
		}
		mid := min(bl.Fin, bl.Fout)
		if err := d.launchN(d.k.modulate, bl.Fin*hw, cur.ptr, ab[bl.norm0].ptr, bl.Fin, hw, mean, rstd, 1, slope, b.t.ptr); err != nil {
			return fmt.Errorf("%s norm_0: %w", bl.Name, err)
		}
		if err := b.conv3(bl.conv0, b.t.ptr, s.H, s.W, 0, b.dx.ptr); err != nil {
			return fmt.Errorf("%s conv_0: %w", bl.Name, err)
		}
		if c.Norm == model.InstanceNorm {
			if err := d.launch(d.k.planeStats, mid, 1, 1, 256, b.dx.ptr, hw, eps, b.mean.ptr, b.rstd.ptr); err != nil {
				return fmt.Errorf("%s: %w", bl.Name, err)
			}
		}
		if err := d.launchN(d.k.modulate, mid*hw, b.dx.ptr, ab[bl.norm1].ptr, mid, hw, mean, rstd, 1, slope, b.t.ptr); err != nil {
			return fmt.Errorf("%s norm_1: %w", bl.Name, err)
		}
		if err := b.conv3(bl.conv1, b.t.ptr, s.H, s.W, 1, res.ptr); err != nil {
			return fmt.Errorf("%s conv_1: %w", bl.Name, err)
		}
		if learned {
			cur, other = res, cur
		}
	}
	hw := prev.H * prev.W
	if err := d.launchN(d.k.leaky, model.FinalNC(c)*hw, cur.ptr, model.FinalNC(c)*hw, slope); err != nil {
		return fmt.Errorf("final lrelu: %w", err)
	}
	if err := b.conv3(b.convImg, cur.ptr, prev.H, prev.W, 0, b.dx.ptr); err != nil {
		return fmt.Errorf("conv_img: %w", err)
	}
	if err := d.launchN(d.k.tanh, 3*hw, b.dx.ptr, 3*hw); err != nil {
		return fmt.Errorf("tanh: %w", err)
	}
	if err := d.sync(); err != nil {
		return err
	}
	return download(dst, b.dx, 0)
}

// Encode runs the style encoder on the device: μ and log-variance
// [N, z_dim] of style images, resized as model.Model.Encode does.
func (b *Backend) Encode(ctx context.Context, style *model.Image) (mu, logvar []float32, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nil, ErrClosed
	}
	if len(b.enc) == 0 {
		return nil, nil, model.ErrNoEncoder
	}
	c := b.c
	zd := c.ZDim
	mu = make([]float32, style.N*zd)
	logvar = make([]float32, style.N*zd)
	for n := 0; n < style.N; n++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		in := model.EncoderInput(c, style, n)
		err := b.d.do(func() error {
			return b.encode(in, mu[n*zd:(n+1)*zd], logvar[n*zd:(n+1)*zd])
		})
		if err != nil {
			return nil, nil, fmt.Errorf("encoder: %w", err)
		}
	}
	return mu, logvar, nil
}

// encode runs the encoder on one resized image [3, S, S]: stride-2 3×3
// convs, each followed by instance norm (no affine) and leaky ReLU, then
// fc_mu and fc_var on the flattened last map.
func (b *Backend) encode(in, mu, logvar []float32) error {
	d := b.d
	slope := float32(model.LeakySlope)
	eps := float32(model.NormEps)
	s := b.c.EncoderSize()
	if err := upload(b.encBuf[0], 0, in); err != nil {
		return err
	}
	x := b.encBuf[0]
	for i, cv := range b.enc {
		pad := cv.k / 2
		os := (s+2*pad-cv.k)/2 + 1
		ohw := os * os
		kk := cv.in * cv.k * cv.k
		if err := d.launchN(d.k.im2col, kk*ohw, x.ptr, cv.in, s, s, cv.k, cv.k, 2, pad, os, os, b.col.ptr); err != nil {
			return fmt.Errorf("layer%d: %w", i+1, err)
		}
		y := b.encBuf[1+i%2]
		if err := d.gemm(false, false, cv.out, ohw, kk, 1, cv.w.ptr, kk, b.col.ptr, ohw, 0, y.ptr, ohw); err != nil {
			return fmt.Errorf("layer%d: %w", i+1, err)
		}
		if err := d.launch(d.k.planeStats, cv.out, 1, 1, 256, y.ptr, ohw, eps, b.mean.ptr, b.rstd.ptr); err != nil {
			return fmt.Errorf("layer%d: %w", i+1, err)
		}
		if err := d.launchN(d.k.normApply, cv.out*ohw, y.ptr, cv.out, ohw, b.mean.ptr, b.rstd.ptr, 1, slope); err != nil {
			return fmt.Errorf("layer%d: %w", i+1, err)
		}
		x, s = y, os
	}
	var st [model.EncoderStatsLen]float32
	if b.c.EncoderStats {
		// The colour statistics of the input, after the flattened map.
		b.c.ColourStats(in, st[:])
		if err := upload(x, b.encMu.in-model.EncoderStatsLen, st[:]); err != nil {
			return err
		}
	}
	zd := b.c.ZDim
	for k, fc := range []*convW{b.encMu, b.encLV} {
		out := b.encOut.at(k * zd)
		if err := d.gemm(false, false, zd, 1, fc.in, 1, fc.w.ptr, fc.in, x.ptr, 1, 0, out, 1); err != nil {
			return err
		}
		if err := d.launchN(d.k.addBias, zd, out, zd, 1, fc.bias.ptr); err != nil {
			return err
		}
	}
	if err := d.sync(); err != nil {
		return err
	}
	if err := download(mu, b.encOut, 0); err != nil {
		return err
	}
	if err := download(logvar, b.encOut, zd); err != nil {
		return err
	}
	b.c.StatsCode(st[:], mu, logvar)
	return nil
}

var _ model.Backend = (*Backend)(nil)

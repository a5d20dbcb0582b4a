package eval

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"math/rand"
	"runtime"
	"strconv"
	"sync"

	"github.com/disintegration/imaging"
	"gonum.org/v1/gonum/blas"

	"spadepaint/model/nd"
	"spadepaint/model/safetensors"
)

// SegConfig shapes a segmentation network.
//
// The network is a small U-Net: five 3×3 convolutions with ReLU, the first
// at the input size and each next one halving it (Size → Size/16), then
// three decoder stages that upsample ×2 (nearest), concatenate the encoder
// features of that size and apply a 3×3 convolution with ReLU, and a 1×1
// head giving class scores at Size/2. The photo is resized to Size×Size
// (area filter); the scores are resized bilinearly to the label map's size
// before the arg max.
type SegConfig struct {
	// Classes is the number of label classes.
	Classes int `json:"classes"`
	// Size is the side of the square input (a multiple of 16).
	Size int `json:"size"`
	// Widths are the channels of the five encoder convolutions; the
	// decoder stages mirror Widths[3], Widths[2], Widths[1].
	Widths [5]int `json:"widths"`
}

// DefaultSegConfig is the shipped network's shape for the 16 landscape
// classes: about 90k parameters, 128² input, 64² output.
func DefaultSegConfig(classes int) SegConfig {
	return SegConfig{Classes: classes, Size: 128, Widths: [5]int{16, 24, 32, 48, 64}}
}

// Validate reports the first inconsistency.
func (c SegConfig) Validate() error {
	if c.Classes < 2 || c.Classes > 256 {
		return fmt.Errorf("seg config: %d classes, want 2..256", c.Classes)
	}
	if c.Size < 16 || c.Size%16 != 0 {
		return fmt.Errorf("seg config: size %d is not a positive multiple of 16", c.Size)
	}
	for i, w := range c.Widths {
		if w < 1 {
			return fmt.Errorf("seg config: width %d is %d", i, w)
		}
	}
	return nil
}

// OutSize is the side of the score maps (Size/2).
func (c SegConfig) OutSize() int { return c.Size / 2 }

// conv is one convolution layer: k×k (1 or 3), stride 1 or 2, zero
// padding k/2, with bias. Its weights are [outC, inC·k·k], row-major as
// PyTorch's [outC, inC, k, k].
type conv struct {
	name              string
	inC, outC, k, s   int
	inH, inW          int // input size
	outH, outW        int
	wOff, bOff, nPars int // offsets into the flat parameter vector
}

func (l *conv) kdim() int     { return l.inC * l.k * l.k }
func (l *conv) outN() int     { return l.outH * l.outW }
func (l *conv) usesCol() bool { return !(l.k == 1 && l.s == 1) }

// SegNet is a segmentation network with its weights. Its methods are
// safe for concurrent use.
type SegNet struct {
	Config SegConfig
	// Params holds every weight and bias, layer after layer.
	Params []float32
	layers []conv // c1..c5, d4, d3, d2, head
	// Meta is free-form metadata saved with the weights (training run).
	Meta map[string]string

	pool sync.Pool // *segWork
}

// layer indices
const (
	lC1 = iota
	lC2
	lC3
	lC4
	lC5
	lD4
	lD3
	lD2
	lHead
	nLayers
)

var layerNames = [nLayers]string{"c1", "c2", "c3", "c4", "c5", "d4", "d3", "d2", "head"}

func buildLayers(c SegConfig) ([]conv, int) {
	w, s := c.Widths, c.Size
	type spec struct{ in, out, k, st, size int }
	specs := [nLayers]spec{
		{3, w[0], 3, 1, s},
		{w[0], w[1], 3, 2, s},
		{w[1], w[2], 3, 2, s / 2},
		{w[2], w[3], 3, 2, s / 4},
		{w[3], w[4], 3, 2, s / 8},
		{w[4] + w[3], w[3], 3, 1, s / 8},
		{w[3] + w[2], w[2], 3, 1, s / 4},
		{w[2] + w[1], w[1], 3, 1, s / 2},
		{w[1], c.Classes, 1, 1, s / 2},
	}
	ls := make([]conv, nLayers)
	off := 0
	for i, sp := range specs {
		o := (sp.size+2*(sp.k/2)-sp.k)/sp.st + 1
		l := conv{name: layerNames[i], inC: sp.in, outC: sp.out, k: sp.k, s: sp.st,
			inH: sp.size, inW: sp.size, outH: o, outW: o}
		l.wOff = off
		l.bOff = off + l.outC*l.kdim()
		l.nPars = l.outC*l.kdim() + l.outC
		off += l.nPars
		ls[i] = l
	}
	return ls, off
}

// NewSegNet makes a network with He-initialised weights drawn from seed.
func NewSegNet(c SegConfig, seed int64) (*SegNet, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ls, n := buildLayers(c)
	net := &SegNet{Config: c, Params: make([]float32, n), layers: ls, Meta: map[string]string{}}
	rng := rand.New(rand.NewSource(seed))
	for i, l := range ls {
		std := math.Sqrt(2 / float64(l.kdim()))
		if i == lHead {
			std = math.Sqrt(1 / float64(l.kdim()))
		}
		w := net.Params[l.wOff:l.bOff]
		for j := range w {
			w[j] = float32(rng.NormFloat64() * std)
		}
	}
	return net, nil
}

// NumParams is the number of weights.
func (n *SegNet) NumParams() int { return len(n.Params) }

// segWork holds one sample's activations and gradients.
type segWork struct {
	x    []float32    // [3, S, S]
	act  [][]float32  // each layer's output (after ReLU but for the head)
	cat  [3][]float32 // decoder inputs: [up(prev), skip]
	col  [][]float32  // each layer's im2col matrix
	dact [][]float32
	dcat [3][]float32
	dcol []float32 // shared, largest
	tmp  []float32 // an encoder input gradient
	grad []float32 // parameter gradients, same layout as Params
}

func (n *SegNet) work() *segWork {
	if w, ok := n.pool.Get().(*segWork); ok {
		return w
	}
	s := n.Config.Size
	w := &segWork{x: make([]float32, 3*s*s)}
	maxCol := 0
	for i := range n.layers {
		l := &n.layers[i]
		w.act = append(w.act, make([]float32, l.outC*l.outN()))
		w.dact = append(w.dact, make([]float32, l.outC*l.outN()))
		var col []float32
		if l.usesCol() {
			col = make([]float32, l.kdim()*l.outN())
		}
		w.col = append(w.col, col)
		maxCol = max(maxCol, l.kdim()*l.outN())
	}
	for i, li := range []int{lD4, lD3, lD2} {
		l := &n.layers[li]
		w.cat[i] = make([]float32, l.inC*l.inH*l.inW)
		w.dcat[i] = make([]float32, l.inC*l.inH*l.inW)
	}
	w.dcol = make([]float32, maxCol)
	w.tmp = make([]float32, len(w.act[lC1]))
	return w
}

// im2col lays out the k×k patches of in [c, h, w] (stride s, zero
// padding k/2) as rows of col [c·k·k, ho·wo].
func im2col(in []float32, c, h, w, k, s, ho, wo int, col []float32) {
	p := k / 2
	n := ho * wo
	for ci := 0; ci < c; ci++ {
		plane := in[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				row := col[((ci*k+ky)*k+kx)*n : ((ci*k+ky)*k+kx+1)*n]
				for oy := 0; oy < ho; oy++ {
					iy := oy*s + ky - p
					dst := row[oy*wo : (oy+1)*wo]
					if iy < 0 || iy >= h {
						clear(dst)
						continue
					}
					src := plane[iy*w : (iy+1)*w]
					if s == 1 {
						for ox := range dst {
							ix := ox + kx - p
							if ix < 0 || ix >= w {
								dst[ox] = 0
							} else {
								dst[ox] = src[ix]
							}
						}
					} else {
						for ox := range dst {
							ix := ox*s + kx - p
							if ix < 0 || ix >= w {
								dst[ox] = 0
							} else {
								dst[ox] = src[ix]
							}
						}
					}
				}
			}
		}
	}
}

// col2im adds the patch gradients col back onto din [c, h, w] (which it
// clears first): the adjoint of im2col.
func col2im(col []float32, c, h, w, k, s, ho, wo int, din []float32) {
	clear(din[:c*h*w])
	p := k / 2
	n := ho * wo
	for ci := 0; ci < c; ci++ {
		plane := din[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				row := col[((ci*k+ky)*k+kx)*n : ((ci*k+ky)*k+kx+1)*n]
				for oy := 0; oy < ho; oy++ {
					iy := oy*s + ky - p
					if iy < 0 || iy >= h {
						continue
					}
					src := row[oy*wo : (oy+1)*wo]
					dst := plane[iy*w : (iy+1)*w]
					for ox, v := range src {
						ix := ox*s + kx - p
						if ix >= 0 && ix < w {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

// forwardConv computes out = W·patches(in) + b, then ReLU when relu.
func (n *SegNet) forwardConv(l *conv, in, col, out []float32, relu bool) {
	nOut := l.outN()
	kd := l.kdim()
	src := in
	if l.usesCol() {
		im2col(in, l.inC, l.inH, l.inW, l.k, l.s, l.outH, l.outW, col)
		src = col
	}
	w := n.Params[l.wOff:l.bOff]
	b := n.Params[l.bOff : l.bOff+l.outC]
	for o := 0; o < l.outC; o++ {
		row := out[o*nOut : (o+1)*nOut]
		for i := range row {
			row[i] = b[o]
		}
	}
	segBLAS.Sgemm(blas.NoTrans, blas.NoTrans, l.outC, nOut, kd, 1, w, kd, src, nOut, 1, out, nOut)
	if relu {
		for i, v := range out[:l.outC*nOut] {
			if v < 0 {
				out[i] = 0
			}
		}
	}
}

// backwardConv takes dout (already through the ReLU), accumulates the
// weight and bias gradients into grad and writes the input gradient to
// din when din is not nil.
func (n *SegNet) backwardConv(l *conv, in, col, dout, grad, dcol, din []float32) {
	nOut := l.outN()
	kd := l.kdim()
	src := in
	if l.usesCol() {
		src = col
	}
	gw := grad[l.wOff:l.bOff]
	gb := grad[l.bOff : l.bOff+l.outC]
	for o := 0; o < l.outC; o++ {
		var s float32
		for _, v := range dout[o*nOut : (o+1)*nOut] {
			s += v
		}
		gb[o] += s
	}
	segBLAS.Sgemm(blas.NoTrans, blas.Trans, l.outC, kd, nOut, 1, dout, nOut, src, nOut, 1, gw, kd)
	if din == nil {
		return
	}
	w := n.Params[l.wOff:l.bOff]
	if !l.usesCol() {
		segBLAS.Sgemm(blas.Trans, blas.NoTrans, kd, nOut, l.outC, 1, w, kd, dout, nOut, 0, din, nOut)
		return
	}
	segBLAS.Sgemm(blas.Trans, blas.NoTrans, kd, nOut, l.outC, 1, w, kd, dout, nOut, 0, dcol, nOut)
	col2im(dcol, l.inC, l.inH, l.inW, l.k, l.s, l.outH, l.outW, din)
}

// reluBack zeroes the gradient where the ReLU's output was zero.
func reluBack(out, dout []float32) {
	for i, v := range out[:len(dout)] {
		if v <= 0 {
			dout[i] = 0
		}
	}
}

// upsampleInto writes the ×2 nearest upsampling of src [c, h, w] into dst
// [c, 2h, 2w].
func upsampleInto(src []float32, c, h, w int, dst []float32) {
	w2 := 2 * w
	for ci := 0; ci < c; ci++ {
		for y := 0; y < h; y++ {
			s := src[(ci*h+y)*w : (ci*h+y+1)*w]
			d0 := dst[(ci*2*h+2*y)*w2 : (ci*2*h+2*y+1)*w2]
			for x, v := range s {
				d0[2*x], d0[2*x+1] = v, v
			}
			copy(dst[(ci*2*h+2*y+1)*w2:(ci*2*h+2*y+2)*w2], d0)
		}
	}
}

// upsampleBackAdd adds the adjoint of upsampleInto: each source pixel
// gets the sum of its 2×2 block of dup.
func upsampleBackAdd(dup []float32, c, h, w int, dsrc []float32) {
	w2 := 2 * w
	for ci := 0; ci < c; ci++ {
		for y := 0; y < h; y++ {
			r0 := dup[(ci*2*h+2*y)*w2:]
			r1 := dup[(ci*2*h+2*y+1)*w2:]
			d := dsrc[(ci*h+y)*w : (ci*h+y+1)*w]
			for x := range d {
				d[x] += r0[2*x] + r0[2*x+1] + r1[2*x] + r1[2*x+1]
			}
		}
	}
}

// forward runs the network on w.x; the scores end in w.act[lHead].
func (n *SegNet) forward(w *segWork) {
	ls := n.layers
	in := w.x
	for i := lC1; i <= lC5; i++ {
		n.forwardConv(&ls[i], in, w.col[i], w.act[i], true)
		in = w.act[i]
	}
	prev := lC5
	for j, li := range []int{lD4, lD3, lD2} {
		skip := lC4 - j // c4, c3, c2
		p, s, l := &ls[prev], &ls[skip], &ls[li]
		cat := w.cat[j]
		upsampleInto(w.act[prev], p.outC, p.outH, p.outW, cat)
		copy(cat[p.outC*l.inH*l.inW:], w.act[skip][:s.outC*s.outN()])
		n.forwardConv(l, cat, w.col[li], w.act[li], true)
		prev = li
	}
	n.forwardConv(&ls[lHead], w.act[lD2], nil, w.act[lHead], false)
}

// backward propagates dScores (in w.dact[lHead]) down to every weight,
// adding into w.grad.
func (n *SegNet) backward(w *segWork) {
	ls := n.layers
	for i := lC1; i <= lC5; i++ {
		clear(w.dact[i])
	}
	n.backwardConv(&ls[lHead], w.act[lD2], nil, w.dact[lHead], w.grad, w.dcol, w.dact[lD2])
	for j := 2; j >= 0; j-- {
		li := []int{lD4, lD3, lD2}[j]
		prev := []int{lC5, lD4, lD3}[j]
		skip := lC4 - j
		l, p, s := &ls[li], &ls[prev], &ls[skip]
		reluBack(w.act[li], w.dact[li])
		n.backwardConv(l, w.cat[j], w.col[li], w.dact[li], w.grad, w.dcol, w.dcat[j])
		if prev != lC5 {
			clear(w.dact[prev])
		}
		upsampleBackAdd(w.dcat[j], p.outC, p.outH, p.outW, w.dact[prev])
		ds := w.dact[skip][:s.outC*s.outN()]
		for i, v := range w.dcat[j][p.outC*l.inH*l.inW:] {
			ds[i] += v
		}
	}
	for i := lC5; i > lC1; i-- {
		reluBack(w.act[i], w.dact[i])
		// layer i−1's gradient already holds the decoder's skip part: add
		// this convolution's input gradient to it.
		din := w.tmp[:len(w.dact[i-1])]
		n.backwardConv(&ls[i], w.act[i-1], w.col[i], w.dact[i], w.grad, w.dcol, din)
		d := w.dact[i-1]
		for k, v := range din {
			d[k] += v
		}
	}
	reluBack(w.act[lC1], w.dact[lC1])
	n.backwardConv(&ls[lC1], w.x, w.col[lC1], w.dact[lC1], w.grad, w.dcol, nil)
}

// setInput writes img, resized to Size×Size with an area filter, into
// w.x as [3, S, S] in [−1, 1].
func (n *SegNet) setInput(img image.Image, flip bool, x []float32) {
	s := n.Config.Size
	var nrgba *image.NRGBA
	if b := img.Bounds(); b.Dx() == s && b.Dy() == s {
		nrgba = imaging.Clone(img)
	} else {
		nrgba = imaging.Resize(img, s, s, imaging.Box)
	}
	plane := s * s
	for y := 0; y < s; y++ {
		row := nrgba.Pix[y*nrgba.Stride:]
		for xx := 0; xx < s; xx++ {
			sx := xx
			if flip {
				sx = s - 1 - xx
			}
			for c := 0; c < 3; c++ {
				x[c*plane+y*s+xx] = float32(row[4*sx+c])/127.5 - 1
			}
		}
	}
}

// Scores returns the class scores [Classes, Size/2, Size/2] for img.
func (n *SegNet) Scores(img image.Image) []float32 {
	w := n.work()
	defer n.pool.Put(w)
	n.setInput(img, false, w.x)
	n.forward(w)
	return append([]float32(nil), w.act[lHead]...)
}

// Predict segments img into a label map of size wl×hl: the scores are
// resized bilinearly (half-pixel centres) to wl×hl and the best class is
// taken at each pixel.
func (n *SegNet) Predict(img image.Image, wl, hl int) []uint8 {
	sc := n.Scores(img)
	return argmaxResized(sc, n.Config.Classes, n.Config.OutSize(), n.Config.OutSize(), wl, hl)
}

// argmaxResized is the per-pixel arg max of the bilinear resize of scores
// [k, h, w] to ow×oh.
func argmaxResized(sc []float32, k, h, w, ow, oh int) []uint8 {
	out := make([]uint8, ow*oh)
	type tap struct {
		i0, i1 int
		f      float32
	}
	taps := func(in, o int) []tap {
		t := make([]tap, o)
		scale := float64(in) / float64(o)
		for d := range t {
			s := (float64(d)+0.5)*scale - 0.5
			if s < 0 {
				s = 0
			}
			i0 := int(s)
			i0 = min(i0, in-1)
			i1 := min(i0+1, in-1)
			t[d] = tap{i0, i1, float32(s - float64(i0))}
		}
		return t
	}
	ty, tx := taps(h, oh), taps(w, ow)
	plane := h * w
	rows := make([]float32, 2*k*ow) // the two source rows, x-interpolated
	lastY0 := -1
	for y, a := range ty {
		if a.i0 != lastY0 {
			for c := 0; c < k; c++ {
				for r, sy := range [2]int{a.i0, a.i1} {
					src := sc[c*plane+sy*w:]
					dst := rows[(r*k+c)*ow:]
					for x, b := range tx {
						dst[x] = src[b.i0] + b.f*(src[b.i1]-src[b.i0])
					}
				}
			}
			lastY0 = a.i0
		}
		for x := 0; x < ow; x++ {
			best, bc := float32(math.Inf(-1)), 0
			for c := 0; c < k; c++ {
				v0, v1 := rows[c*ow+x], rows[(k+c)*ow+x]
				v := v0 + a.f*(v1-v0)
				if v > best {
					best, bc = v, c
				}
			}
			out[y*ow+x] = uint8(bc)
		}
	}
	return out
}

// PredictBatch segments several images at once, one goroutine per core.
func (n *SegNet) PredictBatch(imgs []image.Image, wl, hl int) [][]uint8 {
	out := make([][]uint8, len(imgs))
	forEach(len(imgs), func(i int) { out[i] = n.Predict(imgs[i], wl, hl) })
	return out
}

// forEach runs f(0..n-1) on GOMAXPROCS goroutines.
func forEach(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Seg model file format: one F32 tensor per layer weight and bias
// ("c1.weight" [outC, inC, k, k], "c1.bias" [outC], …) and metadata
// "format" = SegFormat, "config" = the SegConfig as JSON, plus the
// training run's notes.
const SegFormat = "spadepaint-seg-v1"

// Arrays returns the weights as named arrays, in layer order.
func (n *SegNet) Arrays() ([]string, map[string]*nd.Array) {
	var names []string
	m := map[string]*nd.Array{}
	for _, l := range n.layers {
		wn, bn := l.name+".weight", l.name+".bias"
		w := append([]float32(nil), n.Params[l.wOff:l.bOff]...)
		b := append([]float32(nil), n.Params[l.bOff:l.bOff+l.outC]...)
		m[wn] = &nd.Array{DType: nd.Float32, Shape: []int{l.outC, l.inC, l.k, l.k}, F32: w}
		m[bn] = &nd.Array{DType: nd.Float32, Shape: []int{l.outC}, F32: b}
		names = append(names, wn, bn)
	}
	return names, m
}

// Save writes the network as a .safetensors file.
func (n *SegNet) Save(path string) error {
	names, m := n.Arrays()
	return safetensors.WriteFile(path, names, m, n.metadata())
}

func (n *SegNet) metadata() map[string]string {
	md := map[string]string{}
	for k, v := range n.Meta {
		md[k] = v
	}
	cfg, _ := json.Marshal(n.Config)
	md["format"] = SegFormat
	md["config"] = string(cfg)
	md["params"] = strconv.Itoa(len(n.Params))
	return md
}

// LoadSeg reads a network written by Save.
func LoadSeg(path string) (*SegNet, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	n, err := segFromFile(f)
	if err != nil {
		return nil, fmt.Errorf("seg model %s: %w", path, err)
	}
	return n, nil
}

// LoadSegBytes reads a network held in memory.
func LoadSegBytes(b []byte) (*SegNet, error) {
	f, err := safetensors.ReadBytes(b)
	if err != nil {
		return nil, err
	}
	return segFromFile(f)
}

func segFromFile(f *safetensors.File) (*SegNet, error) {
	if f.Metadata["format"] != SegFormat {
		return nil, fmt.Errorf("not a segmentation network (metadata format %q, want %q)", f.Metadata["format"], SegFormat)
	}
	var c SegConfig
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	n, err := NewSegNet(c, 0)
	if err != nil {
		return nil, err
	}
	for _, l := range n.layers {
		for _, t := range []struct {
			name  string
			shape []int
			dst   []float32
		}{
			{l.name + ".weight", []int{l.outC, l.inC, l.k, l.k}, n.Params[l.wOff:l.bOff]},
			{l.name + ".bias", []int{l.outC}, n.Params[l.bOff : l.bOff+l.outC]},
		} {
			a, ok := f.Tensors[t.name]
			if !ok {
				return nil, fmt.Errorf("missing tensor %s", t.name)
			}
			if a.DType != nd.Float32 || nd.ShapeString(a.Shape) != nd.ShapeString(t.shape) {
				return nil, fmt.Errorf("tensor %s is %v %s, want float32 %s", t.name, a.DType, nd.ShapeString(a.Shape), nd.ShapeString(t.shape))
			}
			copy(t.dst, a.F32)
		}
	}
	for k, v := range f.Metadata {
		if k != "format" && k != "config" && k != "params" {
			n.Meta[k] = v
		}
	}
	return n, nil
}

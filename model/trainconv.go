package model

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"sync"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model/ops"
)

// trainConv2d is the 2-D convolution of training graphs: x [N, C, H, W]
// with w [O, C, K, K], square stride and zero padding, no bias, as
// F.conv2d. It computes what gorgonia's Conv2d does, about twice as fast
// on this model: im2col in the [C·K·K, pixels] layout makes each
// product one GEMM straight into NCHW (gorgonia's layout needs a
// transpose of every output and gradient), im2col and col2im run on all
// cores, 1×1 stride-1 convolutions skip them, and the input and weight
// gradients are separate nodes, so a graph that wants only one of them
// (no gradient into the label maps, none into the other network's
// weights) computes only that one.
func trainConv2d(x, w *G.Node, stride, pad int) (*G.Node, error) {
	return G.ApplyOp(&tcOp{kind: tcFwd, stride: stride, pad: pad}, x, w)
}

type tcKind int

const (
	tcFwd   tcKind = iota // (x, w) → y
	tcGradX               // (w, dy) → dx; h, w of x in the op
	tcGradW               // (x, dy) → dw; k in the op
)

// tcOp is one of the three convolution kernels as a gorgonia.Op.
type tcOp struct {
	kind        tcKind
	stride, pad int
	h, w, k     int // tcGradX: x's height and width; tcGradW: kernel size

	buf []float32 // output, reused from run to run
}

// tcScratch pools the im2col blocks: one per running convolution, not
// one kept by each of a graph's hundreds of convolution nodes.
var tcScratch sync.Pool

var (
	_ G.Op   = (*tcOp)(nil)
	_ G.SDOp = (*tcOp)(nil)
)

func (o *tcOp) String() string {
	switch o.kind {
	case tcGradX:
		return fmt.Sprintf("TrainConvGradX{s%d p%d %d×%d}", o.stride, o.pad, o.h, o.w)
	case tcGradW:
		return fmt.Sprintf("TrainConvGradW{s%d p%d k%d}", o.stride, o.pad, o.k)
	}
	return fmt.Sprintf("TrainConv{s%d p%d}", o.stride, o.pad)
}

func (o *tcOp) Arity() int { return 2 }

func (o *tcOp) Type() hm.Type {
	t := G.TensorType{Dims: 4, Of: G.Float32}
	return hm.NewFnType(t, t, t)
}

func (o *tcOp) ReturnsPtr() bool      { return false }
func (o *tcOp) CallsExtern() bool     { return false }
func (o *tcOp) OverwritesInput() int  { return -1 }
func (o *tcOp) WriteHash(h hash.Hash) { io.WriteString(h, o.String()) }
func (o *tcOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// tcGeom is one convolution's sizes.
type tcGeom struct {
	n, c, h, w, o, k, oh, ow, stride, pad int
}

func (g tcGeom) ckk() int    { return g.c * g.k * g.k }
func (g tcGeom) pixels() int { return g.oh * g.ow }

// direct: a 1×1 stride-1 unpadded convolution needs no im2col.
func (g tcGeom) direct() bool { return g.k == 1 && g.stride == 1 && g.pad == 0 }

func (o *tcOp) geom(in []tensor.Shape) (tcGeom, error) {
	for i, s := range in {
		if len(s) != 4 {
			return tcGeom{}, fmt.Errorf("%s: input %d has shape %v, want 4-D", o, i, s)
		}
	}
	g := tcGeom{stride: o.stride, pad: o.pad}
	switch o.kind {
	case tcFwd:
		x, w := in[0], in[1]
		if w[1] != x[1] || w[2] != w[3] {
			return g, fmt.Errorf("%s: input %v and weight %v do not fit", o, x, w)
		}
		g.n, g.c, g.h, g.w, g.o, g.k = x[0], x[1], x[2], x[3], w[0], w[2]
		g.oh, g.ow = (g.h+2*g.pad-g.k)/g.stride+1, (g.w+2*g.pad-g.k)/g.stride+1
	case tcGradX:
		w, dy := in[0], in[1]
		g.n, g.c, g.h, g.w, g.o, g.k = dy[0], w[1], o.h, o.w, w[0], w[2]
		g.oh, g.ow = dy[2], dy[3]
		if dy[1] != w[0] {
			return g, fmt.Errorf("%s: weight %v and gradient %v do not fit", o, w, dy)
		}
	case tcGradW:
		x, dy := in[0], in[1]
		g.n, g.c, g.h, g.w, g.o, g.k = x[0], x[1], x[2], x[3], dy[1], o.k
		g.oh, g.ow = dy[2], dy[3]
		if dy[0] != x[0] {
			return g, fmt.Errorf("%s: input %v and gradient %v do not fit", o, x, dy)
		}
	}
	if g.oh < 1 || g.ow < 1 || (g.h+2*g.pad-g.k)/g.stride+1 != g.oh || (g.w+2*g.pad-g.k)/g.stride+1 != g.ow {
		return g, fmt.Errorf("%s: sizes do not fit: %v", o, in)
	}
	return g, nil
}

func (o *tcOp) outShape(g tcGeom) tensor.Shape {
	switch o.kind {
	case tcGradX:
		return tensor.Shape{g.n, g.c, g.h, g.w}
	case tcGradW:
		return tensor.Shape{g.o, g.c, g.k, g.k}
	}
	return tensor.Shape{g.n, g.o, g.oh, g.ow}
}

func (o *tcOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	if len(ds) != 2 {
		return nil, fmt.Errorf("%s: %d inputs, want 2", o, len(ds))
	}
	in := make([]tensor.Shape, 2)
	for i, d := range ds {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%s: input %d has no known shape", o, i)
		}
		in[i] = s
	}
	g, err := o.geom(in)
	if err != nil {
		return nil, err
	}
	return o.outShape(g), nil
}

func (o *tcOp) DiffWRT(inputs int) []bool {
	if o.kind == tcFwd {
		return []bool{true, true}
	}
	return make([]bool, inputs)
}

// SymDiff: dx = tcGradX(w, dy), dw = tcGradW(x, dy).
func (o *tcOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.kind != tcFwd {
		return nil, fmt.Errorf("%s is not differentiable", o)
	}
	x, w := inputs[0], inputs[1]
	xs, ws := x.Shape(), w.Shape()
	dx, err := G.ApplyOp(&tcOp{kind: tcGradX, stride: o.stride, pad: o.pad, h: xs[2], w: xs[3]}, w, grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&tcOp{kind: tcGradW, stride: o.stride, pad: o.pad, k: ws[2]}, x, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw}, nil
}

func (o *tcOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("%s: %d inputs, want 2", o, len(vals))
	}
	in := make([][]float32, 2)
	shapes := make([]tensor.Shape, 2)
	for i, v := range vals {
		t, ok := v.(*tensor.Dense)
		if !ok || t.Dtype() != tensor.Float32 {
			return nil, fmt.Errorf("%s: input %d is %T, want a float32 tensor", o, i, v)
		}
		if t.RequiresIterator() {
			t = t.Materialize().(*tensor.Dense)
		}
		in[i], shapes[i] = t.Data().([]float32), t.Shape()
	}
	g, err := o.geom(shapes)
	if err != nil {
		return nil, err
	}
	shape := o.outShape(g)
	size := shape.TotalSize()
	if cap(o.buf) < size || ops.OverlapsAny(o.buf[:size], in) {
		o.buf = make([]float32, size)
	}
	out := o.buf[:size]
	switch o.kind {
	case tcFwd:
		o.forward(g, in[0], in[1], out)
	case tcGradX:
		o.gradX(g, in[0], in[1], out)
	case tcGradW:
		o.gradW(g, in[0], in[1], out)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(out)), nil
}

// tcBlockFloats bounds an im2col block (16 MiB).
var tcBlockFloats = 4 << 20

// chunkRows is how many output rows one im2col block covers: the block
// is C·K·K × rows·OW floats, kept under tcBlockFloats.
func (g tcGeom) chunkRows() int {
	return max(1, min(g.oh, tcBlockFloats/max(1, g.ckk()*g.ow)))
}

// getScratch returns a block of at least n floats; putScratch returns it.
func getScratch(n int) *[]float32 {
	if p, ok := tcScratch.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n)
	return &b
}

func putScratch(p *[]float32) { tcScratch.Put(p) }

// forward: y_n[O, P] = W[O, CKK] · col(x_n)[CKK, P].
func (o *tcOp) forward(g tcGeom, x, w, y []float32) {
	bl := G.WhichBLAS()
	ckk, p := g.ckk(), g.pixels()
	var sc *[]float32
	if !g.direct() {
		sc = getScratch(ckk * g.chunkRows() * g.ow)
		defer putScratch(sc)
	}
	for n := 0; n < g.n; n++ {
		xn := x[n*g.c*g.h*g.w : (n+1)*g.c*g.h*g.w]
		yn := y[n*g.o*p : (n+1)*g.o*p]
		if g.direct() {
			bl.Sgemm(blas.NoTrans, blas.NoTrans, g.o, p, ckk, 1, w, ckk, xn, p, 0, yn, p)
			continue
		}
		rows := g.chunkRows()
		for r0 := 0; r0 < g.oh; r0 += rows {
			r1 := min(g.oh, r0+rows)
			cols := (r1 - r0) * g.ow
			col := (*sc)[:ckk*cols]
			tcIm2col(g, xn, col, r0, r1)
			bl.Sgemm(blas.NoTrans, blas.NoTrans, g.o, cols, ckk, 1, w, ckk, col, cols, 0, yn[r0*g.ow:], p)
		}
	}
}

// gradW: dW[O, CKK] = Σ_n dy_n[O, P] · col(x_n)ᵀ.
func (o *tcOp) gradW(g tcGeom, x, dy, dw []float32) {
	bl := G.WhichBLAS()
	ckk, p := g.ckk(), g.pixels()
	var sc *[]float32
	if !g.direct() {
		sc = getScratch(ckk * g.chunkRows() * g.ow)
		defer putScratch(sc)
	}
	beta := float32(0)
	for n := 0; n < g.n; n++ {
		xn := x[n*g.c*g.h*g.w : (n+1)*g.c*g.h*g.w]
		dyn := dy[n*g.o*p : (n+1)*g.o*p]
		if g.direct() {
			bl.Sgemm(blas.NoTrans, blas.Trans, g.o, ckk, p, 1, dyn, p, xn, p, beta, dw, ckk)
			beta = 1
			continue
		}
		rows := g.chunkRows()
		for r0 := 0; r0 < g.oh; r0 += rows {
			r1 := min(g.oh, r0+rows)
			cols := (r1 - r0) * g.ow
			col := (*sc)[:ckk*cols]
			tcIm2col(g, xn, col, r0, r1)
			bl.Sgemm(blas.NoTrans, blas.Trans, g.o, ckk, cols, 1, dyn[r0*g.ow:], p, col, cols, beta, dw, ckk)
			beta = 1
		}
	}
}

// gradX: dx_n = tcCol2im(Wᵀ[CKK, O] · dy_n[O, P]).
func (o *tcOp) gradX(g tcGeom, w, dy, dx []float32) {
	bl := G.WhichBLAS()
	ckk, p := g.ckk(), g.pixels()
	var sc *[]float32
	if !g.direct() {
		sc = getScratch(ckk * g.chunkRows() * g.ow)
		defer putScratch(sc)
	}
	clear(dx)
	for n := 0; n < g.n; n++ {
		dxn := dx[n*g.c*g.h*g.w : (n+1)*g.c*g.h*g.w]
		dyn := dy[n*g.o*p : (n+1)*g.o*p]
		if g.direct() {
			bl.Sgemm(blas.Trans, blas.NoTrans, ckk, p, g.o, 1, w, ckk, dyn, p, 0, dxn, p)
			continue
		}
		rows := g.chunkRows()
		for r0 := 0; r0 < g.oh; r0 += rows {
			r1 := min(g.oh, r0+rows)
			cols := (r1 - r0) * g.ow
			col := (*sc)[:ckk*cols]
			// dy_n's columns r0·OW … r1·OW, all O rows (leading dimension P).
			bl.Sgemm(blas.Trans, blas.NoTrans, ckk, cols, g.o, 1, w, ckk, dyn[r0*g.ow:], p, 0, col, cols)
			tcCol2im(g, col, dxn, r0, r1)
		}
	}
}

// tcIm2col fills col [C·K·K, (r1−r0)·OW] with the input patches of output
// rows r0…r1−1: col[(c·K + ky)·K + kx][(oy−r0)·OW + ox] =
// x[c][oy·s − p + ky][ox·s − p + kx], 0 outside the image.
func tcIm2col(g tcGeom, x, col []float32, r0, r1 int) {
	cols := (r1 - r0) * g.ow
	ops.ParallelFor(g.c, g.c*g.k*g.k*cols, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			plane := x[c*g.h*g.w : (c+1)*g.h*g.w]
			for ky := 0; ky < g.k; ky++ {
				for kx := 0; kx < g.k; kx++ {
					row := col[((c*g.k+ky)*g.k+kx)*cols : ((c*g.k+ky)*g.k+kx+1)*cols]
					for oy := r0; oy < r1; oy++ {
						dst := row[(oy-r0)*g.ow : (oy-r0+1)*g.ow]
						iy := oy*g.stride - g.pad + ky
						if iy < 0 || iy >= g.h {
							clear(dst)
							continue
						}
						src := plane[iy*g.w : (iy+1)*g.w]
						if g.stride == 1 {
							// ix = ox − p + kx: a shifted copy with zero ends.
							lo := max(0, g.pad-kx)
							hi := min(g.ow, g.w+g.pad-kx)
							clear(dst[:lo])
							if hi > lo {
								copy(dst[lo:hi], src[lo-g.pad+kx:hi-g.pad+kx])
							}
							clear(dst[max(lo, hi):])
							continue
						}
						for ox := range dst {
							ix := ox*g.stride - g.pad + kx
							if ix < 0 || ix >= g.w {
								dst[ox] = 0
							} else {
								dst[ox] = src[ix]
							}
						}
					}
				}
			}
		}
	})
}

// tcCol2im adds col (as im2col lays it out) back into the image gradient dx.
func tcCol2im(g tcGeom, col, dx []float32, r0, r1 int) {
	cols := (r1 - r0) * g.ow
	ops.ParallelFor(g.c, g.c*g.k*g.k*cols, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			plane := dx[c*g.h*g.w : (c+1)*g.h*g.w]
			for ky := 0; ky < g.k; ky++ {
				for kx := 0; kx < g.k; kx++ {
					row := col[((c*g.k+ky)*g.k+kx)*cols : ((c*g.k+ky)*g.k+kx+1)*cols]
					for oy := r0; oy < r1; oy++ {
						iy := oy*g.stride - g.pad + ky
						if iy < 0 || iy >= g.h {
							continue
						}
						src := row[(oy-r0)*g.ow : (oy-r0+1)*g.ow]
						dst := plane[iy*g.w : (iy+1)*g.w]
						if g.stride == 1 {
							lo := max(0, g.pad-kx)
							hi := min(g.ow, g.w+g.pad-kx)
							if hi > lo {
								d := dst[lo-g.pad+kx : hi-g.pad+kx]
								for i, v := range src[lo:hi] {
									d[i] += v
								}
							}
							continue
						}
						for ox, v := range src {
							ix := ox*g.stride - g.pad + kx
							if ix >= 0 && ix < g.w {
								dst[ix] += v
							}
						}
					}
				}
			}
		}
	})
}

package model

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"spadepaint/model/ops"
)

// encEngine is the style encoder's eval-mode forward on the CPU engine's
// kernels, equal to the gorgonia graph (encoder.go) within float32
// rounding. Each stride-2 3×3 conv is im2col + the engine's GEMM: on large
// maps each worker takes bands of output rows whose im2col block stays in
// cache and runs its own single-threaded GEMM on it; on the last small
// maps (too few columns to split) one im2col feeds a GEMM split over the
// output channels. Instance norm and leaky ReLU are one pass per channel
// after the GEMM; fc_mu and fc_var are matrix–vector products on the
// stored weights. The spectral-norm weights are resolved once, when the
// engine is made; all buffers are allocated once and reused, so a call
// allocates only the μ and log-variance it returns (and resize taps for a
// style image of a new size).
type encEngine struct {
	c      Config
	size   int // input side, Config.EncoderSize()
	layers []encLayer
	// muW, varW are fc_mu's and fc_var's weights [z][F] as stored, read in
	// place; muB, varB their biases.
	muW, varW, muB, varB []float32

	img  []float32    // the resized style item, [3][size][size]
	act  [2][]float32 // conv outputs, ping-pong, [C][side][side]
	col  [][]float32  // im2col blocks, one per worker
	colN int          // each col buffer's length
	// ones and zeros, one largest plane long: normLReLU's A and B.
	ones, zeros []float32
	// taps of the last resize, kept while style images keep their size.
}

// encLayer is one stride-2 conv of the encoder.
type encLayer struct {
	w       []float32 // effective weight W_orig/σ, [out][in·9]
	in, out int
	side    int // output side; the input's is 2·side
	rows    int // output rows per im2col block; 0: one block, GEMM split over channels
}

// encColTarget is the largest im2col block, in floats, for the banded
// path: 256 KiB keeps it (and the GEMM's packed copy) in L2.
const encColTarget = 1 << 16

func newEncEngine(c Config, p Params) (*encEngine, error) {
	e := &encEngine{c: c, size: c.EncoderSize()}
	in, side := 3, e.size
	maxAct, maxPlane := 0, 0
	for i, out := range encoderWidths(c) {
		prefix := fmt.Sprintf("layer%d.0", i+1)
		w, shape, err := LayerWeight(p, prefix, true)
		if err != nil {
			return nil, fmt.Errorf("encoder: %w", err)
		}
		if len(shape) != 4 || shape[0] != out || shape[1] != in || shape[2] != 3 || shape[3] != 3 {
			return nil, fmt.Errorf("encoder: %s weight has shape %v, want [%d %d 3 3]", prefix, shape, out, in)
		}
		side /= 2
		l := encLayer{w: w, in: in, out: out, side: side}
		e.layers = append(e.layers, l)
		maxAct = max(maxAct, out*side*side)
		maxPlane = max(maxPlane, side*side)
		in = out
	}
	if side != 4 || in != 8*c.NGF {
		return nil, fmt.Errorf("encoder: last grid %d×%d×%d, want %d×4×4", in, side, side, 8*c.NGF)
	}
	feat := c.EncoderFCIn() // the flattened grid, and the colour statistics with EncoderStats
	maxAct = max(maxAct, feat)
	var err error
	for _, f := range []struct {
		key  string
		dst  *[]float32
		size int
	}{
		{"fc_mu.weight", &e.muW, c.ZDim * feat}, {"fc_mu.bias", &e.muB, c.ZDim},
		{"fc_var.weight", &e.varW, c.ZDim * feat}, {"fc_var.bias", &e.varB, c.ZDim},
	} {
		if *f.dst, err = p.F32(f.key); err != nil {
			return nil, fmt.Errorf("encoder: %w", err)
		}
		if len(*f.dst) != f.size {
			return nil, fmt.Errorf("encoder: %s has %d values, want %d", f.key, len(*f.dst), f.size)
		}
	}
	e.img = make([]float32, 3*e.size*e.size)
	e.act = [2][]float32{make([]float32, maxAct), make([]float32, maxAct)}
	e.ones, e.zeros = make([]float32, maxPlane), make([]float32, maxPlane)
	for i := range e.ones {
		e.ones[i] = 1
	}
	e.plan(engWorkers())
	return e, nil
}

// plan chooses each layer's blocks for w workers and sizes the im2col
// buffers; it runs again if GOMAXPROCS changes.
func (e *encEngine) plan(w int) {
	e.colN = 0
	for i := range e.layers {
		l := &e.layers[i]
		k := l.in * 9
		// Banded only where every worker gets at least 64 columns (two
		// AVX-512 tiles); below, the columns are too few to split.
		if l.side*l.side/w < 64 {
			l.rows = 0
			e.colN = max(e.colN, k*l.side*l.side)
			continue
		}
		blocks := max(w, (k*l.side*l.side+encColTarget-1)/encColTarget)
		blocks = (blocks + w - 1) / w * w // whole rounds of blocks per worker
		l.rows = (l.side + blocks - 1) / blocks
		e.colN = max(e.colN, k*l.rows*l.side)
	}
	e.col = e.col[:0]
	for range w {
		e.col = append(e.col, make([]float32, e.colN))
	}
}

// encode returns μ and log-variance of style images (any size: resized
// bilinearly to the encoder's input as the graph's runner does).
func (e *encEngine) encode(ctx context.Context, style *Image) (mu, logvar []float32, err error) {
	if w := engWorkers(); w != len(e.col) {
		e.plan(w)
	}
	if engBLASSerial != nil && !(engOwnGemm && engGemmKernel()) {
		defer engBLASSerial()()
	}
	z := e.c.ZDim
	mu, logvar = make([]float32, style.N*z), make([]float32, style.N*z)
	for n := 0; n < style.N; n++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		e.input(style, n)
		x := e.img
		for i := range e.layers {
			y := e.act[i%2]
			e.conv(&e.layers[i], x, y)
			x = y
		}
		f := e.c.EncoderFCIn()
		if e.c.EncoderStats { // the statistics follow the flattened grid
			e.c.ColourStats(e.img, x[f-EncoderStatsLen:f])
		}
		e.fc(x[:f], mu[n*z:(n+1)*z], logvar[n*z:(n+1)*z])
		if e.c.EncoderStats {
			e.c.StatsCode(x[f-EncoderStatsLen:f], mu[n*z:(n+1)*z], logvar[n*z:(n+1)*z])
		}
	}
	return mu, logvar, nil
}

// conv writes lrelu(instnorm(conv(x))) of layer l into y.
func (e *encEngine) conv(l *encLayer, x, y []float32) {
	k, side := l.in*9, l.side
	p := side * side
	if l.rows == 0 {
		col := e.col[0][:k*p]
		engParallel(k, func(lo, hi int) { encIm2col(x, l.in, side, 0, side, lo, hi, col) })
		engPsgemm(l.out, p, k, 1, l.w, k, col, p, 0, y, p)
	} else {
		blocks := (side + l.rows - 1) / l.rows
		engParallelW(blocks, func(w, lo, hi int) {
			for b := lo; b < hi; b++ {
				y0, y1 := b*l.rows, min(side, (b+1)*l.rows)
				n := (y1 - y0) * side
				col := e.col[w][:k*n]
				encIm2col(x, l.in, side, y0, y1, 0, k, col)
				engSgemm(l.out, n, k, 1, l.w, k, col, n, 0, y[y0*side:], p)
			}
		})
	}
	e.normLReLU(y[:l.out*p], l.out, p)
}

// encIm2col writes rows [r0, r1) of the im2col matrix (row ci·9+tap) for
// output rows [y0, y1) of a stride-2, pad-1 3×3 conv over x ([in][2s][2s])
// into col ([in·9][(y1−y0)·s]); out-of-image taps read 0.
func encIm2col(x []float32, in, s, y0, y1, r0, r1 int, col []float32) {
	is := 2 * s
	n := (y1 - y0) * s
	for r := r0; r < r1; r++ {
		ci, t := r/9, r%9
		dy, dx := t/3-1, t%3-1
		plane := x[ci*is*is : (ci+1)*is*is]
		dst := col[r*n : (r+1)*n]
		for oy := y0; oy < y1; oy++ {
			d := dst[(oy-y0)*s : (oy-y0+1)*s]
			iy := 2*oy + dy
			if iy < 0 || iy >= is {
				clear(d)
				continue
			}
			src := plane[iy*is : (iy+1)*is]
			if dx < 0 { // ix = 2·ox − 1: only ox = 0 falls outside
				d[0] = 0
				d, src = d[1:], src[1:] // now ix = 2·ox
			} else {
				src = src[dx:] // ix = 2·ox + dx ≤ 2s − 1 for dx ≤ 1
			}
			for ox := range d {
				d[ox] = src[2*ox]
			}
		}
	}
}

// normLReLU applies instance norm (biased variance, eps normEps, no
// affine; float64 sums as engPlaneStats) and leaky ReLU in place to c
// planes of p values. The second pass is the engine's SPADE modulation
// kernel (AVX2 on amd64) with A = 1 and B = 0.
func (e *encEngine) normLReLU(y []float32, c, p int) {
	ones, zeros := e.ones[:p], e.zeros[:p]
	engParallel(c, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			pl := y[ch*p : (ch+1)*p]
			s1, s2 := encSums(pl)
			m := s1 / float64(p)
			v := max(s2/float64(p)-m*m, 0)
			engMod(pl, pl, ones, zeros, float32(m), float32(1/math.Sqrt(v+normEps)), true)
		}
	})
}

// encSums returns Σv and Σv² in float64, over four independent chains
// (one chain would wait on the adder's latency at every value).
func encSums(p []float32) (s1, s2 float64) {
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= len(p); i += 4 {
		q := p[i : i+4 : i+4]
		f0, f1, f2, f3 := float64(q[0]), float64(q[1]), float64(q[2]), float64(q[3])
		a0, a1, a2, a3 = a0+f0, a1+f1, a2+f2, a3+f3
		b0, b1, b2, b3 = b0+f0*f0, b1+f1*f1, b2+f2*f2, b3+f3*f3
	}
	for ; i < len(p); i++ {
		f := float64(p[i])
		a0 += f
		b0 += f * f
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

// fc writes fc_mu(x) and fc_var(x): 2·z dot products of length F, split
// over the workers (gonum's Sgemv: its dot kernel is SIMD, and it never
// starts threads of its own, unlike OpenBLAS's).
func (e *encEngine) fc(x, mu, logvar []float32) {
	z, f := e.c.ZDim, len(x)
	engParallel(2*z, func(lo, hi int) {
		var impl gonum.Implementation
		for _, part := range []struct {
			w, b, dst []float32
			o0        int
		}{{e.muW, e.muB, mu, 0}, {e.varW, e.varB, logvar, z}} {
			a, b := max(lo, part.o0)-part.o0, min(hi, part.o0+z)-part.o0
			if a >= b {
				continue
			}
			copy(part.dst[a:b], part.b[a:b])
			impl.Sgemv(blas.NoTrans, b-a, f, 1, part.w[a*f:b*f], f, x, 1, 1, part.dst[a:b], 1)
		}
	})
}

// input writes item n of style, resized to the encoder's input as the
// graph runner does (ops.ResizeBilinear, bit for bit), to e.img.
func (e *encEngine) input(style *Image, n int) {
	s := e.size
	h, w := style.H, style.W
	src := style.Pix[n*3*h*w : (n+1)*3*h*w]
	if h == s && w == s {
		copy(e.img, src)
		return
	}
	ops.ResizeBilinearInto(e.img, src, 1, 3, h, w, s, s)
}

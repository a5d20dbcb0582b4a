package model

import "math"

// conv_img (finalNC → 3 channels, 3×3, at full size) as a direct
// convolution: with 3 outputs, a Winograd GEMM is [3 × in] and its
// transforms of the in channels cost more than the multiplies (ADE20K:
// 5.7 ms). Directly, each input vector loaded serves 3 FMAs, a 128-pixel
// block keeps 24 accumulators, and the leaky ReLU is applied once per
// input value as its row enters a per-worker ring of 3 rows (in cache).

// engImgBlock is the pixels convImgAVX512 computes per call.
const engImgBlock = 128

// engImgDirect reports whether conv_img of out×in weights runs directly:
// where the AVX-512 kernel is, for 3 outputs.
func engImgDirect(out int) bool { return engHaveAVX512 && out == 3 }

// newImgWeights reorders conv_img's weights [3][in][3][3] to [in][9][3],
// scaled by alpha.
func newImgWeights(w []float32, in int, alpha float32) []float32 {
	d := make([]float32, 27*in)
	for o := 0; o < 3; o++ {
		for c := 0; c < in; c++ {
			for t := 0; t < 9; t++ {
				d[(c*9+t)*3+o] = alpha * w[(o*in+c)*9+t]
			}
		}
	}
	return d
}

// imgScratchNeed is the floats of one worker's scratch for convImgDirect
// on layout g with in channels: the 3-row ring and 3 output rows.
func imgScratchNeed(g engGeom, in int) int { return 3*in*g.PW + 3*g.W }

// convImgDirect writes tanh(conv_img(lrelu(src))) for src of layout g to
// dst [3][H][W].
func (e *engine) convImgDirect(g engGeom, cv *engConv, src, dst []float32) {
	in := cv.in
	need := imgScratchNeed(g, in)
	for len(e.img) < engWorkers() {
		e.img = append(e.img, nil)
	}
	engParallelW(g.H, func(wk, lo, hi int) {
		if len(e.img[wk]) < need {
			e.img[wk] = make([]float32, need)
		}
		buf := e.img[wk]
		ring, acc := buf[:3*in*g.PW], buf[3*in*g.PW:need]
		slot := func(pr int) []float32 { return ring[(pr%3)*in*g.PW : (pr%3+1)*in*g.PW] }
		next := lo // the next padded row to enter the ring
		for y := lo; y < hi; y++ {
			// Output row y reads padded rows y, y+1, y+2.
			for ; next <= y+2; next++ {
				s := slot(next)
				for c := 0; c < in; c++ {
					r := src[c*g.Plane+next*g.PW : c*g.Plane+(next+1)*g.PW]
					d := s[c*g.PW : (c+1)*g.PW]
					for x, v := range r {
						d[x] = max(v, v*leakySlope)
					}
				}
			}
			rows := [3][]float32{slot(y), slot(y + 1), slot(y + 2)}
			x := 0
			for ; x+engImgBlock <= g.W; x += engImgBlock {
				if !engConvImgBlock(&rows, x, g.PW, cv.direct, in, acc[x:], g.W) {
					break
				}
			}
			imgConvGo(&rows, x, g.W, g.PW, cv.direct, in, acc, g.W)
			for o := 0; o < 3; o++ {
				b := cv.bias[o]
				a := acc[o*g.W : (o+1)*g.W]
				d := dst[(o*g.H+y)*g.W : (o*g.H+y+1)*g.W]
				for x, v := range a {
					d[x] = float32(math.Tanh(float64(v + b)))
				}
			}
		}
	})
}

// imgConvGo is convImgAVX512 for pixels [x0, x1) in Go.
func imgConvGo(rows *[3][]float32, x0, x1, cs int, w []float32, in int, out []float32, os int) {
	for x := x0; x < x1; x++ {
		var s0, s1, s2 float32
		for c := 0; c < in; c++ {
			wc := w[c*27 : c*27+27]
			for dy := 0; dy < 3; dy++ {
				r := rows[dy][c*cs+x : c*cs+x+3]
				for dx, v := range r {
					t := (3*dy + dx) * 3
					s0 += wc[t] * v
					s1 += wc[t+1] * v
					s2 += wc[t+2] * v
				}
			}
		}
		out[x], out[os+x], out[2*os+x] = s0, s1, s2
	}
}

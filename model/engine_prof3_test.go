package model

import (
	"os"
	"testing"
	"time"
)

func engMinTime(n int, f func()) time.Duration {
	best := time.Duration(1 << 62)
	for i := 0; i < n; i++ {
		st := time.Now()
		f()
		best = min(best, time.Since(st))
	}
	return best
}

func TestEngineKernels(t *testing.T) {
	if os.Getenv("ENGINE_PROFILE") == "" {
		t.Skip("set ENGINE_PROFILE")
	}
	g := newEngGeom(256, 256)
	C, K := 128, 128
	tw := 64
	nt := 10 * tw
	m := make([]float32, 36*2*C*nt)
	for i := range m {
		m[i] = float32(i%13) * 0.01
	}
	ab := make([]float32, 2*C*g.Plane)
	bias := make([]float32, 2*C)
	yb := make([]float32, 56*tw)
	o := &winoOut{dst: ab, foldDstPlane: g.Plane, pw: g.PW, off: g.origin(), fold: true, foldC: C, foldB: bias}
	d := engMinTime(5, func() {
		for ch := 0; ch < C; ch++ {
			winoOutput(g, m, ch, 2*C, nt, 0, 10, tw, o, yb)
		}
	})
	t.Logf("winoOutput fold 1 thread, 10 tile rows x %d ch: %v = %.2f ns per output pixel-channel", 2*C, d, float64(d.Nanoseconds())/float64(2*C*40*256))
	o2 := &winoOut{dst: ab, plane: g.Plane, pw: g.PW, off: g.origin(), bias: bias}
	d = engMinTime(5, func() {
		for ch := 0; ch < 2*C; ch++ {
			winoOutput(g, m, ch, 2*C, nt, 0, 10, tw, o2, yb)
		}
	})
	t.Logf("winoOutput plain: %v = %.2f ns per output", d, float64(d.Nanoseconds())/float64(2*C*40*256))
	tmpb := make([]float32, 24*tw)
	y := [4][]float32{make([]float32, 4*tw), make([]float32, 4*tw), make([]float32, 4*tw), make([]float32, 4*tw)}
	d = engMinTime(5, func() {
		for ch := 0; ch < 2*C; ch++ {
			for i := 0; i < 10; i++ {
				winoRowOut(m[ch*nt+i*tw:], 2*C*nt, tw, &y, tmpb)
			}
		}
	})
	t.Logf("winoRowOut only: %v = %.2f ns per output", d, float64(d.Nanoseconds())/float64(2*C*40*256))
	src := make([]float32, K*g.Plane)
	v := make([]float32, 36*K*nt)
	buf := make([]float32, 12*(4*tw+2))
	d = engMinTime(5, func() {
		for k := 0; k < K; k++ {
			winoInput(g, src, k, nil, 0, 10, tw, buf, v, K, nt)
		}
	})
	t.Logf("winoInput: %v = %.2f ns per input pixel-channel", d, float64(d.Nanoseconds())/float64(K*40*256))
	// gather
	c := ADE20K.Config()
	w := make([]float32, 128*c.SemanticNC()*9)
	gc := newEngGather(c, w, make([]float32, 128), 128, true)
	codes := make([]uint16, 256*256)
	for i := range codes {
		codes[i] = uint16(i * 7 % 151)
	}
	act := make([]float32, 128*g.Plane)
	d = engMinTime(3, func() {
		gc.run(codes[:], 256, 256, engRect{-1, -1, 257, 41}, act, g.Plane, g.PW, 0)
	})
	t.Logf("gather (all engWorkers) 42 rows: %v = %.2f ns per output", d, float64(d.Nanoseconds())/float64(128*42*258))
}

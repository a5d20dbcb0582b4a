package model

import "math/rand"

// BenchLabels is the label map the benchmarks render: 16×16-pixel cells
// of pseudo-random classes with per-pixel noise between two neighbouring
// classes, so every class appears and every SPADE branch sees class edges
// everywhere (the worst case for nothing; the engine does not depend on
// the map's contents).
func BenchLabels(c Config, n int) *Labels {
	h, w := c.Height(), c.Width
	l := &Labels{N: n, H: h, W: w, Class: make([]uint8, n*h*w)}
	rng := rand.New(rand.NewSource(7))
	k := c.NumClasses()
	for i := range l.Class {
		y, x := (i/w)%h, i%w
		l.Class[i] = uint8((y/16*31 + x/16*17 + rng.Intn(2)) % k)
	}
	return l
}

// BenchStroke paints the benchmarks' brush dab, stroke number i, into item
// 0 of l: a 32×32 square in the middle of the map whose class changes with
// every i, as a stroke does.
func BenchStroke(c Config, l *Labels, i int) {
	k := c.NumClasses()
	x0, y0 := l.W/2-16, l.H/2-16
	for y := max(y0, 0); y < min(y0+32, l.H); y++ {
		for x := max(x0, 0); x < min(x0+32, l.W); x++ {
			l.Class[y*l.W+x] = uint8(i % k)
		}
	}
}

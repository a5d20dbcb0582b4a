//go:build gpu

package gpu

import (
	"fmt"
	"math/rand"
	"testing"

	"spadepaint/model"
)

// These tests check the host-side preparation (label codes, gather
// tables) and need no GPU.

func gatherConfigs() []model.Config {
	return []model.Config{
		{Name: "plain", LabelNC: 4},
		{Name: "dontcare", LabelNC: 6, ContainDontCare: true},
		{Name: "edges+dontcare", LabelNC: 5, ContainDontCare: true, Instance: true},
		{Name: "edges", LabelNC: 3, Instance: true},
	}
}

// testLabels is a 7×11 label map with random classes and, for models
// with instance edges, blocky instance ids.
func testLabels(c model.Config, n int, rng *rand.Rand) *model.Labels {
	h, w := 7, 11
	l := &model.Labels{N: n, H: h, W: w, Class: make([]uint8, n*h*w)}
	for i := range l.Class {
		l.Class[i] = uint8(rng.Intn(c.NumClasses()))
	}
	if c.Instance {
		l.Instance = make([]int32, n*h*w)
		for i := range l.Instance {
			y, x := (i/w)%h, i%w
			l.Instance[i] = int32(y/3*10 + x/4 + rng.Intn(2)*100*(x%5/4))
		}
	}
	return l
}

// refLabelConv is the 3×3 conv (padding 1) of item 0's one-hot semantic
// input at size s, as the gorgonia graph computes it: out = b + W * onehot.
func refLabelConv(c model.Config, l *model.Labels, s model.Size, w, bias []float32, nout int, relu bool) []float32 {
	snc := c.SemanticNC()
	one := &model.Labels{N: 1, H: l.H, W: l.W, Class: l.Class[:l.H*l.W]}
	if l.Instance != nil {
		one.Instance = l.Instance[:l.H*l.W]
	}
	seg := make([]float32, snc*s.H*s.W)
	one.OneHot(c, s.H, s.W, seg)
	out := make([]float32, nout*s.H*s.W)
	for o := 0; o < nout; o++ {
		for y := 0; y < s.H; y++ {
			for x := 0; x < s.W; x++ {
				v := float64(bias[o])
				for i := 0; i < snc; i++ {
					for t := 0; t < 9; t++ {
						sy, sx := y+t/3-1, x+t%3-1
						if sy < 0 || sy >= s.H || sx < 0 || sx >= s.W {
							continue
						}
						v += float64(w[(o*snc+i)*9+t]) * float64(seg[(i*s.H+sy)*s.W+sx])
					}
				}
				if relu && v < 0 {
					v = 0
				}
				out[(o*s.H+y)*s.W+x] = float32(v)
			}
		}
	}
	return out
}

// hostGather is gather3 in Go.
func hostGather(codes []int32, h, w int, tab []float32, nc1, nout int, relu bool) []float32 {
	out := make([]float32, nout*h*w)
	for o := 0; o < nout; o++ {
		tb := tab[o*9*nc1 : (o+1)*9*nc1]
		for p := 0; p < h*w; p++ {
			y, x := p/w, p%w
			var s [9]float32
			for t := 0; t < 9; t++ {
				sy, sx := y+t/3-1, x+t%3-1
				code := nc1 - 1
				if sy >= 0 && sy < h && sx >= 0 && sx < w {
					code = int(codes[sy*w+sx])
				}
				s[t] = tb[t*nc1+code]
			}
			v := (s[0] + s[2] + s[4] + s[6] + s[8]) + (s[1] + s[3] + s[5] + s[7])
			if relu {
				v = max(v, 0)
			}
			out[o*h*w+p] = v
		}
	}
	return out
}

// TestGatherTable: the table and the label codes, gathered as gather3
// does, equal the conv on the one-hot map at full and reduced size, with
// and without instance edges and "don't care".
func TestGatherTable(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, c := range gatherConfigs() {
		l := testLabels(c, 2, rand.New(rand.NewSource(5)))
		nout := 5
		w := randSlice(rng, nout*c.SemanticNC()*9, 1)
		bias := randSlice(rng, nout, 1)
		tab := gatherTable(c, w, bias, nout)
		nc1 := model.LabelCodeCount(c) + 1
		if len(tab) != nout*9*nc1 {
			t.Fatalf("%s: table has %d entries, want %d", c.Name, len(tab), nout*9*nc1)
		}
		sizes := []model.Size{{H: l.H, W: l.W}, {H: 4, W: 6}, {H: 2, W: 3}}
		codes := model.LabelCodes(c, l, 0, sizes)
		for si, s := range sizes {
			for _, relu := range []bool{false, true} {
				got := hostGather(codes[si], s.H, s.W, tab, nc1, nout, relu)
				want := refLabelConv(c, l, s, w, bias, nout, relu)
				compare(t, fmt.Sprintf("%s %dx%d relu=%v", c.Name, s.W, s.H, relu), got, want, within(1e-5))
			}
		}
	}
}

// TestLabelCodes: item 1's codes come from item 1, and codes stay in range.
func TestLabelCodes(t *testing.T) {
	c := gatherConfigs()[2]
	l := testLabels(c, 2, rand.New(rand.NewSource(6)))
	sizes := []model.Size{{H: l.H, W: l.W}}
	one := &model.Labels{N: 1, H: l.H, W: l.W, Class: l.Class[l.H*l.W:], Instance: l.Instance[l.H*l.W:]}
	a := model.LabelCodes(c, l, 1, sizes)[0]
	b := model.LabelCodes(c, one, 0, sizes)[0]
	edges := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("code %d of item 1 is %d, the same labels alone give %d", i, a[i], b[i])
		}
		if a[i] < 0 || int(a[i]) >= model.LabelCodeCount(c) {
			t.Fatalf("code %d out of range", a[i])
		}
		edges += int(a[i] & 1)
	}
	if edges == 0 || edges == len(a) {
		t.Errorf("%d of %d pixels are edges: the test map should have some", edges, len(a))
	}
}

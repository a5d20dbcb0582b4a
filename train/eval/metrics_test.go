package eval

import (
	"math"
	"math/rand"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestConfusionIdentical(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	lab := make([]uint8, 1000)
	for i := range lab {
		lab[i] = uint8(rng.Intn(5))
	}
	c := NewConfusion(8)
	if err := c.Add(lab, lab); err != nil {
		t.Fatal(err)
	}
	if c.MeanIoU() != 1 || c.PixelAccuracy() != 1 {
		t.Fatalf("identical maps: mIoU %g, acc %g", c.MeanIoU(), c.PixelAccuracy())
	}
	// classes 5..7 never occur: NaN, left out of the mean
	if iou := c.IoU(); !math.IsNaN(iou[6]) || iou[0] != 1 {
		t.Fatalf("IoU %v", iou)
	}
}

// TestConfusionKnown checks a hand-computed 3-class case.
func TestConfusionKnown(t *testing.T) {
	// truth: 0 0 0 0 1 1 1 2 2 2 ; pred: 0 0 0 1 1 1 2 2 2 0
	truth := []uint8{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}
	pred := []uint8{0, 0, 0, 1, 1, 1, 2, 2, 2, 0}
	c := NewConfusion(3)
	if err := c.Add(truth, pred); err != nil {
		t.Fatal(err)
	}
	want := []int64{3, 1, 0, 0, 2, 1, 1, 0, 2}
	for i, v := range want {
		if c.Count[i] != v {
			t.Fatalf("count %v, want %v", c.Count, want)
		}
	}
	// class 0: TP 3, FN 1, FP 1 → 3/5; class 1: TP 2, FN 1, FP 1 → 2/4;
	// class 2: TP 2, FN 1, FP 1 → 2/4.
	iou := c.IoU()
	for k, w := range []float64{0.6, 0.5, 0.5} {
		if !near(iou[k], w) {
			t.Fatalf("IoU %v", iou)
		}
	}
	if !near(c.MeanIoU(), (0.6+0.5+0.5)/3) || !near(c.PixelAccuracy(), 0.7) {
		t.Fatalf("mIoU %g acc %g", c.MeanIoU(), c.PixelAccuracy())
	}
	// A class only predicted counts with IoU 0; a truth id ≥ K is ignored.
	c2 := NewConfusion(3)
	_ = c2.Add([]uint8{0, 0, 9}, []uint8{0, 2, 1})
	if iou := c2.IoU(); !near(iou[0], 0.5) || iou[2] != 0 || !math.IsNaN(iou[1]) || c2.Total() != 2 {
		t.Fatalf("IoU %v total %d", iou, c2.Total())
	}
	if err := c2.Add([]uint8{0}, []uint8{3}); err == nil {
		t.Fatal("predicted id out of range accepted")
	}
}

// TestShuffledLow: a prediction that shuffles the class ids scores low.
func TestShuffledLow(t *testing.T) {
	lab, _, _ := toySource(3, 3, 64, 64)
	truth := palettedPix(lab)
	perm := map[uint8]uint8{0: 9, 2: 6, 6: 10, 9: 0, 10: 2}
	pred := make([]uint8, len(truth))
	for i, v := range truth {
		pred[i] = perm[v]
	}
	c := NewConfusion(16)
	_ = c.Add(truth, pred)
	if c.MeanIoU() > 0.2 || c.PixelAccuracy() != 0 {
		t.Fatalf("shuffled: mIoU %g acc %g", c.MeanIoU(), c.PixelAccuracy())
	}
}

func TestFidelity(t *testing.T) {
	var f Fidelity
	// output 0 nearest its own; output 1 nearer ref 0, farther ref 2; output
	// 2 tied with ref 0, nearer than ref 1.
	f.Add([][]float64{{0, 1, 2}, {1, 2, 3}, {1, 2, 1}})
	if f.Pairs != 6 || f.Wins != 2+1+1.5 || f.Top1 != 1 {
		t.Fatalf("%+v", f)
	}
}

func TestLab(t *testing.T) {
	for _, c := range []struct {
		r, g, b uint8
		L, A, B float64
	}{{255, 255, 255, 100, 0, 0}, {0, 0, 0, 0, 0, 0}, {255, 0, 0, 53.24, 80.09, 67.20}} {
		L, A, B := Lab(c.r, c.g, c.b)
		if math.Abs(L-c.L) > 0.05 || math.Abs(A-c.A) > 0.05 || math.Abs(B-c.B) > 0.05 {
			t.Errorf("Lab(%d,%d,%d) = %.2f %.2f %.2f, want %.2f %.2f %.2f", c.r, c.g, c.b, L, A, B, c.L, c.A, c.B)
		}
	}
}

package eval

import (
	"fmt"
	"math"
)

// Confusion is a confusion matrix over K classes: Count[t*K+p] counts the
// pixels of true class t predicted as p.
type Confusion struct {
	K     int
	Count []int64
}

// NewConfusion makes an empty K-class confusion matrix.
func NewConfusion(k int) *Confusion { return &Confusion{K: k, Count: make([]int64, k*k)} }

// Add counts one labelled prediction: truth and pred are class ids of the
// same pixels. Ids outside 0..K-1 in truth are ignored (a "don't care");
// a predicted id outside the range is an error.
func (c *Confusion) Add(truth, pred []uint8) error {
	if len(truth) != len(pred) {
		return fmt.Errorf("confusion: %d true labels, %d predictions", len(truth), len(pred))
	}
	for i, t := range truth {
		if int(t) >= c.K {
			continue
		}
		p := pred[i]
		if int(p) >= c.K {
			return fmt.Errorf("confusion: predicted class %d not below %d", p, c.K)
		}
		c.Count[int(t)*c.K+int(p)]++
	}
	return nil
}

// Merge adds the counts of o (same K).
func (c *Confusion) Merge(o *Confusion) {
	for i, v := range o.Count {
		c.Count[i] += v
	}
}

// Total is the number of counted pixels.
func (c *Confusion) Total() int64 {
	var n int64
	for _, v := range c.Count {
		n += v
	}
	return n
}

// PixelAccuracy is the fraction of counted pixels predicted right (NaN
// when nothing was counted).
func (c *Confusion) PixelAccuracy() float64 {
	var right int64
	for k := 0; k < c.K; k++ {
		right += c.Count[k*c.K+k]
	}
	return float64(right) / float64(c.Total())
}

// IoU returns each class's intersection over union, TP/(TP+FP+FN), over
// everything counted; NaN for a class that neither occurs nor is
// predicted.
func (c *Confusion) IoU() []float64 {
	iou := make([]float64, c.K)
	for k := range iou {
		var row, col int64
		for j := 0; j < c.K; j++ {
			row += c.Count[k*c.K+j]
			col += c.Count[j*c.K+k]
		}
		tp := c.Count[k*c.K+k]
		union := row + col - tp
		if union == 0 {
			iou[k] = math.NaN()
			continue
		}
		iou[k] = float64(tp) / float64(union)
	}
	return iou
}

// MeanIoU is the mean of IoU over the classes that occur or are
// predicted (the usual nanmean over a data set's confusion matrix, as the
// segmentation benchmarks the paper uses compute it).
func (c *Confusion) MeanIoU() float64 {
	var s float64
	n := 0
	for _, v := range c.IoU() {
		if !math.IsNaN(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

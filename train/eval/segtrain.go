package eval

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"spadepaint/model/nd"
	"spadepaint/model/safetensors"
)

// PairSource renders one scene of the landscape generator: the layout
// (label map) drawn from seed under the style drawn from styleSeed, at
// w×h. It returns the label map (pixel = class id), the photo, and the
// style's parameter vector. It must be safe for concurrent use and
// deterministic.
type PairSource func(seed, styleSeed int64, w, h int) (labels *image.Paletted, photo image.Image, style []float64)

// Seeds: the scenes the segmentation network trains on and the held-out
// scenes of the evaluation come from disjoint seed ranges, both far above
// the small seeds a training run of the generator model draws from.
const (
	// SegTrainSeedBase is the first layout seed of the segmentation
	// network's training scenes (scene k has seed SegTrainSeedBase + k).
	SegTrainSeedBase int64 = 1 << 40
	// EvalSeedBase is the first layout seed of the evaluation's held-out
	// scenes.
	EvalSeedBase int64 = 1 << 41
)

// styleSeedFor derives a scene's style seed from its layout seed, so
// that layout and style vary independently.
func styleSeedFor(seed int64) int64 { return int64(uint64(seed)*0x9E3779B97F4A7C15>>1) ^ 0x5EED }

// SegTrainOptions configure TrainSeg.
type SegTrainOptions struct {
	Config SegConfig
	Source PairSource
	// DataSize is the side of the generated pairs (256: the evaluation's
	// size); photos are resized to Config.Size.
	DataSize int
	// Steps is the number of Adam steps, Batch the scenes per step.
	Steps, Batch int
	// LR is Adam's learning rate (β = 0.9, 0.999); it decays linearly to
	// LR/10 over the last half of the steps.
	LR float64
	// Balance weighs each class's pixels by (its frequency)^−Balance in
	// the loss (frequencies counted on the run's first 256 scenes;
	// weights normalised to a pixel mean of 1, capped at 10): 0 for plain
	// cross-entropy, 0.5 to lift rare classes and with them the mIoU.
	Balance float64
	// Seed draws the initial weights and offsets the training scenes:
	// scene k of the run is SegTrainSeedBase + Seed·2³² + k.
	Seed int64
	// Checkpoint, when set, is written every CheckpointEvery steps (and at
	// the end) with the Adam state, and resumed from when it exists.
	Checkpoint      string
	CheckpointEvery int
	// MaxTime stops the run early (checkpointing it) when it has run this
	// long; 0 for no limit.
	MaxTime time.Duration
	// Log receives one line every LogEvery steps.
	Log      io.Writer
	LogEvery int
}

// SegTrainer trains a SegNet with per-pixel cross-entropy and Adam.
type SegTrainer struct {
	Net  *SegNet
	Opts SegTrainOptions
	// Step is the number of steps taken.
	Step int

	m, v       []float32
	works      []*segWork
	grad       []float32
	sceneGrads [][]float32
	// Weights are the per-class loss weights (nil: all 1).
	Weights []float32
}

// NewSegTrainer makes a trainer for a fresh network, resuming from the
// checkpoint when one exists.
func NewSegTrainer(o SegTrainOptions) (*SegTrainer, error) {
	if o.Source == nil {
		return nil, errors.New("seg training needs a pair source")
	}
	if o.DataSize == 0 {
		o.DataSize = 256
	}
	if o.Batch < 1 {
		o.Batch = 8
	}
	if o.LR == 0 {
		o.LR = 2e-3
	}
	net, err := NewSegNet(o.Config, o.Seed)
	if err != nil {
		return nil, err
	}
	t := &SegTrainer{Net: net, Opts: o, m: make([]float32, len(net.Params)), v: make([]float32, len(net.Params)),
		grad: make([]float32, len(net.Params))}
	for range min(o.Batch, runtime.GOMAXPROCS(0)) {
		t.works = append(t.works, net.work())
	}
	if o.Balance != 0 {
		t.Weights = t.classWeights(256)
	}
	if o.Checkpoint != "" {
		if _, err := os.Stat(o.Checkpoint); err == nil {
			if err := t.load(o.Checkpoint); err != nil {
				return nil, fmt.Errorf("resume: %w", err)
			}
		}
	}
	return t, nil
}

// sceneSeed is the layout seed of the run's k-th training scene.
func (t *SegTrainer) sceneSeed(k int) int64 {
	return SegTrainSeedBase + t.Opts.Seed<<32 + int64(k)
}

// TrainStep takes one Adam step on the next batch and returns its mean
// loss and pixel accuracy. Each scene's gradient is kept apart and the
// batch summed in scene order, so a run gives the same weights whatever
// the number of cores.
func (t *SegTrainer) TrainStep() (loss, acc float64) {
	o := t.Opts
	base := t.Step * o.Batch
	var wg sync.WaitGroup
	next := make(chan int)
	outN := t.Net.layers[lHead].outN()
	scale := float32(1 / float64(outN*o.Batch))
	for len(t.sceneGrads) < o.Batch {
		t.sceneGrads = append(t.sceneGrads, make([]float32, len(t.Net.Params)))
	}
	losses, accs := make([]float64, o.Batch), make([]float64, o.Batch)
	for _, w := range t.works {
		wg.Add(1)
		go func(w *segWork) {
			defer wg.Done()
			for i := range next {
				seed := t.sceneSeed(base + i)
				lab, photo, _ := o.Source(seed, styleSeedFor(seed), o.DataSize, o.DataSize)
				flip := seed%2 == 1
				w.grad = t.sceneGrads[i]
				clear(w.grad)
				losses[i], accs[i] = t.Net.lossGrad(w, photo, lab, flip, scale, t.Weights)
			}
		}(w)
	}
	for i := 0; i < o.Batch; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	copy(t.grad, t.sceneGrads[0])
	for _, g := range t.sceneGrads[1:o.Batch] {
		for i, v := range g {
			t.grad[i] += v
		}
	}
	for i := range losses {
		loss += losses[i]
		acc += accs[i]
	}
	t.Step++
	t.adam(t.lr())
	return loss / float64(o.Batch), acc / float64(o.Batch)
}

func (t *SegTrainer) lr() float64 {
	o := t.Opts
	half := o.Steps / 2
	if o.Steps <= 0 || t.Step <= half {
		return o.LR
	}
	f := float64(t.Step-half) / float64(o.Steps-half)
	return o.LR * (1 - 0.9*min(f, 1))
}

func (t *SegTrainer) adam(lr float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	c1 := 1 - math.Pow(b1, float64(t.Step))
	c2 := 1 - math.Pow(b2, float64(t.Step))
	step := float32(lr / c1)
	sc2 := float32(1 / math.Sqrt(c2))
	p := t.Net.Params
	for i, g := range t.grad {
		t.m[i] = b1*t.m[i] + (1-b1)*g
		t.v[i] = b2*t.v[i] + (1-b2)*g*g
		p[i] -= step * t.m[i] / (float32(math.Sqrt(float64(t.v[i])))*sc2 + eps)
	}
}

// lossGrad runs one scene forward and backward, adding its gradient
// (scaled by scale) into w.grad; it returns the scene's mean
// cross-entropy and pixel accuracy at the score resolution.
func (n *SegNet) lossGrad(w *segWork, photo image.Image, lab *image.Paletted, flip bool, scale float32, weights []float32) (float64, float64) {
	n.setInput(photo, flip, w.x)
	n.forward(w)
	o := n.Config.OutSize()
	target := downLabels(lab, o, o, flip)
	loss, right := softmaxCE(w.act[lHead], n.Config.Classes, o*o, target, scale, weights, w.dact[lHead])
	n.backward(w)
	return loss / float64(o*o), float64(right) / float64(o*o)
}

// downLabels samples the label map at the centres of an ow×oh grid
// (mirrored when flip).
func downLabels(lab *image.Paletted, ow, oh int, flip bool) []uint8 {
	b := lab.Bounds()
	out := make([]uint8, ow*oh)
	for y := 0; y < oh; y++ {
		sy := b.Min.Y + min(int((float64(y)+0.5)*float64(b.Dy())/float64(oh)), b.Dy()-1)
		for x := 0; x < ow; x++ {
			dx := x
			if flip {
				dx = ow - 1 - x
			}
			sx := b.Min.X + min(int((float64(dx)+0.5)*float64(b.Dx())/float64(ow)), b.Dx()-1)
			out[y*ow+x] = lab.Pix[lab.PixOffset(sx, sy)]
		}
	}
	return out
}

// classWeights counts the class frequencies of the run's first scenes
// (at the score resolution) and returns freq^−Balance, normalised to a
// pixel-weighted mean of 1 and capped at 10; classes never seen get the
// cap.
func (t *SegTrainer) classWeights(scenes int) []float32 {
	k, o := t.Net.Config.Classes, t.Net.Config.OutSize()
	counts := make([]float64, k)
	var mu sync.Mutex
	forEach(scenes, func(i int) {
		seed := t.sceneSeed(i)
		lab, _, _ := t.Opts.Source(seed, styleSeedFor(seed), t.Opts.DataSize, t.Opts.DataSize)
		local := make([]float64, k)
		for _, id := range downLabels(lab, o, o, false) {
			if int(id) < k {
				local[id]++
			}
		}
		mu.Lock()
		for c, v := range local {
			counts[c] += v
		}
		mu.Unlock()
	})
	var total float64
	for _, v := range counts {
		total += v
	}
	w := make([]float64, k)
	var mean float64
	for c, v := range counts {
		if v > 0 {
			w[c] = math.Pow(v/total, -t.Opts.Balance)
			mean += w[c] * v / total
		}
	}
	out := make([]float32, k)
	for c := range w {
		if counts[c] == 0 {
			out[c] = 10
			continue
		}
		out[c] = float32(min(10, w[c]/mean))
	}
	return out
}

// softmaxCE computes the summed cross-entropy of scores [k, n] against
// labels, each pixel weighted by its class's weight (nil: 1), and writes
// its gradient, times scale, to d. Labels ≥ k are ignored. It also
// counts the pixels whose best score is the label.
func softmaxCE(sc []float32, k, n int, labels []uint8, scale float32, weights []float32, d []float32) (loss float64, right int) {
	p := make([]float64, k)
	for i := 0; i < n; i++ {
		t := int(labels[i])
		if t >= k {
			for c := 0; c < k; c++ {
				d[c*n+i] = 0
			}
			continue
		}
		mx, best := sc[i], 0
		for c := 1; c < k; c++ {
			if v := sc[c*n+i]; v > mx {
				mx, best = v, c
			}
		}
		if best == t {
			right++
		}
		var sum float64
		for c := 0; c < k; c++ {
			p[c] = math.Exp(float64(sc[c*n+i] - mx))
			sum += p[c]
		}
		wt := 1.0
		if weights != nil {
			wt = float64(weights[t])
		}
		loss += wt * (math.Log(sum) - float64(sc[t*n+i]-mx))
		for c := 0; c < k; c++ {
			g := p[c] / sum
			if c == t {
				g--
			}
			d[c*n+i] = float32(g*wt) * scale
		}
	}
	return loss, right
}

// Train runs the remaining steps, logging and checkpointing; it stops
// early, with a checkpoint, when ctx is cancelled or MaxTime has passed.
func (t *SegTrainer) Train(ctx context.Context) error {
	o := t.Opts
	start := time.Now()
	var lossSum, accSum float64
	var n int
	for t.Step < o.Steps {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, t.checkpoint())
		}
		if o.MaxTime > 0 && time.Since(start) > o.MaxTime {
			if o.Log != nil {
				fmt.Fprintf(o.Log, "time limit %v reached at step %d\n", o.MaxTime, t.Step)
			}
			return t.checkpoint()
		}
		l, a := t.TrainStep()
		lossSum += l
		accSum += a
		n++
		if o.Log != nil && o.LogEvery > 0 && t.Step%o.LogEvery == 0 {
			fmt.Fprintf(o.Log, "step %d/%d  loss %.4f  pixel acc %.3f  lr %.2g  %.1f scenes/s\n",
				t.Step, o.Steps, lossSum/float64(n), accSum/float64(n), t.lr(),
				float64(n*o.Batch)/time.Since(start).Seconds())
			lossSum, accSum, n = 0, 0, 0
			start = time.Now().Add(-time.Duration(0))
		}
		if o.CheckpointEvery > 0 && t.Step%o.CheckpointEvery == 0 {
			if err := t.checkpoint(); err != nil {
				return err
			}
		}
	}
	return t.checkpoint()
}

func (t *SegTrainer) checkpoint() error {
	if t.Opts.Checkpoint == "" {
		return nil
	}
	names, m := t.Net.Arrays()
	m["adam.m"] = &nd.Array{DType: nd.Float32, Shape: []int{len(t.m)}, F32: t.m}
	m["adam.v"] = &nd.Array{DType: nd.Float32, Shape: []int{len(t.v)}, F32: t.v}
	names = append(names, "adam.m", "adam.v")
	md := t.Net.metadata()
	md["step"] = strconv.Itoa(t.Step)
	tmp := t.Opts.Checkpoint + ".tmp"
	if err := safetensors.WriteFile(tmp, names, m, md); err != nil {
		return err
	}
	return os.Rename(tmp, t.Opts.Checkpoint)
}

func (t *SegTrainer) load(path string) error {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return err
	}
	net, err := segFromFile(f)
	if err != nil {
		return err
	}
	if net.Config != t.Net.Config {
		return fmt.Errorf("checkpoint config %+v differs from %+v", net.Config, t.Net.Config)
	}
	copy(t.Net.Params, net.Params)
	for _, s := range []struct {
		name string
		dst  []float32
	}{{"adam.m", t.m}, {"adam.v", t.v}} {
		a, ok := f.Tensors[s.name]
		if !ok || len(a.F32) != len(s.dst) {
			return fmt.Errorf("checkpoint has no usable %s", s.name)
		}
		copy(s.dst, a.F32)
	}
	t.Step, err = strconv.Atoi(f.Metadata["step"])
	return err
}

// SegScore is a segmentation network's accuracy on labelled images.
type SegScore struct {
	MeanIoU       float64   `json:"miou"`
	PixelAccuracy float64   `json:"pixel_acc"`
	ClassIoU      []float64 `json:"class_iou"`
}

func scoreOf(c *Confusion) SegScore {
	return SegScore{MeanIoU: c.MeanIoU(), PixelAccuracy: c.PixelAccuracy(), ClassIoU: c.IoU()}
}

// EvalSeg segments the generator photos of n held-out scenes at
// size×size and scores the result against their label maps: the scenes
// and styles of Run with the same seedBase (EvalSeedBase + Seed·2³²), so
// that its figures equal Run's miou_real and pixel_acc_real.
func EvalSeg(net *SegNet, src PairSource, n, size int, seedBase int64) SegScore {
	conf := NewConfusion(net.Config.Classes)
	var mu sync.Mutex
	forEach(n, func(i int) {
		lab, photo, _ := src(seedBase+int64(i), seedBase+styleSeedOffset+int64(i), size, size)
		pred := net.Predict(photo, size, size)
		c := NewConfusion(net.Config.Classes)
		_ = c.Add(palettedPix(lab), pred) // pred ids are < Classes
		mu.Lock()
		conf.Merge(c)
		mu.Unlock()
	})
	return scoreOf(conf)
}

// palettedPix returns the label map's class ids, row-major.
func palettedPix(p *image.Paletted) []uint8 {
	b := p.Bounds()
	if p.Stride == b.Dx() && b.Min == (image.Point{}) {
		return p.Pix[:b.Dx()*b.Dy()]
	}
	out := make([]uint8, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := p.PixOffset(b.Min.X, y)
		out = append(out, p.Pix[i:i+b.Dx()]...)
	}
	return out
}

// Landscape is the built-in landscape generator as a PairSource; nil
// while the generator is not part of the build (landscape.go sets it).
var Landscape PairSource

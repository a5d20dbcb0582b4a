package train

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/disintegration/imaging"

	"spadepaint/model"
)

// Example is one training pair as stored: a photo and its label map at
// the same size, class ids already in the model's numbering (the
// "don't care" class, if any, is id Info.LabelNC).
type Example struct {
	// Name says where it came from (file names), for messages.
	Name  string
	Image image.Image
	// Labels holds one map (N = 1), with Instance set when the data set
	// has instance maps.
	Labels *model.Labels
}

// Preprocess is how an example is brought to the model's size, as the
// official preprocess_mode.
type Preprocess int

const (
	// ResizeAndCrop resizes to the load size (286 for a 256 crop, that is
	// ×286/256) ignoring the aspect, then crops the model's size at a
	// random place: ADE20K, COCO-Stuff and plain folders.
	ResizeAndCrop Preprocess = iota
	// Fixed resizes straight to the model's size (Cityscapes, 2:1).
	Fixed
)

func (p Preprocess) String() string {
	if p == Fixed {
		return "fixed"
	}
	return "resize_and_crop"
}

func (p Preprocess) MarshalText() ([]byte, error) { return []byte(p.String()), nil }
func (p *Preprocess) UnmarshalText(b []byte) error {
	switch string(b) {
	case "fixed":
		*p = Fixed
	case "resize_and_crop":
		*p = ResizeAndCrop
	default:
		return fmt.Errorf("unknown preprocess mode %q", b)
	}
	return nil
}

// Class is one label class.
type Class struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Color [3]uint8 `json:"color"`
}

// Info describes a data set: what the model it trains must take.
type Info struct {
	// Format names the layout ("folder", "ade20k", "coco", "cityscapes",
	// or a registered source such as "synthetic").
	Format string `json:"format"`
	// LabelNC is the number of classes, not counting "don't care".
	LabelNC int `json:"label_nc"`
	// DontCare: some pixels carry the "don't care" id LabelNC.
	DontCare bool `json:"contain_dontcare"`
	// Instance: examples carry instance maps (for edge channels).
	Instance bool `json:"instance"`
	// AspectRatio is width/height of the model's input (1 but for
	// Cityscapes' 2).
	AspectRatio float64    `json:"aspect_ratio"`
	Preprocess  Preprocess `json:"preprocess"`
	// Classes, when known, name the ids (and colour the sample grids).
	Classes []Class `json:"classes,omitempty"`
}

// Source is a training data set: a fixed number of examples read on
// demand. Example must be safe to call from several goroutines at once
// and return the same example for the same index every time (exact
// resumption relies on it). A generated data set (the synthetic
// landscapes) implements it as well and is registered with
// RegisterSource.
type Source interface {
	Info() Info
	Len() int
	Example(i int) (*Example, error)
}

// StylePartners is a Source that can draw, for each example, a photo of
// another scene in the same style (the synthetic landscapes can: their
// styles are parameters). A run with Options.StylePairs feeds the style
// encoder that photo instead of the example's own, so the code can only
// carry what the two share — the style, not the layout.
type StylePartners interface {
	Source
	// StylePartner returns a photo of another scene in example i's style,
	// at the size of example i's photo.
	StylePartner(i int) (image.Image, error)
}

var (
	sourcesMu sync.Mutex
	sources   = map[string]func(size int, seed int64) (Source, error){}
)

// RegisterSource makes a generated data set available by name as
// `--data NAME` (the synthetic landscapes register "synthetic"). open
// gets the model's width and the run's seed.
func RegisterSource(name string, open func(size int, seed int64) (Source, error)) {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	sources[name] = open
}

// registered returns the opener of a generated data set.
func registered(name string) (func(size int, seed int64) (Source, error), bool) {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	f, ok := sources[name]
	return f, ok
}

// RegisteredSources lists the generated data sets, for help texts.
func RegisteredSources() []string {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	var ns []string
	for n := range sources {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Augment are the data augmentation settings.
type Augment struct {
	// LoadScale is load size / crop size for ResizeAndCrop (286/256).
	LoadScale float64 `json:"load_scale"`
	// NoFlip turns off the random horizontal flip.
	NoFlip bool `json:"no_flip"`
}

// DefaultLoadScale is the official 286/256.
const DefaultLoadScale = 286.0 / 256.0

// crop is where an example is cut from its resized version.
type crop struct {
	loadW, loadH int // size after resizing
	x, y         int // top-left of the crop
	flip         bool
}

// cropFor draws the official get_params: a random crop position in the
// resized image and a coin for the flip.
func cropFor(info Info, aug Augment, w, h int, rng *rand.Rand) crop {
	c := crop{loadW: w, loadH: h}
	if info.Preprocess == ResizeAndCrop {
		s := aug.LoadScale
		if s < 1 {
			s = DefaultLoadScale
		}
		c.loadW = int(math.Round(float64(w) * s))
		c.loadH = int(math.Round(float64(h) * s))
		c.x = rng.IntN(c.loadW - w + 1)
		c.y = rng.IntN(c.loadH - h + 1)
	}
	c.flip = !aug.NoFlip && rng.Float64() > 0.5
	return c
}

// centerCrop is the deterministic crop of the sample grids.
func centerCrop(info Info, aug Augment, w, h int) crop {
	c := crop{loadW: w, loadH: h}
	if info.Preprocess == ResizeAndCrop {
		s := aug.LoadScale
		if s < 1 {
			s = DefaultLoadScale
		}
		c.loadW = int(math.Round(float64(w) * s))
		c.loadH = int(math.Round(float64(h) * s))
		c.x, c.y = (c.loadW-w)/2, (c.loadH-h)/2
	}
	return c
}

// pilNearest maps output coordinates to input ones as PIL's NEAREST
// resize (which the official transforms use for labels): the source of
// pixel d is floor((d + ½)·in/out).
func pilNearest(in, out int) []int {
	idx := make([]int, out)
	scale := float64(in) / float64(out)
	for d := range idx {
		idx[d] = min(int(math.Floor((float64(d)+0.5)*scale)), in-1)
	}
	return idx
}

// apply brings an example to w×h: labels and instances resized nearest,
// the photo with a bicubic (Catmull-Rom) filter as PIL's BICUBIC, then
// cropped and flipped alike. It returns the labels and the image as
// [3, h, w] in [−1, 1].
func (c crop) apply(ex *Example, w, h int) (*model.Labels, []float32, error) {
	l := ex.Labels
	b := ex.Image.Bounds()
	if b.Dx() != l.W || b.Dy() != l.H {
		return nil, nil, fmt.Errorf("%s: image is %d×%d but its label map %d×%d", ex.Name, b.Dx(), b.Dy(), l.W, l.H)
	}
	xs, ys := pilNearest(l.W, c.loadW), pilNearest(l.H, c.loadH)
	out := &model.Labels{N: 1, H: h, W: w, Class: make([]uint8, w*h)}
	if l.Instance != nil {
		out.Instance = make([]int32, w*h)
	}
	for y := 0; y < h; y++ {
		sy := ys[c.y+y]
		for x := 0; x < w; x++ {
			cx := c.x + x
			if c.flip {
				cx = c.x + w - 1 - x
			}
			src := sy*l.W + xs[cx]
			out.Class[y*w+x] = l.Class[src]
			if out.Instance != nil {
				out.Instance[y*w+x] = l.Instance[src]
			}
		}
	}
	return out, c.applyImage(ex.Image, w, h), nil
}

// applyImage brings a photo of the example's size to w×h as apply does:
// resized bicubic, cropped and flipped, as [3, h, w] in [−1, 1].
func (c crop) applyImage(img image.Image, w, h int) []float32 {
	b := img.Bounds()
	if c.loadW != b.Dx() || c.loadH != b.Dy() {
		img = imaging.Resize(img, c.loadW, c.loadH, imaging.CatmullRom)
	}
	nrgba := imaging.Crop(img, image.Rect(c.x, c.y, c.x+w, c.y+h))
	if c.flip {
		nrgba = imaging.FlipH(nrgba)
	}
	pix := make([]float32, 3*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := nrgba.PixOffset(x, y)
			for ch := 0; ch < 3; ch++ {
				// ToTensor then Normalize(0.5, 0.5): v/255·2 − 1.
				pix[ch*h*w+y*w+x] = (float32(nrgba.Pix[o+ch])/255 - 0.5) / 0.5
			}
		}
	}
	return pix
}

// batch is one optimiser step's data: Accum micro-batches.
type batch struct {
	step  int
	micro []*microBatch
}

// microBatch is the labels and images of one micro-batch, and the
// graphs' inputs made from them.
type microBatch struct {
	labels *model.Labels
	image  []float32 // [N, 3, H, W]
	// style is the style encoder's input [N, 3, H, W] when it is not the
	// image (Options.StylePairs); nil otherwise.
	style []float32
	prep  *prepared
	names []string
}

// order says which example fills each slot of the run: examples are
// drawn epoch by epoch in a random permutation (a fresh one per epoch,
// as the official shuffling loader) from one stream of positions, slot q
// of the run being position q mod Len of epoch q div Len. Everything is a
// function of the seed and the slot, so a resumed run draws exactly what
// the uninterrupted one would have.
type order struct {
	seed  uint64
	n     int
	mu    sync.Mutex
	perms map[int][]int
}

func newOrder(seed int64, n int) *order {
	return &order{seed: uint64(seed), n: n, perms: map[int][]int{}}
}

func (o *order) index(q int) int {
	e, k := q/o.n, q%o.n
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.perms[e]
	if !ok {
		rng := rand.New(rand.NewPCG(o.seed, 0x0e90c4<<32|uint64(e)))
		p = rng.Perm(o.n)
		if len(o.perms) > 4 {
			clear(o.perms)
		}
		o.perms[e] = p
	}
	return p[k]
}

// slotRNG is the augmentation randomness of slot q.
func slotRNG(seed int64, q int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed)^0xa097_3e17, uint64(q)))
}

// noise fills eps with the VAE noise of step s, micro-batch j, for the
// generator's (w = forG) or the discriminator's pass.
func noise(seed int64, s, j int, w which, eps []float32) {
	rng := rand.New(rand.NewPCG(uint64(seed)^0x2015_e0a1, uint64(s)<<16|uint64(j)<<1|uint64(w)))
	for i := range eps {
		eps[i] = float32(rng.NormFloat64())
	}
}

// loader reads and augments the examples of the coming steps in
// goroutines, ahead of the training loop.
type loader struct {
	src     Source
	info    Info
	c       model.Config
	aug     Augment
	seed    int64
	batch   int // examples per micro-batch
	accum   int
	ord     *order
	workers int
	// partners, when set, draws the style encoder's input from another
	// scene in the example's style (Options.StylePairs).
	partners StylePartners
	// skipBad replaces an example that fails to load by the next one
	// that loads (recorded in skipped); otherwise the error stops the run.
	skipBad bool
	skipMu  sync.Mutex
	skipped map[string]bool // error messages of the examples skipped
}

// skippedSoFar returns the messages of the examples skipped so far.
func (ld *loader) skippedSoFar() []string {
	ld.skipMu.Lock()
	defer ld.skipMu.Unlock()
	var ms []string
	for m := range ld.skipped {
		ms = append(ms, m)
	}
	sort.Strings(ms)
	return ms
}

type loaded struct {
	b   *batch
	err error
}

// start loads steps from..to−1 in order into the returned channel, at
// most ahead steps in advance, until ctx is done.
func (ld *loader) start(ctx context.Context, from, to, ahead int) <-chan loaded {
	out := make(chan loaded)
	futures := make(chan chan loaded, ahead)
	go func() {
		defer close(futures)
		for s := from; s < to; s++ {
			f := make(chan loaded, 1)
			select {
			case futures <- f:
			case <-ctx.Done():
				return
			}
			go func(s int) {
				b, err := ld.load(ctx, s)
				f <- loaded{b, err}
			}(s)
		}
	}()
	go func() {
		defer close(out)
		for f := range futures {
			var r loaded
			select {
			case r = <-f:
			case <-ctx.Done():
				return
			}
			select {
			case out <- r:
			case <-ctx.Done():
				return
			}
			if r.err != nil {
				return
			}
		}
	}()
	return out
}

// load reads step s's examples with the loader's workers.
func (ld *loader) load(ctx context.Context, s int) (*batch, error) {
	per := ld.batch * ld.accum
	w, h := ld.c.Width, ld.c.Height()
	items := make([]*item, per)
	errs := make([]error, per)
	sem := make(chan struct{}, max(1, ld.workers))
	var wg sync.WaitGroup
	for i := 0; i < per; i++ {
		q := s*per + i
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			items[i], errs[i] = ld.slot(q)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	b := &batch{step: s}
	for j := 0; j < ld.accum; j++ {
		n := ld.batch
		mb := &microBatch{
			labels: &model.Labels{N: n, H: h, W: w, Class: make([]uint8, 0, n*h*w)},
			image:  make([]float32, 0, n*3*h*w),
		}
		for _, it := range items[j*n : (j+1)*n] {
			mb.names = append(mb.names, it.name)
			mb.labels.Class = append(mb.labels.Class, it.labels.Class...)
			if ld.c.Instance {
				inst := it.labels.Instance
				if inst == nil {
					inst = make([]int32, h*w)
				}
				mb.labels.Instance = append(mb.labels.Instance, inst...)
			}
			mb.image = append(mb.image, it.image...)
			if it.style != nil {
				mb.style = append(mb.style, it.style...)
			}
		}
		p, err := prepare(ld.c, mb.labels, mb.image, mb.style)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", mb.names, err)
		}
		mb.prep = p
		b.micro = append(b.micro, mb)
	}
	return b, nil
}

// item is one loaded example: labels and photo at the model's size, the
// style encoder's input when it is another photo (nil otherwise), and
// the example's name.
type item struct {
	labels *model.Labels
	image  []float32 // [3, H, W] in [−1, 1]
	style  []float32 // [3, H, W] in [−1, 1], or nil
	name   string
}

// slot loads the example of run slot q, augmented.
func (ld *loader) slot(q int) (*item, error) {
	idx := ld.ord.index(q)
	var firstErr error
	for try := 0; try < ld.src.Len(); try++ {
		i := (idx + try) % ld.src.Len()
		it, err := ld.example(i, slotRNG(ld.seed, q))
		if err == nil {
			return it, nil
		}
		if !ld.skipBad {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
		ld.skipMu.Lock()
		if ld.skipped == nil {
			ld.skipped = map[string]bool{}
		}
		ld.skipped[err.Error()] = true
		ld.skipMu.Unlock()
	}
	return nil, fmt.Errorf("no example loads: %w", firstErr)
}

// example loads example i with crop randomness from rng (nil: centre
// crop, no flip), and its style partner when the run uses them (cropped
// and flipped as the example).
func (ld *loader) example(i int, rng *rand.Rand) (*item, error) {
	ex, err := ld.src.Example(i)
	if err != nil {
		return nil, err
	}
	w, h := ld.c.Width, ld.c.Height()
	var cr crop
	if rng != nil {
		cr = cropFor(ld.info, ld.aug, w, h, rng)
	} else {
		cr = centerCrop(ld.info, ld.aug, w, h)
	}
	l, img, err := cr.apply(ex, w, h)
	if err != nil {
		return nil, err
	}
	if lim := ld.c.NumClasses(); lim > 0 {
		for p, id := range l.Class {
			if int(id) >= lim {
				return nil, fmt.Errorf("%s: class id %d at x=%d y=%d (after resizing) is not below the model's %d classes", ex.Name, id, p%w, p/w, lim)
			}
		}
	}
	it := &item{labels: l, image: img, name: ex.Name}
	if ld.partners != nil {
		sp, err := ld.partners.StylePartner(i)
		if err != nil {
			return nil, fmt.Errorf("%s: style partner: %w", ex.Name, err)
		}
		if sp.Bounds().Size() != ex.Image.Bounds().Size() {
			return nil, fmt.Errorf("%s: style partner is %v, the photo %v", ex.Name, sp.Bounds().Size(), ex.Image.Bounds().Size())
		}
		it.style = cr.applyImage(sp, w, h)
	}
	return it, nil
}

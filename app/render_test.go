package app

import (
	"context"
	"image"
	"image/color"
	"sync"
	"testing"
	"time"
)

// gateSynth blocks each render until released and records what it saw.
type gateSynth struct {
	mu      sync.Mutex
	started chan uint8
	release chan struct{}
	seen    []uint8
}

func (g *gateSynth) Synthesize(ctx context.Context, labels *image.Paletted, s Style) (image.Image, error) {
	id := labels.Pix[0]
	g.started <- id
	<-g.release
	g.mu.Lock()
	g.seen = append(g.seen, id)
	g.mu.Unlock()
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.NRGBA{id, 0, 0, 255})
	return img, nil
}

func labelsOf(id uint8) *image.Paletted {
	p := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White, color.Gray{128}, color.Gray{64}})
	for i := range p.Pix {
		p.Pix[i] = id
	}
	return p
}

// TestRendererNewestWins: requests made while a render runs replace each
// other; the outdated render in flight is discarded and only the newest
// request's result is delivered.
func TestRendererNewestWins(t *testing.T) {
	g := &gateSynth{started: make(chan uint8, 8), release: make(chan struct{})}
	results := make(chan Result, 8)
	r := NewRenderer(g, func(res Result) { results <- res })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)

	r.Request(labelsOf(0), Style{})
	if id := <-g.started; id != 0 {
		t.Fatalf("first render saw %d", id)
	}
	// While render 0 runs, three more requests arrive: 1 and 2 are overtaken.
	for id := uint8(1); id <= 3; id++ {
		r.Request(labelsOf(id), Style{})
	}
	g.release <- struct{}{} // render 0 ends: outdated, not delivered
	if id := <-g.started; id != 3 {
		t.Fatalf("second render saw labels %d, want the newest (3)", id)
	}
	g.release <- struct{}{}
	res := <-results
	if res.Err != nil || res.Seq != 4 {
		t.Fatalf("delivered seq %d err %v, want seq 4", res.Seq, res.Err)
	}
	if c := res.Image.At(0, 0).(color.NRGBA); c.R != 3 {
		t.Errorf("delivered image of labels %d, want 3", c.R)
	}
	select {
	case extra := <-results:
		t.Fatalf("outdated result delivered: seq %d", extra.Seq)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestRendererCopiesLabels: painting after a request does not change
// what is rendered.
func TestRendererCopiesLabels(t *testing.T) {
	g := &gateSynth{started: make(chan uint8, 1), release: make(chan struct{}, 1)}
	results := make(chan Result, 1)
	r := NewRenderer(g, func(res Result) { results <- res })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	l := labelsOf(2)
	r.Request(l, Style{})
	for i := range l.Pix {
		l.Pix[i] = 1
	}
	g.release <- struct{}{}
	if id := <-g.started; id != 2 {
		t.Fatalf("render saw %d, want the labels as they were requested (2)", id)
	}
	<-results
}

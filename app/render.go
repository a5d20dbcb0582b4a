package app

import (
	"context"
	"errors"
	"image"
	"sync"
	"time"
)

// Result is one finished render.
type Result struct {
	Seq   uint64
	Image image.Image
	Err   error
	Took  time.Duration
	Style Style
}

// job is one render request; labels is a private copy.
type job struct {
	seq    uint64
	labels *image.Paletted
	style  Style
}

// Renderer runs renders off the UI goroutine. The newest request wins: a
// request replaces any that has not started, cancels the one in flight
// (a render that cannot stop midway is discarded when it ends), and only
// the newest request's result is delivered.
type Renderer struct {
	synth   Synthesizer
	deliver func(Result)

	mu      sync.Mutex
	pending *job
	latest  uint64
	cancel  context.CancelFunc
	wake    chan struct{}
}

// NewRenderer makes a renderer; deliver is called on the renderer's
// goroutine (the app wraps it in fyne.Do).
func NewRenderer(s Synthesizer, deliver func(Result)) *Renderer {
	return &Renderer{synth: s, deliver: deliver, wake: make(chan struct{}, 1)}
}

// SetSynth switches models; the next request uses the new one.
func (r *Renderer) SetSynth(s Synthesizer) {
	r.mu.Lock()
	r.synth = s
	r.mu.Unlock()
}

// Request asks for a render of labels (copied now, so the caller may keep
// painting) with style, and returns its sequence number.
func (r *Renderer) Request(labels *image.Paletted, style Style) uint64 {
	cp := *labels
	cp.Pix = append([]uint8(nil), labels.Pix...)
	r.mu.Lock()
	r.latest++
	r.pending = &job{seq: r.latest, labels: &cp, style: style}
	if r.cancel != nil {
		r.cancel()
	}
	seq := r.latest
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return seq
}

// Run serves requests until ctx ends.
func (r *Renderer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		for {
			r.mu.Lock()
			j := r.pending
			r.pending = nil
			synth := r.synth
			jctx, cancel := context.WithCancel(ctx)
			r.cancel = cancel
			r.mu.Unlock()
			if j == nil {
				cancel()
				break
			}
			start := time.Now()
			var img image.Image
			var err error
			if synth == nil {
				err = errNoModel
			} else {
				img, err = synth.Synthesize(jctx, j.labels, j.style)
			}
			cancel()
			r.mu.Lock()
			newest := j.seq == r.latest
			r.mu.Unlock()
			if !newest || errors.Is(err, context.Canceled) {
				continue // overtaken: the newer request is pending
			}
			r.deliver(Result{Seq: j.seq, Image: img, Err: err, Took: time.Since(start), Style: j.style})
		}
	}
}

var errNoModel = errors.New("no model loaded: open one with File → Open model…")

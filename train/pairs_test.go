package train

import (
	"context"
	"image"
	"reflect"
	"strings"
	"testing"

	"spadepaint/model/ops"
)

// pairSource is a memSource whose style partner of example i is the
// photo of example i+1 (any other photo will do to check the plumbing).
type pairSource struct{ *memSource }

func (s pairSource) StylePartner(i int) (image.Image, error) {
	return s.ex[(i+1)%len(s.ex)].Image, nil
}

// pixels is a photo as the loader hands it on: [3, H, W] in [−1, 1].
func pixels(img image.Image) []float32 {
	b := img.Bounds()
	return crop{loadW: b.Dx(), loadH: b.Dy()}.applyImage(img, b.Dx(), b.Dy())
}

func TestStylePairsFeedTheEncoder(t *testing.T) {
	mem := newMemSource(4, 64, 64, 5)
	mem.info.Preprocess = Fixed // no crop: the loaded pixels are the photo's
	src := pairSource{mem}
	opt := resumeOptions(src)
	opt.Augment.NoFlip = true
	opt.Batch, opt.Accum = 2, 1
	for _, pairs := range []bool{false, true} {
		o := opt
		o.StylePairs = pairs
		tr, err := New(t.TempDir(), src, o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tr.ld.load(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		mb := b.micro[0]
		// The encoder's input is the examples' photos, or their
		// partners', resized to the encoder's size.
		var want []float32
		for k := 0; k < mb.labels.N; k++ {
			i := tr.ld.ord.index(k)
			img := mem.ex[i].Image
			if pairs {
				img, _ = src.StylePartner(i)
			}
			want = append(want, pixels(img)...)
		}
		if sameAsPhotos := reflect.DeepEqual(mb.image, want); sameAsPhotos == pairs {
			t.Errorf("pairs %v: the encoder's input equals the micro-batch's own photos: %v", pairs, sameAsPhotos)
		}
		c := o.Model
		if es := c.EncoderSize(); es != c.Width {
			want = ops.ResizeBilinear(want, mb.labels.N, 3, c.Height(), c.Width, es, es)
		}
		if !reflect.DeepEqual(mb.prep.style, want) {
			t.Errorf("pairs %v: the encoder's input is not the expected photos", pairs)
		}
	}
}

func TestStylePairsChangeTheStep(t *testing.T) {
	mem := newMemSource(4, 64, 64, 5)
	src := pairSource{mem}
	opt := resumeOptions(src)
	opt.Steps, opt.DecaySteps = 1, 0
	var logs [2][]LogEntry
	for k, pairs := range []bool{false, true} {
		o := opt
		o.StylePairs = pairs
		dir := t.TempDir()
		runSteps(t, dir, src, o, 1)
		logs[k] = readLogT(t, dir)
		got, err := ReadOptions(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got.StylePairs != pairs {
			t.Errorf("the run's options say style pairs %v, want %v", got.StylePairs, pairs)
		}
	}
	// Same weights, data and noise: only the encoder's input differs, so
	// the KL term (a function of the code alone) must.
	if logs[0][0].KLD == logs[1][0].KLD {
		t.Errorf("the KL term is %v with and without style pairs", logs[0][0].KLD)
	}
}

func TestStylePairsRefused(t *testing.T) {
	mem := newMemSource(2, 64, 64, 5)
	noVAE := resumeOptions(mem)
	noVAE.Model.UseVAE = false
	noVAE.StylePairs = true
	if err := noVAE.Validate(); err == nil || !strings.Contains(err.Error(), "style encoder") {
		t.Errorf("style pairs without a VAE: %v", err)
	}
	opt := resumeOptions(mem)
	opt.StylePairs = true
	if _, err := New(t.TempDir(), mem, opt); err == nil || !strings.Contains(err.Error(), "style pairs") {
		t.Errorf("style pairs from a data set without partners: %v", err)
	}
	var _ StylePartners = pairSource{}
}

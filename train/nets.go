package train

import (
	"fmt"
	"math"
	"math/rand"

	"gorgonia.org/tensor"

	"spadepaint/model"
	"spadepaint/model/ops"
)

// nets holds the weights of the three networks being trained.
type nets struct {
	c       model.Config
	G, E, D model.Params
}

// newNets initialises fresh weights as the official code (see
// officialInit); seed fixes them.
func newNets(c model.Config, seed int64) *nets { return newNetsWith(c, seed, officialInit) }

// newNetsWith initialises the networks with init.
func newNetsWith(c model.Config, seed int64, init func([]model.Spec, *rand.Rand) model.Params) *nets {
	rng := rand.New(rand.NewSource(seed))
	n := &nets{c: c, G: init(model.GeneratorSpecs(c), rng)}
	if c.UseVAE {
		n.E = init(model.EncoderSpecs(c), rng)
	}
	n.D = init(model.DiscriminatorSpecs(c), rng)
	return n
}

// officialInit is the official BaseNetwork.init_weights with its defaults
// (--init_type xavier, --init_variance 0.02): every conv and linear weight
// is drawn from N(0, 0.02²·2/(fan_in + fan_out)) and every bias is 0.
// That includes the spectral-normalised layers: at construction their
// `weight` attribute shares storage with `weight_orig`, so the in-place
// init reaches weight_orig. The power-iteration vectors are random unit
// vectors and batch-norm statistics start at mean 0, variance 1.
func officialInit(specs []model.Spec, rng *rand.Rand) model.Params {
	p := model.InitParams(specs, rng)
	for _, s := range specs {
		if s.Kind != model.Weight && s.Kind != model.SNWeight {
			continue
		}
		receptive := 1
		for _, d := range s.Shape[2:] {
			receptive *= d
		}
		fanIn, fanOut := s.Shape[1]*receptive, s.Shape[0]*receptive
		std := 0.02 * math.Sqrt(2/float64(fanIn+fanOut))
		w, _ := p.F32(s.Key)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * std)
		}
	}
	return p
}

// all is the union of the three networks' params (their keys never
// collide), sharing the tensors.
func (n *nets) all() model.Params {
	p := make(model.Params, len(n.G)+len(n.E)+len(n.D))
	for _, set := range []model.Params{n.G, n.E, n.D} {
		for k, t := range set {
			p[k] = t
		}
	}
	return p
}

// learnedG lists the parameters the generator's optimiser updates: the
// generator's and, with a VAE, the encoder's, as the official code.
func (n *nets) learnedG() []string {
	ks := model.LearnedKeys(model.GeneratorSpecs(n.c))
	if n.c.UseVAE {
		ks = append(ks, model.LearnedKeys(model.EncoderSpecs(n.c))...)
	}
	return ks
}

func (n *nets) learnedD() []string { return model.LearnedKeys(model.DiscriminatorSpecs(n.c)) }

// fitsFrom checks that a model to start from (config from) fits the
// run's config c: the same networks, but for the normalisation, which
// holds no learned weights (switching it adds or drops batch-norm
// statistics), the encoder's colour statistics (switching them adds or
// drops fc_mu's and fc_var's last columns; see adopt) and the style
// modulation (switching it adds, at zero, or drops the SPADE layers'
// mlp_style_* weights), and whether the code carries the colour
// statistics (no weights change).
func fitsFrom(path string, from, c model.Config) error {
	f := from
	f.Norm, f.EncoderStats, f.StyleMod, f.StatsInCode = c.Norm, c.EncoderStats, c.StyleMod, c.StatsInCode
	if f.JSON() != c.JSON() {
		return fmt.Errorf("--from %s: its config %s differs from the run's %s", path, from.JSON(), c.JSON())
	}
	return nil
}

// adopt copies into n every tensor of src whose key n's networks have, at
// the same shape (clones: n does not share src's storage). A network src
// lacks (nil) keeps n's. Keys only n has keep n's values: batch-norm
// statistics (mean 0, variance 1) when a run switches an instance-norm
// model to batch norm; statistics only src has are dropped the other way.
// A matrix whose rows match but whose columns differ (fc_mu and fc_var
// when the encoder's colour statistics are switched on or off) keeps the
// common columns and starts new ones at zero, so the code is at first
// what it was.
func (n *nets) adopt(src *nets) {
	for _, pair := range [][2]model.Params{{n.G, src.G}, {n.E, src.E}, {n.D, src.D}} {
		dst, from := pair[0], pair[1]
		if dst == nil || from == nil {
			continue
		}
		for k, t := range dst {
			f, ok := from[k]
			switch {
			case !ok:
			case f.Shape().Eq(t.Shape()):
				dst[k] = f.Clone().(*tensor.Dense)
			case len(t.Shape()) == 2 && len(f.Shape()) == 2 && t.Shape()[0] == f.Shape()[0]:
				rows, tc, fc := t.Shape()[0], t.Shape()[1], f.Shape()[1]
				td, fd := t.Data().([]float32), f.Data().([]float32)
				for r := 0; r < rows; r++ {
					row := td[r*tc : (r+1)*tc]
					clear(row)
					copy(row, fd[r*fc:r*fc+min(tc, fc)])
				}
			}
		}
	}
}

// check verifies the weights against the config.
func (n *nets) check() error {
	if err := model.CheckParams(n.G, model.GeneratorSpecs(n.c)); err != nil {
		return fmt.Errorf("generator: %w", err)
	}
	if n.c.UseVAE {
		if err := model.CheckParams(n.E, model.EncoderSpecs(n.c)); err != nil {
			return fmt.Errorf("encoder: %w", err)
		}
	}
	if err := model.CheckParams(n.D, model.DiscriminatorSpecs(n.c)); err != nil {
		return fmt.Errorf("discriminator: %w", err)
	}
	return nil
}

// prepare turns a micro-batch (labels at the model's size, images
// [N, 3, H, W] in [−1, 1]) into the graphs' inputs. style is the style
// encoder's input at the same size, nil for the images themselves.
func prepare(c model.Config, l *model.Labels, img, style []float32) (*prepared, error) {
	if err := l.Check(c); err != nil {
		return nil, err
	}
	h, w := c.Height(), c.Width
	if len(img) != l.N*3*h*w {
		return nil, fmt.Errorf("image batch has %d values, want %d", len(img), l.N*3*h*w)
	}
	p := &prepared{n: l.N}
	snc := c.SemanticNC()
	for _, s := range model.GeneratorScales(c) {
		seg := make([]float32, l.N*snc*s.H*s.W)
		l.OneHot(c, s.H, s.W, seg)
		p.segs = append(p.segs, seg)
	}
	if style == nil {
		style = img
	} else if len(style) != len(img) {
		return nil, fmt.Errorf("style batch has %d values, want %d", len(style), len(img))
	}
	if c.UseVAE {
		es := c.EncoderSize()
		if es == h && es == w {
			p.style = style
		} else {
			p.style = ops.ResizeBilinear(style, l.N, 3, h, w, es, es)
		}
	}
	p.realD = make([]float32, l.N*c.DInputNC()*h*w)
	if err := model.DiscriminatorInput(c, l, img, p.realD); err != nil {
		return nil, err
	}
	return p, nil
}

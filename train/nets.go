package train

import (
	"fmt"
	"math/rand"

	"spadepaint/model"
	"spadepaint/model/ops"
)

// nets holds the weights of the three networks being trained.
type nets struct {
	c       model.Config
	G, E, D model.Params
}

// newNets initialises fresh weights as the official code does not: it
// uses PyTorch's default layer init (see model.InitParams); seed fixes them.
func newNets(c model.Config, seed int64) *nets {
	rng := rand.New(rand.NewSource(seed))
	n := &nets{c: c, G: model.InitParams(model.GeneratorSpecs(c), rng)}
	if c.UseVAE {
		n.E = model.InitParams(model.EncoderSpecs(c), rng)
	}
	n.D = model.InitParams(model.DiscriminatorSpecs(c), rng)
	return n
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
// [N, 3, H, W] in [−1, 1]) into the graphs' inputs.
func prepare(c model.Config, l *model.Labels, img []float32) (*prepared, error) {
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
	if c.UseVAE {
		es := c.EncoderSize()
		if es == h && es == w {
			p.style = img
		} else {
			p.style = ops.ResizeBilinear(img, l.N, 3, h, w, es, es)
		}
	}
	p.realD = make([]float32, l.N*c.DInputNC()*h*w)
	if err := model.DiscriminatorInput(c, l, img, p.realD); err != nil {
		return nil, err
	}
	return p, nil
}

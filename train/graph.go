package train

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"spadepaint/model"
	"spadepaint/model/ops"
)

// Losses are one step's loss terms, named as the official trainer logs
// them. GAN, GANFeat and KLD make the generator's loss (their sum is
// what it descends); DFake and DReal the discriminator's.
type Losses struct {
	GAN     float64 `json:"G_GAN"`
	GANFeat float64 `json:"G_GAN_Feat"`
	KLD     float64 `json:"G_KLD"`
	VGG     float64 `json:"G_VGG,omitempty"`    // with --vgg (see vgg.go)
	Colour  float64 `json:"G_Colour,omitempty"` // with --lambda-colour
	DFake   float64 `json:"D_Fake"`
	DReal   float64 `json:"D_real"`
}

// G is the generator's total loss.
func (l Losses) G() float64 { return l.GAN + l.GANFeat + l.KLD + l.VGG + l.Colour }

// D is the discriminator's total loss.
func (l Losses) D() float64 { return l.DFake + l.DReal }

// lossWeights are the λ of the loss terms.
type lossWeights struct {
	Feat float64 // feature matching (official lambda_feat, 10; 0 = off)
	KLD  float64 // KL divergence (official lambda_kld, 0.05)
	// VGG weighs the VGG19 perceptual loss on vgg's weights (official
	// lambda_vgg, 10); off when vgg is nil.
	VGG float64
	vgg *VGG
	// Colour weighs the low-resolution colour loss (0 = off; not in the
	// paper, see colourLoss).
	Colour float64
	// Chroma, when positive, makes the colour loss compare luma and two
	// chroma channels, the latter weighed Chroma (see colourLoss).
	Chroma float64
}

// stepGraph is one compiled training graph for a fixed micro-batch size:
// the generator's (encoder → z → generator → discriminator on fake and
// real → G losses, gradients for G and E) or the discriminator's (the
// same forward, D losses, gradients for D). Its inputs are filled from a
// prepared batch with Let before every run.
type stepGraph struct {
	g   *G.ExprGraph
	vm  G.VM
	net *model.TrainNet
	gen *model.GeneratorGraph
	enc *model.EncoderGraph // nil without a VAE
	eps *G.Node             // [N, z_dim] standard normal noise, nil without a VAE
	// realD is the discriminator's input for the real images.
	realD *G.Node
	// loss terms (scalars) by name, and the total that is differentiated.
	terms map[string]*G.Node
	total *G.Node
	// keys and grads: the learned parameters this graph differentiates.
	keys  []string
	grads []*G.Node
	stats map[string]*ops.BatchStats
	// inputs reused at every run.
	segT  []*tensor.Dense
	styT  *tensor.Dense
	epsT  *tensor.Dense
	realT *tensor.Dense
	// realImg is the real image [N, 3, H, W] for the VGG and colour
	// losses (nil without either).
	realImg  *G.Node
	realImgT *tensor.Dense
}

// which says which player a stepGraph trains.
type which int

const (
	forG which = iota
	forD
)

// buildStep builds the graph for micro-batch n. p holds G, E and D
// weights (the union of their Params); learned lists the keys to
// differentiate.
func buildStep(c model.Config, n int, p model.Params, w which, lw lossWeights, learned []string) (*stepGraph, error) {
	g := G.NewGraph()
	s := &stepGraph{g: g, net: model.NewTrainNet(g, p), terms: map[string]*G.Node{}}
	var z *G.Node
	if c.UseVAE {
		var err error
		if s.enc, err = s.net.Encoder(c, n); err != nil {
			return nil, err
		}
		s.eps = G.NewTensor(g, tensor.Float32, 2, G.WithShape(n, c.ZDim), G.WithName("eps"))
		if z, err = reparameterize(s.enc.Mu, s.enc.LogVar, s.eps); err != nil {
			return nil, fmt.Errorf("reparameterize: %w", err)
		}
	}
	gen, err := s.net.Generator(c, n, z)
	if err != nil {
		return nil, err
	}
	s.gen = gen
	h, wd := c.Height(), c.Width
	s.realD = G.NewTensor(g, tensor.Float32, 4, G.WithShape(n, c.DInputNC(), h, wd), G.WithName("real_d"))
	fakeD, err := G.Concat(1, gen.Segs[len(gen.Segs)-1], gen.Out)
	if err != nil {
		return nil, fmt.Errorf("concat: %w", err)
	}
	// The official code runs D once on cat([fake, real], 0). Its layers
	// are per-sample (instance norm) and its spectral norm uses the same
	// u and v for both halves, so two applications with shared weights
	// give the same values without slicing the batch apart.
	dFake, err := s.net.Discriminator(c, fakeD)
	if err != nil {
		return nil, err
	}
	dReal, err := s.net.Discriminator(c, s.realD)
	if err != nil {
		return nil, err
	}
	switch w {
	case forG:
		if err := s.generatorLoss(c, lw, dFake, dReal); err != nil {
			return nil, err
		}
	case forD:
		if err := s.discriminatorLoss(c, dFake, dReal); err != nil {
			return nil, err
		}
	}
	nodes := s.net.Nodes()
	for _, k := range learned {
		nd, ok := nodes[k]
		if !ok {
			return nil, fmt.Errorf("parameter %s is not in the graph", k)
		}
		s.keys = append(s.keys, k)
		s.grads = append(s.grads, nd)
	}
	if s.grads, err = G.Grad(s.total, s.grads...); err != nil {
		return nil, fmt.Errorf("gradients: %w", err)
	}
	s.stats = s.net.BatchStats()
	// Run only what the losses and the wanted gradients need: gorgonia's
	// convolution differentiates every input, so the full graph would also
	// compute gradients nobody reads (into the label maps, into the other
	// network's weights).
	roots := append(G.Nodes{}, s.grads...)
	for _, n := range s.terms {
		roots = append(roots, n)
	}
	s.vm = G.NewTapeMachine(g.ExactSubgraphRoots(roots...))
	for _, sz := range gen.Sizes {
		s.segT = append(s.segT, tensor.New(tensor.WithShape(n, c.SemanticNC(), sz.H, sz.W), tensor.Of(tensor.Float32)))
	}
	if c.UseVAE {
		es := c.EncoderSize()
		s.styT = tensor.New(tensor.WithShape(n, 3, es, es), tensor.Of(tensor.Float32))
		s.epsT = tensor.New(tensor.WithShape(n, c.ZDim), tensor.Of(tensor.Float32))
	}
	s.realT = tensor.New(tensor.WithShape(n, c.DInputNC(), h, wd), tensor.Of(tensor.Float32))
	if s.realImg != nil {
		s.realImgT = tensor.New(tensor.WithShape(n, 3, h, wd), tensor.Of(tensor.Float32))
	}
	return s, nil
}

// reparameterize is z = μ + ε·exp(½·logvar).
func reparameterize(mu, logvar, eps *G.Node) (*G.Node, error) {
	half, err := G.HadamardProd(logvar, G.NewConstant(float32(0.5)))
	if err != nil {
		return nil, err
	}
	std, err := G.Exp(half)
	if err != nil {
		return nil, err
	}
	noise, err := G.HadamardProd(eps, std)
	if err != nil {
		return nil, err
	}
	return G.Add(mu, noise)
}

// generatorLoss: hinge GAN −mean D(fake) averaged over the scales (the
// official GANLoss divides the sum over scales by their number), feature
// matching Σ_scales Σ_layers L1(D_fake, D_real)·λ_feat/num_D with the
// real features constant (they do not depend on G), and with a VAE the KL
// divergence −½·Σ(1 + logvar − μ² − exp(logvar))·λ_kld summed over the
// batch and the code, as the official KLDLoss.
func (s *stepGraph) generatorLoss(c model.Config, lw lossWeights, dFake, dReal *model.DiscriminatorGraph) error {
	numD := float32(len(dFake.Features))
	var gan *G.Node
	for _, feats := range dFake.Features {
		m, err := meanAll(feats[len(feats)-1])
		if err != nil {
			return err
		}
		if gan, err = addOrFirst(gan, m); err != nil {
			return err
		}
	}
	gan, err := G.Mul(gan, G.NewConstant(-1/numD))
	if err != nil {
		return err
	}
	s.terms["G_GAN"] = gan
	total := gan
	if lw.Feat > 0 {
		var feat *G.Node
		for d, feats := range dFake.Features {
			for j := 0; j < len(feats)-1; j++ {
				diff, err := G.Sub(feats[j], dReal.Features[d][j])
				if err != nil {
					return err
				}
				if diff, err = G.Abs(diff); err != nil {
					return err
				}
				m, err := meanAll(diff)
				if err != nil {
					return err
				}
				if feat, err = addOrFirst(feat, m); err != nil {
					return err
				}
			}
		}
		if total, err = s.addTerm(total, "G_GAN_Feat", feat, float32(lw.Feat)/numD); err != nil {
			return err
		}
	}
	if c.UseVAE && lw.KLD > 0 {
		kld, err := klDivergence(s.enc.Mu, s.enc.LogVar)
		if err != nil {
			return err
		}
		if total, err = s.addTerm(total, "G_KLD", kld, float32(lw.KLD)); err != nil {
			return err
		}
	}
	if (lw.vgg != nil && lw.VGG > 0) || lw.Colour > 0 {
		sh := s.gen.Out.Shape()
		s.realImg = G.NewTensor(s.g, tensor.Float32, 4, G.WithShape(sh...), G.WithName("real_image"))
	}
	if lw.Colour > 0 {
		l, err := colourLoss(c, s.gen.Out, s.realImg, lw.Chroma)
		if err != nil {
			return fmt.Errorf("colour loss: %w", err)
		}
		if total, err = s.addTerm(total, "G_Colour", l, float32(lw.Colour)); err != nil {
			return err
		}
	}
	if lw.vgg != nil && lw.VGG > 0 {
		l, err := lw.vgg.in(s.g).loss(s.gen.Out, s.realImg)
		if err != nil {
			return err
		}
		if total, err = s.addTerm(total, "G_VGG", l, float32(lw.VGG)); err != nil {
			return err
		}
	}
	s.total = total
	return nil
}

// addTerm weighs loss l, logs it as term name and returns total + weight·l.
func (s *stepGraph) addTerm(total *G.Node, name string, l *G.Node, weight float32) (*G.Node, error) {
	l, err := G.Mul(l, G.NewConstant(weight))
	if err != nil {
		return nil, err
	}
	s.terms[name] = l
	return G.Add(total, l)
}

// colourPoolCells is the width, in cells, of the grid the colour loss
// compares: 16 cells across keep a scene's colour layout (sky, ground,
// water) and drop all texture.
const colourPoolCells = 16

// colourLoss is the mean L1 distance between the generated and the real
// images average-pooled to a colourPoolCells-wide grid (8×8 pixel cells at
// 128²). Not in the paper: it stands in for the part of the VGG
// perceptual loss (whose ImageNet weights cannot be had here) that ties a
// reconstruction's colours to its style image, and so teaches the encoder
// and generator to carry a style photo's colours; at this resolution it
// says nothing about texture, which the GAN and feature-matching losses
// keep shaping.
//
// With chroma > 0 the pooled difference is first turned from RGB into an
// orthonormal opponent basis — luma (1,1,1)/√3, red–green (1,−1,0)/√2,
// yellow–blue (1,1,−2)/√6 — and the two chroma channels are weighed by
// chroma (1: a rotation of RGB, about the same loss). Why: a colour cast
// is a small RGB difference (a few hundredths) next to the lightness
// differences between regions, while the style's tint is what a style
// photo is chosen for; in CIELAB, which the evaluation's style fidelity
// measures in, a red–green shift of 0.05 in RGB moves a* several times
// as far as the same shift of all three channels moves L*.
func colourLoss(c model.Config, fake, real *G.Node, chroma float64) (*G.Node, error) {
	k := max(1, c.Width/colourPoolCells)
	pf, err := ops.AvgPool2D(fake, k, k, 0)
	if err != nil {
		return nil, err
	}
	pr, err := ops.AvgPool2D(real, k, k, 0)
	if err != nil {
		return nil, err
	}
	d, err := G.Sub(pf, pr)
	if err != nil {
		return nil, err
	}
	if chroma > 0 {
		return opponentL1(d, chroma)
	}
	if d, err = G.Abs(d); err != nil {
		return nil, err
	}
	return meanAll(d)
}

// opponentL1 is the mean absolute value of d ([N, 3, h, w], RGB) in the
// opponent basis of colourLoss, the chroma channels weighed by chroma:
// the mean over the three channels, as the RGB loss's.
func opponentL1(d *G.Node, chroma float64) (*G.Node, error) {
	var ch [3]*G.Node
	for i := range ch {
		var err error
		if ch[i], err = G.Slice(d, nil, G.S(i)); err != nil { // [N, h, w]
			return nil, err
		}
	}
	rows := [3][3]float64{
		{1 / math.Sqrt(3), 1 / math.Sqrt(3), 1 / math.Sqrt(3)},
		{chroma / math.Sqrt2, -chroma / math.Sqrt2, 0},
		{chroma / math.Sqrt(6), chroma / math.Sqrt(6), -2 * chroma / math.Sqrt(6)},
	}
	var total *G.Node
	for _, r := range rows {
		var v *G.Node
		for i, w := range r {
			if w == 0 {
				continue
			}
			t, err := G.Mul(ch[i], G.NewConstant(float32(w)))
			if err != nil {
				return nil, err
			}
			if v, err = addOrFirst(v, t); err != nil {
				return nil, err
			}
		}
		a, err := G.Abs(v)
		if err != nil {
			return nil, err
		}
		m, err := meanAll(a)
		if err != nil {
			return nil, err
		}
		if total, err = addOrFirst(total, m); err != nil {
			return nil, err
		}
	}
	return G.Mul(total, G.NewConstant(float32(1.0/3)))
}

// klDivergence is −½·Σ(1 + logvar − μ² − exp(logvar)).
func klDivergence(mu, logvar *G.Node) (*G.Node, error) {
	mu2, err := G.Square(mu)
	if err != nil {
		return nil, err
	}
	ev, err := G.Exp(logvar)
	if err != nil {
		return nil, err
	}
	t, err := G.Sub(logvar, mu2)
	if err != nil {
		return nil, err
	}
	if t, err = G.Sub(t, ev); err != nil {
		return nil, err
	}
	sum, err := sumAll(t)
	if err != nil {
		return nil, err
	}
	n := float32(mu.Shape().TotalSize())
	// Σ(1 + t) = n + Σt.
	if sum, err = G.Add(sum, G.NewConstant(n)); err != nil {
		return nil, err
	}
	return G.Mul(sum, G.NewConstant(float32(-0.5)))
}

// discriminatorLoss: hinge mean relu(1 + D(fake)) and mean relu(1 − D(real)),
// each averaged over the scales.
func (s *stepGraph) discriminatorLoss(c model.Config, dFake, dReal *model.DiscriminatorGraph) error {
	numD := float32(len(dFake.Features))
	hinge := func(feats [][]*G.Node, sign float32) (*G.Node, error) {
		var sum *G.Node
		for _, fs := range feats {
			x := fs[len(fs)-1]
			var err error
			if sign < 0 {
				x, err = G.Neg(x)
				if err != nil {
					return nil, err
				}
			}
			if x, err = G.Add(x, G.NewConstant(float32(1))); err != nil {
				return nil, err
			}
			if x, err = G.Rectify(x); err != nil {
				return nil, err
			}
			m, err := meanAll(x)
			if err != nil {
				return nil, err
			}
			if sum, err = addOrFirst(sum, m); err != nil {
				return nil, err
			}
		}
		return G.Mul(sum, G.NewConstant(1/numD))
	}
	fake, err := hinge(dFake.Features, 1)
	if err != nil {
		return err
	}
	real, err := hinge(dReal.Features, -1)
	if err != nil {
		return err
	}
	s.terms["D_Fake"], s.terms["D_real"] = fake, real
	s.total, err = G.Add(fake, real)
	return err
}

// sumAll sums every element. gorgonia's Sum over several axes at once is
// wrong, so the tensor is flattened first and summed along its one axis.
func sumAll(x *G.Node) (*G.Node, error) {
	flat, err := G.Reshape(x, tensor.Shape{x.Shape().TotalSize()})
	if err != nil {
		return nil, err
	}
	return G.Sum(flat, 0)
}

// meanAll averages every element (see sumAll).
func meanAll(x *G.Node) (*G.Node, error) {
	s, err := sumAll(x)
	if err != nil {
		return nil, err
	}
	return G.Mul(s, G.NewConstant(float32(1/float64(x.Shape().TotalSize()))))
}

func addOrFirst(acc, x *G.Node) (*G.Node, error) {
	if acc == nil {
		return x, nil
	}
	return G.Add(acc, x)
}

// prepared is one micro-batch turned into the graphs' inputs.
type prepared struct {
	n     int
	segs  [][]float32 // one-hot label maps at each generator scale
	style []float32   // [N, 3, S, S] encoder input (nil without a VAE)
	realD []float32   // [N, snc+3, H, W]
}

// run fills the inputs, runs forward and backward, and adds the
// gradients into acc (scaled by scale) and the loss terms into terms.
// eps is the VAE noise for this run.
func (s *stepGraph) run(p *prepared, eps []float32, acc map[string][]float32, scale float32, terms map[string]float64) error {
	for i, t := range s.segT {
		copy(t.Data().([]float32), p.segs[i])
		if err := G.Let(s.gen.Segs[i], t); err != nil {
			return err
		}
	}
	if s.enc != nil {
		copy(s.styT.Data().([]float32), p.style)
		copy(s.epsT.Data().([]float32), eps)
		if err := s.enc.SetInput(s.styT); err != nil {
			return err
		}
		if err := G.Let(s.eps, s.epsT); err != nil {
			return err
		}
	}
	copy(s.realT.Data().([]float32), p.realD)
	if err := G.Let(s.realD, s.realT); err != nil {
		return err
	}
	if s.realImg != nil {
		// The RGB channels of the discriminator's real input.
		img, sh := s.realImgT.Data().([]float32), s.realT.Shape()
		plane, snc := sh[2]*sh[3], sh[1]-3
		for i := 0; i < sh[0]; i++ {
			copy(img[i*3*plane:(i+1)*3*plane], p.realD[(i*sh[1]+snc)*plane:(i+1)*sh[1]*plane])
		}
		if err := G.Let(s.realImg, s.realImgT); err != nil {
			return err
		}
	}
	defer s.vm.Reset()
	if err := s.vm.RunAll(); err != nil {
		return err
	}
	for name, nd := range s.terms {
		terms[name] += float64(scalarOf(nd.Value())) * float64(scale)
	}
	for i, k := range s.keys {
		gv, ok := s.grads[i].Value().Data().([]float32)
		if !ok {
			return fmt.Errorf("gradient of %s is %T", k, s.grads[i].Value().Data())
		}
		a := acc[k]
		if a == nil {
			a = make([]float32, len(gv))
			acc[k] = a
		}
		if len(a) != len(gv) {
			return fmt.Errorf("gradient of %s has %d values, want %d", k, len(gv), len(a))
		}
		for j, g := range gv {
			a[j] += g * scale
		}
	}
	return nil
}

func scalarOf(v G.Value) float32 {
	switch d := v.Data().(type) {
	case float32:
		return d
	case []float32:
		return d[0]
	}
	return float32(0)
}

func (w which) String() string {
	if w == forD {
		return "D"
	}
	return "G"
}

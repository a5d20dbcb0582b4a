package model

import (
	"fmt"
	"math"
	"strings"

	"spadepaint/model/nd"
	"spadepaint/model/pth"
)

// ImportOptions carry what an official checkpoint does not reveal.
type ImportOptions struct {
	// Upsampling: Normal or More (Most is recognised from up_4's keys).
	Upsampling Upsampling
	// AspectRatio is width/height (official --aspect_ratio), 1 by default.
	AspectRatio float64
	// Instance: the last semantic channel is an instance edge map.
	Instance bool
	// DontCare: the last class channel (before the instance channel) is
	// the "don't care" label.
	DontCare bool
	// Width is the output width for models without a VAE, whose tensors
	// do not fix it (official --crop_size); 0 means 256.
	Width int
}

// ImportPTH reads official SPADE checkpoints (latest_net_G.pth and,
// optionally, latest_net_E.pth) in either PyTorch serialisation and
// infers the config from the tensors: ngf, semantic_nc, nhidden, z_dim,
// VAE or not, batch or instance norm, "most" upsampling, encoder depth.
func ImportPTH(gPath, ePath string, o ImportOptions) (*Model, error) {
	g, err := loadPTH(gPath)
	if err != nil {
		return nil, err
	}
	var e Params
	if ePath != "" {
		if e, err = loadPTH(ePath); err != nil {
			return nil, err
		}
	}
	c, err := inferConfig(g, e, o)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", gPath, err)
	}
	if e != nil && !c.UseVAE {
		return nil, fmt.Errorf("import %s: the generator has no VAE input (fc is a conv), so an encoder cannot drive it", ePath)
	}
	if err := CheckParams(g, GeneratorSpecs(c)); err != nil {
		return nil, fmt.Errorf("import %s: %w", gPath, err)
	}
	if e != nil {
		if err := CheckParams(e, EncoderSpecs(c)); err != nil {
			return nil, fmt.Errorf("import %s: %w", ePath, err)
		}
	}
	return NewModel(c, g, e)
}

// loadPTH reads a state dict into Params. Keys of DataParallel-wrapped
// checkpoints ("module.") are unwrapped.
func loadPTH(path string) (Params, error) {
	arrays, _, err := pth.Load(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	p := Params{}
	for k, a := range arrays {
		t, err := toDense(a)
		if err != nil {
			return nil, fmt.Errorf("import %s: %s: %w", path, k, err)
		}
		p[strings.TrimPrefix(k, "module.")] = t
	}
	return p, nil
}

func dims(p Params, key string, n int) ([]int, error) {
	t, ok := p[key]
	if !ok {
		return nil, fmt.Errorf("missing key %s: not a SPADE generator checkpoint", key)
	}
	s := []int(t.Shape())
	if len(s) != n {
		return nil, fmt.Errorf("key %s has shape %s, want %d dimensions", key, nd.ShapeString(s), n)
	}
	return s, nil
}

func inferConfig(g, e Params, o ImportOptions) (Config, error) {
	c := Preset(Landscape).Config()
	c.Name = "imported"
	c.AspectRatio = o.AspectRatio
	if c.AspectRatio == 0 {
		c.AspectRatio = 1
	}
	c.Upsampling = o.Upsampling
	c.Instance = o.Instance
	conv0, err := dims(g, "head_0.conv_0.weight_orig", 4)
	if err != nil {
		return c, err
	}
	if conv0[0]%16 != 0 {
		return c, fmt.Errorf("head_0.conv_0 has %d channels, not 16·ngf", conv0[0])
	}
	c.NGF = conv0[0] / 16
	c.NDF = c.NGF
	shared, err := dims(g, "head_0.norm_0.mlp_shared.0.weight", 4)
	if err != nil {
		return c, err
	}
	c.NHidden = shared[0]
	snc := shared[1]
	c.LabelNC = snc
	if c.Instance {
		c.LabelNC--
	}
	c.ContainDontCare = o.DontCare
	if c.ContainDontCare {
		c.LabelNC--
	}
	if c.LabelNC < 1 || c.LabelNC > 255 {
		return c, fmt.Errorf("semantic_nc %d leaves %d label classes", snc, c.LabelNC)
	}
	if _, ok := g["head_0.norm_0.param_free_norm.running_mean"]; ok {
		c.Norm = BatchNorm
	} else {
		c.Norm = InstanceNorm
	}
	if _, ok := g["up_4.conv_0.weight_orig"]; ok {
		c.Upsampling = Most
	} else if c.Upsampling == Most {
		return c, fmt.Errorf("--upsampling most, but the checkpoint has no up_4 block")
	}
	fc, ok := g["fc.weight"]
	if !ok {
		return c, fmt.Errorf("missing key fc.weight: not a SPADE generator checkpoint")
	}
	c.UseVAE = fc.Dims() == 2
	c.Width = o.Width
	if c.UseVAE {
		c.ZDim = fc.Shape()[1]
		cells := fc.Shape()[0] / (16 * c.NGF)
		sw, err := latentWidth(cells, c.AspectRatio)
		if err != nil {
			return c, err
		}
		w := sw << c.Upsampling.Layers()
		if c.Width != 0 && c.Width != w {
			return c, fmt.Errorf("fc makes a %d-cell latent grid, which gives width %d, not %d", cells, w, c.Width)
		}
		c.Width = w
	} else if c.Width == 0 {
		c.Width = 256
	}
	c.EncoderLayers = 6
	if e != nil {
		n := 0
		for k := range e {
			if strings.HasSuffix(k, ".0.weight_orig") && strings.HasPrefix(k, "layer") {
				n++
			}
		}
		if n != 5 && n != 6 {
			return c, fmt.Errorf("encoder has %d conv layers, want 5 or 6: not a SPADE ConvEncoder checkpoint", n)
		}
		c.EncoderLayers = n
		l1, err := dims(e, "layer1.0.weight_orig", 4)
		if err != nil {
			return c, err
		}
		if l1[0] != c.NGF {
			return c, fmt.Errorf("encoder ngf %d differs from the generator's %d", l1[0], c.NGF)
		}
	}
	return c, c.Validate()
}

// latentWidth finds sw with sw·round(sw/aspect) = cells.
func latentWidth(cells int, aspect float64) (int, error) {
	for sw := 1; sw <= cells; sw++ {
		if sw*int(math.RoundToEven(float64(sw)/aspect)) == cells {
			return sw, nil
		}
	}
	return 0, fmt.Errorf("fc's %d-cell latent grid fits no width at aspect ratio %g (try --aspect-ratio)", cells, aspect)
}

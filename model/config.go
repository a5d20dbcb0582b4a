package model

import (
	"encoding/json"
	"fmt"
	"math"
)

// Upsampling is the official `num_upsampling_layers` option: how many ×2
// upsamplings the generator makes from its latent grid to the output.
type Upsampling int

const (
	// Normal: 5 upsamplings (sw = width/32).
	Normal Upsampling = iota
	// More: 6 upsamplings, one more between G_middle_0 and G_middle_1.
	More
	// Most: 7 upsamplings and an extra block up_4 at ngf/2 channels.
	Most
)

// Layers is the number of ×2 upsamplings, n in sw = width/2^n.
func (u Upsampling) Layers() int { return 5 + int(u) }

func (u Upsampling) String() string {
	switch u {
	case Normal:
		return "normal"
	case More:
		return "more"
	case Most:
		return "most"
	}
	return fmt.Sprintf("Upsampling(%d)", int(u))
}

// ParseUpsampling reads the official option value (for flags and metadata).
func ParseUpsampling(s string) (Upsampling, error) {
	for _, u := range []Upsampling{Normal, More, Most} {
		if u.String() == s {
			return u, nil
		}
	}
	return 0, fmt.Errorf("unknown upsampling %q (want normal, more or most)", s)
}

func (u Upsampling) MarshalText() ([]byte, error) { return []byte(u.String()), nil }
func (u *Upsampling) UnmarshalText(b []byte) error {
	v, err := ParseUpsampling(string(b))
	*u = v
	return err
}

// Norm is the parameter-free normalisation inside every SPADE layer.
type Norm int

const (
	// BatchNorm uses running statistics at inference (official default,
	// `spectralspadesyncbatch3x3`).
	BatchNorm Norm = iota
	// InstanceNorm normalises each sample's channel over its own pixels
	// (`spectralspadeinstance3x3`); it keeps no statistics.
	InstanceNorm
)

func (n Norm) String() string {
	switch n {
	case BatchNorm:
		return "batch"
	case InstanceNorm:
		return "instance"
	}
	return fmt.Sprintf("Norm(%d)", int(n))
}

// ParseNorm reads "batch" or "instance".
func ParseNorm(s string) (Norm, error) {
	switch s {
	case "batch", "syncbatch":
		return BatchNorm, nil
	case "instance":
		return InstanceNorm, nil
	}
	return 0, fmt.Errorf("unknown norm %q (want batch or instance)", s)
}

func (n Norm) MarshalText() ([]byte, error) { return []byte(n.String()), nil }
func (n *Norm) UnmarshalText(b []byte) error {
	v, err := ParseNorm(string(b))
	*n = v
	return err
}

// Config describes one SPADE model: enough to build its networks and to
// check a checkpoint against them. Field names follow the official options.
type Config struct {
	// Name is a human label (preset name or file stem).
	Name string `json:"name"`
	// LabelNC is the number of label classes (official --label_nc),
	// not counting the "don't care" class.
	LabelNC int `json:"label_nc"`
	// ContainDontCare adds one input channel for the "don't care" class,
	// whose id is LabelNC.
	ContainDontCare bool `json:"contain_dontcare"`
	// Instance adds one input channel holding the instance edge map.
	Instance bool `json:"instance"`
	// NGF is the generator's base width; the encoder uses it too.
	NGF int `json:"ngf"`
	// NDF is the discriminator's base width.
	NDF int `json:"ndf"`
	// NHidden is the width of each SPADE layer's shared MLP (128 officially).
	NHidden int `json:"nhidden"`
	// ZDim is the style code size (256 officially).
	ZDim int `json:"z_dim"`
	// UseVAE: the generator starts from a style code z and a style encoder
	// exists; otherwise it starts from the shrunk label map.
	UseVAE bool `json:"use_vae"`
	// Width is the output width (official --crop_size).
	Width int `json:"width"`
	// AspectRatio is width/height.
	AspectRatio float64    `json:"aspect_ratio"`
	Upsampling  Upsampling `json:"upsampling"`
	Norm        Norm       `json:"norm"`
	// EncoderLayers is 6 normally; 5 for checkpoints without layer6 (their
	// encoder input is then 128×128 so that the last grid is still 4×4).
	EncoderLayers int `json:"encoder_layers"`
	// EncoderStats also feeds fc_mu and fc_var the style photo's colour
	// statistics: the mean and standard deviation of each RGB channel of
	// the encoder's input (6 values after the flattened grid). Not in the
	// paper: its encoder instance-normalises the first conv's output,
	// which removes any per-channel shift of the photo's colours (a conv
	// of a constant is a constant), so a colour cast reaches the code
	// only through side effects. Off for official checkpoints.
	EncoderStats bool `json:"encoder_stats,omitempty"`
	// StyleMod adds a style modulation to every SPADE layer: two linear
	// maps of the style code z give per-channel offsets to γ and β,
	//
	//	out = x̂·(1 + γ(seg) + γ_z(z)) + β(seg) + β_z(z)
	//
	// Not in the paper. There z reaches the picture only through the
	// generator's first 4×4 grid (fc), and with instance norm every SPADE
	// layer removes each channel's mean and scale, and every learned
	// shortcut (conv_s after norm_s) does too: what survives is the
	// spatial pattern of the grid, a poor carrier for "everything a bit
	// redder" (measured on the shipped model: its renders' mean a* varies
	// 1.9 units between the codes of different photos, the photos 4.6).
	// The offsets give z a direct, per-layer hold on colour and contrast
	// while the label map keeps the layout, as AdaIN does in style-based
	// generators. They start at zero (ZeroWeight), so a model switched on
	// with --from renders as before. Off for official checkpoints.
	StyleMod bool `json:"style_mod,omitempty"`
	// StatsInCode (with EncoderStats) makes the code's last
	// EncoderStatsLen dimensions the style photo's colour statistics
	// themselves (×StatsCodeGain) instead of outputs of fc_mu, with a
	// fixed small variance (StatsCodeLogVar). Not in the paper. The
	// generator then sees a photo's colours directly: a path the colour
	// loss trains at once, where a learned code dimension would first
	// have to be found by the encoder, under the KL term, for a generator
	// that does not use it yet (measured: after 5000 steps with
	// EncoderStats alone, a linear probe found mean a* in the codes with
	// R² 0.18). Random styles draw those dimensions from the style prior
	// with the rest, so they stay photo-like.
	StatsInCode bool `json:"stats_in_code,omitempty"`
	// NumD and NLayersD shape the multi-scale discriminator.
	NumD     int `json:"num_d"`
	NLayersD int `json:"n_layers_d"`
}

// SemanticNC is the number of channels of the generator's label input:
// one-hot classes, "don't care", instance edges.
func (c Config) SemanticNC() int {
	n := c.LabelNC
	if c.ContainDontCare {
		n++
	}
	if c.Instance {
		n++
	}
	return n
}

// NumClasses is how many class ids a label map may use (LabelNC, plus the
// "don't care" id LabelNC when the model has it).
func (c Config) NumClasses() int {
	if c.ContainDontCare {
		return c.LabelNC + 1
	}
	return c.LabelNC
}

// LatentSize is (sh, sw), the generator's first grid, as the official
// compute_latent_vector_size: sw = width/2^n, sh = round(sw/aspect).
func (c Config) LatentSize() (sh, sw int) {
	sw = c.Width >> c.Upsampling.Layers()
	sh = int(math.RoundToEven(float64(sw) / c.AspectRatio))
	return sh, sw
}

// Height is the output height: the latent height times 2^n.
func (c Config) Height() int {
	sh, _ := c.LatentSize()
	return sh << c.Upsampling.Layers()
}

// EncoderSize is the side of the square the style image is resized to.
func (c Config) EncoderSize() int { return 4 << c.EncoderLayers }

// EncoderStatsLen is the number of colour statistics EncoderStats adds:
// per RGB channel a mean and a standard deviation.
const EncoderStatsLen = 6

// EncoderStatsGain scales the colour statistics fc_mu and fc_var see:
// √(grid values / statistics) = √(8ngf·16/6), 18.5 at ngf 16. The grid's
// 8ngf·16 values are each O(1) after instance norm and leaky ReLU; six
// statistics of the same size would move the code √(8ngf·16/6) times
// less per unit of weight, and Adam moves every weight by about the same
// step, so without the gain the statistics' columns stay negligible for
// thousands of steps (measured: after 2500 steps of fine-tuning their
// weights were as small as the grid's, a 0.12 R² for mean a*).
func (c Config) EncoderStatsGain() float64 {
	return math.Sqrt(float64(8*c.NGF*16) / EncoderStatsLen)
}

// EncoderFCIn is the input width of fc_mu and fc_var: the flattened
// 8ngf×4×4 grid, and the colour statistics with EncoderStats.
func (c Config) EncoderFCIn() int {
	n := 8 * c.NGF * 4 * 4
	if c.EncoderStats {
		n += EncoderStatsLen
	}
	return n
}

// ColourStats writes the EncoderStats statistics of one encoder input
// img [3, S, S] to dst: the channels' means, then their standard
// deviations (population, float64 sums), each times EncoderStatsGain.
func (c Config) ColourStats(img []float32, dst []float32) {
	gain := c.EncoderStatsGain()
	plane := len(img) / 3
	for ch := 0; ch < 3; ch++ {
		var sum, sq float64
		for _, v := range img[ch*plane : (ch+1)*plane] {
			f := float64(v)
			sum += f
			sq += f * f
		}
		m := sum / float64(plane)
		dst[ch] = float32(m * gain)
		dst[3+ch] = float32(math.Sqrt(math.Max(0, sq/float64(plane)-m*m)) * gain)
	}
}

// StyleModGain multiplies the style modulation's maps (Config.StyleMod):
// offset = StyleModGain·(W·z + b), with W and b as stored. The maps start
// at zero and must grow to the size of a trained layer's weights, while
// Adam moves each weight by about the learning rate per step whatever
// its gradient: at the generator's 1e-4 they had grown to ~0.004 after
// 4000 steps of fine-tuning (a random walk), giving offsets of a few
// hundredths, too small to tint anything. The gain makes each stored
// weight count 8 times, so the same steps move the offsets 8 times as
// far (the equalised learning rate of style-based generators, here for
// zero-started layers only).
const StyleModGain = 8

// StyleModWeights reads one SPADE layer's style modulation (Config.StyleMod)
// as the inference engines use it: mlp_style_gamma's then mlp_style_beta's
// weights [2C][z_dim] and biases [2C], times StyleModGain.
func StyleModWeights(p Params, prefix string) (w, b []float32, err error) {
	for _, name := range []string{"mlp_style_gamma", "mlp_style_beta"} {
		wk, err := p.F32(prefix + "." + name + ".weight")
		if err != nil {
			return nil, nil, err
		}
		bk, err := p.F32(prefix + "." + name + ".bias")
		if err != nil {
			return nil, nil, err
		}
		for _, v := range wk {
			w = append(w, StyleModGain*v)
		}
		for _, v := range bk {
			b = append(b, StyleModGain*v)
		}
	}
	return w, b, nil
}

// StatsCodeGain scales the colour statistics (RGB in [−1, 1]: means
// spread by ~0.2 between photos, standard deviations ~0.1) where
// StatsInCode puts them into the code, to about the spread of a code's
// other dimensions.
const StatsCodeGain = 4

// StatsCodeLogVar is the log-variance of the code's statistics
// dimensions (σ ≈ 0.05): the reparameterisation's noise leaves them
// nearly exact.
const StatsCodeLogVar = -6

// StatsCode writes, with StatsInCode, the colour statistics stats (as
// ColourStats gives them) into the last EncoderStatsLen entries of one
// code's μ and log-variance (logvar may be nil); otherwise it does
// nothing.
func (c Config) StatsCode(stats, mu, logvar []float32) {
	if !c.StatsInCode {
		return
	}
	k := c.ZDim - EncoderStatsLen
	scale := StatsCodeGain / c.EncoderStatsGain()
	for i, v := range stats[:EncoderStatsLen] {
		mu[k+i] = float32(float64(v) * scale)
		if logvar != nil {
			logvar[k+i] = StatsCodeLogVar
		}
	}
}

// Validate reports the first inconsistency.
func (c Config) Validate() error {
	switch {
	case c.LabelNC < 1 || c.LabelNC > 255:
		return fmt.Errorf("label_nc %d out of range 1..255", c.LabelNC)
	case c.NGF < 2:
		return fmt.Errorf("ngf %d must be at least 2", c.NGF)
	case c.NHidden < 1:
		return fmt.Errorf("nhidden %d must be positive", c.NHidden)
	case c.UseVAE && c.ZDim < 1:
		return fmt.Errorf("z_dim %d must be positive", c.ZDim)
	case c.AspectRatio <= 0:
		return fmt.Errorf("aspect ratio %g must be positive", c.AspectRatio)
	case c.Upsampling < Normal || c.Upsampling > Most:
		return fmt.Errorf("bad upsampling %d", c.Upsampling)
	case c.Norm < BatchNorm || c.Norm > InstanceNorm:
		return fmt.Errorf("bad norm %d", c.Norm)
	case c.EncoderStats && !c.UseVAE:
		return fmt.Errorf("encoder statistics need a style encoder (use_vae)")
	case c.StyleMod && !c.UseVAE:
		return fmt.Errorf("style modulation needs a style code (use_vae)")
	case c.StatsInCode && !c.EncoderStats:
		return fmt.Errorf("colour statistics in the code need the encoder's colour statistics (encoder_stats)")
	case c.StatsInCode && c.ZDim <= EncoderStatsLen:
		return fmt.Errorf("z_dim %d leaves no room for %d colour statistics", c.ZDim, EncoderStatsLen)
	case c.UseVAE && c.EncoderLayers != 5 && c.EncoderLayers != 6:
		return fmt.Errorf("encoder layers %d must be 5 or 6", c.EncoderLayers)
	}
	sh, sw := c.LatentSize()
	if sw < 1 || sh < 1 {
		return fmt.Errorf("width %d with aspect ratio %g and %s upsampling leaves no latent grid (need width ≥ %d)",
			c.Width, c.AspectRatio, c.Upsampling, 1<<c.Upsampling.Layers())
	}
	if sw<<c.Upsampling.Layers() != c.Width {
		return fmt.Errorf("width %d is not a multiple of %d (%s upsampling)", c.Width, 1<<c.Upsampling.Layers(), c.Upsampling)
	}
	return nil
}

// JSON is the config as stored in checkpoint metadata.
func (c Config) JSON() string {
	b, _ := json.Marshal(c) // cannot fail: plain fields only
	return string(b)
}

// ParseConfig reads a config from checkpoint metadata and validates it.
func ParseConfig(s string) (Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("parse config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// Preset names a ready-made config.
type Preset int

const (
	// Landscape is the project's own small model for live painting on a
	// CPU, trained on the built-in landscapes.
	Landscape Preset = iota
	// ADE20K: 150 classes + don't care, 256², normal upsampling, no VAE
	// (the official ade20k pretrained model).
	ADE20K
	// COCO: 182 classes + don't care + instance edges, 256².
	COCO
	// Cityscapes: 35 classes + instance edges, 512×256, more upsampling.
	Cityscapes
)

var presetNames = [...]string{"landscape", "ade20k", "coco", "cityscapes"}

func (p Preset) String() string {
	if p >= 0 && int(p) < len(presetNames) {
		return presetNames[p]
	}
	return fmt.Sprintf("Preset(%d)", int(p))
}

// Presets lists every preset, for help texts.
func Presets() []Preset { return []Preset{Landscape, ADE20K, COCO, Cityscapes} }

// ParsePreset finds a preset by name.
func ParsePreset(s string) (Preset, error) {
	for i, n := range presetNames {
		if n == s {
			return Preset(i), nil
		}
	}
	return 0, fmt.Errorf("unknown preset %q (want one of %v)", s, presetNames)
}

// Config returns the preset's config.
func (p Preset) Config() Config {
	c := Config{
		Name: p.String(), NGF: 64, NDF: 64, NHidden: 128, ZDim: 256,
		Width: 256, AspectRatio: 1, Upsampling: Normal, Norm: BatchNorm,
		EncoderLayers: 6, NumD: 2, NLayersD: 4,
	}
	switch p {
	case Landscape:
		c.LabelNC, c.ContainDontCare = 16, false
		c.NGF, c.NDF, c.NHidden = 16, 16, 32
		c.UseVAE = true
		c.Norm = InstanceNorm
	case ADE20K:
		c.LabelNC, c.ContainDontCare = 150, true
	case COCO:
		c.LabelNC, c.ContainDontCare, c.Instance = 182, true, true
	case Cityscapes:
		c.LabelNC, c.Instance = 35, true
		c.Width, c.AspectRatio, c.Upsampling = 512, 2, More
	}
	return c
}

package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/disintegration/imaging"

	"spadepaint/model"
)

// Options configure Run.
type Options struct {
	// Model is the SPADE model under test; Seg the segmentation network.
	Model *model.Model
	Seg   *SegNet
	// Source renders the held-out scenes.
	Source PairSource
	// N is the number of held-out scenes (label maps).
	N int
	// Size is the width of the scenes (0: the model's); their height
	// follows the model's aspect ratio. Label maps are resized (nearest)
	// to the model's size and its outputs back to Size.
	Size int
	// Group is the number of style references each output competes
	// against (its own and Group−1 others; default 8).
	Group int
	// DiversityN label maps (default min(N, 16)) are each rendered
	// DiversityK times (default 4) for the diversity figures.
	DiversityN, DiversityK int
	// Seed offsets the held-out seeds (scene i has layout seed
	// EvalSeedBase + Seed·2³² + i).
	Seed int64
	// ClassNames name the classes in the per-class table (optional).
	ClassNames []string
	// Log receives progress lines (optional).
	Log io.Writer
	// Samples, when set, receives a PNG contact sheet of the first
	// scenes: label map | generator photo | style reference | output with
	// the reference's code | outputs with random codes.
	Samples io.Writer
}

// Num is a metric: NaN (not measurable) is written as JSON null.
type Num float64

func (n Num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*n = Num(f)
	return err
}

// Report is what Run measures. "Real" figures are the landscape
// generator's own photos of the same scenes: the ceiling for the model.
type Report struct {
	Model string `json:"model"`
	N     int    `json:"n"`
	Size  string `json:"size"`

	// Label fidelity: the segmenter on the generator's photos of the
	// held-out scenes and on the model's outputs for their label maps
	// (rendered with the style code of a reference photo in the scene's
	// style).
	MIoUReal          Num `json:"miou_real"`
	PixelAccReal      Num `json:"pixel_acc_real"`
	MIoUGenerated     Num `json:"miou_generated"`
	PixelAccGenerated Num `json:"pixel_acc_generated"`
	// MIoURatio is miou_generated / miou_real (the target is ≥ 0.8).
	MIoURatio Num `json:"miou_ratio"`
	// The same for the diversity renders (random style codes z ~ N(0, I)).
	MIoURandomZ     Num   `json:"miou_generated_random_z"`
	PixelAccRandomZ Num   `json:"pixel_acc_generated_random_z"`
	ClassIoUReal    []Num `json:"class_iou_real"`
	ClassIoUGen     []Num `json:"class_iou_generated"`

	// Style fidelity: the fraction of (output, other reference) pairs in
	// which the output's colour statistics (per-channel Lab mean and std)
	// are nearer its own style reference's than the other's; 0.5 is
	// chance. null for models without a style encoder.
	StyleFidelity Num `json:"style_fidelity"`
	// The same with the generator's own photo of the scene in the
	// reference's style as the "output": what a perfect model reaches.
	StyleFidelityReal Num `json:"style_fidelity_real"`
	// Top-1: the fraction of outputs whose own reference is the nearest
	// of the group (chance 1/StyleGroup).
	StyleTop1     Num `json:"style_top1"`
	StyleTop1Real Num `json:"style_top1_real"`
	// The pairwise fraction with the encoder's μ as the distance instead
	// of colour statistics.
	StyleFidelityCode     Num `json:"style_fidelity_code"`
	StyleFidelityCodeReal Num `json:"style_fidelity_code_real"`
	StyleGroup            int `json:"style_group"`

	// Diversity: the mean absolute RGB difference (0…1) between outputs
	// for one label map under different random z, averaged over all pairs
	// and label maps; DiversityReal is the same for the generator's photos
	// of the label map under different random styles.
	Diversity     Num    `json:"diversity"`
	DiversityReal Num    `json:"diversity_real"`
	DiversityN    int    `json:"diversity_n"`
	DiversityK    int    `json:"diversity_k"`
	DiversityNote string `json:"diversity_metric"`

	Seconds float64 `json:"seconds"`
	// ClassNames, when given, name ClassIoU's entries.
	ClassNames []string `json:"class_names,omitempty"`
}

// scene is one held-out scene and everything rendered for it.
type scene struct {
	labels *image.Paletted
	photo  image.Image // the generator's photo in the scene's style
	ref    image.Image // the style reference: the group's layout in that style
	out    image.Image // the model's output with the reference's code
	refMu  []float32
	outMu  []float32
	realMu []float32
	// divOuts are the renders with random codes (sample rows only).
	divOuts []image.Image
}

// sampleRows is the number of scenes on the contact sheet.
const sampleRows = 6

const (
	styleSeedOffset = 1 << 24
	refSeedOffset   = 2 << 24
	divSeedOffset   = 3 << 24
)

// Run evaluates the model on held-out scenes of the generator.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if o.Model == nil || o.Seg == nil || o.Source == nil {
		return nil, errors.New("eval needs a model, a segmentation network and a scene source")
	}
	if o.N < 1 {
		return nil, fmt.Errorf("n = %d: need at least one scene", o.N)
	}
	c := o.Model.Config
	if o.Size == 0 {
		o.Size = c.Width
	}
	W := o.Size
	H := max(1, int(math.Round(float64(W)*float64(c.Height())/float64(c.Width))))
	if o.Group < 2 {
		o.Group = 8
	}
	o.Group = min(o.Group, o.N)
	if o.DiversityK < 2 {
		o.DiversityK = 4
	}
	if o.DiversityN < 1 {
		o.DiversityN = min(o.N, 16)
	}
	o.DiversityN = min(o.DiversityN, o.N)
	base := EvalSeedBase + o.Seed<<32
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	K := o.Seg.Config.Classes
	rep := &Report{Model: c.Name, N: o.N, Size: fmt.Sprintf("%dx%d", W, H), StyleGroup: o.Group,
		DiversityN: o.DiversityN, DiversityK: o.DiversityK, ClassNames: o.ClassNames,
		DiversityNote: "mean absolute RGB difference in [0,1] over all pairs of renders of one label map"}

	// 1. The scenes: label maps, photos, style references.
	sc := make([]scene, o.N)
	var badLabel error
	var mu sync.Mutex
	forEach(o.N, func(i int) {
		seed := base + int64(i)
		styleSeed := base + styleSeedOffset + int64(i)
		lab, photo, _ := o.Source(seed, styleSeed, W, H)
		_, ref, _ := o.Source(base+refSeedOffset+int64(i/o.Group), styleSeed, W, H)
		sc[i] = scene{labels: lab, photo: photo, ref: ref}
		for _, id := range palettedPix(lab) {
			if int(id) >= c.NumClasses() || int(id) >= K {
				mu.Lock()
				badLabel = fmt.Errorf("scene %d has class %d: the model takes %d classes, the segmenter %d", i, id, c.NumClasses(), K)
				mu.Unlock()
				break
			}
		}
	})
	if badLabel != nil {
		return nil, badLabel
	}
	logf("generated %d held-out scenes at %dx%d (%.1fs)", o.N, W, H, time.Since(start).Seconds())

	// 2. The model's outputs: each label map with the style code of its
	// reference (μ of the encoder), or random z without an encoder.
	hasEnc := o.Model.HasEncoder()
	for i := range sc {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := &sc[i]
		var z []float32
		if c.UseVAE {
			if hasEnc {
				code, err := encode(ctx, o.Model, s.ref)
				if err != nil {
					return nil, err
				}
				s.refMu, z = code, code
			} else {
				z = o.Model.RandomZ(1, base+divSeedOffset+int64(i))
			}
		}
		out, err := render(ctx, o.Model, s.labels, z, W, H)
		if err != nil {
			return nil, err
		}
		s.out = out
		if hasEnc {
			if s.outMu, err = encode(ctx, o.Model, s.out); err != nil {
				return nil, err
			}
			if s.realMu, err = encode(ctx, o.Model, s.photo); err != nil {
				return nil, err
			}
		}
		if (i+1)%max(1, o.N/10) == 0 {
			logf("rendered %d/%d (%.1fs)", i+1, o.N, time.Since(start).Seconds())
		}
	}

	// 3. Label fidelity.
	realConf, genConf := NewConfusion(K), NewConfusion(K)
	forEach(2*o.N, func(j int) {
		s := &sc[j/2]
		img := s.photo
		conf := realConf
		if j%2 == 1 {
			img, conf = s.out, genConf
		}
		pred := o.Seg.Predict(img, W, H)
		local := NewConfusion(K)
		_ = local.Add(palettedPix(s.labels), pred)
		mu.Lock()
		conf.Merge(local)
		mu.Unlock()
	})
	rep.MIoUReal, rep.PixelAccReal = Num(realConf.MeanIoU()), Num(realConf.PixelAccuracy())
	rep.MIoUGenerated, rep.PixelAccGenerated = Num(genConf.MeanIoU()), Num(genConf.PixelAccuracy())
	rep.MIoURatio = rep.MIoUGenerated / rep.MIoUReal
	rep.ClassIoUReal, rep.ClassIoUGen = nums(realConf.IoU()), nums(genConf.IoU())

	// 4. Style fidelity, within groups that share a reference layout.
	rep.StyleFidelity, rep.StyleFidelityReal = Num(math.NaN()), Num(math.NaN())
	rep.StyleTop1, rep.StyleTop1Real = Num(math.NaN()), Num(math.NaN())
	rep.StyleFidelityCode, rep.StyleFidelityCodeReal = Num(math.NaN()), Num(math.NaN())
	if hasEnc && o.N >= 2 {
		stats := make([][3]ColourStats, o.N) // out, photo, ref
		forEach(o.N, func(i int) {
			stats[i] = [3]ColourStats{LabStats(sc[i].out), LabStats(sc[i].photo), LabStats(sc[i].ref)}
		})
		var fOut, fReal, fCode, fCodeReal Fidelity
		for g := 0; g < o.N; g += o.Group {
			e := min(g+o.Group, o.N)
			if e-g < 2 {
				break
			}
			fOut.Add(distMatrix(g, e, func(i, j int) float64 { return stats[i][0].Dist(stats[j][2]) }))
			fReal.Add(distMatrix(g, e, func(i, j int) float64 { return stats[i][1].Dist(stats[j][2]) }))
			fCode.Add(distMatrix(g, e, func(i, j int) float64 { return l2(sc[i].outMu, sc[j].refMu) }))
			fCodeReal.Add(distMatrix(g, e, func(i, j int) float64 { return l2(sc[i].realMu, sc[j].refMu) }))
		}
		rep.StyleFidelity, rep.StyleTop1 = Num(fOut.Pairwise()), Num(fOut.TopOne())
		rep.StyleFidelityReal, rep.StyleTop1Real = Num(fReal.Pairwise()), Num(fReal.TopOne())
		rep.StyleFidelityCode, rep.StyleFidelityCodeReal = Num(fCode.Pairwise()), Num(fCodeReal.Pairwise())
	}

	// 5. Diversity: DiversityK random codes per label map, against the
	// generator's photos of the label map in DiversityK random styles.
	rzConf := NewConfusion(K)
	var div, divReal float64
	for d := 0; d < o.DiversityN; d++ {
		s := &sc[d]
		outs := make([]image.Image, o.DiversityK)
		reals := make([]image.Image, o.DiversityK)
		for k := range outs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			var z []float32
			if c.UseVAE {
				z = o.Model.RandomZ(1, base+divSeedOffset+int64(d*o.DiversityK+k)+int64(o.N))
			}
			out, err := render(ctx, o.Model, s.labels, z, W, H)
			if err != nil {
				return nil, err
			}
			outs[k] = out
		}
		forEach(o.DiversityK, func(k int) {
			_, reals[k], _ = o.Source(base+int64(d), base+divSeedOffset+int64(d*o.DiversityK+k), W, H)
			pred := o.Seg.Predict(outs[k], W, H)
			local := NewConfusion(K)
			_ = local.Add(palettedPix(s.labels), pred)
			mu.Lock()
			rzConf.Merge(local)
			mu.Unlock()
		})
		if d < sampleRows {
			sc[d].divOuts = outs
		}
		div += MeanPairwiseDiff(outs)
		divReal += MeanPairwiseDiff(reals)
	}
	rep.Diversity = Num(div / float64(o.DiversityN))
	rep.DiversityReal = Num(divReal / float64(o.DiversityN))
	rep.MIoURandomZ, rep.PixelAccRandomZ = Num(rzConf.MeanIoU()), Num(rzConf.PixelAccuracy())
	if o.Samples != nil {
		if err := writeSheet(o.Samples, sc[:min(sampleRows, o.DiversityN)], W, H); err != nil {
			return nil, fmt.Errorf("samples: %w", err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	logf("done (%.1fs)", rep.Seconds)
	return rep, nil
}

func nums(v []float64) []Num {
	out := make([]Num, len(v))
	for i, x := range v {
		out[i] = Num(x)
	}
	return out
}

func distMatrix(lo, hi int, d func(i, j int) float64) [][]float64 {
	m := make([][]float64, hi-lo)
	for i := range m {
		m[i] = make([]float64, hi-lo)
		for j := range m[i] {
			m[i][j] = d(lo+i, lo+j)
		}
	}
	return m
}

func l2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// render runs the model on one label map (resized nearest to the
// model's size) and returns the output at w×h.
func render(ctx context.Context, m *model.Model, lab *image.Paletted, z []float32, w, h int) (image.Image, error) {
	c := m.Config
	mw, mh := c.Width, c.Height()
	l := &model.Labels{N: 1, H: mh, W: mw, Class: resizeLabels(lab, mw, mh)}
	img, err := m.Generate(ctx, l, z)
	if err != nil {
		return nil, err
	}
	out := img.RGBA(0)
	if mw != w || mh != h {
		return imaging.Resize(out, w, h, imaging.Lanczos), nil
	}
	return out, nil
}

// encode returns the encoder's μ for an image.
func encode(ctx context.Context, m *model.Model, img image.Image) ([]float32, error) {
	s := m.Config.EncoderSize()
	mu, _, err := m.Encode(ctx, model.ImageFrom(img, s, s))
	return mu, err
}

// resizeLabels resizes a label map to w×h, nearest (PIL's rule: source
// of d is floor((d+½)·in/out)).
func resizeLabels(lab *image.Paletted, w, h int) []uint8 {
	b := lab.Bounds()
	if b.Dx() == w && b.Dy() == h {
		return append([]uint8(nil), palettedPix(lab)...)
	}
	return downLabels(lab, w, h, false)
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as a text table: the model next to the
// generator's own photos, then per-class IoU.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	f := func(v Num, pct bool) string {
		if math.IsNaN(float64(v)) {
			return "—"
		}
		if pct {
			return fmt.Sprintf("%.1f%%", 100*float64(v))
		}
		return fmt.Sprintf("%.4f", float64(v))
	}
	fmt.Fprintf(&b, "model %s, %d held-out scenes at %s\n\n", r.Model, r.N, r.Size)
	fmt.Fprintf(&b, "%-34s %12s %12s\n", "", "model", "real photos")
	row := func(name string, m, real Num, pct bool) {
		fmt.Fprintf(&b, "%-34s %12s %12s\n", name, f(m, pct), f(real, pct))
	}
	row("segmentation mIoU", r.MIoUGenerated, r.MIoUReal, true)
	row("segmentation pixel accuracy", r.PixelAccGenerated, r.PixelAccReal, true)
	row("  mIoU, random z", r.MIoURandomZ, Num(math.NaN()), true)
	row("  pixel accuracy, random z", r.PixelAccRandomZ, Num(math.NaN()), true)
	row(fmt.Sprintf("style fidelity (Lab stats, of %d)", r.StyleGroup), r.StyleFidelity, r.StyleFidelityReal, true)
	row("  top-1 of group", r.StyleTop1, r.StyleTop1Real, true)
	row("  with encoder μ distance", r.StyleFidelityCode, r.StyleFidelityCodeReal, true)
	row(fmt.Sprintf("diversity (mean |ΔRGB|, %d×%d)", r.DiversityN, r.DiversityK), r.Diversity, r.DiversityReal, false)
	fmt.Fprintf(&b, "\nmIoU generated / real: %s (target ≥ 80%%)\n", f(r.MIoURatio, true))
	fmt.Fprintf(&b, "\n%-16s %10s %10s\n", "class IoU", "model", "real")
	for k := range r.ClassIoUReal {
		name := fmt.Sprintf("class %d", k)
		if k < len(r.ClassNames) {
			name = r.ClassNames[k]
		}
		if math.IsNaN(float64(r.ClassIoUReal[k])) && math.IsNaN(float64(r.ClassIoUGen[k])) {
			continue
		}
		fmt.Fprintf(&b, "%-16s %10s %10s\n", name, f(r.ClassIoUGen[k], true), f(r.ClassIoUReal[k], true))
	}
	fmt.Fprintf(&b, "\n%.1f s\n", r.Seconds)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSheet draws one row per scene: labels, photo, reference, output,
// random-code outputs; tiles of w×h.
func writeSheet(dst io.Writer, rows []scene, w, h int) error {
	cols := 0
	for _, s := range rows {
		cols = max(cols, 4+len(s.divOuts))
	}
	sheet := image.NewNRGBA(image.Rect(0, 0, cols*w, len(rows)*h))
	for r, s := range rows {
		tiles := append([]image.Image{s.labels, s.photo, s.ref, s.out}, s.divOuts...)
		for c, t := range tiles {
			if t == nil {
				continue
			}
			at := image.Pt(c*w, r*h)
			draw.Draw(sheet, image.Rectangle{Min: at, Max: at.Add(image.Pt(w, h))}, t, t.Bounds().Min, draw.Src)
		}
	}
	return png.Encode(dst, sheet)
}

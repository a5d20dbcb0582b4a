package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"math"
	"strings"
	"testing"

	"spadepaint/model"
)

func tinyModel(t *testing.T) *model.Model {
	t.Helper()
	c := model.Landscape.Config()
	c.Width, c.NGF, c.NHidden, c.ZDim, c.EncoderLayers = 32, 4, 8, 8, 5
	m, err := model.RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// JSONKeys are the keys the issue asks `spadepaint eval --json` for.
var JSONKeys = []string{"miou_real", "miou_generated", "pixel_acc_real", "pixel_acc_generated", "style_fidelity", "diversity", "diversity_real"}

// TestRunEndToEnd evaluates a random tiny model with an untrained tiny
// segmenter on 4 toy scenes: every key is there and in range.
func TestRunEndToEnd(t *testing.T) {
	seg, err := NewSegNet(tinySegConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rep, err := Run(context.Background(), Options{Model: tinyModel(t), Seg: seg, Source: toySource, N: 4, Size: 48, Group: 4, DiversityK: 3, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range JSONKeys {
		v, ok := got[k].(float64)
		if !ok {
			t.Errorf("key %s: %v", k, got[k])
			continue
		}
		if v < 0 || v > 1 {
			t.Errorf("%s = %g out of [0, 1]", k, v)
		}
	}
	if rep.Size != "48x48" || rep.N != 4 || rep.DiversityN != 4 {
		t.Errorf("report %+v", rep)
	}
	// The toy generator's photos differ under different styles (a random
	// tiny model barely reacts to z).
	if rep.Diversity < 0 || rep.DiversityReal <= 0 {
		t.Errorf("diversity %g, real %g", rep.Diversity, rep.DiversityReal)
	}
	var tab bytes.Buffer
	if err := rep.WriteTable(&tab); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"segmentation mIoU", "style fidelity", "diversity", "class IoU"} {
		if !strings.Contains(tab.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, tab.String())
		}
	}
	t.Logf("\n%s", tab.String())
}

// TestStyleFidelityOracle: outputs with their references' colours score
// 1; outputs that ignore the style score at most chance.
func TestStyleFidelityOracle(t *testing.T) {
	// outputs equal to their own references: fidelity 1 whatever the
	// others are.
	var refs []ColourStats
	for i := int64(0); i < 6; i++ {
		_, ref, _ := toySource(100, i, 32, 32)
		refs = append(refs, LabStats(ref))
	}
	var f Fidelity
	f.Add(distMatrix(0, len(refs), func(i, j int) float64 { return refs[i].Dist(refs[j]) }))
	if f.Pairwise() != 1 || f.TopOne() != 1 {
		t.Fatalf("oracle: pairwise %g, top-1 %g", f.Pairwise(), f.TopOne())
	}
	// The toy generator's photos of other layouts in the reference styles
	// are also nearer their own style than the others, mostly.
	var outs []ColourStats
	for i := int64(0); i < 6; i++ {
		_, p, _ := toySource(200+i, i, 32, 32)
		outs = append(outs, LabStats(p))
	}
	var g Fidelity
	g.Add(distMatrix(0, len(refs), func(i, j int) float64 { return outs[i].Dist(refs[j]) }))
	if g.Pairwise() < 0.7 {
		t.Fatalf("same style, other layout: pairwise %g", g.Pairwise())
	}
	// An output that ignores the style: chance.
	var h Fidelity
	h.Add(distMatrix(0, len(refs), func(i, j int) float64 { return outs[0].Dist(refs[j]) }))
	if h.Pairwise() > 0.5 {
		t.Fatalf("style-blind output: pairwise %g", h.Pairwise())
	}
}

func TestMeanPairwiseDiff(t *testing.T) {
	a := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	b := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := range b.Pix {
		b.Pix[i] = 255
	}
	if d := MeanPairwiseDiff([]image.Image{a, a, a}); d != 0 {
		t.Fatalf("identical: %g", d)
	}
	// pairs (a,a)=0, (a,b)=1, (a,b)=1
	if d := MeanPairwiseDiff([]image.Image{a, a, b}); math.Abs(d-2.0/3) > 1e-12 {
		t.Fatalf("got %g", d)
	}
}

// TestEvalSegMatchesRun: `eval seg` scores the same real photos as Run.
func TestEvalSegMatchesRun(t *testing.T) {
	seg, _ := NewSegNet(tinySegConfig(), 2)
	rep, err := Run(context.Background(), Options{Model: tinyModel(t), Seg: seg, Source: toySource, N: 3, Size: 32, DiversityN: 1, DiversityK: 2})
	if err != nil {
		t.Fatal(err)
	}
	sc := EvalSeg(seg, toySource, 3, 32, EvalSeedBase)
	if Num(sc.MeanIoU) != rep.MIoUReal || Num(sc.PixelAccuracy) != rep.PixelAccReal {
		t.Fatalf("EvalSeg %.4f/%.4f, Run %.4f/%.4f", sc.MeanIoU, sc.PixelAccuracy, rep.MIoUReal, rep.PixelAccReal)
	}
}

package model

import (
	"context"
	"math/rand"
	"strings"
	"testing"
)

// TestStyleModStartsAsNoChange checks the property `train --style-mod
// --from` relies on: a model with StyleMod whose style weights and biases
// are zero (as ZeroWeight and Bias start) renders exactly what the same
// weights render without it; once the style weights are not zero, the
// same labels and code render differently, on the engine and the graph
// alike (TestEngineMatchesGraph compares them in detail).
func TestStyleModStartsAsNoChange(t *testing.T) {
	ctx := context.Background()
	for _, norm := range []Norm{InstanceNorm, BatchNorm} {
		t.Run(norm.String(), func(t *testing.T) {
			c := Config{Name: "t", LabelNC: 5, NGF: 4, NDF: 4, NHidden: 8, ZDim: 16, Width: 64, AspectRatio: 1,
				EncoderLayers: 6, NumD: 1, NLayersD: 2, UseVAE: true, Norm: norm}
			plain := engineTestModel(t, c, 5)
			cs := c
			cs.StyleMod = true
			g := InitParams(GeneratorSpecs(cs), rand.New(rand.NewSource(1)))
			for k, v := range plain.G {
				g[k] = v
			}
			styleKeys := 0
			for _, k := range g.Keys() {
				if strings.Contains(k, ".mlp_style_") {
					styleKeys++
					if d, _ := g.F32(k); engineDiff(d, make([]float32, len(d))) != 0 {
						t.Fatalf("%s starts at %v, want zeros", k, d[:min(4, len(d))])
					}
				}
			}
			// Two per SPADE layer: 3 per learned-shortcut block, 2 otherwise.
			if want := 2 * 2 * (3*4 + 2*3); styleKeys != want {
				t.Fatalf("%d style keys, want %d", styleKeys, want)
			}
			styled, err := NewModel(cs, g, plain.E)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(2))
			l := engBlobLabels(c, 1, rng)
			z := plain.RandomZ(1, 3)
			want, err := plain.Generate(ctx, l, z)
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range []func(context.Context, *Labels, []float32) (*Image, error){styled.Generate, styled.GenerateGraph} {
				got, err := run(ctx, l, z)
				if err != nil {
					t.Fatal(err)
				}
				if d := engineDiff(got.Pix, want.Pix); d > parityTol {
					t.Fatalf("zero style modulation: max abs diff %.3g from the model without it", d)
				}
			}

			for _, k := range g.Keys() {
				if strings.HasSuffix(k, "mlp_style_beta.weight") {
					d, _ := g.F32(k)
					for i := range d {
						d[i] = float32(rng.Float64()*0.2-0.1) / StyleModGain
					}
				}
			}
			moved, err := NewModel(cs, g, plain.E) // a new engine for the new weights
			if err != nil {
				t.Fatal(err)
			}
			for name, run := range map[string]func(context.Context, *Labels, []float32) (*Image, error){
				"engine": moved.Generate, "graph": moved.GenerateGraph} {
				got, err := run(ctx, l, z)
				if err != nil {
					t.Fatal(err)
				}
				if d := engineDiff(got.Pix, want.Pix); d < 0.05 {
					t.Errorf("%s: style weights moved the render by %.3g only", name, d)
				}
			}
		})
	}
}

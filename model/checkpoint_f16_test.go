package model

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"spadepaint/model/nd"
	"spadepaint/model/safetensors"
)

// fileDTypes reads the dtype of every tensor from a .safetensors header
// (ReadFile converts them all to float32, so it cannot tell).
func fileDTypes(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	var h map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	d := map[string]string{}
	for k, v := range h {
		if k == "__metadata__" {
			continue
		}
		var e struct{ DType string }
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatal(err)
		}
		d[k] = e.DType
	}
	return d
}

func halfRound(x float32) float32 { return nd.HalfToFloat32(nd.Float32ToHalf(x)) }

// randomise gives the batch-norm statistics plausible values that float16
// could not hold exactly (InitParams makes them zeros and ones), so
// keeping them float32 is tested, not assumed.
func randomise(p Params, rng *rand.Rand) {
	for _, k := range p.Keys() {
		d, _ := p[k].Data().([]float32)
		for i := range d {
			switch {
			case strings.HasSuffix(k, "running_mean"):
				d[i] = float32(rng.NormFloat64() * 0.1)
			case strings.HasSuffix(k, "running_var"):
				d[i] = float32(math.Exp(rng.NormFloat64() * 0.3))
			}
		}
	}
}

func specKinds(c Config) map[string]Kind {
	kinds := map[string]Kind{}
	for _, s := range append(GeneratorSpecs(c), EncoderSpecs(c)...) {
		kinds[s.Key] = s.Kind
	}
	return kinds
}

// TestSaveF16RoundTrip: every learned tensor loads back as the float16
// rounding of its values, every buffer bit-exact; the metadata and tensor
// names are Save's; the file is about half the size.
func TestSaveF16RoundTrip(t *testing.T) {
	batch := tinyConfig()
	batch.Norm = BatchNorm
	for _, tt := range []struct {
		c Config
		// render: compare renders. A random batch-norm model is useless
		// for that: its running statistics do not match its activations,
		// which blow up until every pixel saturates at ±1, where any
		// rounding flips signs.
		render bool
	}{{tinyConfig(), true}, {batch, false}} {
		c := tt.c
		t.Run(c.Norm.String(), func(t *testing.T) {
			m, err := RandomModel(c, 1)
			if err != nil {
				t.Fatal(err)
			}
			randomise(m.G, rand.New(rand.NewSource(2)))
			dir := t.TempDir()
			p32, p16 := filepath.Join(dir, "f32.safetensors"), filepath.Join(dir, "f16.safetensors")
			if err := m.Save(p32); err != nil {
				t.Fatal(err)
			}
			if err := m.SaveWith(p16, SaveOptions{Weights: WeightsF16}); err != nil {
				t.Fatal(err)
			}
			f32, err := safetensors.ReadFile(p32)
			if err != nil {
				t.Fatal(err)
			}
			f16, err := safetensors.ReadFile(p16)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f16.Metadata, f32.Metadata) {
				t.Errorf("metadata %q, Save wrote %q", f16.Metadata, f32.Metadata)
			}
			if len(f16.Names) != len(f32.Names) {
				t.Errorf("%d tensors, Save wrote %d", len(f16.Names), len(f32.Names))
			}

			kinds := specKinds(c)
			dtypes := fileDTypes(t, p16)
			loaded, err := Load(p16)
			if err != nil {
				t.Fatal(err)
			}
			nHalf := 0
			for _, set := range []struct{ saved, loaded Params }{{m.G, loaded.G}, {m.E, loaded.E}} {
				for _, k := range set.saved.Keys() {
					want, got := set.saved[k], set.loaded[k]
					if got == nil {
						t.Errorf("%s: not loaded", k)
						continue
					}
					wantDT := map[bool]string{true: "F16", false: "F32"}[kinds[k].Learned()]
					if kinds[k] == NumBatches {
						wantDT = "I64"
					}
					if dtypes[k] != wantDT {
						t.Errorf("%s (%v): stored as %s, want %s", k, kinds[k], dtypes[k], wantDT)
					}
					if want.Dtype() != tensor.Float32 {
						if !reflect.DeepEqual(got.Data(), want.Data()) {
							t.Errorf("%s: loaded %v, saved %v", k, got.Data(), want.Data())
						}
						continue
					}
					w, g := want.Data().([]float32), got.Data().([]float32)
					if len(g) != len(w) {
						t.Fatalf("%s: %d values loaded, %d saved", k, len(g), len(w))
					}
					if kinds[k].Learned() {
						nHalf++
					}
					for i := range w {
						exp := w[i]
						if kinds[k].Learned() {
							exp = halfRound(exp)
						}
						if math.Float32bits(g[i]) != math.Float32bits(exp) {
							t.Fatalf("%s[%d]: loaded %g, saved %g, want %g", k, i, g[i], w[i], exp)
						}
					}
				}
			}
			if nHalf == 0 {
				t.Fatal("no tensor stored as float16")
			}
			s32, _ := os.Stat(p32)
			s16, _ := os.Stat(p16)
			if r := float64(s16.Size()) / float64(s32.Size()); r < 0.45 || r > 0.6 {
				t.Errorf("F16 file is %d bytes, %.2f of the F32 file's %d", s16.Size(), r, s32.Size())
			}

			if !tt.render {
				return
			}
			// The renders of both agree closely (a random tiny model: a smoke
			// test; the default model's difference is measured below).
			l := &Labels{N: 1, H: c.Height(), W: c.Width, Class: make([]uint8, c.Height()*c.Width)}
			for i := range l.Class {
				l.Class[i] = uint8(i / c.Width * c.LabelNC / c.Height())
			}
			// NGF 2 random weights are far touchier than a trained model
			// (2.9e-2 here against 2e-4 for the default model); a broken
			// conversion differs by ~1.
			d := maxRenderDiff(t, m, loaded, l, 3)
			t.Logf("max |Δ| render %.2e", d)
			if d > 0.1 {
				t.Errorf("F16 render differs by %g", d)
			}
		})
	}
}

func maxRenderDiff(t *testing.T, a, b *Model, l *Labels, seed int64) float64 {
	t.Helper()
	z := a.RandomZ(l.N, seed)
	ia, err := a.Generate(context.Background(), l, z)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := b.Generate(context.Background(), l, z)
	if err != nil {
		t.Fatal(err)
	}
	var d float64
	for i := range ia.Pix {
		d = math.Max(d, math.Abs(float64(ia.Pix[i]-ib.Pix[i])))
	}
	return d
}

// TestSaveF16Odd: an out-of-range weight stays float32 (bit-exact) while
// the rest of the file is float16; NaN and Inf weights survive as such;
// an unknown weight type is an error that writes nothing.
func TestSaveF16Odd(t *testing.T) {
	m, err := RandomModel(tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	big := m.G["conv_img.weight"].Data().([]float32)
	big[0] = 1e5
	special := m.G["fc.bias"].Data().([]float32)
	special[0], special[1] = float32(math.NaN()), float32(math.Inf(-1))
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := m.SaveWith(path, SaveOptions{Weights: WeightsF16}); err != nil {
		t.Fatal(err)
	}
	dtypes := fileDTypes(t, path)
	if dtypes["conv_img.weight"] != "F32" || dtypes["conv_img.bias"] != "F16" || dtypes["fc.bias"] != "F16" {
		t.Errorf("dtypes conv_img.weight %s, conv_img.bias %s, fc.bias %s; want F32, F16, F16",
			dtypes["conv_img.weight"], dtypes["conv_img.bias"], dtypes["fc.bias"])
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.G["conv_img.weight"].Data().([]float32); !reflect.DeepEqual(got, big) {
		t.Error("out-of-range conv_img.weight changed")
	}
	if got := l.G["fc.bias"].Data().([]float32); !math.IsNaN(float64(got[0])) || !math.IsInf(float64(got[1]), -1) {
		t.Errorf("fc.bias starts %v, want NaN, -Inf", got[:2])
	}

	bad := filepath.Join(dir, "bad.safetensors")
	err = m.SaveWith(bad, SaveOptions{Weights: WeightType(7)})
	if err == nil || !strings.Contains(err.Error(), "unknown weight type WeightType(7)") {
		t.Errorf("error = %v, want an unknown weight type", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a failed save left %s", bad)
	}
}

// TestDefaultModelF16: the shipped model saved as float16 renders within
// a small tolerance of the float32 one.
func TestDefaultModelF16(t *testing.T) {
	const path = "../assets/models/default.safetensors"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no default model: %v", err)
	}
	if testing.Short() {
		t.Skip("renders the default model")
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p16 := filepath.Join(t.TempDir(), "f16.safetensors")
	if err := m.SaveWith(p16, SaveOptions{Weights: WeightsF16}); err != nil {
		t.Fatal(err)
	}
	h, err := Load(p16)
	if err != nil {
		t.Fatal(err)
	}
	s32, _ := os.Stat(path)
	s16, _ := os.Stat(p16)
	t.Logf("float32 %d bytes, float16 %d bytes", s32.Size(), s16.Size())
	c := m.Config
	H, W, nc := c.Height(), c.Width, c.LabelNC
	rng := rand.New(rand.NewSource(1))
	maps := []struct {
		name string
		f    func(x, y int) int
	}{
		{"bands", func(x, y int) int { return y * nc / H }},
		{"stripes", func(x, y int) int { return x * nc / W }},
		{"blocks", func(x, y int) int { return int(uint32(x/16*7919+y/16*104729) % uint32(nc)) }},
		{"noise", func(x, y int) int { return rng.Intn(nc) }},
	}
	var worst float64
	for _, mp := range maps {
		name, f := mp.name, mp.f
		l := &Labels{N: 1, H: H, W: W, Class: make([]uint8, H*W)}
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				l.Class[y*W+x] = uint8(f(x, y))
			}
		}
		for seed := int64(1); seed <= 2; seed++ {
			d := maxRenderDiff(t, m, h, l, seed)
			t.Logf("%s, seed %d: max |Δ| %.2e (outputs in [-1, 1])", name, seed, d)
			worst = math.Max(worst, d)
		}
	}
	if worst > 0.05 {
		t.Errorf("F16 renders differ by up to %g", worst)
	}

	// The encoder's style codes agree as closely.
	l := &Labels{N: 1, H: H, W: W, Class: make([]uint8, H*W)}
	style, err := m.Generate(context.Background(), l, m.RandomZ(1, 9))
	if err != nil {
		t.Fatal(err)
	}
	mu32, lv32, err := m.Encode(context.Background(), style)
	if err != nil {
		t.Fatal(err)
	}
	mu16, lv16, err := h.Encode(context.Background(), style)
	if err != nil {
		t.Fatal(err)
	}
	var dmu, dlv float64
	for i := range mu32 {
		dmu = math.Max(dmu, math.Abs(float64(mu32[i]-mu16[i])))
		dlv = math.Max(dlv, math.Abs(float64(lv32[i]-lv16[i])))
	}
	t.Logf("encoder: max |Δμ| %.2e, max |Δ log σ²| %.2e", dmu, dlv)
	if dmu > 0.05 || dlv > 0.05 {
		t.Errorf("F16 encoder differs by %g (μ), %g (log σ²)", dmu, dlv)
	}
}

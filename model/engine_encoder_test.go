package model

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"testing"
)

// encTol is the largest difference allowed between the engine's encoder
// and the graph's, in μ and log-variance.
const encTol = 1e-4

const encDefaultModel = "../assets/models/default.safetensors"

// encStyle makes n random style images of h×w in [−1, 1] with some
// structure (smooth gradients plus noise), so that instance norm sees
// varied statistics.
func encStyle(n, h, w int, rng *rand.Rand) *Image {
	im := &Image{N: n, H: h, W: w, Pix: make([]float32, n*3*h*w)}
	for p := 0; p < n*3; p++ {
		fy, fx, off := rng.Float64()*0.1, rng.Float64()*0.1, rng.Float64()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := 0.6*float64((y*x)%7)/7*fy*10 + 0.3*off + 0.4*(rng.Float64()-0.5) + fx*float64(x%13)/13
				im.Pix[(p*h+y)*w+x] = float32(max(-1, min(1, v*2-0.5)))
			}
		}
	}
	return im
}

// encCompare runs the engine and the graph on style and fails beyond encTol.
func encCompare(t *testing.T, m *Model, style *Image) {
	t.Helper()
	ctx := context.Background()
	wantMu, wantLV, err := m.EncodeGraph(ctx, style)
	if err != nil {
		t.Fatal(err)
	}
	mu, lv, err := m.Encode(ctx, style)
	if err != nil {
		t.Fatal(err)
	}
	if len(mu) != len(wantMu) || len(lv) != len(wantLV) {
		t.Fatalf("engine gives %d+%d values, graph %d+%d", len(mu), len(lv), len(wantMu), len(wantLV))
	}
	dm, dl := engineDiff(mu, wantMu), engineDiff(lv, wantLV)
	if dm > encTol || dl > encTol {
		t.Fatalf("engine vs graph: μ max abs diff %.3g, logvar %.3g", dm, dl)
	}
	t.Logf("engine vs graph: μ max abs diff %.3g, logvar %.3g (|μ| up to %.3g)", dm, dl, maxAbs(wantMu))
}

func maxAbs(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = max(m, float64(max(v, -v)))
	}
	return m
}

// TestEncoderEngineMatchesGraph compares the engine's encoder with the
// graph's on random weights: both encoder depths, batches, style images
// at the encoder's size and resized from other sizes, and worker counts
// that split the banded convs unevenly.
func TestEncoderEngineMatchesGraph(t *testing.T) {
	base := Config{Name: "enc", LabelNC: 5, NGF: 4, NDF: 4, NHidden: 8, ZDim: 16, Width: 64, AspectRatio: 1,
		UseVAE: true, Norm: InstanceNorm, EncoderLayers: 6, NumD: 1, NLayersD: 2}
	cases := []struct {
		name    string
		layers  int
		ngf     int
		n, h, w int
		procs   int  // GOMAXPROCS; 0 leaves it
		stats   bool // Config.EncoderStats
		inCode  bool // Config.StatsInCode
	}{
		{"l6_n2_exact", 6, 4, 2, 256, 256, 0, false, false},
		{"l6_n2_resized", 6, 4, 2, 100, 77, 0, false, false},
		{"l5_n2_exact", 5, 4, 2, 128, 128, 0, false, false},
		{"l5_n1_upsized", 5, 8, 1, 300, 200, 0, false, false},
		{"l6_ngf16_n1", 6, 16, 1, 256, 256, 0, false, false},
		{"l6_n2_1proc", 6, 4, 2, 256, 256, 1, false, false},
		{"l6_n2_3procs", 6, 4, 2, 97, 256, 3, false, false},
		{"l5_stats_n2_resized", 5, 4, 2, 100, 77, 0, true, false},
		{"l6_stats_n1_exact", 6, 8, 1, 256, 256, 0, true, false},
		{"l5_incode_n2_resized", 5, 4, 2, 100, 77, 0, true, true},
		{"l6_incode_n1_exact", 6, 8, 1, 256, 256, 0, true, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.procs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			}
			c := base
			c.EncoderLayers, c.NGF, c.EncoderStats, c.StatsInCode = tc.layers, tc.ngf, tc.stats, tc.inCode
			m := engineTestModel(t, c, int64(40+i))
			style := encStyle(tc.n, tc.h, tc.w, rand.New(rand.NewSource(int64(i))))
			encCompare(t, m, style)
			// A second call reuses the engine's buffers: same result.
			mu1, _, err := m.Encode(context.Background(), style)
			if err != nil {
				t.Fatal(err)
			}
			encCompare(t, m, style)
			mu2, _, _ := m.Encode(context.Background(), style)
			if d := engineDiff(mu1, mu2); d != 0 {
				t.Fatalf("repeated encode differs by %.3g", d)
			}
		})
	}
}

// TestEncoderEngineDefaultModel compares engine and graph on the shipped
// default model, at the encoder's size and from a non-square photo size.
func TestEncoderEngineDefaultModel(t *testing.T) {
	if _, err := os.Stat(encDefaultModel); err != nil {
		t.Skipf("no default model: %v", err)
	}
	m, err := Load(encDefaultModel)
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasEncoder() {
		t.Fatal("the default model has no encoder")
	}
	for i, sz := range [][2]int{{256, 256}, {180, 240}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			encCompare(t, m, encStyle(1, sz[0], sz[1], rand.New(rand.NewSource(int64(i)))))
		})
	}
}

// TestEncoderEngineCancelled: a cancelled context stops before any work.
func TestEncoderEngineCancelled(t *testing.T) {
	c := Config{Name: "enc", LabelNC: 3, NGF: 2, NDF: 2, NHidden: 4, ZDim: 4, Width: 32, AspectRatio: 1,
		UseVAE: true, Norm: InstanceNorm, EncoderLayers: 5, NumD: 1, NLayersD: 2}
	m, err := RandomModel(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := m.Encode(ctx, encStyle(1, 128, 128, rand.New(rand.NewSource(1)))); err == nil {
		t.Fatal("encode with a cancelled context succeeded")
	}
}

// BenchmarkEncode times the style encoder of the default model (random
// weights of the landscape preset without it) on a 256² style image: the
// engine, and the graph for comparison.
func BenchmarkEncode(b *testing.B) {
	m, err := Load(encDefaultModel)
	if err != nil {
		if m, err = RandomModel(Landscape.Config(), 1); err != nil {
			b.Fatal(err)
		}
	}
	style := encStyle(1, 256, 256, rand.New(rand.NewSource(1)))
	ctx := context.Background()
	for _, run := range []struct {
		name string
		f    func(context.Context, *Image) ([]float32, []float32, error)
	}{{"engine", m.Encode}, {"graph", m.EncodeGraph}} {
		b.Run(run.name, func(b *testing.B) {
			if _, _, err := run.f(ctx, style); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := run.f(ctx, style); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncoderStatsSeeColourCast: the paper's encoder instance-normalises
// its first conv, so a colour cast (the same value added to a channel
// everywhere) reaches μ only through the zero padding at the borders
// (wide at the last 4×4 and 8×8 grids); with EncoderStats the cast moves
// μ through the statistics too.
func TestEncoderStatsSeeColourCast(t *testing.T) {
	base := Config{Name: "enc", LabelNC: 5, NGF: 4, NDF: 4, NHidden: 8, ZDim: 16, Width: 64, AspectRatio: 1,
		UseVAE: true, Norm: InstanceNorm, EncoderLayers: 5, NumD: 1, NLayersD: 2}
	style := encStyle(1, 128, 128, rand.New(rand.NewSource(3)))
	for i := range style.Pix { // away from ±1, so that the cast clips nothing
		style.Pix[i] *= 0.5
	}
	cast := &Image{N: 1, H: 128, W: 128, Pix: append([]float32(nil), style.Pix...)}
	plane := 128 * 128
	for i := range cast.Pix[:plane] { // redder
		cast.Pix[i] = max(-1, min(1, cast.Pix[i]+0.2))
	}
	for i := range cast.Pix[2*plane:] { // less blue
		cast.Pix[2*plane+i] = max(-1, min(1, cast.Pix[2*plane+i]-0.2))
	}
	shift := map[bool]float64{}
	for _, stats := range []bool{false, true} {
		c := base
		c.EncoderStats = stats
		m := engineTestModel(t, c, 5)
		a, _, err := m.Encode(context.Background(), style)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := m.Encode(context.Background(), cast)
		if err != nil {
			t.Fatal(err)
		}
		shift[stats] = engineDiff(a, b) / maxAbs(a)
	}
	t.Logf("a colour cast moves μ by %.3g (relative) without the statistics, %.3g with", shift[false], shift[true])
	// Random weights: the statistics' columns of fc_mu are as large as
	// the others (measured 0.031 against 0.14).
	if !(shift[true] > 2*shift[false]) {
		t.Errorf("a colour cast moves μ by %.3g without the statistics and %.3g with: want the statistics to make it at least twice as large", shift[false], shift[true])
	}
}

// TestStatsInCode: with StatsInCode the code's last dimensions are the
// photo's colour statistics (×StatsCodeGain), with the fixed
// log-variance, and the other dimensions are what the same weights give
// without it; on the engine and the graph alike.
func TestStatsInCode(t *testing.T) {
	c := Config{Name: "enc", LabelNC: 5, NGF: 4, NDF: 4, NHidden: 8, ZDim: 16, Width: 64, AspectRatio: 1,
		UseVAE: true, Norm: InstanceNorm, EncoderLayers: 5, NumD: 1, NLayersD: 2, EncoderStats: true}
	style := encStyle(2, 128, 128, rand.New(rand.NewSource(4)))
	plain := engineTestModel(t, c, 6)
	ci := c
	ci.StatsInCode = true
	in, err := NewModel(ci, plain.G, plain.E)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mu0, lv0, err := plain.Encode(ctx, style)
	if err != nil {
		t.Fatal(err)
	}
	k := c.ZDim - EncoderStatsLen
	for name, enc := range map[string]func(context.Context, *Image) ([]float32, []float32, error){"engine": in.Encode, "graph": in.EncodeGraph} {
		mu, lv, err := enc(ctx, style)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < style.N; n++ {
			z := n * c.ZDim
			if d := engineDiff(mu[z:z+k], mu0[z:z+k]) + engineDiff(lv[z:z+k], lv0[z:z+k]); d > 1e-5 {
				t.Errorf("%s item %d: the learned dimensions moved by %.3g", name, n, d)
			}
			plane := 128 * 128
			for ch := 0; ch < 3; ch++ {
				var sum, sq float64
				for _, v := range style.Pix[(n*3+ch)*plane : (n*3+ch+1)*plane] {
					sum += float64(v)
					sq += float64(v) * float64(v)
				}
				mean := sum / float64(plane)
				std := math.Sqrt(sq/float64(plane) - mean*mean)
				for j, want := range map[int]float64{ch: mean * StatsCodeGain, 3 + ch: std * StatsCodeGain} {
					if got := float64(mu[z+k+j]); math.Abs(got-want) > 1e-4 {
						t.Errorf("%s item %d: code statistic %d = %.5f, want %.5f", name, n, j, got, want)
					}
					if lv[z+k+j] != StatsCodeLogVar {
						t.Errorf("%s item %d: log-variance %d = %v, want %v", name, n, j, lv[z+k+j], StatsCodeLogVar)
					}
				}
			}
		}
	}
}

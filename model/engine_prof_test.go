package model

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEngineProfile logs where ADE20K's render spends its time: each
// label-dependent branch once, then the trunk's steps as medians over a
// few runs (set ENGINE_PROFILE; ENGINE_PROFILE_WINO=1 adds the Winograd
// band stages of one run).
func TestEngineProfile(t *testing.T) {
	if os.Getenv("ENGINE_PROFILE") == "" {
		t.Skip("set ENGINE_PROFILE")
	}
	c := ADE20K.Config()
	m, _ := RandomModel(c, 1)
	engineProfile(t, m, c)
}

// TestEngineProfileDefault is TestEngineProfile for the default model
// (landscape, ngf 16, nhidden 32, VAE, 128²): set ENGINE_PROFILE.
func TestEngineProfileDefault(t *testing.T) {
	if os.Getenv("ENGINE_PROFILE") == "" {
		t.Skip("set ENGINE_PROFILE")
	}
	m, err := Load("../assets/models/default.safetensors")
	if err != nil {
		t.Fatalf("load default model: %v", err)
	}
	engineProfile(t, m, m.Config)
}

func engineProfile(t *testing.T, m *Model, c Config) {
	l := BenchLabels(c, 1)
	ctx := context.Background()
	var z []float32
	if c.UseVAE {
		z = make([]float32, c.ZDim)
	}
	if _, err := m.Generate(ctx, l, z); err != nil {
		t.Fatal(err)
	}
	e := m.eng
	if engBLASSerial != nil {
		defer engBLASSerial()()
	}
	it := e.item(0)
	acc := map[string]float64{}
	engTrace = func(name string, d time.Duration) {
		k := name
		if len(k) > 5 && k[:5] != "wino " {
			k = "gather"
		}
		acc[k] += float64(d.Microseconds()) / 1000
	}
	var branches float64
	for i, sp := range e.spades {
		g := e.scales[sp.scale].g
		st := time.Now()
		e.updateSpade(it, i, engRect{0, 0, g.W, g.H})
		d := float64(time.Since(st).Microseconds()) / 1000
		branches += d
		t.Logf("spade %-20s C=%4d %3d² %7.2f ms", sp.name, sp.C, g.W, d)
	}
	engTrace = nil
	t.Logf("branch breakdown: %v; all branches %.2f ms", acc, branches)
	if os.Getenv("ENGINE_PROFILE_NOLANE") != "" {
		e.lane = nil
	}
	// The whole cold refresh (all layers, as a new label map runs them).
	var refresh []float64
	for r := 0; r < 7; r++ {
		for i := range it.pending {
			it.pending[i] = engRect{0, 0, c.Width, c.Height()}
		}
		st := time.Now()
		if err := e.refresh(ctx, it); err != nil {
			t.Fatal(err)
		}
		refresh = append(refresh, float64(time.Since(st).Microseconds())/1000)
	}
	slices.Sort(refresh)
	t.Logf("cold refresh median %.2f ms (min %.2f) over 7 runs", refresh[3], refresh[0])
	dst := make([]float32, 3*c.Height()*c.Width)
	const runs = 7
	steps := map[string][]float64{}
	var order []string
	var totals []float64
	for r := 0; r < runs; r++ {
		engTrace = func(name string, d time.Duration) {
			if strings.HasPrefix(name, "wino ") {
				return
			}
			if _, ok := steps[name]; !ok {
				order = append(order, name)
			}
			steps[name] = append(steps[name], float64(d.Microseconds())/1000)
		}
		st := time.Now()
		e.trunk(ctx, it, z, dst)
		totals = append(totals, float64(time.Since(st).Microseconds())/1000)
	}
	engTrace = nil
	med := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	for _, name := range order {
		t.Logf("  %-24s %7.2f ms", name, med(steps[name]))
	}
	t.Logf("trunk median %.1f ms (min %.1f) over %d runs", med(totals), slices.Min(totals), runs)
	if os.Getenv("ENGINE_PROFILE_WINO") != "" {
		engTrace = func(name string, d time.Duration) { t.Logf("  %-24s %7.2f ms", name, float64(d.Microseconds())/1000) }
		e.trunk(ctx, it, z, dst)
		engTrace = nil
	}
}

package model

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestEngineProfile(t *testing.T) {
	if os.Getenv("ENGINE_PROFILE") == "" {
		t.Skip("set ENGINE_PROFILE")
	}
	c := ADE20K.Config()
	m, _ := RandomModel(c, 1)
	l := BenchLabels(c, 1)
	ctx := context.Background()
	m.Generate(ctx, l, nil)
	e := m.eng
	if engBLASSerial != nil {
		defer engBLASSerial()()
	}
	it := e.item(0)
	// time each branch layer full
	acc := map[string]float64{}
	engTrace = func(name string, d time.Duration) {
		k := name
		if len(k) > 5 && k[:5] != "wino " {
			k = "gather"
		}
		acc[k] += float64(d.Microseconds()) / 1000
	}
	for i, sp := range e.spades {
		g := e.scales[sp.scale].g
		st := time.Now()
		e.updateSpade(it, i, engRect{0, 0, g.W, g.H})
		t.Logf("spade %-20s C=%4d %3d² %7.1f ms", sp.name, sp.C, g.W, float64(time.Since(st).Microseconds())/1000)
	}
	engTrace = nil
	t.Logf("branch breakdown: %v", acc)
	st := time.Now()
	e.trunk(ctx, it, nil, make([]float32, 3*256*256))
	t.Logf("trunk %.1f ms", float64(time.Since(st).Microseconds())/1000)
	engTrace = func(name string, d time.Duration) { t.Logf("  %-24s %7.2f ms", name, float64(d.Microseconds())/1000) }
	e.trunk(ctx, it, nil, make([]float32, 3*256*256))
	engTrace = nil
}

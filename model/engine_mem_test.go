package model

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestEngineMemory(t *testing.T) {
	if os.Getenv("ENGINE_PROFILE") == "" {
		t.Skip("set ENGINE_PROFILE")
	}
	var ms runtime.MemStats
	mb := func() float64 { runtime.GC(); runtime.ReadMemStats(&ms); return float64(ms.HeapAlloc) / (1 << 20) }
	c := ADE20K.Config()
	m, _ := RandomModel(c, 1)
	base := mb()
	t.Logf("params: %.0f MB", base)
	e, _ := newEngine(c, m.G)
	w := mb()
	t.Logf("engine weights+scratch: %.0f MB", w-base)
	e.item(0)
	t.Logf("item cache: %.0f MB", mb()-w)
	var wino, tap, tab, scratch int
	for _, sp := range e.spades {
		if sp.wino != nil {
			wino += len(sp.wino.u)
		}
		tab += len(sp.shared.tab)
	}
	for _, b := range e.blocks {
		for _, cv := range []*engConv{b.conv0, b.conv1} {
			if cv.wino != nil {
				wino += len(cv.wino.u)
			}
			if cv.wino2 != nil {
				wino += len(cv.wino2.u)
			}
			tap += len(cv.tap)
		}
	}
	scratch = len(e.x[0]) + len(e.x[1]) + len(e.t) + len(e.dx) + len(e.col) // e.actv is in e.x[1]
	t.Logf("wino %.0f MB, tap %.0f MB, tables %.0f MB, scratch %.0f MB", float64(wino)/(1<<18), float64(tap)/(1<<18), float64(tab)/(1<<18), float64(scratch)/(1<<18))
	m.eng = e
	l := BenchLabels(c, 1)
	m.Generate(context.Background(), l, nil)
	t.Logf("after render: %.0f MB (wino scratch %.0f MB)", mb(), float64(len(e.wino.v)+len(e.wino.m))/(1<<18))
}

func TestEngineSetupTime(t *testing.T) {
	if os.Getenv("ENGINE_PROFILE") == "" {
		t.Skip("set ENGINE_PROFILE")
	}
	for _, p := range []Preset{Landscape, ADE20K} {
		c := p.Config()
		m, _ := RandomModel(c, 1)
		st := time.Now()
		e, _ := newEngine(c, m.G)
		t1 := time.Since(st)
		e.item(0)
		t2 := time.Since(st)
		m.eng = e
		m.Generate(context.Background(), BenchLabels(c, 1), m.RandomZ(1, 1))
		t3 := time.Since(st)
		m.DropCache()
		m.Generate(context.Background(), BenchLabels(c, 1), m.RandomZ(1, 1))
		t.Logf("%s: newEngine %v, item %v, first render %v, cold %v", p, t1, t2-t1, t3-t2, time.Since(st)-t3)
	}
}

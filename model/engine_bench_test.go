package model

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEngine times the three render paths of Generate on random
// weights: cold (labels never seen), style (same labels, new z: only the
// main path runs) and stroke (a 32×32 dab changed the labels). `make
// bench` and `spadepaint bench` report the same with PyTorch's time.
// landscape-stylemod adds the style modulation (Config.StyleMod), whose
// per-render pass over every layer's A and B is its cost.
func BenchmarkEngine(b *testing.B) {
	styled := Landscape.Config()
	styled.Name, styled.StyleMod = "landscape-stylemod", true
	for _, pc := range []Config{Landscape.Config(), styled, ADE20K.Config()} {
		for _, size := range []int{256} {
			c := pc
			c.Width = size
			var m *Model
			var l *Labels
			setup := func(b *testing.B) {
				if m != nil {
					return
				}
				var err error
				if m, err = RandomModel(c, 1); err != nil {
					b.Fatal(err)
				}
				l = BenchLabels(c, 1)
			}
			ctx := context.Background()
			for _, path := range []string{"cold", "style", "stroke"} {
				b.Run(fmt.Sprintf("%s/%d/%s", c.Name, size, path), func(b *testing.B) {
					setup(b)
					z := m.RandomZ(1, 1)
					if _, err := m.Generate(ctx, l, z); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					cpu0 := cpuTime()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						switch path {
						case "cold":
							m.DropCache()
						case "style":
							z = m.RandomZ(1, int64(i+2))
						case "stroke":
							BenchStroke(c, l, i)
						}
						if _, err := m.Generate(ctx, l, z); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					// CPU time per render (both cores together): steadier
					// than wall time on a shared machine.
					b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
				})
			}
		}
	}
}

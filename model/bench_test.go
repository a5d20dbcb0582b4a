package model

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkGenerate times one full generator forward (labels → image,
// including the one-hot maps) on random weights of each preset.
// `make bench` runs it; `spadepaint bench` adds the PyTorch reference.
func BenchmarkGenerate(b *testing.B) {
	for _, p := range []Preset{Landscape, ADE20K} {
		for _, size := range []int{128, 256} {
			b.Run(fmt.Sprintf("%s/%d", p, size), func(b *testing.B) {
				c := p.Config()
				c.Width = size
				m, err := RandomModel(c, 1)
				if err != nil {
					b.Fatal(err)
				}
				l := &Labels{N: 1, H: c.Height(), W: c.Width, Class: make([]uint8, c.Height()*c.Width)}
				for i := range l.Class {
					l.Class[i] = uint8((i / 8 % 7) % c.NumClasses())
				}
				z := m.RandomZ(1, 1)
				ctx := context.Background()
				if _, err := m.Generate(ctx, l, z); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := m.Generate(ctx, l, z); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

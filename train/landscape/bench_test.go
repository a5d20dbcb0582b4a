package landscape

import "testing"

// BenchmarkGenerate256 times one label/photo pair at 256² on one core.
func BenchmarkGenerate256(b *testing.B) {
	b.ReportAllocs()
	rng := newRand(99)
	styles := make([]Style, 16)
	for i := range styles {
		styles[i] = RandomStyle(rng)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Generate(int64(i%64), 256, 256, styles[i%16])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

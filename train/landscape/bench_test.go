package landscape

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkGenerate256 times one label/photo pair at 256² on one core.
// Besides wall time it reports pairs per second of the process's CPU
// time, which stays meaningful on a machine shared with other jobs
// (run with -cpu 1).
func BenchmarkGenerate256(b *testing.B) {
	b.ReportAllocs()
	rng := newRand(99)
	styles := make([]Style, 16)
	for i := range styles {
		styles[i] = RandomStyle(rng)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Generate(int64(i%64), 256, 256, styles[i%16])
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "pairs/cpu-s")
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

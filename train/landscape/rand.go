package landscape

import "math/rand/v2"

// newRand is a deterministic generator for seed.
func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x1a2d5ca9e))
}

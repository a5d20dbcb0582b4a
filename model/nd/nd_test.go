package nd

import (
	"math"
	"math/rand"
	"sort"
	"testing"
)

func TestFloat32ToHalf(t *testing.T) {
	p2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"0.1 rounds down", 0.1, 0x2e66},
		{"1/3 rounds down", 1.0 / 3, 0x3555},
		{"2/3 rounds up", 2.0 / 3, 0x3955},
		{"largest finite", 65504, 0x7bff},
		{"just below the overflow tie", math.Nextafter32(65520, 0), 0x7bff},
		{"overflow tie rounds to even: Inf", 65520, 0x7c00},
		{"too large", 1e6, 0x7c00},
		{"too large negative", -1e6, 0xfc00},
		{"max float32", math.MaxFloat32, 0x7c00},
		{"+Inf", float32(math.Inf(1)), 0x7c00},
		{"-Inf", float32(math.Inf(-1)), 0xfc00},
		{"smallest normal", p2(-14), 0x0400},
		{"largest subnormal", p2(-14) - p2(-24), 0x03ff},
		{"largest subnormal rounds up to the smallest normal", p2(-14) - p2(-25), 0x0400},
		{"smallest subnormal", p2(-24), 0x0001},
		{"half the smallest subnormal: tie to even zero", p2(-25), 0x0000},
		{"just above half the smallest subnormal", math.Nextafter32(p2(-25), 1), 0x0001},
		{"negative tiny rounds to -0", -p2(-26), 0x8000},
		{"smallest float32 subnormal", math.SmallestNonzeroFloat32, 0x0000},
		{"1.5 subnormal ulps: tie to even 2", 3 * p2(-25), 0x0002},
		{"2.5 subnormal ulps: tie to even 2", 5 * p2(-25), 0x0002},
		{"tie above 1 rounds down to even", 1 + p2(-11), 0x3c00},
		{"tie above 1+ulp rounds up to even", 1 + 3*p2(-11), 0x3c02},
		{"above the tie rounds up", math.Nextafter32(1+p2(-11), 2), 0x3c01},
		{"mantissa carry into exponent", 2 - p2(-12), 0x4000},
		{"quiet NaN", float32(math.NaN()), 0x7e00},
		{"NaN with only low payload bits gets the quiet bit", math.Float32frombits(0x7f800001), 0x7e00},
		{"NaN keeps its top payload bits", math.Float32frombits(0xffa02000), 0xfd01},
	}
	for _, tt := range tests {
		if got := Float32ToHalf(tt.in); got != tt.want {
			t.Errorf("%s: Float32ToHalf(%g [%#08x]) = %#04x, want %#04x", tt.name, tt.in, math.Float32bits(tt.in), got, tt.want)
		}
	}
}

// TestHalfRoundTrip: every float16 bit pattern, NaNs included, comes back
// unchanged through float32.
func TestHalfRoundTrip(t *testing.T) {
	for h := 0; h <= 0xffff; h++ {
		f := HalfToFloat32(uint16(h))
		if got := Float32ToHalf(f); got != uint16(h) {
			t.Errorf("Float32ToHalf(HalfToFloat32(%#04x) = %g) = %#04x", h, f, got)
		}
	}
}

// nearestHalf is the reference conversion: the float16 nearest to x, found
// by search over all finite positive halves plus 65536 standing for +Inf
// (IEEE overflow rounds as if the exponent range went on), ties to the
// even bit pattern.
type nearestHalf struct {
	vals []float64
	bits []uint16
}

func newNearestHalf() *nearestHalf {
	r := &nearestHalf{}
	for h := uint16(0); h < 0x7c00; h++ {
		r.vals = append(r.vals, float64(HalfToFloat32(h)))
		r.bits = append(r.bits, h)
	}
	r.vals = append(r.vals, 65536)
	r.bits = append(r.bits, 0x7c00)
	return r
}

func (r *nearestHalf) convert(x float32) uint16 {
	sign := uint16(0)
	if math.Signbit(float64(x)) {
		sign = 0x8000
	}
	a := math.Abs(float64(x))
	if a >= 65536 {
		return sign | 0x7c00
	}
	i := sort.SearchFloat64s(r.vals, a) // first ≥ a
	if r.vals[i] == a || i == 0 {
		return sign | r.bits[i]
	}
	lo, hi := r.vals[i-1], r.vals[i]
	switch d := (a - lo) - (hi - a); {
	case d < 0:
		return sign | r.bits[i-1]
	case d > 0:
		return sign | r.bits[i]
	}
	if r.bits[i-1]&1 == 0 {
		return sign | r.bits[i-1]
	}
	return sign | r.bits[i]
}

// TestFloat32ToHalfNearest checks the rounding against the reference at
// every tie between adjacent halves, at the float32 neighbours of each
// tie, and at random float32s of both signs.
func TestFloat32ToHalfNearest(t *testing.T) {
	ref := newNearestHalf()
	check := func(x float32) {
		t.Helper()
		for _, v := range []float32{x, -x} {
			if got, want := Float32ToHalf(v), ref.convert(v); got != want {
				t.Fatalf("Float32ToHalf(%g [%#08x]) = %#04x, want %#04x", v, math.Float32bits(v), got, want)
			}
		}
	}
	for i := 1; i < len(ref.vals); i++ {
		mid := float32((ref.vals[i-1] + ref.vals[i]) / 2) // exact: float32 has 13 more bits
		check(mid)
		check(math.Nextafter32(mid, 0))
		check(math.Nextafter32(mid, math.MaxFloat32))
		check(float32(ref.vals[i]))
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 1_000_000; i++ {
		x := math.Float32frombits(rng.Uint32())
		if x != x || math.IsInf(float64(x), 0) {
			continue // NaN and Inf are in the table test
		}
		check(x)
	}
}

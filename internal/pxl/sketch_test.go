package pxl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/stretchr/testify/require"
)

// TestFastSketchIndex: the table lookup gives the logarithmic mapping's own
// bucket for every value tried (bucket boundaries and their neighbours,
// powers of two, integers, random values), so sketches are unchanged.
func TestFastSketchIndex(t *testing.T) {
	m, err := mapping.NewLogarithmicMapping(sketchAccuracy)
	require.NoError(t, err)
	f := sketchIndex()
	require.True(t, f.ok)
	check := func(v float64) {
		i, ok := f.index(v)
		if !(v >= 1 && v < 0x1p64) {
			require.False(t, ok, v)
			return
		}
		require.True(t, ok, v)
		require.Equal(t, m.Index(v), i, "value %v", v)
	}
	for _, b := range f.bound {
		check(b)
		check(math.Nextafter(b, 0))
		check(math.Nextafter(b, math.Inf(1)))
	}
	for e := range 70 {
		p := math.Ldexp(1, e)
		check(p)
		check(math.Nextafter(p, 0))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(float64(rng.Int64N(1 << 40)))
		check(math.Exp(rng.Float64() * 45))
	}
	check(0)
	check(-5)
	check(math.NaN())
}

package pxl

import (
	"math"
	"sync"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
)

// sketchAccuracy is the relative accuracy of px.quantiles' DDSketch.
const sketchAccuracy = 0.01

// newSketch returns the DDSketch of px.quantiles.
func newSketch() (*ddsketch.DDSketch, error) { return ddsketch.NewDefaultDDSketch(sketchAccuracy) }

// sketchAdd adds v (negatives count as 0) to a sketch made by newSketch.
// Values in [1, 2^64), every latency in ns, take their bucket from
// fastIndex instead of a logarithm: the same bucket, so the same sketch.
func sketchAdd(sk *ddsketch.DDSketch, v float64) {
	if i, ok := sketchIndex().index(v); ok {
		sk.GetPositiveValueStore().Add(i)
		return
	}
	_ = sk.Add(math.Max(0, v))
}

// fastIndex gives the bucket index of the sketch's logarithmic mapping for
// values in [1, 2^64) with a table lookup and one comparison. Values are
// split by their exponent and top 8 mantissa bits into ranges 0.4% wide,
// narrower than a bucket (2%): a range holds at most two buckets. first is
// the bucket of each range's smallest value, bound the smallest value of
// each bucket, both computed with the mapping itself, so the result is the
// mapping's own (its logarithm grows monotonically).
type fastIndex struct {
	ok    bool
	lo    int            // bucket of 1.0
	first [64 << 8]int32 // bucket of the smallest value of each range
	bound []float64      // bound[i-lo]: smallest value of bucket i
}

// rangeKey is the range of v in [1, 2^64).
func rangeKey(v float64) int { return int(math.Float64bits(v)>>44) - 1023<<8 }

var sketchIndex = sync.OnceValue(func() *fastIndex {
	f := &fastIndex{}
	m, err := mapping.NewLogarithmicMapping(sketchAccuracy)
	if err != nil {
		return f
	}
	f.lo = m.Index(1)
	hi := m.Index(0x1p64) + 2
	f.bound = make([]float64, hi-f.lo+1)
	for i := f.lo; i <= hi; i++ {
		// The smallest v with Index(v) >= i, from a guess, stepping by ULPs.
		v := math.Max(1, m.LowerBound(i))
		for v > 1 && m.Index(v) >= i {
			v = math.Nextafter(v, 0)
		}
		for m.Index(v) < i {
			v = math.Nextafter(v, math.Inf(1))
		}
		f.bound[i-f.lo] = v
	}
	for k := range f.first {
		start := math.Float64frombits(uint64(k+1023<<8) << 44)
		end := math.Nextafter(math.Float64frombits(uint64(k+1+1023<<8)<<44), 0)
		f.first[k] = int32(m.Index(start))
		if m.Index(end)-int(f.first[k]) > 1 {
			return &fastIndex{} // ranges wider than assumed: not used
		}
	}
	f.ok = true
	return f
})

// index is the mapping's bucket of v, or false outside [1, 2^64).
func (f *fastIndex) index(v float64) (int, bool) {
	if !f.ok || !(v >= 1 && v < 0x1p64) {
		return 0, false
	}
	i := int(f.first[rangeKey(v)])
	if v >= f.bound[i+1-f.lo] {
		i++
	}
	return i, true
}

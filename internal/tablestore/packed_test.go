package tablestore

import (
	"context"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"
)

// packedParts returns the encPacked parts of v (nil when the form is not
// worth it), from packCandidate: encodeInts takes a dictionary for up to
// 256 distinct values, which small tests have.
func packedParts(t *testing.T, v []int64) [][]byte {
	t.Helper()
	var e encoder
	base := slices.Min(v)
	u := make([]uint64, len(v))
	var maxU uint64
	for i, x := range v {
		u[i] = uint64(x) - uint64(base)
		maxU = max(maxU, u[i])
	}
	e.packCandidate(u, base, (bits.Len64(maxU)+7)/8)
	if !e.altOK {
		return nil
	}
	var parts [][]byte
	start := 0
	for _, end := range e.alt.ends {
		parts = append(parts, append([]byte(nil), e.alt.raw[start:end]...))
		start = end
	}
	return parts
}

// TestPackedRoundTrip checks the bit-packed form with escapes: every row
// decoded, any rows gathered, for log-normal values (a few percent of
// escapes), row counts around the 64-row blocks and past 65535 escapes
// (32-bit escape counts), and that corrupt parts give an error, never a
// panic.
func TestPackedRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lognormal := func(int) int64 { return int64(math.Exp(rng.NormFloat64()*0.9 + 16)) }
	heavy := func(i int) int64 { // many escapes, values up to 2^62
		if i%3 == 0 {
			return int64(rng.Uint64() >> 2)
		}
		return int64(rng.IntN(1000)) - 500
	}
	found := 0
	for _, gen := range []func(int) int64{lognormal, heavy} {
		for _, n := range []int{2, 63, 64, 65, 127, 129, 1000, 200_000} {
			v := make([]int64, n)
			for i := range v {
				v[i] = gen(i)
			}
			v[0], v[n-1] = 1, 2 // never a constant
			parts := packedParts(t, v)
			if parts == nil {
				t.Logf("n %d: not packed", n)
				continue
			}
			found++
			require.Len(t, parts, 4)
			out := make([]int64, n)
			require.NoError(t, decodeInt64s(out, encPacked, parts))
			require.Equal(t, v, out, "n %d", n)
			var rows []int32
			for i := range n {
				if rng.IntN(4) == 0 || i == n-1 {
					rows = append(rows, int32(i))
				}
			}
			pk, err := parsePacked(parts, n)
			require.NoError(t, err)
			got := make([]int64, len(rows))
			require.NoError(t, pk.gather(got, rows))
			for j, r := range rows {
				require.Equal(t, v[r], got[j], "n %d row %d", n, r)
			}
			// Corruptions: an error or some values, never a panic.
			for k := range 200 {
				bad := make([][]byte, len(parts))
				for i, p := range parts {
					bad[i] = append([]byte(nil), p...)
				}
				pi := k % len(bad)
				if len(bad[pi]) == 0 {
					continue
				}
				if k%5 == 0 {
					bad[pi] = bad[pi][:rng.IntN(len(bad[pi]))]
				} else {
					bad[pi][rng.IntN(len(bad[pi]))] ^= byte(1 + rng.IntN(255))
				}
				_ = decodeInt64s(out, encPacked, bad)
				if pk, err := parsePacked(bad, n); err == nil {
					_ = pk.gather(got, rows)
				}
			}
		}
	}
	require.Greater(t, found, 8, "the packed form is chosen")
}

// TestScanPacked stores log-normal latencies, checks that compaction
// chose the packed form and that full, filtered (the packed column decoded
// only for the kept rows) and Where scans return them.
func TestScanPacked(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, BatchRows: 4096}, testSchema)
	tb := s.Table("t")
	rng := rand.New(rand.NewPCG(5, 6))
	var rows []row
	for i := range 20000 {
		r := mkRow(clk.NS(), int64(math.Exp(rng.NormFloat64()*0.9+16)))
		if i%500 == 0 {
			r.Seq = 30e9 + int64(i) // rare outliers (timeouts)
		}
		r.B = rng.IntN(20) == 0
		rows = append(rows, r)
		clk.Advance(1000)
	}
	_, err := tb.Append(batchOf(rows...))
	require.NoError(t, err)
	s.Flush()
	packed := 0
	tb.mu.RLock()
	for _, b := range tb.batches {
		if b.cold != nil && b.cold.cols[1].enc == encPacked {
			packed++
		}
	}
	tb.mu.RUnlock()
	require.Positive(t, packed)

	require.Equal(t, rows, scanRows(t, tb, ScanOptions{}))
	collect := func(opts ScanOptions) []row {
		var got []row
		require.NoError(t, tb.Scan(context.Background(), opts, func(rec arrow.RecordBatch) error {
			for _, r := range rowsOf(rec) {
				r.S, r.D, r.TID, r.SID = strings.Clone(r.S), strings.Clone(r.D), strings.Clone(r.TID), strings.Clone(r.SID)
				got = append(got, r)
			}
			return nil
		}))
		return got
	}
	var want []row
	for _, r := range rows {
		if r.B {
			want = append(want, r)
		}
	}
	got := collect(ScanOptions{FilterColumns: []string{"b"}, Filter: keepTrueB})
	require.Equal(t, want, got)
	want = want[:0]
	for _, r := range rows {
		if r.Seq >= 20e6 {
			want = append(want, r)
		}
	}
	require.Equal(t, want, collect(ScanOptions{Where: &IntCompare{Column: "seq", Op: ">=", Value: 20e6}}))
}

// keepTrueB is a scan Filter over the single filter column "b" (boolean)
// keeping the rows where it is true.
func keepTrueB(rec arrow.RecordBatch) ([]int32, error) {
	var keep []int32
	bs := rec.Column(0).(*array.Boolean)
	for i := range bs.Len() {
		if bs.Value(i) {
			keep = append(keep, int32(i))
		}
	}
	return keep, nil
}

package tablestore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"
)

// TestConcurrentAppendAndScan runs writers, scanners, maintenance and stats
// together (run it with -race). Table "t" has one writer appending rows in
// order; every scan must see a contiguous run of sequence numbers (no row
// skipped or repeated while batches are sealed, compacted and evicted), in
// time order. Table "u" has two writers racing on interleaved times; scans
// must see sorted, unique rows and every row is either stored or counted.
func TestConcurrentAppendAndScan(t *testing.T) {
	clk := newFakeClock()
	other := MustSchema("u", testSchema.Columns())
	cfg := Config{Now: clk.Now, MaxBytes: 256 << 10, BatchBytes: 32 << 10, BatchRows: 300,
		LateTolerance: time.Millisecond, Compression: CompressionLZ4}
	s, _, _ := newTestStore(t, cfg, testSchema, other)
	const perWriter = 10000
	base := clk.NS() - int64(time.Hour)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	var writersDone sync.WaitGroup
	var errs atomic.Int64
	fail := func(format string, args ...any) {
		if errs.Add(1) == 1 {
			t.Errorf(format, args...)
		}
	}

	// Writer of t: strictly increasing times, contiguous sequence numbers.
	writersDone.Add(1)
	go func() {
		defer writersDone.Done()
		rng := rand.New(rand.NewPCG(1, 1))
		tb := s.Table("t")
		for seq := int64(0); seq < perWriter; {
			n := min(1+rng.IntN(60), perWriter-int(seq))
			rows := make([]row, 0, n)
			for range n {
				rows = append(rows, mkRow(base+seq*1000, seq))
				seq++
			}
			res, err := tb.Append(batchOf(rows...))
			if err != nil || res.Accepted != n {
				fail("append t: %v %+v", err, res)
				return
			}
		}
	}()
	// Writers of u: times from a shared counter, so batches interleave.
	var clock atomic.Int64
	var uAccepted, uDropped atomic.Int64
	for w := range 2 {
		writersDone.Add(1)
		go func() {
			defer writersDone.Done()
			rng := rand.New(rand.NewPCG(2, uint64(w)))
			tb := s.Table("u")
			for i := 0; i < perWriter; {
				n := min(1+rng.IntN(60), perWriter-i)
				rows := make([]row, 0, n)
				for range n {
					seq := int64(w)*perWriter + int64(i)
					rows = append(rows, mkRow(base+clock.Add(1000), seq))
					i++
				}
				res, err := tb.Append(batchFor(tb.Schema(), rows...))
				if err != nil {
					fail("append u: %v", err)
					return
				}
				uAccepted.Add(int64(res.Accepted))
				uDropped.Add(int64(res.Late + res.Future))
			}
		}()
	}
	// Scanners.
	var scans atomic.Int64
	for sc := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := []string{"t", "u"}[sc%2]
			tb := s.Table(name)
			for {
				select {
				case <-stop:
					return
				default:
				}
				var prevT int64 = -1 << 63
				var prevSeq int64 = -1
				seen := map[int64]bool{}
				var count int64
				snap, err := tb.Snapshot(ScanOptions{Columns: []string{TimeColumn, "seq"}})
				if err != nil {
					fail("snapshot: %v", err)
					return
				}
				err = snap.Scan(context.Background(), func(rec arrow.RecordBatch) error {
					ts := rec.Column(0).(*array.Timestamp).TimestampValues()
					sq := rec.Column(1).(*array.Int64).Int64Values()
					for i := range ts {
						if int64(ts[i]) < prevT {
							return fmt.Errorf("time went backwards: %d after %d", ts[i], prevT)
						}
						prevT = int64(ts[i])
						if name == "t" {
							if prevSeq >= 0 && sq[i] != prevSeq+1 {
								return fmt.Errorf("seq %d after %d: skipped or repeated rows", sq[i], prevSeq)
							}
							prevSeq = sq[i]
						} else {
							if seen[sq[i]] {
								return fmt.Errorf("seq %d seen twice", sq[i])
							}
							seen[sq[i]] = true
						}
						count++
					}
					return nil
				})
				if err == nil && count > snap.MaxRows() {
					err = fmt.Errorf("scan returned %d rows, snapshot holds %d", count, snap.MaxRows())
				}
				snap.Release()
				if err != nil {
					fail("scan %s: %v", name, err)
					return
				}
				scans.Add(1)
			}
		}()
	}
	// Maintenance and stats.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				s.Maintain()
				_ = s.Stats()
			}
		}
	}()

	writersDone.Wait()
	close(stop)
	wg.Wait()
	require.Zero(t, errs.Load())
	require.Positive(t, scans.Load())

	s.Flush()
	st := s.Table("t").Stats()
	require.Equal(t, int64(perWriter), st.RowsAppended)
	require.Equal(t, int64(perWriter), st.Rows+st.RowsEvicted)
	require.Positive(t, st.Compactions)
	su := s.Table("u").Stats()
	require.Equal(t, int64(2*perWriter), uAccepted.Load()+uDropped.Load())
	require.Equal(t, uAccepted.Load(), su.Rows+su.RowsEvicted)
	require.Equal(t, uDropped.Load(), su.DroppedLate+su.DroppedFuture)
	t.Logf("t: %+v", st)
	t.Logf("u: %+v", su)
	t.Logf("scans: %d", scans.Load())
}

// TestScanDuringCompactionExact checks, at every step, that a snapshot
// taken while batches wait for compaction and one taken after see exactly
// the same rows.
func TestScanDuringCompactionExact(t *testing.T) {
	clk := newFakeClock()
	cfg := Config{Now: clk.Now, BatchRows: 100, LateTolerance: time.Millisecond}
	s, _, _ := newTestStore(t, cfg, testSchema)
	tb := s.Table("t")
	base := clk.NS() - int64(time.Hour)
	seq := int64(0)
	for range 30 {
		rows := make([]row, 73)
		for i := range rows {
			rows[i] = mkRow(base+seq*10, seq)
			seq++
		}
		_, err := tb.Append(batchOf(rows...))
		require.NoError(t, err)
		a := scanRows(t, tb, ScanOptions{}) // warm and cold batches mixed
		s.Flush()
		b := scanRows(t, tb, ScanOptions{}) // all cold
		require.Equal(t, a, b)
		require.Len(t, b, int(seq))
		for i, r := range b {
			require.Equal(t, int64(i), r.Seq)
		}
	}
}

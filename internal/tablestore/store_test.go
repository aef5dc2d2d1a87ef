package tablestore

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sortedRows(rows []row) []row {
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b row) int {
		switch {
		case a.T < b.T:
			return -1
		case a.T > b.T:
			return 1
		}
		return 0
	})
	return out
}

func TestRoundTripAllTypes(t *testing.T) {
	for _, comp := range []Compression{CompressionZstd, CompressionLZ4, CompressionNone} {
		t.Run(string(comp), func(t *testing.T) {
			clk := newFakeClock()
			s, _, _ := newTestStore(t, Config{Compression: comp, Now: clk.Now, BatchRows: 1000}, testSchema)
			tb := s.Table("t")
			base := clk.NS() - int64(time.Minute)
			var want []row
			for i := range 2500 {
				want = append(want, mkRow(base+int64(i)*1000, int64(i)))
			}
			res, err := tb.Append(batchOf(want...))
			require.NoError(t, err)
			assert.Equal(t, 2500, res.Accepted)
			// Two full seals happened (with carry-over), the rest is hot.
			got := scanRows(t, tb, ScanOptions{})
			require.Equal(t, want, got)

			s.Flush()
			st := tb.Stats()
			assert.Equal(t, int64(2500), st.Rows)
			assert.Zero(t, st.HotRows)
			assert.Equal(t, st.Batches, st.ColdBatches)
			got = scanRows(t, tb, ScanOptions{})
			require.Equal(t, want, got)

			// Projection and order of columns.
			var n int
			err = tb.Scan(context.Background(), ScanOptions{Columns: []string{"d", "seq"}}, func(rec arrow.RecordBatch) error {
				require.Equal(t, "d", rec.Schema().Field(0).Name)
				require.Equal(t, DictType, rec.Column(0).DataType())
				for i := 0; i < int(rec.NumRows()); i++ {
					seq := rec.Column(1).(*array.Int64).Value(i)
					require.Equal(t, want[seq].D, StringValue(rec.Column(0), i))
					n++
				}
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, 2500, n)
		})
	}
}

func TestOutOfOrderRowsAreSorted(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, BatchRows: 500, LateTolerance: time.Hour}, testSchema)
	tb := s.Table("t")
	base := clk.NS() - int64(time.Minute)
	rng := rand.New(rand.NewPCG(1, 2))
	var in []row
	for i := range 2000 {
		in = append(in, mkRow(base+int64(rng.IntN(1_000_000)), int64(i)))
	}
	// Small appends, so the hot batch is sealed between them.
	for i := 0; i < len(in); i += 100 {
		_, err := tb.Append(batchOf(in[i : i+100]...))
		require.NoError(t, err)
	}
	st := tb.Stats()
	got := scanRows(t, tb, ScanOptions{})
	require.Len(t, got, int(st.Rows))
	assert.Equal(t, int64(len(in)), st.Rows+st.DroppedLate)
	for i := 1; i < len(got); i++ {
		require.LessOrEqual(t, got[i-1].T, got[i].T, "row %d", i)
	}
	s.Flush()
	got2 := scanRows(t, tb, ScanOptions{})
	require.Equal(t, got, got2)
	// Everything that was kept is exactly the input minus the dropped rows.
	seen := map[int64]bool{}
	for _, r := range got {
		require.False(t, seen[r.Seq])
		seen[r.Seq] = true
		require.Equal(t, in[r.Seq], r)
	}
}

func TestLateRowsDroppedAndCounted(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, LateTolerance: -1}, testSchema)
	tb := s.Table("t")
	now := clk.NS()
	_, err := tb.Append(batchOf(mkRow(now-100, 0), mkRow(now-50, 1)))
	require.NoError(t, err)
	s.Flush() // watermark = now-50
	res, err := tb.Append(batchOf(mkRow(now-60, 2), mkRow(now-50, 3), mkRow(now-10, 4)))
	require.NoError(t, err)
	assert.Equal(t, AppendResult{Accepted: 2, Late: 1}, res)
	got := scanRows(t, tb, ScanOptions{})
	require.Equal(t, []int64{0, 1, 3, 4}, seqs(got))
	assert.Equal(t, int64(1), tb.Stats().DroppedLate)
}

func TestLateToleranceCarriesRows(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, BatchRows: 100, LateTolerance: time.Second}, testSchema)
	tb := s.Table("t")
	now := clk.NS()
	var in []row
	for i := range 100 { // fills and seals the batch; the newest second is carried
		in = append(in, mkRow(now-int64(10*time.Second)+int64(i)*int64(100*time.Millisecond), int64(i)))
	}
	_, err := tb.Append(batchOf(in...))
	require.NoError(t, err)
	st := tb.Stats()
	require.Equal(t, 1, st.Batches)
	require.Positive(t, st.HotRows)
	// A row 500ms older than the newest one is still placed correctly.
	late := mkRow(in[99].T-int64(500*time.Millisecond), 100)
	res, err := tb.Append(batchOf(late))
	require.NoError(t, err)
	require.Equal(t, 1, res.Accepted)
	got := scanRows(t, tb, ScanOptions{})
	require.Len(t, got, 101)
	require.True(t, slices.IsSortedFunc(got, func(a, b row) int { return int(a.T - b.T) }))
	// A row older than what was sealed is dropped.
	res, err = tb.Append(batchOf(mkRow(in[0].T, 101)))
	require.NoError(t, err)
	require.Equal(t, 1, res.Late)
}

func TestFutureRowsDropped(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, MaxFuture: time.Minute}, testSchema)
	tb := s.Table("t")
	now := clk.NS()
	res, err := tb.Append(batchOf(mkRow(now, 0), mkRow(now+int64(2*time.Minute), 1)))
	require.NoError(t, err)
	assert.Equal(t, AppendResult{Accepted: 1, Future: 1}, res)
	assert.Equal(t, int64(1), tb.Stats().DroppedFuture)
}

func seqs(rows []row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.Seq
	}
	return out
}

func TestRetentionByTime(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, Retention: time.Hour, MaxHotAge: time.Minute}, testSchema)
	tb := s.Table("t")
	// One batch per 10 minutes, over 2 hours.
	seq := int64(0)
	for i := range 12 {
		_, err := tb.Append(batchOf(mkRow(clk.NS(), seq), mkRow(clk.NS()+1, seq+1)))
		require.NoError(t, err)
		seq += 2
		clk.Advance(10 * time.Minute)
		s.Maintain() // seals the hot batch (older than MaxHotAge) and applies retention
		s.Flush()
		st := tb.Stats()
		require.GreaterOrEqual(t, st.MinTime, clk.NS()-int64(time.Hour)-int64(10*time.Minute), "iteration %d", i)
	}
	st := tb.Stats()
	// Rows of the last hour remain: 6 batches of 2 rows.
	assert.Equal(t, int64(12), st.Rows)
	assert.Equal(t, int64(6), st.BatchesEvictedByTime)
	assert.Zero(t, st.BatchesEvictedByBytes)
	assert.Equal(t, int64(12), st.RowsEvicted)
	got := scanRows(t, tb, ScanOptions{})
	assert.Equal(t, []int64{12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}, seqs(got))

	// Hot rows past retention are sealed and evicted too.
	_, err := tb.Append(batchOf(mkRow(clk.NS(), 100)))
	require.NoError(t, err)
	clk.Advance(2 * time.Hour)
	s.Maintain()
	assert.Zero(t, tb.Stats().Rows)
}

func TestRetentionByBytesEvictsOldestFirst(t *testing.T) {
	for _, inline := range []bool{true, false} {
		t.Run(map[bool]string{true: "inline", false: "worker"}[inline], func(t *testing.T) {
			testRetentionByBytes(t, inline)
		})
	}
}

func testRetentionByBytes(t *testing.T, inline bool) {
	clk := newFakeClock()
	cfg := Config{Now: clk.Now, MaxBytes: 1 << 20, BatchBytes: 64 << 10, BatchRows: 1000, CompactInline: inline}
	s, _, peak := newTestStore(t, cfg, testSchema)
	tb := s.Table("t")
	rng := rand.New(rand.NewPCG(3, 4))
	seq := int64(0)
	for range 200 {
		rows := make([]row, 300)
		for i := range rows {
			rows[i] = mkRow(clk.NS(), seq)
			rows[i].S = randString(rng, 40) // incompressible-ish strings
			seq++
			clk.Advance(time.Millisecond)
		}
		_, err := tb.Append(batchOf(rows...))
		require.NoError(t, err)
		st := tb.Stats()
		require.LessOrEqual(t, st.Bytes, cfg.MaxBytes, "accounted bytes over budget")
		// The real allocations never exceed the budget by more than one
		// batch: hot growth, carried rows and compacted blobs are reserved
		// (older batches evicted) before they are allocated.
		require.LessOrEqual(t, peak.peak.Load(), cfg.MaxBytes+cfg.BatchBytes, "allocations over budget + 1 batch")
	}
	s.Flush()
	require.LessOrEqual(t, peak.peak.Load(), cfg.MaxBytes+cfg.BatchBytes)
	t.Logf("peak allocations %d for a budget of %d (batch %d)", peak.peak.Load(), cfg.MaxBytes, cfg.BatchBytes)
	st := tb.Stats()
	require.Positive(t, st.BatchesEvictedByBytes)
	require.Zero(t, st.BatchesEvictedByTime)
	// What remains is the newest rows, contiguous: the oldest were evicted first.
	got := scanRows(t, tb, ScanOptions{})
	require.Equal(t, int64(len(got)), st.Rows)
	first := got[0].Seq
	for i, r := range got {
		require.Equal(t, first+int64(i), r.Seq)
	}
	require.Equal(t, seq-1, got[len(got)-1].Seq)
	require.Equal(t, first, st.RowsEvicted)
	t.Logf("%d rows kept, %d evicted", st.Rows, st.RowsEvicted)
}

func randString(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return string(b)
}

func TestSharesAndBudgets(t *testing.T) {
	names := []string{"http_events", "spans", "metrics", "logs"}
	b, err := Config{MaxBytes: 1000 << 20, Shares: map[string]float64{"http_events": 40}}.Budgets(names)
	require.NoError(t, err)
	assert.Equal(t, int64(400<<20), b["http_events"])
	assert.Equal(t, int64(200<<20), b["spans"])
	assert.Equal(t, int64(200<<20), b["logs"])

	_, err = Config{Shares: map[string]float64{"http_events": 60, "spans": 50}}.Budgets(names)
	require.ErrorContains(t, err, "more than 100%")
	_, err = Config{Shares: map[string]float64{"nope": 10}}.Budgets(names)
	require.ErrorContains(t, err, "unknown table")
	_, err = Config{Shares: map[string]float64{"spans": -1}}.Budgets(names)
	require.ErrorContains(t, err, "must be in (0, 100]")
	// Small budgets take smaller batches (a quarter of the table's budget,
	// down to 256 KiB): 10 MiB over 3 tables works with 8 MiB batches, 1
	// MiB does not.
	_, err = Config{MaxBytes: 10 << 20, BatchBytes: 8 << 20}.Budgets(names)
	require.NoError(t, err)
	_, err = Config{MaxBytes: 1 << 20, BatchBytes: 8 << 20}.Budgets(names)
	require.ErrorContains(t, err, "too small to hold")
	_, err = Config{Compression: "brotli"}.Budgets(names)
	require.ErrorContains(t, err, "compression")
	_, err = New(Config{MaxBytes: 1 << 20}, DefaultSchemas()...)
	require.ErrorContains(t, err, "too small")

	// Per-table shares are enforced per table.
	clk := newFakeClock()
	other := MustSchema("u", testSchema.Columns())
	s, _, _ := newTestStore(t, Config{Now: clk.Now, MaxBytes: 2 << 20, BatchBytes: 64 << 10, BatchRows: 500,
		Shares: map[string]float64{"t": 75, "u": 25}, CompactInline: true}, testSchema, other)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, name := range []string{"t", "u"} {
		tb := s.Table(name)
		for i := range 100 {
			rows := make([]row, 200)
			for j := range rows {
				rows[j] = mkRow(clk.NS(), int64(i*200+j))
				rows[j].S = randString(rng, 60)
				clk.Advance(time.Microsecond)
			}
			_, err := tb.Append(batchFor(tb.Schema(), rows...))
			require.NoError(t, err)
		}
	}
	st := map[string]TableStats{}
	for _, x := range s.Stats() {
		st[x.Name] = x
	}
	assert.Equal(t, int64(3<<19), st["t"].Budget)
	assert.Equal(t, int64(1<<19), st["u"].Budget)
	assert.LessOrEqual(t, st["t"].Bytes, st["t"].Budget)
	assert.LessOrEqual(t, st["u"].Bytes, st["u"].Budget)
	assert.Equal(t, int64(20000), st["t"].Rows) // 75% holds everything
	assert.Zero(t, st["t"].RowsEvicted)
	assert.Less(t, st["u"].Rows, int64(20000)) // 25% does not
	assert.Positive(t, st["u"].BatchesEvictedByBytes)
}

func TestTimeIndexTouchesOnlyNeededBatches(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, BatchRows: 100, LateTolerance: -1}, testSchema)
	tb := s.Table("t")
	start := clk.NS() - int64(time.Hour)
	// 60 minutes, one row per 6 seconds: 600 rows, 6 batches of 10 minutes.
	for i := range 600 {
		_, err := tb.Append(batchOf(mkRow(start+int64(i)*int64(6*time.Second), int64(i))))
		require.NoError(t, err)
	}
	s.Flush()
	require.Equal(t, 6, tb.Stats().Batches)
	end := start + 600*int64(6*time.Second)
	snap, err := tb.Snapshot(ScanOptions{Start: end - int64(5*time.Minute), Columns: []string{"seq"}})
	require.NoError(t, err)
	defer snap.Release()
	assert.Equal(t, 1, snap.NumBatches())
	var got []int64
	require.NoError(t, snap.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		got = append(got, rec.Column(0).(*array.Int64).Int64Values()...)
		return nil
	}))
	assert.Len(t, got, 50)
	assert.Equal(t, int64(550), got[0])
	// A range spanning a batch boundary touches two batches and trims both.
	rows := scanRows(t, tb, ScanOptions{Start: start + int64(9*time.Minute), End: start + int64(11*time.Minute)})
	assert.Len(t, rows, 20)
	assert.Equal(t, int64(90), rows[0].Seq)
}

func TestBadInputGetsDefaultsAndCountedErrors(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now}, testSchema)
	tb := s.Table("t")
	b := tb.NewBatch(4)
	b.AppendTime(0, clk.NS())
	b.AppendString(1, "not an int") // wrong type: ignored, counted
	b.AppendInt(1, 7)
	b.AppendInt(1, 8)              // set twice: first kept, counted
	b.AppendID(6, []byte{1, 2, 3}) // wrong width: zero ID, counted
	b.EndRow()                     // f, b, s, d, sid missing: defaults, counted
	require.Equal(t, 1, b.Len())
	res, err := tb.Append(b)
	require.NoError(t, err)
	assert.Equal(t, int64(8), res.Errors)
	assert.Equal(t, int64(8), tb.Stats().Errors)
	got := scanRows(t, tb, ScanOptions{})
	require.Equal(t, []row{{T: clk.NS(), Seq: 7}}, got)

	// A batch of another table, or an unterminated row, is refused.
	_, err = tb.Append(NewBatch(HTTPEventsSchema, 1))
	require.Error(t, err)
	b = tb.NewBatch(1)
	b.AppendTime(0, 1)
	_, err = tb.Append(b)
	require.ErrorContains(t, err, "EndRow")
	_, err = tb.Snapshot(ScanOptions{Columns: []string{"nope"}})
	require.ErrorContains(t, err, "no column")
}

func TestSnapshotIsStable(t *testing.T) {
	clk := newFakeClock()
	cfg := Config{Now: clk.Now, MaxBytes: 256 << 10, BatchBytes: 64 << 10, BatchRows: 200}
	s, _, _ := newTestStore(t, cfg, testSchema)
	tb := s.Table("t")
	seq := int64(0)
	rng := rand.New(rand.NewPCG(7, 8))
	add := func(n int) {
		rows := make([]row, n)
		for i := range rows {
			rows[i] = mkRow(clk.NS(), seq)
			rows[i].S = randString(rng, 50)
			seq++
			clk.Advance(time.Millisecond)
		}
		_, err := tb.Append(batchOf(rows...))
		require.NoError(t, err)
	}
	add(500)
	snap, err := tb.Snapshot(ScanOptions{})
	require.NoError(t, err)
	defer snap.Release()
	collect := func() []row {
		var out []row
		require.NoError(t, snap.Scan(context.Background(), func(rec arrow.RecordBatch) error {
			out = append(out, rowsOf(rec)...)
			return nil
		}))
		return out
	}
	before := collect()
	require.Len(t, before, 500)
	// Append enough to compact and evict everything the snapshot holds.
	for range 50 {
		add(200)
	}
	s.Flush()
	require.Positive(t, tb.Stats().RowsEvicted)
	require.Equal(t, before, collect())
	snap.Release()
	snap.Release() // idempotent
}

func TestClosedStore(t *testing.T) {
	s, _, _ := newTestStore(t, Config{}, testSchema)
	tb := s.Table("t")
	_, err := tb.Append(batchOf(mkRow(time.Now().UnixNano(), 1)))
	require.NoError(t, err)
	snap, err := tb.Snapshot(ScanOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = tb.Append(batchOf(mkRow(time.Now().UnixNano(), 2)))
	require.True(t, errors.Is(err, ErrClosed))
	_, err = tb.Snapshot(ScanOptions{})
	require.True(t, errors.Is(err, ErrClosed))
	// A snapshot taken before Close still reads, then frees its memory.
	require.Len(t, func() []row {
		var out []row
		require.NoError(t, snap.Scan(context.Background(), func(rec arrow.RecordBatch) error {
			out = append(out, rowsOf(rec)...)
			return nil
		}))
		return out
	}(), 1)
	snap.Release()
}

func TestMemoryAccountingMatchesAllocator(t *testing.T) {
	clk := newFakeClock()
	cfg := Config{Now: clk.Now, MaxBytes: 4 << 20, BatchBytes: 128 << 10, BatchRows: 2000, CompactInline: true}
	s, mem, _ := newTestStore(t, cfg, testSchema)
	tb := s.Table("t")
	seq := int64(0)
	for range 100 {
		rows := make([]row, 500)
		for i := range rows {
			rows[i] = mkRow(clk.NS(), seq)
			seq++
			clk.Advance(time.Millisecond)
		}
		_, err := tb.Append(batchOf(rows...))
		require.NoError(t, err)
		st := tb.Stats()
		require.Equal(t, int64(mem.CurrentAlloc()), st.ArrowBytes)
		require.LessOrEqual(t, st.ArrowBytes, st.Bytes)
	}
	// Scans allocate their output from the same allocator and free it.
	_ = scanRows(t, tb, ScanOptions{})
	require.Equal(t, int64(mem.CurrentAlloc()), tb.Stats().ArrowBytes)
}

package tablestore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"
)

func TestBufferPool(t *testing.T) {
	p := NewBufferPool()
	for _, n := range []int{0, 1, 100, 4095, 4096, 4097, 70000, 1 << 20} {
		b := p.Allocate(n)
		require.Len(t, b, n)
		if n > 0 {
			require.Zero(t, uintptr(unsafe.Pointer(&b[0]))&63, "64-byte aligned")
		}
		for i := range b {
			b[i] = byte(i)
		}
		g := p.Reallocate(2*n+1, b)
		require.Len(t, g, 2*n+1)
		for i := range n {
			require.Equal(t, byte(i), g[i])
		}
		p.Free(g)
	}
}

// TestScanWithBufferPool: scans allocating from a pool (buffers reused
// from batch to batch, not zeroed) read the same rows as scans allocating
// from the store's allocator, and the store's allocator gets everything
// back.
func TestScanWithBufferPool(t *testing.T) {
	clk := newFakeClock()
	// Inline compaction: the batch the second Append seals is compacted
	// before Append returns, not in the background while the store's
	// memory is being compared below (that made this test flaky).
	s, mem, _ := newTestStore(t, Config{Now: clk.Now, BatchRows: 300, CompactInline: true}, testSchema)
	tb := s.Table("t")
	var rows []row
	for i := range 2000 {
		rows = append(rows, mkRow(clk.NS(), int64(i)))
		clk.Advance(1000)
	}
	_, err := tb.Append(batchOf(rows[:1500]...))
	require.NoError(t, err)
	s.Flush()
	_, err = tb.Append(batchOf(rows[1500:]...))
	require.NoError(t, err)
	want := scanRows(t, tb, ScanOptions{})
	before := mem.CurrentAlloc()
	p := NewBufferPool()
	for range 3 {
		var got []row
		err := tb.Scan(context.Background(), ScanOptions{Allocator: p}, func(rec arrow.RecordBatch) error {
			// The record's memory goes back to the pool when fn returns:
			// keep copies of its strings.
			for _, r := range rowsOf(rec) {
				r.S, r.D, r.TID, r.SID = strings.Clone(r.S), strings.Clone(r.D), strings.Clone(r.TID), strings.Clone(r.SID)
				got = append(got, r)
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	require.Equal(t, before, mem.CurrentAlloc(), "pooled scans allocate nothing from the store")
}

// TestScanFilter: a scan with a Filter yields exactly the rows the filter
// keeps, with every column right, from compressed, warm and hot batches,
// in and out of a time range.
func TestScanFilter(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, BatchRows: 300}, testSchema)
	tb := s.Table("t")
	var rows []row
	for i := range 2000 {
		rows = append(rows, mkRow(clk.NS(), int64(i)))
		clk.Advance(1000)
	}
	_, err := tb.Append(batchOf(rows[:1500]...))
	require.NoError(t, err)
	s.Flush()
	_, err = tb.Append(batchOf(rows[1500:]...))
	require.NoError(t, err)
	for _, opts := range []ScanOptions{{}, {Start: rows[100].T, End: rows[1700].T}} {
		all := scanRows(t, tb, opts)
		var want []row
		for _, r := range all {
			if r.Seq%7 == 3 || r.Seq%11 == 0 {
				want = append(want, r)
			}
		}
		opts.Filter = func(rec arrow.RecordBatch) ([]int32, error) {
			var keep []int32
			for i, v := range rec.Column(0).(*array.Int64).Int64Values() {
				if v%7 == 3 || v%11 == 0 {
					keep = append(keep, int32(i))
				}
			}
			return keep, nil
		}
		opts.FilterColumns = []string{"seq"}
		opts.Allocator = NewBufferPool()
		var got []row
		err := tb.Scan(context.Background(), opts, func(rec arrow.RecordBatch) error {
			for _, r := range rowsOf(rec) {
				r.S, r.D, r.TID, r.SID = strings.Clone(r.S), strings.Clone(r.D), strings.Clone(r.TID), strings.Clone(r.SID)
				got = append(got, r)
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, want, got)

		// Where over the same batches (delta-coded seq: decoded, then compared).
		opts.Filter, opts.FilterColumns = nil, nil
		opts.Where = &IntCompare{Column: "seq", Op: ">", Value: 1234}
		got = got[:0]
		require.NoError(t, tb.Scan(context.Background(), opts, func(rec arrow.RecordBatch) error {
			for _, r := range rowsOf(rec) {
				r.S, r.D, r.TID, r.SID = strings.Clone(r.S), strings.Clone(r.D), strings.Clone(r.TID), strings.Clone(r.SID)
				got = append(got, r)
			}
			return nil
		}))
		want = want[:0]
		for _, r := range all {
			if r.Seq > 1234 {
				want = append(want, r)
			}
		}
		require.Equal(t, want, got)
	}
	_, err = tb.Snapshot(ScanOptions{Columns: []string{"seq"}, FilterColumns: []string{"s"}, Filter: func(arrow.RecordBatch) ([]int32, error) { return nil, nil }})
	require.ErrorContains(t, err, "not scanned")
}

// TestScanFilterSelectiveDecode covers the encodings decoded row by row
// (byte planes, integer dictionaries, constants, dictionary strings) against
// a full decode.
func TestScanFilterSelectiveDecode(t *testing.T) {
	schema := MustSchema("n", []Column{
		{TimeColumn, TypeTime, ""}, {"planes", TypeInt64, ""}, {"small", TypeInt64, ""},
		{"konst", TypeInt64, ""}, {"d", TypeDict, ""}, {"big", TypeDict, ""}, {"mid", TypeDict, ""},
	})
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, BatchRows: 5000}, schema)
	tb := s.Table("n")
	b := tb.NewBatch(12000)
	x := uint64(1)
	for i := range 12000 {
		x = x*6364136223846793005 + 1442695040888963407
		b.AppendTime(0, clk.NS()+int64(i))
		b.AppendInt(1, int64(x>>20))
		b.AppendInt(2, int64(x>>60%13)*100)
		b.AppendInt(3, 7)
		b.AppendString(4, []string{"a", "bb", "ccc"}[x>>62%3])
		b.AppendString(5, fmt.Sprintf("v%d", x>>54))
		b.AppendString(6, fmt.Sprintf("m%d", x>>57)) // one index byte
		b.EndRow()
	}
	_, err := tb.Append(b)
	require.NoError(t, err)
	s.Flush()
	collect := func(opts ScanOptions) [][]any {
		var out [][]any
		require.NoError(t, tb.Scan(context.Background(), opts, func(rec arrow.RecordBatch) error {
			for i := range int(rec.NumRows()) {
				r := []any{}
				for c := range int(rec.NumCols()) {
					switch a := rec.Column(c).(type) {
					case *array.Int64:
						r = append(r, a.Value(i))
					case *array.Timestamp:
						r = append(r, int64(a.Value(i)))
					default:
						r = append(r, strings.Clone(StringValue(a, i)))
					}
				}
				out = append(out, r)
			}
			return nil
		}))
		return out
	}
	all := collect(ScanOptions{})
	var want [][]any
	for _, r := range all {
		if r[2].(int64) >= 1200 {
			want = append(want, r)
		}
	}
	got := collect(ScanOptions{Allocator: NewBufferPool(), FilterColumns: []string{"small"}, Filter: func(rec arrow.RecordBatch) ([]int32, error) {
		var keep []int32
		for i, v := range rec.Column(0).(*array.Int64).Int64Values() {
			if v >= 1200 {
				keep = append(keep, int32(i))
			}
		}
		return keep, nil
	}})
	require.NotEmpty(t, want)
	require.Equal(t, want, got)

	// The same rows through Where: on the dictionary of "small" (packed
	// indexes), and through the other encodings (constant, byte planes).
	got = collect(ScanOptions{Allocator: NewBufferPool(), Where: &IntCompare{Column: "small", Op: ">=", Value: 1200}})
	require.Equal(t, want, got)
	for _, w := range []IntCompare{{"konst", "==", 7}, {"konst", "<", 7}, {"planes", "<", 1 << 40}, {"small", "!=", 0}, {"small", "==", 300}} {
		var want [][]any
		col := map[string]int{"konst": 3, "planes": 1, "small": 2}[w.Column]
		for _, r := range all {
			if w.match(r[col].(int64)) {
				want = append(want, r)
			}
		}
		got := collect(ScanOptions{Allocator: NewBufferPool(), Where: &w})
		require.Equal(t, want, got, "%+v", w)
	}
	_, err = tb.Snapshot(ScanOptions{Where: &IntCompare{"d", "==", 1}})
	require.ErrorContains(t, err, "integer column")
}

// TestScanParallel: decoding in parallel yields the same records in the
// same order as Scan, stops at fn's error and leaks nothing.
func TestScanParallel(t *testing.T) {
	clk := newFakeClock()
	s, _, _ := newTestStore(t, Config{Now: clk.Now, BatchRows: 100}, testSchema)
	tb := s.Table("t")
	var rows []row
	for i := range 3000 {
		rows = append(rows, mkRow(clk.NS(), int64(i)))
		clk.Advance(1000)
	}
	_, err := tb.Append(batchOf(rows[:2500]...))
	require.NoError(t, err)
	s.Flush()
	_, err = tb.Append(batchOf(rows[2500:]...))
	require.NoError(t, err)
	for _, opts := range []ScanOptions{{}, {Where: &IntCompare{Column: "seq", Op: "<", Value: 2000}}} {
		snap, err := tb.Snapshot(opts)
		require.NoError(t, err)
		var want, got []row
		require.NoError(t, snap.Scan(context.Background(), func(rec arrow.RecordBatch) error {
			want = append(want, rowsOf(rec)...)
			return nil
		}))
		for _, workers := range []int{2, 3, 8} {
			got = got[:0]
			require.NoError(t, snap.ScanParallel(context.Background(), workers, func(rec arrow.RecordBatch) error {
				got = append(got, rowsOf(rec)...)
				return nil
			}))
			require.Equal(t, want, got)
			calls := 0
			err := snap.ScanParallel(context.Background(), workers, func(arrow.RecordBatch) error {
				calls++
				if calls == 3 {
					return context.Canceled
				}
				return nil
			})
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, 3, calls)
		}
		snap.Release()
	}
}

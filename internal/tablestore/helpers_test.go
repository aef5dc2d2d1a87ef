package tablestore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) NS() int64 { return c.Now().UnixNano() }

// peakAllocator tracks the current and peak bytes of an allocator.
type peakAllocator struct {
	memory.Allocator
	cur, peak atomic.Int64
}

func (p *peakAllocator) add(d int64) {
	v := p.cur.Add(d)
	for {
		pk := p.peak.Load()
		if v <= pk || p.peak.CompareAndSwap(pk, v) {
			return
		}
	}
}

func (p *peakAllocator) Allocate(n int) []byte {
	p.add(int64(n))
	return p.Allocator.Allocate(n)
}

func (p *peakAllocator) Reallocate(n int, b []byte) []byte {
	p.add(int64(n - len(b)))
	return p.Allocator.Reallocate(n, b)
}

func (p *peakAllocator) Free(b []byte) {
	p.add(-int64(len(b)))
	p.Allocator.Free(b)
}

// testSchema has one column of every type.
var testSchema = MustSchema("t", []Column{
	{TimeColumn, TypeTime, ""},
	{"seq", TypeInt64, ""},
	{"f", TypeFloat64, ""},
	{"b", TypeBool, ""},
	{"s", TypeString, ""},
	{"d", TypeDict, ""},
	{"tid", TypeTraceID, ""},
	{"sid", TypeSpanID, ""},
})

// row is one row of testSchema.
type row struct {
	T   int64
	Seq int64
	F   float64
	B   bool
	S   string
	D   string
	TID string
	SID string
}

func (r row) String() string { return fmt.Sprintf("%+v", struct{ row }{r}) }

func mkRow(t, seq int64) row {
	r := row{T: t, Seq: seq, F: float64(seq) / 3, B: seq%3 == 0, S: fmt.Sprintf("s-%d", seq%17), D: fmt.Sprintf("d%d", seq%5)}
	if seq%4 != 0 {
		r.TID = fmt.Sprintf("%032x", seq*7919)
		r.SID = fmt.Sprintf("%016x", seq*31)
	}
	return r
}

func hexBytes(s string, w int) []byte {
	b := make([]byte, w)
	if s == "" {
		return b
	}
	for i := 0; i < w; i++ {
		var v byte
		_, _ = fmt.Sscanf(s[2*i:2*i+2], "%02x", &v)
		b[i] = v
	}
	return b
}

func batchOf(rows ...row) *Batch { return batchFor(testSchema, rows...) }

func batchFor(schema *Schema, rows ...row) *Batch {
	b := NewBatch(schema, len(rows))
	for _, r := range rows {
		b.AppendTime(0, r.T)
		b.AppendInt(1, r.Seq)
		b.AppendFloat(2, r.F)
		b.AppendBool(3, r.B)
		b.AppendString(4, r.S)
		b.AppendString(5, r.D)
		b.AppendID(6, hexBytes(r.TID, 16))
		b.AppendID(7, hexBytes(r.SID, 8))
		b.EndRow()
	}
	return b
}

// rowsOf reads every row of a record of testSchema (any projection order
// of the full schema).
func rowsOf(rec arrow.RecordBatch) []row {
	out := make([]row, rec.NumRows())
	for ci, f := range rec.Schema().Fields() {
		col := rec.Column(ci)
		for i := range out {
			switch f.Name {
			case TimeColumn:
				out[i].T = int64(col.(*array.Timestamp).Value(i))
			case "seq":
				out[i].Seq = col.(*array.Int64).Value(i)
			case "f":
				out[i].F = col.(*array.Float64).Value(i)
			case "b":
				out[i].B = col.(*array.Boolean).Value(i)
			case "s":
				out[i].S = StringValue(col, i)
			case "d":
				out[i].D = StringValue(col, i)
			case "tid":
				out[i].TID = StringValue(col, i)
			case "sid":
				out[i].SID = StringValue(col, i)
			}
		}
	}
	return out
}

func scanRows(t testing.TB, tb *Table, opts ScanOptions) []row {
	t.Helper()
	var out []row
	err := tb.Scan(context.Background(), opts, func(rec arrow.RecordBatch) error {
		out = append(out, rowsOf(rec)...)
		return nil
	})
	require.NoError(t, err)
	return out
}

// newTestStore builds a store on a checked allocator and checks at cleanup
// that closing it frees every byte.
func newTestStore(t testing.TB, cfg Config, schemas ...*Schema) (*Store, *memory.CheckedAllocator, *peakAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	peak := &peakAllocator{Allocator: mem}
	cfg.Allocator = peak
	if cfg.MaintenanceInterval == 0 {
		cfg.MaintenanceInterval = -1
	}
	s, err := New(cfg, schemas...)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		mem.AssertSize(t, 0)
	})
	return s, mem, peak
}

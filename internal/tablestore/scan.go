package tablestore

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ScanOptions selects what a scan reads.
type ScanOptions struct {
	// Columns to read, in output order; empty means all columns.
	Columns []string
	// Start and End bound time_ (ns since epoch): Start <= time_ < End.
	// Start <= 0 means no lower bound, End <= 0 no upper bound.
	Start, End int64
}

// Snapshot is a consistent view of a table: the sealed batches that overlap
// the time range (referenced, so eviction and compaction cannot free them)
// and a private copy of the hot rows. Release it when done.
type Snapshot struct {
	table   *Table
	cols    []int
	schema  *arrow.Schema
	start   int64
	end     int64
	batches []*batch
	mem     memory.Allocator
	cd      *codec
	rows    int64
}

// Scan takes a snapshot, calls fn with each record batch in time order and
// releases the snapshot. Records are released when fn returns: call Retain
// to keep one. A non-nil error from fn stops the scan and is returned.
func (t *Table) Scan(ctx context.Context, opts ScanOptions, fn func(arrow.RecordBatch) error) error {
	snap, err := t.Snapshot(opts)
	if err != nil {
		return err
	}
	defer snap.Release()
	return snap.Scan(ctx, fn)
}

// Snapshot takes a consistent snapshot of the table for the given columns
// and time range.
func (t *Table) Snapshot(opts ScanOptions) (*Snapshot, error) {
	s := t.schema
	snap := &Snapshot{table: t, mem: t.store.mem, cd: t.store.codec, start: opts.Start, end: opts.End}
	if snap.start <= 0 {
		snap.start = math.MinInt64
	}
	if snap.end <= 0 {
		snap.end = math.MaxInt64
	}
	need := make([]bool, s.NumColumns())
	if len(opts.Columns) == 0 {
		for i := range s.columns {
			snap.cols = append(snap.cols, i)
			need[i] = true
		}
		snap.schema = s.arrow
	} else {
		fields := make([]arrow.Field, 0, len(opts.Columns))
		for _, name := range opts.Columns {
			i := s.Index(name)
			if i < 0 {
				return nil, fmt.Errorf("tablestore: table %q has no column %q", s.name, name)
			}
			snap.cols = append(snap.cols, i)
			need[i] = true
			fields = append(fields, s.arrow.Field(i))
		}
		md := s.arrow.Metadata()
		snap.schema = arrow.NewSchema(fields, &md)
	}
	overlaps := func(minT, maxT int64) bool { return maxT >= snap.start && minT < snap.end }

	var hot *hotBatch
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return nil, ErrClosed
	}
	for _, b := range t.batches {
		if overlaps(b.minT, b.maxT) {
			b.retain()
			snap.batches = append(snap.batches, b)
			snap.rows += int64(b.rows)
		}
	}
	if t.hot.n > 0 && overlaps(t.hot.minT, t.hot.maxT) {
		// time_ is needed to sort or trim the hot rows, or when projected.
		inside := t.hot.minT >= snap.start && t.hot.maxT < snap.end
		needTime := need[0]
		need[0] = need[0] || !t.hot.sorted || !inside
		hot = t.hot.detach(need)
		need[0] = needTime
	}
	t.mu.RUnlock()
	if hot != nil {
		hb := &batch{warm: hot, order: hot.sortedOrder(), rows: hot.n, minT: hot.minT, maxT: hot.maxT, mem: snap.mem}
		hb.refs.Store(1)
		snap.batches = append(snap.batches, hb)
		snap.rows += int64(hot.n)
	}
	return snap, nil
}

// Schema is the Arrow schema of the records the snapshot yields.
func (snap *Snapshot) Schema() *arrow.Schema { return snap.schema }

// NumBatches is the number of batches the snapshot references.
func (snap *Snapshot) NumBatches() int { return len(snap.batches) }

// MaxRows is an upper bound of the rows a scan yields (rows of the
// overlapping batches, before trimming to the time range).
func (snap *Snapshot) MaxRows() int64 { return snap.rows }

// Release drops the snapshot's references. It is idempotent.
func (snap *Snapshot) Release() {
	for _, b := range snap.batches {
		b.release()
	}
	snap.batches = nil
}

// Scan calls fn with each record batch of the snapshot, in time order. It
// can be called more than once and yields the same rows each time.
func (snap *Snapshot) Scan(ctx context.Context, fn func(arrow.RecordBatch) error) error {
	for _, b := range snap.batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := snap.materialize(b)
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		err = fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

func (snap *Snapshot) materialize(b *batch) (arrow.RecordBatch, error) {
	if b.warm != nil {
		return snap.materializeWarm(b)
	}
	return snap.materializeCold(b)
}

func (snap *Snapshot) fullyInside(b *batch) bool {
	return b.minT >= snap.start && b.maxT < snap.end
}

// bounds returns [lo, hi) of the positions (in time order) in range.
func (snap *Snapshot) bounds(n int, at func(int) int64) (int, int) {
	lo := sort.Search(n, func(i int) bool { return at(i) >= snap.start })
	hi := sort.Search(n, func(i int) bool { return at(i) >= snap.end })
	return lo, max(lo, hi)
}

func (snap *Snapshot) materializeCold(b *batch) (arrow.RecordBatch, error) {
	cb := b.cold
	schema := snap.table.schema
	lo, hi := 0, b.rows
	var timeArr arrow.Array
	if !snap.fullyInside(b) {
		arr, err := snap.cd.decodeColumn(snap.mem, TypeTime, cb.cols[0], cb.blob, b.rows)
		if err != nil {
			return nil, err
		}
		ts := arr.(*array.Timestamp).TimestampValues()
		lo, hi = snap.bounds(b.rows, func(i int) int64 { return int64(ts[i]) })
		timeArr = arr
		if lo == hi {
			arr.Release()
			return nil, nil
		}
	}
	cols := make([]arrow.Array, 0, len(snap.cols))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
		if timeArr != nil {
			timeArr.Release()
		}
	}
	for _, ci := range snap.cols {
		var arr arrow.Array
		if ci == 0 && timeArr != nil {
			arr = timeArr
			arr.Retain()
		} else {
			var err error
			arr, err = snap.cd.decodeColumn(snap.mem, schema.columns[ci].Type, cb.cols[ci], cb.blob, b.rows)
			if err != nil {
				release()
				return nil, fmt.Errorf("tablestore: table %q column %q: %w", schema.name, schema.columns[ci].Name, err)
			}
		}
		if lo != 0 || hi != b.rows {
			sl := array.NewSlice(arr, int64(lo), int64(hi))
			arr.Release()
			arr = sl
		}
		cols = append(cols, arr)
	}
	rec := array.NewRecordBatch(snap.schema, cols, int64(hi-lo))
	release()
	return rec, nil
}

func (snap *Snapshot) materializeWarm(b *batch) (arrow.RecordBatch, error) {
	h := b.warm
	order := b.order
	var ts []int64
	if !snap.fullyInside(b) || order != nil {
		ts = h.times() // a detached hot copy has time_ only when needed
	}
	at := func(i int) int64 {
		if order == nil {
			return ts[i]
		}
		return ts[order[i]]
	}
	lo, hi := 0, b.rows
	if !snap.fullyInside(b) {
		lo, hi = snap.bounds(b.rows, at)
		if lo == hi {
			return nil, nil
		}
	}
	row := func(i int) int {
		if order == nil {
			return i
		}
		return int(order[i])
	}
	n := hi - lo
	cols := make([]arrow.Array, 0, len(snap.cols))
	for _, ci := range snap.cols {
		cols = append(cols, gatherHot(snap.mem, &h.cols[ci], order, lo, hi, row))
	}
	rec := array.NewRecordBatch(snap.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// gatherHot copies positions [lo, hi) (in time order) of a hot column into
// a new Arrow array.
func gatherHot(mem memory.Allocator, c *hotCol, order []int32, lo, hi int, row func(int) int) arrow.Array {
	n := hi - lo
	switch c.typ {
	case TypeTime, TypeInt64, TypeFloat64:
		buf := newBuffer(mem, 8*n)
		dst := i64s(buf.Buf())
		src := i64s(c.vals.b)
		if order == nil {
			copy(dst[:n], src[lo:hi])
		} else {
			for i, r := range order[lo:hi] {
				dst[i] = src[r]
			}
		}
		return makeArray(c.typ.ArrowType(), n, nil, buf)
	case TypeBool:
		buf := newBuffer(mem, (n+7)/8)
		bm := buf.Bytes()
		clear(bm)
		for i := 0; i < n; i++ {
			if c.vals.b[row(lo+i)] != 0 {
				bm[i>>3] |= 1 << (i & 7)
			}
		}
		return makeArray(c.typ.ArrowType(), n, nil, buf)
	case TypeTraceID, TypeSpanID:
		w := c.typ.idWidth()
		offs := newBuffer(mem, 4*(n+1))
		data := newBuffer(mem, 2*w*n)
		o := i32s(offs.Buf())
		d := data.Bytes()
		pos := 0
		o[0] = 0
		for i := 0; i < n; i++ {
			r := row(lo + i)
			v := c.vals.b[r*w : r*w+w]
			if !allZero(v) {
				for _, x := range v {
					d[pos] = hexDigits[x>>4]
					d[pos+1] = hexDigits[x&15]
					pos += 2
				}
			}
			o[i+1] = int32(pos)
		}
		data.Resize(pos)
		return makeArray(arrow.BinaryTypes.String, n, nil, offs, data)
	case TypeString:
		total := 0
		for i := 0; i < n; i++ {
			total += len(c.strValue(row(lo + i)))
		}
		offs := newBuffer(mem, 4*(n+1))
		data := newBuffer(mem, total)
		o := i32s(offs.Buf())
		d := data.Bytes()
		pos := 0
		o[0] = 0
		for i := 0; i < n; i++ {
			pos += copy(d[pos:], c.strValue(row(lo+i)))
			o[i+1] = int32(pos)
		}
		return makeArray(arrow.BinaryTypes.String, n, nil, offs, data)
	case TypeDict:
		doffs := newBuffer(mem, 4*(c.ndict+1))
		copy(doffs.Bytes(), c.doffs.b[:4*(c.ndict+1)])
		ddata := newBuffer(mem, c.dataLen)
		copy(ddata.Bytes(), c.data.b[:c.dataLen])
		ib := newBuffer(mem, 4*n)
		dst := i32s(ib.Buf())
		src := i32s(c.vals.b)
		for i := 0; i < n; i++ {
			dst[i] = src[row(lo+i)]
		}
		return makeDictArray(n, ib, doffs, ddata, c.ndict)
	}
	panic(fmt.Sprintf("tablestore: unknown column type %v", c.typ))
}

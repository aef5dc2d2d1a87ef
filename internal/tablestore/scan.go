package tablestore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

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
	// Allocator allocates the scan's records and its copy of the hot rows
	// (default: the store's allocator, so they count as the store's
	// memory while the scan holds them). A BufferPool makes repeated scans
	// cheaper.
	Allocator memory.Allocator
	// Filter, when set, selects rows before the rest is decoded: it gets
	// a record of the FilterColumns (names among Columns, in that order)
	// of each batch and returns the positions, ascending, of the rows to
	// keep (the slice may be reused by the next call; positions out of
	// order are sorted first). The scan then
	// yields only those rows (batches where none pass are skipped), and
	// decodes the other columns of compressed batches only for them where
	// the encoding allows (integers as byte planes, dictionary strings).
	Filter        func(arrow.RecordBatch) ([]int32, error)
	FilterColumns []string
	// Where, when set (and Filter is not), keeps the rows where an
	// integer column (among Columns) compares true with a constant, as
	// Filter would, evaluated on compressed data where it can.
	Where *IntCompare
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

	filter       func(arrow.RecordBatch) ([]int32, error)
	filterPos    []int // positions in cols of the filter's columns
	filterSchema *arrow.Schema
	where        *IntCompare
	wherePos     int     // position in cols of the Where column
	keepBuf      []int32 // Where's kept rows (Scan: one batch at a time)
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
	if opts.Allocator != nil {
		snap.mem = opts.Allocator
	}
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
	if opts.Where != nil {
		if opts.Filter != nil {
			return nil, fmt.Errorf("tablestore: a scan takes a Filter or a Where, not both")
		}
		w := opts.Where
		snap.wherePos = -1
		for p, ci := range snap.cols {
			if s.columns[ci].Name == w.Column && (s.columns[ci].Type == TypeInt64 || s.columns[ci].Type == TypeTime) {
				snap.wherePos = p
			}
		}
		if snap.wherePos < 0 || !w.valid() {
			return nil, fmt.Errorf("tablestore: Where %s %s %d: needs a scanned integer column and a comparison", w.Column, w.Op, w.Value)
		}
		snap.where = w
	}
	if opts.Filter != nil {
		snap.filter = opts.Filter
		var fields []arrow.Field
		for _, name := range opts.FilterColumns {
			pos := -1
			for p, ci := range snap.cols {
				if s.columns[ci].Name == name {
					pos = p
				}
			}
			if pos < 0 {
				return nil, fmt.Errorf("tablestore: filter column %q is not scanned", name)
			}
			snap.filterPos = append(snap.filterPos, pos)
			fields = append(fields, snap.schema.Field(pos))
		}
		snap.filterSchema = arrow.NewSchema(fields, nil)
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
		hot = t.hot.detach(need, snap.mem)
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
// can be called more than once (by one goroutine at a time) and yields the
// same rows each time.
func (snap *Snapshot) Scan(ctx context.Context, fn func(arrow.RecordBatch) error) error {
	for _, b := range snap.batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := snap.materialize(b, &snap.keepBuf)
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

// materialize decodes one batch into a record (nil: no row in range or
// passing the filter); keepBuf is scratch for Where.
// ScanParallel is Scan with the batches decoded by up to workers
// goroutines, at most 2×workers batches ahead of fn; fn is still called
// from one goroutine, in time order, with the same records as Scan, so
// only the decoding runs in parallel. The scan's Filter, if any, is then
// called concurrently. workers <= 1 is Scan.
func (snap *Snapshot) ScanParallel(ctx context.Context, workers int, fn func(arrow.RecordBatch) error) error {
	n := len(snap.batches)
	if workers <= 1 || n <= 1 {
		return snap.Scan(ctx, fn)
	}
	type result struct {
		rec arrow.RecordBatch
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	slots := make([]chan result, n)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	ahead := make(chan struct{}, 2*workers) // decoded, not yet consumed
	next := make(chan int)
	var wg sync.WaitGroup
	wg.Add(1 + workers)
	go func() {
		defer wg.Done()
		defer close(next)
		for i := range n {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		go func() {
			defer wg.Done()
			var keepBuf []int32
			for i := range next {
				var r result
				if r.err = ctx.Err(); r.err == nil {
					r.rec, r.err = snap.materialize(snap.batches[i], &keepBuf)
				}
				slots[i] <- r
			}
		}()
	}
	var err error
	for i := 0; i < n && err == nil; i++ {
		select {
		case r := <-slots[i]:
			<-ahead
			if err = r.err; err != nil || r.rec == nil {
				break
			}
			err = fn(r.rec)
			r.rec.Release()
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	cancel()
	wg.Wait()
	for _, sl := range slots { // records decoded but not consumed
		select {
		case r := <-sl:
			if r.rec != nil {
				r.rec.Release()
			}
		default:
		}
	}
	return err
}

func (snap *Snapshot) materialize(b *batch, keepBuf *[]int32) (arrow.RecordBatch, error) {
	if (snap.filter != nil || snap.where != nil) && b.cold != nil && snap.fullyInside(b) {
		return snap.materializeColdFiltered(b, keepBuf)
	}
	var rec arrow.RecordBatch
	var err error
	if b.warm != nil {
		rec, err = snap.materializeWarm(b)
	} else {
		rec, err = snap.materializeCold(b)
	}
	if err != nil || rec == nil || (snap.filter == nil && snap.where == nil) {
		return rec, err
	}
	defer rec.Release()
	cols := rec.Columns()
	var keep []int32
	if snap.where != nil {
		keep, err = snap.where.keepArray(cols[snap.wherePos], keepBuf)
	} else {
		keep, err = snap.runFilter(cols, int(rec.NumRows()))
	}
	if err != nil || len(keep) == 0 {
		return nil, err
	}
	if len(keep) == int(rec.NumRows()) {
		rec.Retain()
		return rec, nil
	}
	out := make([]arrow.Array, len(cols))
	for i, c := range cols {
		out[i] = takeArray(snap.mem, c, keep)
	}
	return newRecord(snap.schema, out, len(keep)), nil
}

// runFilter calls the filter with the filter columns among cols (in
// snap.cols order).
func (snap *Snapshot) runFilter(cols []arrow.Array, n int) ([]int32, error) {
	fcols := make([]arrow.Array, len(snap.filterPos))
	for i, p := range snap.filterPos {
		fcols[i] = cols[p]
	}
	frec := array.NewRecordBatch(snap.filterSchema, fcols, int64(n))
	defer frec.Release()
	keep, err := snap.filter(frec)
	if err != nil {
		return nil, err
	}
	for i, r := range keep {
		if r < 0 || int(r) >= n {
			return nil, fmt.Errorf("tablestore: scan filter returned row %d of %d", r, n)
		}
		if i > 0 && r < keep[i-1] {
			slices.Sort(keep)
			break
		}
	}
	return keep, nil
}

// newRecord makes a record of cols and drops the caller's references.
func newRecord(schema *arrow.Schema, cols []arrow.Array, n int) arrow.RecordBatch {
	rec := array.NewRecordBatch(schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// materializeColdFiltered decodes the filter's columns of a compressed
// batch, then the other columns only for the rows that pass.
func (snap *Snapshot) materializeColdFiltered(b *batch, keepBuf *[]int32) (arrow.RecordBatch, error) {
	cb := b.cold
	schema := snap.table.schema
	cols := make([]arrow.Array, len(snap.cols))
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	decode := func(p int, rows []int32) error {
		ci := snap.cols[p]
		arr, err := snap.cd.decodeColumnRows(snap.mem, schema.columns[ci].Type, cb.cols[ci], cb.blob, b.rows, rows)
		if err != nil {
			return fmt.Errorf("tablestore: table %q column %q: %w", schema.name, schema.columns[ci].Name, err)
		}
		cols[p] = arr
		return nil
	}
	var keep []int32
	var err error
	kept := -1 // the column already holding only the kept rows
	if w := snap.where; w != nil {
		ci := snap.cols[snap.wherePos]
		var arr arrow.Array
		keep, arr, err = w.keepCold(snap.cd, snap, schema.columns[ci].Type, cb.cols[ci], cb.blob, b.rows, keepBuf)
		if err != nil {
			err = fmt.Errorf("tablestore: table %q column %q: %w", schema.name, schema.columns[ci].Name, err)
		}
		cols[snap.wherePos], kept = arr, snap.wherePos
	} else {
		for _, p := range snap.filterPos {
			if cols[p] == nil {
				if err := decode(p, nil); err != nil {
					release()
					return nil, err
				}
			}
		}
		keep, err = snap.runFilter(cols, b.rows)
	}
	if err != nil || len(keep) == 0 {
		release()
		return nil, err
	}
	all := len(keep) == b.rows
	for p := range cols {
		if cols[p] != nil {
			if !all && p != kept {
				t := takeArray(snap.mem, cols[p], keep)
				cols[p].Release()
				cols[p] = t
			}
			continue
		}
		rows := keep
		if all {
			rows = nil
		}
		if err := decode(p, rows); err != nil {
			release()
			return nil, err
		}
	}
	return newRecord(snap.schema, cols, len(keep)), nil
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

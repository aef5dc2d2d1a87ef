package tablestore

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
)

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("tablestore: store is closed")

// batch is a sealed batch: warm (the sealed hot buffers, waiting for
// compaction) or cold (compressed). A batch is immutable; compaction replaces
// the warm batch in the table's list by a new cold one. References: the
// table's list holds one, a queued compaction one, each snapshot one.
type batch struct {
	refs    atomic.Int32
	evicted atomic.Bool
	rows    int
	minT    int64
	maxT    int64
	bytes   int64 // accounted bytes (allocator + Go-side estimate)
	alloc   int64 // allocator bytes

	warm  *hotBatch
	order []int32 // warm: row order by time (nil: identity)
	cold  *coldBatch
	mem   allocFreer
	table *Table // warm batches of a table: recycle the buffers
}

type allocFreer interface{ Free([]byte) }

func (b *batch) retain() { b.refs.Add(1) }

func (b *batch) release() {
	switch n := b.refs.Add(-1); {
	case n == 0:
		if b.warm != nil {
			if b.table != nil {
				b.table.recycle(b.warm)
			} else {
				b.warm.free()
			}
			b.warm = nil
		}
		if b.cold != nil {
			b.mem.Free(b.cold.blob)
			b.cold.blob = nil
		}
	case n < 0:
		panic("tablestore: batch released too many times")
	}
}

// dropNow releases evicted[from:] at once, under the table lock, and
// returns evicted[:from]: the memory of batches evicted to make room for a
// growth must be gone before that growth is allocated, or both would exist
// for a moment (over budget by the evicted size). Batches still held by a
// scan or a compaction job are freed when those let go. No recycling into
// the spare hot batch (that takes the table lock).
func dropNow(evicted []*batch, from int) []*batch {
	for _, e := range evicted[from:] {
		e.releaseNoRecycle()
	}
	return evicted[:from]
}

// releaseNoRecycle is release without handing the hot buffers to recycle.
func (b *batch) releaseNoRecycle() {
	if b.refs.Add(-1) == 0 {
		if b.warm != nil {
			b.warm.free()
			b.warm = nil
		}
		if b.cold != nil {
			b.mem.Free(b.cold.blob)
			b.cold.blob = nil
		}
		return
	}
}

// AppendResult tells what happened to the rows of one Append.
type AppendResult struct {
	Accepted int   // rows stored
	Late     int   // rows dropped: older than the table's watermark
	Future   int   // rows dropped: too far ahead of the clock
	Errors   int64 // bad values in the batch (already replaced by defaults)
}

// Table is one table of a Store. All methods are safe for concurrent use.
type Table struct {
	store     *Store
	schema    *Schema
	budget    int64
	tolerance int64 // ns
	// batchBytes is this table's hot batch size (batchBytesFor).
	batchBytes int64

	mu          sync.RWMutex
	hot         *hotBatch
	batches     []*batch // sealed, oldest first, non-overlapping in time
	sealedBytes int64
	sealedRows  int64
	watermark   int64
	closed      bool

	// spare is a freed hot batch kept for reuse (its buffers already have
	// the right size); its bytes count against the table's budget.
	spareMu     sync.Mutex
	spare       *hotBatch
	spareBytes  atomic.Int64
	spareClosed bool
	spareOff    atomic.Bool // set before close releases batches

	appended, evictedRows, evictedBatchesTime, evictedBatchesBytes atomic.Int64
	droppedLate, droppedFuture, errs, compactions                  atomic.Int64
}

func newTable(s *Store, schema *Schema, budget int64) *Table {
	t := &Table{store: s, schema: schema, budget: budget, watermark: math.MinInt64, tolerance: int64(s.cfg.LateTolerance),
		batchBytes: batchBytesFor(s.cfg.BatchBytes, budget)}
	if d, ok := s.cfg.TableLateTolerance[schema.name]; ok {
		t.tolerance = int64(d)
	}
	t.hot = t.newHot()
	return t
}

// recycle keeps a freed hot batch as the spare when the table has room for
// it, or frees it.
func (t *Table) recycle(h *hotBatch) {
	if t.spareOff.Load() {
		h.free()
		return
	}
	t.mu.RLock()
	room := !t.closed && t.bytesLocked()+h.allocBytes() <= t.budget
	t.mu.RUnlock()
	if !room {
		h.free()
		return
	}
	t.spareMu.Lock()
	if t.spare == nil && !t.spareClosed {
		t.spare = h
		t.spareBytes.Store(h.allocBytes())
		t.spareMu.Unlock()
		return
	}
	t.spareMu.Unlock()
	h.free()
}

func (t *Table) newHot() *hotBatch {
	t.spareMu.Lock()
	h := t.spare
	t.spare = nil
	t.spareBytes.Store(0)
	t.spareMu.Unlock()
	if h != nil {
		h.reset()
		return h
	}
	step := int(t.batchBytes / 8)
	if step < 64<<10 {
		step = 64 << 10
	}
	return newHotBatch(t.schema, t.store.mem, step)
}

// Name is the table's name.
func (t *Table) Name() string { return t.schema.name }

// Schema is the table's schema.
func (t *Table) Schema() *Schema { return t.schema }

// ArrowSchema is the Arrow schema of a full-width scan.
func (t *Table) ArrowSchema() *arrow.Schema { return t.schema.arrow }

// Budget is the table's share of the store's byte budget.
func (t *Table) Budget() int64 { return t.budget }

// NewBatch returns an empty Batch for this table.
func (t *Table) NewBatch(capHint int) *Batch { return NewBatch(t.schema, capHint) }

// AddErrors counts bad input found by a producer before rows reached Append
// (for example a span that could not be mapped at all).
func (t *Table) AddErrors(n int64) { t.errs.Add(n) }

// Append stores the rows of b. Rows older than the table's watermark, or
// more than Config.MaxFuture ahead of the clock, are dropped and counted.
// The batch's error count is added to the table's errors. Append may reorder
// and filter b; Reset it before reuse.
func (t *Table) Append(b *Batch) (AppendResult, error) {
	var res AppendResult
	if b.schema != t.schema {
		return res, fmt.Errorf("tablestore: batch for table %q appended to %q", b.schema.name, t.schema.name)
	}
	if err := b.check(); err != nil {
		return res, err
	}
	res.Errors = b.errs
	if b.errs > 0 {
		t.errs.Add(b.errs)
	}
	if b.n == 0 {
		return res, nil
	}
	cfg := &t.store.cfg
	now := t.store.now()

	var sealed, evicted []*batch
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return res, ErrClosed
	}
	late, future := t.filterLocked(b, 0, now)
	res.Late += late
	res.Future += future
	perRow := estimateRowBytes(b)
	for pos := 0; pos < b.n; {
		if t.hot.n == 0 {
			t.hot.born = now
		}
		k := b.n - pos
		if room := cfg.BatchRows - t.hot.n; k > room {
			k = room
		}
		if room := (t.batchBytes - t.hot.used()) / perRow; int64(k) > room {
			k = int(max(room, 1))
		}
		// Evict before allocating: the hot batch's growth is reserved
		// against the budget first.
		n0 := len(evicted)
		evicted = t.enforceLocked(now, evicted, t.hot.appendGrowth(b, pos, pos+k))
		evicted = dropNow(evicted, n0)
		if bad := t.hot.appendBatch(b, pos, pos+k); bad > 0 {
			res.Errors += bad
			t.errs.Add(bad)
		}
		pos += k
		res.Accepted += k
		if t.hot.n >= cfg.BatchRows || t.hot.used() >= t.batchBytes {
			var w *batch
			if w, evicted = t.sealLocked(now, sealFull, evicted); w != nil {
				sealed = append(sealed, w)
				if pos < b.n { // the watermark moved: later rows may now be late
					late, future := t.filterLocked(b, pos, now)
					res.Late += late
					res.Future += future
				}
			}
		}
		evicted = t.enforceLocked(now, evicted, 0)
	}
	t.mu.Unlock()
	t.appended.Add(int64(res.Accepted))
	for _, e := range evicted {
		e.release()
	}
	for _, w := range sealed {
		t.store.enqueue(t, w)
	}
	return res, nil
}

// estimateRowBytes is the hot size of one row of b, from a sample of rows
// (the largest string rows count twice, to stay on the safe side).
func estimateRowBytes(b *Batch) int64 {
	var fixed, str, maxRow int64
	sample := min(b.n, 64)
	var rowsArr [64]int64
	rows := rowsArr[:sample]
	for i, typ := range b.types {
		switch typ {
		case TypeString:
			fixed += 4
			for r, s := range b.cols[i].s[:sample] {
				str += int64(len(s))
				rows[r] += int64(len(s))
			}
		default:
			fixed += int64(typ.fixedWidth())
		}
	}
	for _, r := range rows {
		maxRow = max(maxRow, r)
	}
	if sample > 0 {
		fixed += (str + maxRow) / int64(sample)
	}
	return max(fixed, 1)
}

// filterLocked drops rows [from, n) of b that are late or too far in the future.
func (t *Table) filterLocked(b *Batch, from int, now int64) (late, future int) {
	ts := b.cols[0].i64[:b.n]
	limit := now + int64(t.store.cfg.MaxFuture)
	if limit < now {
		limit = math.MaxInt64
	}
	wm := t.watermark
	bad := false
	for _, x := range ts[from:] {
		if x < wm || x > limit {
			bad = true
			break
		}
	}
	if !bad {
		return 0, 0
	}
	keep := make([]bool, b.n)
	for i := range keep {
		if i < from {
			keep[i] = true
			continue
		}
		switch x := ts[i]; {
		case x < wm:
			late++
		case x > limit:
			future++
		default:
			keep[i] = true
		}
	}
	b.keep(keep)
	t.droppedLate.Add(int64(late))
	t.droppedFuture.Add(int64(future))
	return late, future
}

type sealReason int

const (
	sealFull sealReason = iota // hot batch full: carry at most a quarter
	sealAge                    // hot batch old: carry rows within tolerance
	sealAll                    // flush/close: carry nothing
)

// sealLocked moves the hot batch's rows up to a cut time into a new sealed
// batch appended to the list and starts a new hot batch with the rest. It
// returns the sealed batch with an extra reference for its compaction, or
// nil when nothing was sealed, and evicted with the batches it evicted to
// make room for the carried rows.
func (t *Table) sealLocked(now int64, reason sealReason, evicted []*batch) (*batch, []*batch) {
	h := t.hot
	if h.n == 0 {
		return nil, evicted
	}
	order := h.sortedOrder()
	ts := h.times()
	at := func(i int) int64 {
		if order == nil {
			return ts[i]
		}
		return ts[order[i]]
	}
	cut := h.n
	if reason != sealAll {
		tcut := min(h.maxT, now) - t.tolerance
		cut = sort.Search(h.n, func(i int) bool { return at(i) > tcut })
		if reason == sealFull && h.n-cut > h.n/4 {
			cut = h.n - h.n/4
			last := at(cut - 1)
			for cut < h.n && at(cut) == last {
				cut++
			}
		}
	}
	if cut == 0 {
		h.born = now // nothing old enough; look again after MaxHotAge
		return nil, evicted
	}
	w := &batch{warm: h, rows: cut, minT: at(0), maxT: at(cut - 1), mem: t.store.mem, table: t}
	if order != nil {
		w.order = order[:cut]
	}
	w.bytes = h.bytes() + 4*int64(len(w.order))
	w.alloc = h.allocBytes()
	w.refs.Store(2) // list + compaction job

	nh := t.newHot()
	t.hot = nh
	t.watermark = max(t.watermark, w.maxT)
	t.batches = append(t.batches, w)
	t.sealedBytes += w.bytes
	t.sealedRows += int64(w.rows)
	if cut < h.n {
		// h is immutable now (w holds it): carry its newest rows over,
		// after making room for them.
		n0 := len(evicted)
		evicted = t.enforceLocked(now, evicted, nh.carryGrowth(h, order, cut, h.n))
		evicted = dropNow(evicted, n0)
		nh.appendRowsFrom(h, order, cut, h.n)
		nh.born = now
	}
	return w, evicted
}

// bytesLocked is the table's accounted size.
func (t *Table) bytesLocked() int64 {
	return t.sealedBytes + t.hot.bytes() + t.spareBytes.Load()
}

// enforceLocked evicts the oldest sealed batches while the table plus extra
// bytes (about to be allocated) is over its byte budget, or while they are
// past retention. Evicted batches are returned (the caller releases them
// after unlocking).
func (t *Table) enforceLocked(now int64, evicted []*batch, extra int64) []*batch {
	cutoff := now - int64(t.store.cfg.Retention)
	n := 0
	for n < len(t.batches) {
		b := t.batches[n]
		byTime := b.maxT < cutoff
		if !byTime && t.bytesLocked()+extra <= t.budget {
			break
		}
		if byTime {
			t.evictedBatchesTime.Add(1)
		} else {
			t.evictedBatchesBytes.Add(1)
		}
		t.evictedRows.Add(int64(b.rows))
		t.sealedBytes -= b.bytes
		t.sealedRows -= int64(b.rows)
		b.evicted.Store(true)
		evicted = append(evicted, b)
		n++
	}
	if n > 0 {
		t.batches = slices.Delete(t.batches, 0, n)
	}
	return evicted
}

// replace swaps a compacted batch in for its warm original. It reports
// false when the warm batch is no longer listed (evicted or closed).
func (t *Table) replace(w, c *batch) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	for i := len(t.batches) - 1; i >= 0; i-- {
		if t.batches[i] == w {
			t.batches[i] = c
			t.sealedBytes += c.bytes - w.bytes
			return true
		}
	}
	return false
}

// maintain seals an old hot batch and applies time retention.
func (t *Table) maintain(now int64) {
	cfg := &t.store.cfg
	var sealed *batch
	var evicted []*batch
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	if t.hot.n > 0 {
		switch {
		case t.hot.maxT < now-int64(cfg.Retention):
			sealed, evicted = t.sealLocked(now, sealAll, evicted)
		case now-t.hot.born >= int64(cfg.MaxHotAge):
			sealed, evicted = t.sealLocked(now, sealAge, evicted)
		}
	}
	evicted = t.enforceLocked(now, evicted, 0)
	t.mu.Unlock()
	for _, e := range evicted {
		e.release()
	}
	if sealed != nil {
		t.store.enqueue(t, sealed)
	}
}

// flush seals every hot row.
func (t *Table) flush(now int64) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	sealed, evicted := t.sealLocked(now, sealAll, nil)
	evicted = t.enforceLocked(now, evicted, 0)
	t.mu.Unlock()
	for _, e := range evicted {
		e.release()
	}
	if sealed != nil {
		t.store.enqueue(t, sealed)
	}
}

func (t *Table) close() {
	t.spareOff.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	for _, b := range t.batches {
		b.release()
	}
	t.batches = nil
	t.sealedBytes, t.sealedRows = 0, 0
	t.hot.free()
	t.spareMu.Lock()
	t.spareClosed = true
	if t.spare != nil {
		t.spare.free()
		t.spare = nil
		t.spareBytes.Store(0)
	}
	t.spareMu.Unlock()
}

// TableStats describes a table at one moment.
type TableStats struct {
	Name        string
	Rows        int64 // rows held now
	HotRows     int64 // of which in the hot batch
	Bytes       int64 // accounted bytes held now (Arrow allocations + Go-side estimate)
	ArrowBytes  int64 // of which Arrow allocations
	ColdBytes   int64 // of which compacted batches (the stored data)
	Budget      int64 // the table's byte budget
	Batches     int   // sealed batches
	ColdBatches int   // of which compacted
	MinTime     int64 // oldest row (ns), 0 when empty
	MaxTime     int64 // newest row (ns), 0 when empty

	RowsAppended          int64 // rows accepted since start
	RowsEvicted           int64 // rows evicted (time or bytes)
	BatchesEvictedByTime  int64
	BatchesEvictedByBytes int64
	DroppedLate           int64 // rows dropped: older than the watermark
	DroppedFuture         int64 // rows dropped: too far in the future
	Errors                int64 // bad values replaced by defaults
	Compactions           int64
}

// Stats returns the table's current statistics.
func (t *Table) Stats() TableStats {
	t.mu.RLock()
	st := TableStats{
		Name:    t.schema.name,
		Budget:  t.budget,
		HotRows: int64(t.hot.n),
		Rows:    t.sealedRows + int64(t.hot.n),
		Bytes:   t.bytesLocked(),
		Batches: len(t.batches),
	}
	st.ArrowBytes = t.hot.allocBytes() + t.spareBytes.Load()
	minT, maxT := int64(math.MaxInt64), int64(math.MinInt64)
	for _, b := range t.batches {
		st.ArrowBytes += b.alloc
		if b.cold != nil {
			st.ColdBatches++
			st.ColdBytes += b.alloc
		}
		minT, maxT = min(minT, b.minT), max(maxT, b.maxT)
	}
	if t.hot.n > 0 {
		minT, maxT = min(minT, t.hot.minT), max(maxT, t.hot.maxT)
	}
	t.mu.RUnlock()
	if st.Rows > 0 {
		st.MinTime, st.MaxTime = minT, maxT
	}
	st.RowsAppended = t.appended.Load()
	st.RowsEvicted = t.evictedRows.Load()
	st.BatchesEvictedByTime = t.evictedBatchesTime.Load()
	st.BatchesEvictedByBytes = t.evictedBatchesBytes.Load()
	st.DroppedLate = t.droppedLate.Load()
	st.DroppedFuture = t.droppedFuture.Load()
	st.Errors = t.errs.Load()
	st.Compactions = t.compactions.Load()
	return st
}

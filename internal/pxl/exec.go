package pxl

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"go.starlark.net/syntax"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// executor runs a pruned plan against the store.
type executor struct {
	ctx   context.Context
	store *tablestore.Store
	opts  *Options
	bufs  *tablestore.BufferPool
}

func (x *executor) run(n node) (*frame, error) {
	if err := x.ctx.Err(); err != nil {
		return nil, err
	}
	switch p := n.(type) {
	case *scanNode:
		return x.scan(p, nil)
	case *filterNode:
		if sc, ok := p.in.(*scanNode); ok { // filter pushed into the scan
			return x.scan(sc, p.pred)
		}
		in, err := x.run(p.in)
		if err != nil {
			return nil, err
		}
		return filterFrame(in, p.pred)
	case *mapNode:
		in, err := x.run(p.in)
		if err != nil {
			return nil, err
		}
		if !p.used {
			return in, nil
		}
		v, err := p.e.eval(in)
		if err != nil {
			return nil, err
		}
		v = v.expand(in.n)
		out := &frame{names: append([]string(nil), in.names...), cols: append([]*vec(nil), in.cols...), n: in.n}
		for i, name := range out.names {
			if name == p.name {
				out.cols[i] = v
				return out, nil
			}
		}
		out.names = append(out.names, p.name)
		out.cols = append(out.cols, v)
		return out, nil
	case *projectNode:
		in, err := x.run(p.in)
		if err != nil {
			return nil, err
		}
		out := &frame{n: in.n}
		for _, f := range p.out {
			if c := in.col(f.name); c != nil {
				out.names = append(out.names, f.name)
				out.cols = append(out.cols, c)
			}
		}
		return out, nil
	case *limitNode:
		in, err := x.run(p.in)
		if err != nil {
			return nil, err
		}
		if in.n <= p.n {
			return in, nil
		}
		out := &frame{names: in.names, cols: make([]*vec, len(in.cols)), n: p.n}
		for i, c := range in.cols {
			out.cols[i] = c.slice(0, p.n)
		}
		return out, nil
	case *aggNode:
		if out, ok, err := x.aggStream(p); ok {
			return out, err
		}
		in, err := x.run(p.in)
		if err != nil {
			return nil, err
		}
		return x.agg(p, in)
	case *mergeNode:
		return x.merge(p)
	case *appendNode:
		a, err := x.run(p.a)
		if err != nil {
			return nil, err
		}
		b, err := x.run(p.b)
		if err != nil {
			return nil, err
		}
		out := &frame{names: a.names, n: a.n + b.n}
		for i, name := range a.names {
			c := newVec(a.cols[i].t, out.n)
			c.appendVec(a.cols[i].expand(a.n))
			if bc := b.col(name); bc != nil {
				c.appendVec(bc.expand(b.n))
			} else {
				c.appendZero(b.n)
			}
			out.cols = append(out.cols, c)
		}
		return out, nil
	}
	return nil, fmt.Errorf("internal error: unknown plan node %T", n)
}

// posError is an execution error caused by a plan node created at pos
// (rather than by the display that ran it).
type posError struct {
	pos syntax.Position
	err error
}

func (e *posError) Error() string { return e.err.Error() }
func (e *posError) Unwrap() error { return e.err }

func filterFrame(in *frame, pred Expr) (*frame, error) {
	v, err := pred.eval(in)
	if err != nil {
		return nil, err
	}
	if v.konst {
		if v.B[0] {
			return in, nil
		}
		return in.take(nil), nil
	}
	keep := make([]int32, 0, in.n/4)
	for i, b := range v.B {
		if b {
			keep = append(keep, int32(i))
		}
	}
	if len(keep) == in.n {
		return in, nil
	}
	return in.take(keep), nil
}

// openScan takes the snapshot a scan reads: the columns the plan needs
// (names, types; time_ alone when none is) and the time range, narrowed by
// the time_ bounds of the pushed-down filter, which the snapshot applies
// (its records hold only the rows that pass). snap is nil when the range
// is empty.
func (x *executor) openScan(s *scanNode, pred Expr) (snap *tablestore.Snapshot, names []string, types []Type, err error) {
	t := x.store.Table(s.table)
	if t == nil {
		return nil, nil, nil, fmt.Errorf("table %q not found", s.table)
	}
	for _, fd := range s.out {
		if s.need == nil || s.need[fd.name] {
			names = append(names, fd.name)
			types = append(types, fd.t)
		}
	}
	if len(names) == 0 { // count-like plans still need the row count
		names, types = []string{tablestore.TimeColumn}, []Type{TypeTime}
	}
	start, end := s.start, s.end
	if pred != nil { // push time_ bounds of the filter into the time index
		lo, hi := timeBounds(pred)
		if lo > 0 && lo > start {
			start = lo
		}
		if hi > 0 && (end <= 0 || hi < end) {
			end = hi
		}
		if start > 0 && end > 0 && end <= start {
			return nil, names, types, nil
		}
	}
	opts := tablestore.ScanOptions{Columns: names, Start: start, End: end, Allocator: x.bufs}
	if pred != nil {
		// The store evaluates the filter first and decodes the other
		// columns only for the rows that pass.
		refs := map[string]bool{}
		pred.refs(refs)
		var fnames []string
		var ftypes []Type
		for i, name := range names {
			if refs[name] {
				fnames = append(fnames, name)
				ftypes = append(ftypes, types[i])
				delete(refs, name)
			}
		}
		if len(refs) > 0 {
			return nil, nil, nil, fmt.Errorf("internal error: the filter reads columns the scan of %s does not", s.table)
		}
		if c, op, k, ok := intCmpConst(pred); ok && len(fnames) == 1 && fnames[0] == c.name {
			// Evaluated by the store, on compressed data where it can.
			opts.Where = &tablestore.IntCompare{Column: c.name, Op: op, Value: k}
		} else {
			opts.FilterColumns = fnames
			opts.Filter = func(rec arrow.RecordBatch) ([]int32, error) {
				var buf []int32 // per call: scan workers call it concurrently
				keep, _, err := batchKeep(pred, fnames, ftypes, rec, &buf)
				return keep, err
			}
		}
	}
	snap, err = t.Snapshot(opts)
	if err != nil {
		return nil, nil, nil, err
	}
	if snap.MaxRows() > x.opts.MaxScanRows {
		snap.Release()
		return nil, nil, nil, fmt.Errorf("query would read %d rows of %s (limit %d): narrow start_time", snap.MaxRows(), s.table, x.opts.MaxScanRows)
	}
	return snap, names, types, nil
}

// batchKeep evaluates a pushed-down filter on one record: the rows that
// pass (valid until the next call with the same buf), and the columns it
// converted to evaluate it (nil for the fast column-vs-constant path),
// whose kept rows callers reuse.
func batchKeep(pred Expr, names []string, types []Type, rec arrow.RecordBatch, buf *[]int32) ([]int32, *frame, error) {
	if keep, ok := keepCmpConst(pred, names, rec, buf); ok {
		return keep, nil, nil
	}
	n := int(rec.NumRows())
	predCols := map[string]bool{}
	pred.refs(predCols)
	bf := &frame{n: n}
	for i, name := range names {
		if predCols[name] {
			v := &vec{t: types[i]}
			appendArrow(v, rec.Column(i))
			bf.names = append(bf.names, name)
			bf.cols = append(bf.cols, v)
		}
	}
	mask, err := pred.eval(bf)
	if err != nil {
		return nil, nil, err
	}
	var keep []int32
	if mask.konst {
		if mask.B[0] {
			keep = make([]int32, n)
			for i := range keep {
				keep[i] = int32(i)
			}
		}
	} else {
		keep = make([]int32, 0, n/4)
		for i, b := range mask.B {
			if b {
				keep = append(keep, int32(i))
			}
		}
	}
	return keep, bf, nil
}

func (x *executor) scan(s *scanNode, pred Expr) (*frame, error) {
	snap, names, types, err := x.openScan(s, pred)
	if err != nil {
		return nil, err
	}
	f := &frame{names: names}
	for _, t := range types {
		f.cols = append(f.cols, &vec{t: t})
	}
	if snap == nil {
		return f, nil
	}
	defer snap.Release()
	if pred == nil {
		for i, c := range f.cols {
			f.cols[i] = newVec(c.t, int(snap.MaxRows()))
		}
	}
	// The snapshot applies the filter: its records hold the rows that pass.
	err = snap.ScanParallel(x.ctx, x.opts.ScanWorkers, func(rec arrow.RecordBatch) error {
		n := int(rec.NumRows())
		if pred != nil && f.n == 0 && n > 0 {
			presize(f, n*int(snap.NumBatches()))
		}
		for i := range f.cols {
			appendArrow(f.cols[i], rec.Column(i))
		}
		f.n += n
		return x.ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// presize gives the columns of f room for about rows rows (plus 1/8), from
// the selectivity of a filter on the first batch.
func presize(f *frame, rows int) {
	rows += rows / 8
	if rows <= 0 || rows > 1<<26 {
		return
	}
	for _, c := range f.cols {
		switch c.t {
		case TypeInt64, TypeTime:
			c.I = slices.Grow(c.I, int(rows))
		case TypeFloat64:
			c.F = slices.Grow(c.F, int(rows))
		case TypeString:
			c.S = slices.Grow(c.S, int(rows))
		case TypeBool:
			c.B = slices.Grow(c.B, int(rows))
		}
	}
}

// keepCmpConst handles the most common pushed-down filter, an INT64 or
// TIME64NS column compared with a constant (df[df.resp_status >= 500]): it
// reads the Arrow values in place and returns the rows that pass, without
// converting the column or building a mask. ok is false for any other
// predicate, which the general path evaluates.
func keepCmpConst(pred Expr, names []string, rec arrow.RecordBatch, buf *[]int32) (keep []int32, ok bool) {
	c, op, k, ok := intCmpConst(pred)
	if !ok {
		return nil, false
	}
	for i, name := range names {
		if name != c.name {
			continue
		}
		switch a := rec.Column(i).(type) {
		case *array.Int64:
			if a.NullN() == 0 {
				return keepCmp(a.Int64Values(), op, k, buf), true
			}
		case *array.Timestamp:
			if a.NullN() == 0 {
				return keepCmp(a.TimestampValues(), op, arrow.Timestamp(k), buf), true
			}
		}
		return nil, false
	}
	return nil, false
}

// intCmpConst matches a comparison of an INT64 or TIME64NS column with a
// constant (either side): column name, operator (column on the left), value.
func intCmpConst(pred Expr) (*colRef, string, int64, bool) {
	b, isBin := pred.(*binExpr)
	if !isBin || !isCmp(b.op) {
		return nil, "", 0, false
	}
	op := b.op
	c, isCol := b.l.(*colRef)
	k, isLit := b.r.(*lit)
	if !isCol || !isLit {
		if c, isCol = b.r.(*colRef); !isCol {
			return nil, "", 0, false
		}
		if k, isLit = b.l.(*lit); !isLit {
			return nil, "", 0, false
		}
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op] // k < col: col > k
	}
	intLike := func(t Type) bool { return t == TypeInt64 || t == TypeTime }
	if !intLike(c.t) || !intLike(k.v.t) || !k.v.konst || len(k.v.I) == 0 {
		return nil, "", 0, false
	}
	return c, op, k.v.I[0], true
}

// keepCmp returns the positions i where vals[i] op k. The loops are
// branch-free (every position is written, the count advances when the row
// passes): filters keep an unpredictable few percent of rows.
func keepCmp[T ~int64](vals []T, op string, k T, buf *[]int32) []int32 {
	if cap(*buf) < len(vals)+1 {
		*buf = make([]int32, len(vals)+1)
	}
	keep := (*buf)[:len(vals)+1]
	n := 0
	switch op {
	case "==":
		for i, v := range vals {
			keep[n] = int32(i)
			n += b2i(v == k)
		}
	case "!=":
		for i, v := range vals {
			keep[n] = int32(i)
			n += b2i(v != k)
		}
	case "<":
		for i, v := range vals {
			keep[n] = int32(i)
			n += b2i(v < k)
		}
	case "<=":
		for i, v := range vals {
			keep[n] = int32(i)
			n += b2i(v <= k)
		}
	case ">":
		for i, v := range vals {
			keep[n] = int32(i)
			n += b2i(v > k)
		}
	case ">=":
		for i, v := range vals {
			keep[n] = int32(i)
			n += b2i(v >= k)
		}
	}
	return keep[:n:n]
}

// b2i is 1 for true, 0 for false (compiled to a flag move, no branch).
func b2i(b bool) int {
	var x int
	if b {
		x = 1
	}
	return x
}

// timeBounds returns the range [lo, hi) of time_ that a filter allows, from
// its top-level conjunction of comparisons of time_ with constants; 0 means
// unbounded. The filter is still applied to the rows read.
func timeBounds(pred Expr) (lo, hi int64) {
	b, ok := pred.(*binExpr)
	if !ok {
		return 0, 0
	}
	if b.op == "&" {
		l1, h1 := timeBounds(b.l)
		l2, h2 := timeBounds(b.r)
		lo, hi = max(l1, l2), h1
		if h2 > 0 && (hi == 0 || h2 < hi) {
			hi = h2
		}
		return lo, hi
	}
	c, okc := b.l.(*colRef)
	k, okk := b.r.(*lit)
	op := b.op
	if !okc || !okk {
		c, okc = b.r.(*colRef)
		k, okk = b.l.(*lit)
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}[op]
	}
	if !okc || !okk || c.name != tablestore.TimeColumn || (k.v.t != TypeInt64 && k.v.t != TypeTime) {
		return 0, 0
	}
	v := k.v.I[0]
	if v <= 0 || v >= math.MaxInt64-1 {
		return 0, 0
	}
	switch op {
	case ">=":
		return v, 0
	case ">":
		return v + 1, 0
	case "<":
		return 0, v
	case "<=":
		return 0, v + 1
	case "==":
		return v, v + 1
	}
	return 0, 0
}

// appendArrow copies an Arrow array into v (strings are cloned: the record
// is released after the callback).
func appendArrow(v *vec, arr arrow.Array) {
	switch a := arr.(type) {
	case *array.Int64:
		v.I = append(v.I, a.Int64Values()...)
	case *array.Timestamp:
		for _, t := range a.TimestampValues() {
			v.I = append(v.I, int64(t))
		}
	case *array.Float64:
		v.F = append(v.F, a.Float64Values()...)
	case *array.Boolean:
		for i := range a.Len() {
			v.B = append(v.B, a.Value(i))
		}
	case *array.String:
		for i := range a.Len() {
			v.S = append(v.S, strings.Clone(a.Value(i)))
		}
	case *array.Dictionary:
		d, _ := a.Dictionary().(*array.String)
		vals := make([]string, 0)
		if d != nil {
			vals = make([]string, d.Len())
			for i := range vals {
				vals[i] = strings.Clone(d.Value(i))
			}
		}
		if ix, ok := a.Indices().(*array.Int32); ok && d != nil {
			for _, k := range ix.Int32Values() {
				v.S = append(v.S, vals[k])
			}
			return
		}
		for i := range a.Len() {
			v.S = append(v.S, strings.Clone(tablestore.StringValue(a, i)))
		}
	default:
		v.appendZero(arr.Len())
	}
}

// groupIDs assigns each row of the key columns a dense group number in
// order of first appearance.
func groupIDs(keys []*vec, n, maxGroups int) (gid []int32, first []int32, err error) {
	gid = make([]int32, n)
	tooMany := fmt.Errorf("group-by makes more than %d groups", maxGroups)
	switch {
	case len(keys) == 0:
		if n > 0 {
			first = []int32{0}
		}
		return gid, first, nil
	case len(keys) == 1 && keys[0].t == TypeString:
		first, ok := groupStrings(keys[0].S, gid, first, maxGroups)
		if !ok {
			return nil, nil, tooMany
		}
		return gid, first, nil
	case len(keys) == 1 && (keys[0].t == TypeInt64 || keys[0].t == TypeTime):
		first, ok := groupOneKey(keys[0].I, gid, first, maxGroups)
		if !ok {
			return nil, nil, tooMany
		}
		return gid, first, nil
	}
	m := map[string]int32{}
	var sb strings.Builder
	for i := range n {
		sb.Reset()
		for _, k := range keys {
			s := k.text(i)
			fmt.Fprintf(&sb, "%d:%s", len(s), s)
		}
		key := sb.String()
		g, ok := m[key]
		if !ok {
			g = int32(len(first))
			if int(g) >= maxGroups {
				return nil, nil, tooMany
			}
			m[key] = g
			first = append(first, int32(i))
		}
		gid[i] = g
	}
	return gid, first, nil
}

func (x *executor) agg(p *aggNode, in *frame) (*frame, error) {
	keys := make([]*vec, len(p.by))
	for i, b := range p.by {
		keys[i] = in.col(b).expand(in.n)
	}
	gid, first, err := groupIDs(keys, in.n, x.opts.MaxGroups)
	if err != nil {
		return nil, err
	}
	if len(p.by) == 0 && in.n == 0 {
		// A global aggregate of no rows is one row: count 0, sum 0, …
		out := &frame{n: 1}
		for _, a := range p.aggs {
			var c *vec
			switch a.fn.name {
			case "count", "sum", "mean", "quantiles":
				c, err = aggregate(a.fn, in.col(a.col).expand(0), nil, 1, nil)
				if err != nil {
					return nil, err
				}
			default:
				c = newVec(a.t, 1)
				c.appendZero(1)
			}
			out.names = append(out.names, a.name)
			out.cols = append(out.cols, c)
		}
		return out, nil
	}
	out := &frame{n: len(first)}
	for i, b := range p.by {
		out.names = append(out.names, b)
		out.cols = append(out.cols, keys[i].take(first))
	}
	for _, a := range p.aggs {
		if err := x.ctx.Err(); err != nil {
			return nil, err
		}
		c, err := aggregate(a.fn, in.col(a.col).expand(in.n), gid, len(first), first)
		if err != nil {
			return nil, err
		}
		out.names = append(out.names, a.name)
		out.cols = append(out.cols, c)
	}
	return out, nil
}

func (x *executor) merge(p *mergeNode) (*frame, error) {
	l, err := x.run(p.left)
	if err != nil {
		return nil, err
	}
	r, err := x.run(p.right)
	if err != nil {
		return nil, err
	}
	key := func(f *frame, on []string, i int) string {
		var sb strings.Builder
		for _, c := range on {
			s := f.col(c).text(i)
			fmt.Fprintf(&sb, "%d:%s", len(s), s)
		}
		return sb.String()
	}
	index := map[string][]int32{}
	for i := range r.n {
		k := key(r, p.rightOn, i)
		index[k] = append(index[k], int32(i))
	}
	// Estimated bytes per output row: the two row indexes, then every
	// column (strings share their bytes with the inputs).
	width := int64(8)
	for _, f := range p.out {
		switch f.t {
		case TypeString:
			width += 16
		case TypeBool:
			width++
		default:
			width += 8
		}
	}
	var li, ri []int32 // -1 = no row on that side
	matched := make([]bool, r.n)
	for i := range l.n {
		rows := index[key(l, p.leftOn, i)]
		for _, j := range rows {
			li, ri = append(li, int32(i)), append(ri, j)
			matched[j] = true
		}
		if len(rows) == 0 && (p.how == "left" || p.how == "outer") {
			li, ri = append(li, int32(i)), append(ri, -1)
		}
		if len(li) > x.opts.MaxJoinRows {
			return nil, &posError{pos: p.pos, err: fmt.Errorf("merge makes more than %d rows", x.opts.MaxJoinRows)}
		}
		if int64(len(li))*width > x.opts.MaxMemory {
			return nil, &posError{pos: p.pos, err: fmt.Errorf("merge would hold more than %d rows of %d columns (about %d MiB; the limit is %d MiB): join on more selective keys or filter first",
				len(li), len(p.out), int64(len(li))*width>>20, x.opts.MaxMemory>>20)}
		}
	}
	if p.how == "right" || p.how == "outer" {
		for j, m := range matched {
			if !m {
				li, ri = append(li, -1), append(ri, int32(j))
			}
		}
	}
	out := &frame{n: len(li)}
	side := func(f *frame, rows []int32, fs []field, names []string) {
		for i, fd := range fs {
			o := newVec(fd.t, len(rows))
			c := f.col(fd.name)
			if c == nil {
				o.appendZero(len(rows))
				out.names = append(out.names, names[i])
				out.cols = append(out.cols, o)
				continue
			}
			c = c.expand(f.n)
			for _, j := range rows {
				if j < 0 {
					o.appendZero(1)
				} else {
					o.appendVec(c.slice(int(j), int(j)+1))
				}
			}
			out.names = append(out.names, names[i])
			out.cols = append(out.cols, o)
		}
	}
	side(l, li, p.left.fields(), p.lOut)
	side(r, ri, p.right.fields(), p.rOut)
	return out, nil
}

// groupStrings is groupOneKey for strings. Strings read from a dictionary
// column share their bytes (one copy per dictionary entry and batch): a
// small cache keyed by the string's address finds their group without
// hashing or comparing the bytes.
func groupStrings(vals []string, gid, first []int32, maxGroups int) ([]int32, bool) {
	type slot struct {
		p   *byte
		n   int
		g1  int32 // group + 1; 0: empty
		pad int32
	}
	var cache [256]slot
	m := map[string]int32{}
	for i, v := range vals {
		p := unsafe.StringData(v)
		h := (uint64(uintptr(unsafe.Pointer(p))) * 0x9E3779B97F4A7C15) >> 56
		sl := &cache[h]
		if sl.p == p && sl.n == len(v) && sl.g1 != 0 {
			gid[i] = sl.g1 - 1
			continue
		}
		g, ok := m[v]
		if !ok {
			g = int32(len(first))
			if int(g) >= maxGroups {
				return nil, false
			}
			m[v] = g
			first = append(first, int32(i))
		}
		*sl = slot{p: p, n: len(v), g1: g + 1}
		gid[i] = g
	}
	return first, true
}

// groupOneKey numbers the distinct values of one key column in order of
// first appearance: gid[i] is row i's group, first[g] the first row of
// group g. It reports false past maxGroups groups.
func groupOneKey[K comparable](vals []K, gid, first []int32, maxGroups int) ([]int32, bool) {
	m := map[K]int32{}
	for i, v := range vals {
		g, ok := m[v]
		if !ok {
			g = int32(len(first))
			if int(g) >= maxGroups {
				return nil, false
			}
			m[v] = g
			first = append(first, int32(i))
		}
		gid[i] = g
	}
	return first, true
}

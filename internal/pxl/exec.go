package pxl

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// executor runs a pruned plan against the store.
type executor struct {
	ctx   context.Context
	store *tablestore.Store
	opts  *Options
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

func (x *executor) scan(s *scanNode, pred Expr) (*frame, error) {
	t := x.store.Table(s.table)
	if t == nil {
		return nil, fmt.Errorf("table %q not found", s.table)
	}
	f := &frame{}
	for _, fd := range s.out {
		if s.need == nil || s.need[fd.name] {
			f.names = append(f.names, fd.name)
			f.cols = append(f.cols, &vec{t: fd.t})
		}
	}
	if len(f.names) == 0 { // count-like plans still need the row count
		f.names = []string{tablestore.TimeColumn}
		f.cols = []*vec{{t: TypeTime}}
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
			return f, nil
		}
	}
	snap, err := t.Snapshot(tablestore.ScanOptions{Columns: f.names, Start: start, End: end})
	if err != nil {
		return nil, err
	}
	defer snap.Release()
	if snap.MaxRows() > x.opts.MaxScanRows {
		return nil, fmt.Errorf("query would read %d rows of %s (limit %d): narrow start_time", snap.MaxRows(), s.table, x.opts.MaxScanRows)
	}
	if pred == nil {
		for i, c := range f.cols {
			f.cols[i] = newVec(c.t, int(snap.MaxRows()))
		}
	}
	// Columns the pushed-down filter reads are converted whole, the others
	// only for the rows that pass.
	var predCols map[string]bool
	if pred != nil {
		predCols = map[string]bool{}
		pred.refs(predCols)
	}
	err = snap.Scan(x.ctx, func(rec arrow.RecordBatch) error {
		n := int(rec.NumRows())
		if pred == nil {
			for i := range f.cols {
				appendArrow(f.cols[i], rec.Column(i))
			}
			f.n += n
			return x.ctx.Err()
		}
		if keep, ok := keepCmpConst(pred, f.names, rec); ok {
			for i := range f.names {
				appendArrowRows(f.cols[i], rec.Column(i), keep)
			}
			f.n += len(keep)
			return x.ctx.Err()
		}
		bf := &frame{n: n}
		for i, name := range f.names {
			if predCols[name] {
				v := &vec{t: f.cols[i].t}
				appendArrow(v, rec.Column(i))
				bf.names = append(bf.names, name)
				bf.cols = append(bf.cols, v)
			}
		}
		mask, err := pred.eval(bf)
		if err != nil {
			return err
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
		for i, name := range f.names {
			if c := bf.col(name); c != nil {
				f.cols[i].appendVec(c.take(keep))
			} else {
				appendArrowRows(f.cols[i], rec.Column(i), keep)
			}
		}
		f.n += len(keep)
		return x.ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// keepCmpConst handles the most common pushed-down filter, an INT64 or
// TIME64NS column compared with a constant (df[df.resp_status >= 500]): it
// reads the Arrow values in place and returns the rows that pass, without
// converting the column or building a mask. ok is false for any other
// predicate, which the general path evaluates.
func keepCmpConst(pred Expr, names []string, rec arrow.RecordBatch) (keep []int32, ok bool) {
	b, isBin := pred.(*binExpr)
	if !isBin || !isCmp(b.op) {
		return nil, false
	}
	op := b.op
	c, isCol := b.l.(*colRef)
	k, isLit := b.r.(*lit)
	if !isCol || !isLit {
		if c, isCol = b.r.(*colRef); !isCol {
			return nil, false
		}
		if k, isLit = b.l.(*lit); !isLit {
			return nil, false
		}
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op] // k < col: col > k
	}
	intLike := func(t Type) bool { return t == TypeInt64 || t == TypeTime }
	if !intLike(c.t) || !intLike(k.v.t) || !k.v.konst || len(k.v.I) == 0 {
		return nil, false
	}
	for i, name := range names {
		if name != c.name {
			continue
		}
		switch a := rec.Column(i).(type) {
		case *array.Int64:
			if a.NullN() == 0 {
				return keepCmp(a.Int64Values(), op, k.v.I[0]), true
			}
		case *array.Timestamp:
			if a.NullN() == 0 {
				return keepCmp(a.TimestampValues(), op, arrow.Timestamp(k.v.I[0])), true
			}
		}
		return nil, false
	}
	return nil, false
}

// keepCmp returns the positions i where vals[i] op k.
func keepCmp[T ~int64](vals []T, op string, k T) []int32 {
	keep := make([]int32, 0, len(vals)/8)
	switch op {
	case "==":
		for i, v := range vals {
			if v == k {
				keep = append(keep, int32(i))
			}
		}
	case "!=":
		for i, v := range vals {
			if v != k {
				keep = append(keep, int32(i))
			}
		}
	case "<":
		for i, v := range vals {
			if v < k {
				keep = append(keep, int32(i))
			}
		}
	case "<=":
		for i, v := range vals {
			if v <= k {
				keep = append(keep, int32(i))
			}
		}
	case ">":
		for i, v := range vals {
			if v > k {
				keep = append(keep, int32(i))
			}
		}
	case ">=":
		for i, v := range vals {
			if v >= k {
				keep = append(keep, int32(i))
			}
		}
	}
	return keep
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

// appendArrowRows copies the rows keep of an Arrow array into v.
func appendArrowRows(v *vec, arr arrow.Array, keep []int32) {
	switch a := arr.(type) {
	case *array.Int64:
		vals := a.Int64Values()
		for _, i := range keep {
			v.I = append(v.I, vals[i])
		}
	case *array.Timestamp:
		vals := a.TimestampValues()
		for _, i := range keep {
			v.I = append(v.I, int64(vals[i]))
		}
	case *array.Float64:
		vals := a.Float64Values()
		for _, i := range keep {
			v.F = append(v.F, vals[i])
		}
	case *array.Boolean:
		for _, i := range keep {
			v.B = append(v.B, a.Value(int(i)))
		}
	case *array.String:
		for _, i := range keep {
			v.S = append(v.S, strings.Clone(a.Value(int(i))))
		}
	case *array.Dictionary:
		d, _ := a.Dictionary().(*array.String)
		ix, ok := a.Indices().(*array.Int32)
		if d == nil || !ok {
			for _, i := range keep {
				v.S = append(v.S, strings.Clone(tablestore.StringValue(a, int(i))))
			}
			return
		}
		vals := make([]string, d.Len()) // cloned lazily: only used entries
		done := make([]bool, d.Len())
		idx := ix.Int32Values()
		for _, i := range keep {
			k := idx[i]
			if !done[k] {
				vals[k], done[k] = strings.Clone(d.Value(int(k))), true
			}
			v.S = append(v.S, vals[k])
		}
	default:
		v.appendZero(len(keep))
	}
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
			v.S = append(v.S, tablestore.StringValue(a, i))
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
		first, ok := groupOneKey(keys[0].S, gid, first, maxGroups)
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
			return nil, fmt.Errorf("merge makes more than %d rows", x.opts.MaxJoinRows)
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

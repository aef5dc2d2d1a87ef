package pxl

import (
	"encoding/json"
	"fmt"
	"strings"
	"unsafe"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// Streaming aggregation: a group-by straight over a scan (with or without a
// pushed-down filter) is computed batch by batch from the Arrow records,
// without first copying the rows that pass into a frame. Groups of a
// dictionary-encoded key are found once per dictionary entry and batch,
// then per row by index. The result is the same as agg over the
// materialized rows (groups in order of first appearance, values added in
// row order).

// noStream turns streaming aggregation off (tests compare both paths).
var noStream bool

// streamAcc accumulates one aggregate over the groups seen so far.
type streamAcc struct {
	spec  aggSpec
	col   int  // column of the record
	float bool // the column is FLOAT64
	cnt   []int64
	isum  []int64
	fsum  []float64
	ival  []int64 // min / max / any of ints
	fval  []float64
	sk    []*ddsketch.DDSketch
}

// canStream reports whether the aggregate node reads a scan directly with
// keys and aggregates the streaming path supports.
func canStream(p *aggNode) (*scanNode, Expr, bool) {
	var sc *scanNode
	var pred Expr
	switch in := p.in.(type) {
	case *scanNode:
		sc = in
	case *filterNode:
		s, ok := in.in.(*scanNode)
		if !ok {
			return nil, nil, false
		}
		sc, pred = s, in.pred
	default:
		return nil, nil, false
	}
	if len(p.by) > 1 {
		return nil, nil, false
	}
	types := map[string]Type{}
	for _, f := range sc.out {
		types[f.name] = f.t
	}
	for _, b := range p.by {
		if t, ok := types[b]; !ok || (t != TypeString && t != TypeInt64 && t != TypeTime) {
			return nil, nil, false
		}
	}
	for _, a := range p.aggs {
		t, ok := types[a.col]
		if !ok || (t != TypeInt64 && t != TypeTime && t != TypeFloat64) {
			return nil, nil, false
		}
		switch a.fn.name {
		case "count", "sum", "mean", "min", "max", "any", "quantiles":
		default:
			return nil, nil, false
		}
	}
	return sc, pred, true
}

// groupKeys assigns dense group numbers to key values in order of first
// appearance.
type groupKeys struct {
	t     Type
	str   map[string]int32
	num   map[int64]int32
	strs  []string
	nums  []int64
	max   int
	remap []int32 // per batch: dictionary entry -> group + 1 (0: not seen)
}

func (g *groupKeys) n() int { return len(g.strs) + len(g.nums) }

func (g *groupKeys) addStr(s string) (int32, error) {
	id, ok := g.str[s]
	if !ok {
		if len(g.strs) >= g.max {
			return 0, fmt.Errorf("group-by makes more than %d groups", g.max)
		}
		id = int32(len(g.strs))
		s = strings.Clone(s)
		g.str[s] = id
		g.strs = append(g.strs, s)
	}
	return id, nil
}

func (g *groupKeys) addNum(v int64) (int32, error) {
	id, ok := g.num[v]
	if !ok {
		if len(g.nums) >= g.max {
			return 0, fmt.Errorf("group-by makes more than %d groups", g.max)
		}
		id = int32(len(g.nums))
		g.num[v] = id
		g.nums = append(g.nums, v)
	}
	return id, nil
}

// ids fills gid with the group of each kept row of the key array.
func (g *groupKeys) ids(arr arrow.Array, keep []int32, gid []int32) error {
	switch a := arr.(type) {
	case *array.Dictionary:
		d, ok1 := a.Dictionary().(*array.String)
		ix, ok2 := a.Indices().(*array.Int32)
		if !ok1 || !ok2 {
			break
		}
		if cap(g.remap) < d.Len() {
			g.remap = make([]int32, d.Len())
		}
		g.remap = g.remap[:d.Len()]
		clear(g.remap)
		idx := ix.Int32Values()
		for j, r := range keep {
			k := idx[r]
			id1 := g.remap[k]
			if id1 == 0 {
				id, err := g.addStr(d.Value(int(k)))
				if err != nil {
					return err
				}
				id1 = id + 1
				g.remap[k] = id1
			}
			gid[j] = id1 - 1
		}
		return nil
	case *array.String:
		for j, r := range keep {
			id, err := g.addStr(a.Value(int(r)))
			if err != nil {
				return err
			}
			gid[j] = id
		}
		return nil
	case *array.Int64:
		vals := a.Int64Values()
		for j, r := range keep {
			id, err := g.addNum(vals[r])
			if err != nil {
				return err
			}
			gid[j] = id
		}
		return nil
	case *array.Timestamp:
		vals := a.TimestampValues()
		for j, r := range keep {
			id, err := g.addNum(int64(vals[r]))
			if err != nil {
				return err
			}
			gid[j] = id
		}
		return nil
	}
	for j, r := range keep { // any other string form
		id, err := g.addStr(tablestore.StringValue(arr, int(r)))
		if err != nil {
			return err
		}
		gid[j] = id
	}
	return nil
}

// grow extends the accumulator to n groups.
func (a *streamAcc) grow(n int) error {
	for len(a.cnt) < n {
		a.cnt = append(a.cnt, 0)
		a.isum = append(a.isum, 0)
		a.fsum = append(a.fsum, 0)
		a.ival = append(a.ival, 0)
		a.fval = append(a.fval, 0)
		if a.spec.fn.name == "quantiles" {
			s, err := newSketch()
			if err != nil {
				return err
			}
			a.sk = append(a.sk, s)
		}
	}
	return nil
}

// add folds the kept rows of arr (groups gid) into the accumulator.
func (a *streamAcc) add(arr arrow.Array, keep, gid []int32) {
	var iv []int64
	var fv []float64
	switch c := arr.(type) {
	case *array.Int64:
		iv = c.Int64Values()
	case *array.Timestamp:
		ts := c.TimestampValues()
		iv = unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(ts))), len(ts))
	case *array.Float64:
		fv = c.Float64Values()
	}
	// One loop per aggregate and value type (no per-row dispatch).
	switch name := a.spec.fn.name; name {
	case "count":
		for _, g := range gid {
			a.cnt[g]++
		}
	case "sum", "mean":
		switch {
		case fv != nil:
			for j, r := range keep {
				g := gid[j]
				a.cnt[g]++
				a.fsum[g] += fv[r]
			}
		case name == "mean":
			for j, r := range keep {
				g := gid[j]
				a.cnt[g]++
				a.fsum[g] += float64(iv[r])
			}
		default:
			for j, r := range keep {
				g := gid[j]
				a.cnt[g]++
				a.isum[g] += iv[r]
			}
		}
	case "min", "max", "any":
		isMin := name == "min"
		for j, r := range keep {
			g := gid[j]
			first := a.cnt[g] == 0
			a.cnt[g]++
			if fv != nil {
				v := fv[r]
				if first || (name != "any" && (v < a.fval[g]) == isMin && v != a.fval[g]) {
					a.fval[g] = v
				}
			} else {
				v := iv[r]
				if first || (name != "any" && (v < a.ival[g]) == isMin && v != a.ival[g]) {
					a.ival[g] = v
				}
			}
		}
	case "quantiles":
		for j, r := range keep {
			g := gid[j]
			a.cnt[g]++
			v := 0.0
			if fv != nil {
				v = fv[r]
			} else {
				v = float64(iv[r])
			}
			sketchAdd(a.sk[g], v)
		}
	}
}

// result is the accumulator's output column for ngroups groups.
func (a *streamAcc) result(colType Type, ngroups int) *vec {
	switch a.spec.fn.name {
	case "count":
		return &vec{t: TypeInt64, I: a.cnt[:ngroups]}
	case "sum", "mean":
		if a.float || a.spec.fn.name == "mean" {
			s := a.fsum[:ngroups]
			if a.spec.fn.name == "mean" {
				for g := range s {
					if a.cnt[g] > 0 {
						s[g] /= float64(a.cnt[g])
					}
				}
			}
			return &vec{t: TypeFloat64, F: s}
		}
		return &vec{t: TypeInt64, I: a.isum[:ngroups]}
	case "min", "max", "any":
		if a.float {
			return &vec{t: TypeFloat64, F: a.fval[:ngroups]}
		}
		return &vec{t: colType, I: a.ival[:ngroups]}
	}
	out := make([]string, ngroups)
	for g, s := range a.sk[:ngroups] {
		m := make(map[string]float64, len(quantileKeys))
		n := s.GetCount()
		for _, k := range quantileKeys {
			v, err := s.GetValueAtQuantile(nearestRank(k.q, n))
			if err != nil {
				v = 0
			}
			m[k.key] = v
		}
		b, _ := json.Marshal(m) // keys sorted: p01 … p99
		out[g] = string(b)
	}
	return &vec{t: TypeString, S: out}
}

// aggStream runs an aggregate over a scan batch by batch; ok is false when
// the plan does not qualify (the caller materializes the input instead).
func (x *executor) aggStream(p *aggNode) (out *frame, ok bool, err error) {
	if noStream {
		return nil, false, nil
	}
	sc, pred, ok := canStream(p)
	if !ok {
		return nil, false, nil
	}
	snap, names, types, err := x.openScan(sc, pred)
	if err != nil {
		return nil, true, err
	}
	if snap == nil {
		return nil, false, nil // empty range: the general path handles it
	}
	defer snap.Release()
	colOf := func(name string) int {
		for i, n := range names {
			if n == name {
				return i
			}
		}
		return -1
	}
	keyCol := -1
	keys := &groupKeys{str: map[string]int32{}, num: map[int64]int32{}, max: x.opts.MaxGroups}
	if len(p.by) == 1 {
		keyCol = colOf(p.by[0])
		keys.t = types[keyCol]
	}
	accs := make([]*streamAcc, len(p.aggs))
	for i, a := range p.aggs {
		c := colOf(a.col)
		accs[i] = &streamAcc{spec: a, col: c, float: types[c] == TypeFloat64}
	}
	var all, gid []int32
	rows := 0
	err = snap.ScanParallel(x.ctx, x.opts.ScanWorkers, func(rec arrow.RecordBatch) error {
		n := int(rec.NumRows())
		// The snapshot applied the filter: every row of rec counts.
		if cap(all) < n {
			all = make([]int32, n)
			for i := range all {
				all[i] = int32(i)
			}
		}
		keep := all[:n]
		if len(keep) == 0 {
			return x.ctx.Err()
		}
		rows += len(keep)
		if cap(gid) < len(keep) {
			gid = make([]int32, len(keep))
		}
		gid = gid[:len(keep)]
		ngroups := 1
		if keyCol >= 0 {
			if err := keys.ids(rec.Column(keyCol), keep, gid); err != nil {
				return err
			}
			ngroups = keys.n()
		} else {
			clear(gid)
		}
		for _, a := range accs {
			if err := a.grow(ngroups); err != nil {
				return err
			}
			a.add(rec.Column(a.col), keep, gid)
		}
		return x.ctx.Err()
	})
	if err != nil {
		return nil, true, err
	}
	if rows == 0 {
		return nil, false, nil // no rows: the general path's empty result
	}
	ngroups := 1
	out = &frame{}
	if keyCol >= 0 {
		ngroups = keys.n()
		kv := &vec{t: keys.t}
		if keys.t == TypeString {
			kv.S = keys.strs
		} else {
			kv.I = keys.nums
		}
		out.names = append(out.names, p.by[0])
		out.cols = append(out.cols, kv)
	}
	out.n = ngroups
	for i, a := range accs {
		out.names = append(out.names, p.aggs[i].name)
		out.cols = append(out.cols, a.result(types[a.col], ngroups))
	}
	return out, true, nil
}

package pxl

import (
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/syntax"
)

// field is a named, typed output column of a plan node.
type field struct {
	name string
	t    Type
}

// node is a plan operator.
type node interface {
	fields() []field
}

func fieldIndex(fs []field, name string) int {
	for i, f := range fs {
		if f.name == name {
			return i
		}
	}
	return -1
}

func fieldNames(fs []field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

type scanNode struct {
	table      string
	out        []field
	start, end int64
	need       map[string]bool // filled by prune
}

func (s *scanNode) fields() []field { return s.out }

type filterNode struct {
	in   node
	pred Expr
}

func (f *filterNode) fields() []field { return f.in.fields() }

type mapNode struct {
	in   node
	name string
	e    Expr
	out  []field
	used bool // some node above reads the column (set by prune)
}

func newMap(in node, name string, e Expr) *mapNode {
	out := slices.Clone(in.fields())
	if i := fieldIndex(out, name); i >= 0 {
		out[i].t = e.Type()
	} else {
		out = append(out, field{name, e.Type()})
	}
	return &mapNode{in: in, name: name, e: e, out: out}
}

func (m *mapNode) fields() []field { return m.out }

type projectNode struct {
	in  node
	out []field
}

func (p *projectNode) fields() []field { return p.out }

func newProject(in node, names []string) (*projectNode, error) {
	fs := in.fields()
	out := make([]field, 0, len(names))
	for _, n := range names {
		i := fieldIndex(fs, n)
		if i < 0 {
			return nil, unknownColumn(n, fs)
		}
		out = append(out, fs[i])
	}
	return &projectNode{in: in, out: out}, nil
}

type aggSpec struct {
	name string
	col  string
	fn   *aggFunc
	t    Type
}

type aggNode struct {
	in   node
	by   []string
	aggs []aggSpec
	out  []field
}

func (a *aggNode) fields() []field { return a.out }

type limitNode struct {
	in node
	n  int
}

func (l *limitNode) fields() []field { return l.in.fields() }

type mergeNode struct {
	left, right     node
	how             string
	leftOn, rightOn []string
	lOut, rOut      []string // output names of left and right columns
	out             []field
	pos             syntax.Position // the merge call, for execution errors
}

func (m *mergeNode) fields() []field { return m.out }

func newMerge(l, r node, how string, lon, ron []string, suffixes [2]string) (*mergeNode, error) {
	switch how {
	case "inner", "left", "right", "outer":
	default:
		return nil, fmt.Errorf("merge: how must be inner, left, right or outer, not %q", how)
	}
	if len(lon) == 0 || len(lon) != len(ron) {
		return nil, fmt.Errorf("merge: left_on and right_on must name the same number (>0) of columns")
	}
	lf, rf := l.fields(), r.fields()
	for i := range lon {
		li, ri := fieldIndex(lf, lon[i]), fieldIndex(rf, ron[i])
		if li < 0 {
			return nil, unknownColumn(lon[i], lf)
		}
		if ri < 0 {
			return nil, unknownColumn(ron[i], rf)
		}
		if lf[li].t != rf[ri].t {
			return nil, fmt.Errorf("merge: %s is %s but %s is %s", lon[i], lf[li].t, ron[i], rf[ri].t)
		}
	}
	m := &mergeNode{left: l, right: r, how: how, leftOn: lon, rightOn: ron}
	for _, f := range lf {
		name := f.name
		if fieldIndex(rf, name) >= 0 {
			name += suffixes[0]
		}
		m.lOut = append(m.lOut, name)
		m.out = append(m.out, field{name, f.t})
	}
	for _, f := range rf {
		name := f.name
		if fieldIndex(lf, name) >= 0 {
			name += suffixes[1]
		}
		m.rOut = append(m.rOut, name)
		m.out = append(m.out, field{name, f.t})
	}
	seen := map[string]bool{}
	for _, f := range m.out {
		if seen[f.name] {
			return nil, fmt.Errorf("merge: duplicate output column %q (choose other suffixes)", f.name)
		}
		seen[f.name] = true
	}
	return m, nil
}

type appendNode struct {
	a, b node
}

func (a *appendNode) fields() []field { return a.a.fields() }

func unknownColumn(name string, fs []field) error {
	names := fieldNames(fs)
	msg := fmt.Sprintf("column %q not found (columns: %s)", name, strings.Join(names, ", "))
	if n := nearest(name, names); n != "" {
		msg += fmt.Sprintf("; did you mean %q?", n)
	}
	return fmt.Errorf("%s", msg)
}

// nearest returns the candidate closest to s by edit distance, or "" when
// none is close.
func nearest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// prune records in every scan which columns the plan above it reads.
func prune(n node, need map[string]bool) {
	switch x := n.(type) {
	case *scanNode:
		if x.need == nil {
			x.need = map[string]bool{}
		}
		for k := range need {
			x.need[k] = true
		}
	case *filterNode:
		m := copySet(need)
		x.pred.refs(m)
		prune(x.in, m)
	case *mapNode:
		m := copySet(need)
		if m[x.name] {
			x.used = true
			delete(m, x.name)
			x.e.refs(m)
		}
		prune(x.in, m)
	case *projectNode:
		m := map[string]bool{}
		for _, f := range x.out {
			if need[f.name] {
				m[f.name] = true
			}
		}
		prune(x.in, m)
	case *aggNode:
		m := map[string]bool{}
		for _, b := range x.by {
			m[b] = true
		}
		for _, a := range x.aggs {
			m[a.col] = true
		}
		prune(x.in, m)
	case *limitNode:
		prune(x.in, need)
	case *mergeNode:
		prune(x.left, allFields(x.left))
		prune(x.right, allFields(x.right))
	case *appendNode:
		prune(x.a, need)
		prune(x.b, need)
	}
}

func copySet(s map[string]bool) map[string]bool {
	m := make(map[string]bool, len(s)+2)
	for k := range s {
		m[k] = true
	}
	return m
}

func allFields(n node) map[string]bool {
	m := map[string]bool{}
	for _, f := range n.fields() {
		m[f.name] = true
	}
	return m
}

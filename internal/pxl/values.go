package pxl

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// colVal is a column expression in a script.
type colVal struct{ e Expr }

var (
	_ starlark.HasBinary = colVal{}
	_ starlark.HasUnary  = colVal{}
)

func (c colVal) String() string        { return "Column(" + c.e.String() + ")" }
func (c colVal) Type() string          { return "Column" }
func (c colVal) Freeze()               {}
func (c colVal) Truth() starlark.Bool  { return starlark.True }
func (c colVal) Hash() (uint32, error) { return 0, fmt.Errorf("a column is not hashable") }

var arithOps = map[syntax.Token]string{
	syntax.PLUS: "+", syntax.MINUS: "-", syntax.STAR: "*", syntax.SLASH: "/",
	syntax.SLASHSLASH: "//", syntax.PERCENT: "%",
}

func (c colVal) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	o, ok := arithOps[op]
	if !ok {
		return nil, nil
	}
	ye, err := toExpr(y)
	if err != nil {
		return nil, err
	}
	l, r := c.e, ye
	if side == starlark.Right {
		l, r = r, l
	}
	e, err := newBinary(o, l, r)
	if err != nil {
		return nil, err
	}
	return colVal{e}, nil
}

func (c colVal) Unary(op syntax.Token) (starlark.Value, error) {
	switch op {
	case syntax.PLUS:
		return c, nil
	case syntax.MINUS:
		e, err := newUnary("-", c.e)
		if err != nil {
			return nil, err
		}
		return colVal{e}, nil
	}
	return nil, nil
}

// toExpr converts a script value to a column expression.
func toExpr(v starlark.Value) (Expr, error) {
	switch x := v.(type) {
	case colVal:
		return x.e, nil
	case starlark.Int:
		i, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("integer %s out of range", x)
		}
		return &lit{constInt(TypeInt64, i)}, nil
	case starlark.Float:
		return &lit{constFloat(float64(x))}, nil
	case starlark.String:
		return &lit{constString(string(x))}, nil
	case starlark.Bool:
		return &lit{constBool(bool(x))}, nil
	case *dataFrame:
		return nil, fmt.Errorf("a DataFrame cannot be used as a column (select a column with df.name)")
	}
	return nil, fmt.Errorf("cannot use %s in a column expression", v.Type())
}

func isCol(v starlark.Value) bool { _, ok := v.(colVal); return ok }

var cmpTokens = map[string]syntax.Token{
	"==": syntax.EQL, "!=": syntax.NEQ, "<": syntax.LT, "<=": syntax.LE, ">": syntax.GT, ">=": syntax.GE,
	"&": syntax.AMP, "|": syntax.PIPE,
}

// binop implements the rewritten comparison and boolean operators.
func binop(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("internal error: bad operator call")
	}
	op := string(args[0].(starlark.String))
	x, y := args[1], args[2]
	if isCol(x) || isCol(y) {
		xe, err := toExpr(x)
		if err != nil {
			return nil, err
		}
		ye, err := toExpr(y)
		if err != nil {
			return nil, err
		}
		e, err := newBinary(op, xe, ye)
		if err != nil {
			return nil, err
		}
		return colVal{e}, nil
	}
	tok := cmpTokens[op]
	if op == "&" || op == "|" {
		return starlark.Binary(tok, x, y)
	}
	ok, err := starlark.Compare(tok, x, y)
	return starlark.Bool(ok), err
}

func unop(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x := args[1]
	if c, ok := x.(colVal); ok {
		e, err := newUnary("~", c.e)
		if err != nil {
			return nil, err
		}
		return colVal{e}, nil
	}
	return starlark.Unary(syntax.TILDE, x)
}

// dataFrame is a plan under construction. Column assignment replaces its
// node, as in Pixie (a DataFrame is mutable).
type dataFrame struct {
	n node
}

var (
	_ starlark.HasAttrs    = (*dataFrame)(nil)
	_ starlark.HasSetField = (*dataFrame)(nil)
	_ starlark.Mapping     = (*dataFrame)(nil)
	_ starlark.HasSetKey   = (*dataFrame)(nil)
)

func (d *dataFrame) String() string {
	return "DataFrame[" + strings.Join(fieldNames(d.n.fields()), ", ") + "]"
}
func (d *dataFrame) Type() string          { return "DataFrame" }
func (d *dataFrame) Freeze()               {}
func (d *dataFrame) Truth() starlark.Bool  { return starlark.True }
func (d *dataFrame) Hash() (uint32, error) { return 0, fmt.Errorf("a DataFrame is not hashable") }

var dfMethods = map[string]func(d *dataFrame, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error){
	"groupby": (*dataFrame).groupby,
	"agg": func(d *dataFrame, a starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		return d.agg(nil, a, kw)
	},
	"head":   (*dataFrame).head,
	"drop":   (*dataFrame).drop,
	"merge":  (*dataFrame).merge,
	"append": (*dataFrame).appendDF,
}

func (d *dataFrame) Attr(name string) (starlark.Value, error) {
	if m, ok := dfMethods[name]; ok {
		return starlark.NewBuiltin(name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			v, err := m(d, args, kw)
			if r, ok := v.(*dataFrame); ok && err == nil {
				if mn, ok := r.n.(*mergeNode); ok {
					mn.pos = th.CallFrame(1).Pos // execution errors point at the merge
				}
			}
			return v, err
		}), nil
	}
	if name == "ctx" {
		return ctxVal{d}, nil
	}
	return d.column(name)
}

func (d *dataFrame) AttrNames() []string {
	names := fieldNames(d.n.fields())
	for m := range dfMethods {
		names = append(names, m)
	}
	sort.Strings(names)
	return append(names, "ctx")
}

func (d *dataFrame) column(name string) (starlark.Value, error) {
	fs := d.n.fields()
	i := fieldIndex(fs, name)
	if i < 0 {
		return nil, unknownColumn(name, fs)
	}
	return colVal{&colRef{name: name, t: fs[i].t, from: fs}}, nil
}

func (d *dataFrame) SetField(name string, v starlark.Value) error {
	if _, ok := dfMethods[name]; ok || name == "ctx" {
		return fmt.Errorf("cannot assign to column %q: it is a DataFrame method", name)
	}
	e, err := toExpr(v)
	if err != nil {
		return err
	}
	d.n = newMap(d.n, name, e)
	return nil
}

func (d *dataFrame) SetKey(k, v starlark.Value) error {
	s, ok := k.(starlark.String)
	if !ok {
		return fmt.Errorf("a column name must be a string, not %s", k.Type())
	}
	return d.SetField(string(s), v)
}

// Get implements df['col'], df[['a', 'b']] and df[filter].
func (d *dataFrame) Get(k starlark.Value) (starlark.Value, bool, error) {
	switch x := k.(type) {
	case starlark.String:
		v, err := d.column(string(x))
		return v, err == nil, err
	case *starlark.List, starlark.Tuple:
		names, err := stringList(k, "columns")
		if err != nil {
			return nil, false, err
		}
		p, err := newProject(d.n, names)
		if err != nil {
			return nil, false, err
		}
		return &dataFrame{p}, true, nil
	case colVal:
		if x.e.Type() != TypeBool {
			return nil, false, fmt.Errorf("a filter must be BOOLEAN, got %s (%s)", x.e.Type(), x.e)
		}
		return &dataFrame{&filterNode{in: d.n, pred: x.e}}, true, nil
	}
	return nil, false, fmt.Errorf("cannot index a DataFrame with %s", k.Type())
}

// stringList accepts a string or a list/tuple of strings.
func stringList(v starlark.Value, what string) ([]string, error) {
	if s, ok := v.(starlark.String); ok {
		return []string{string(s)}, nil
	}
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s must be a string or a list of strings, not %s", what, v.Type())
	}
	var out []string
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := x.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s must be strings, found %s", what, x.Type())
		}
		out = append(out, string(s))
	}
	return out, nil
}

func (d *dataFrame) groupby(args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var by starlark.Value
	if err := starlark.UnpackArgs("groupby", args, kw, "by", &by); err != nil {
		return nil, err
	}
	names, err := stringList(by, "groupby columns")
	if err != nil {
		return nil, err
	}
	fs := d.n.fields()
	for _, n := range names {
		if fieldIndex(fs, n) < 0 {
			return nil, unknownColumn(n, fs)
		}
	}
	return &grouped{d: d, by: names}, nil
}

func (d *dataFrame) agg(by []string, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("agg takes keyword arguments only: name=('column', px.fn)")
	}
	if len(kw) == 0 && len(by) == 0 {
		return nil, fmt.Errorf("agg needs at least one name=('column', px.fn)")
	}
	fs := d.n.fields()
	a := &aggNode{in: d.n, by: by}
	for _, b := range by {
		a.out = append(a.out, fs[fieldIndex(fs, b)])
	}
	for _, pair := range kw {
		name := string(pair[0].(starlark.String))
		t, ok := pair[1].(starlark.Tuple)
		if !ok || len(t) != 2 {
			return nil, fmt.Errorf("agg %s: want ('column', px.fn), got %s", name, pair[1])
		}
		col, ok1 := t[0].(starlark.String)
		fn, ok2 := t[1].(*aggVal)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("agg %s: want ('column', px.fn), got %s", name, pair[1])
		}
		i := fieldIndex(fs, string(col))
		if i < 0 {
			return nil, unknownColumn(string(col), fs)
		}
		rt, err := fn.f.check(fs[i].t)
		if err != nil {
			return nil, fmt.Errorf("agg %s: px.%s %w", name, fn.f.name, err)
		}
		if fieldIndex(a.out, name) >= 0 {
			return nil, fmt.Errorf("agg: duplicate output column %q", name)
		}
		a.aggs = append(a.aggs, aggSpec{name: name, col: string(col), fn: fn.f, t: rt})
		a.out = append(a.out, field{name, rt})
	}
	return &dataFrame{a}, nil
}

func (d *dataFrame) head(args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	n := 5
	if err := starlark.UnpackArgs("head", args, kw, "n?", &n); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("head: n must not be negative")
	}
	return &dataFrame{&limitNode{in: d.n, n: n}}, nil
}

func (d *dataFrame) drop(args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var cols starlark.Value
	if err := starlark.UnpackArgs("drop", args, kw, "columns", &cols); err != nil {
		return nil, err
	}
	names, err := stringList(cols, "drop columns")
	if err != nil {
		return nil, err
	}
	fs := d.n.fields()
	var keep []string
	for _, n := range names {
		if fieldIndex(fs, n) < 0 {
			return nil, unknownColumn(n, fs)
		}
	}
	for _, f := range fs {
		if !slices.Contains(names, f.name) {
			keep = append(keep, f.name)
		}
	}
	p, err := newProject(d.n, keep)
	if err != nil {
		return nil, err
	}
	return &dataFrame{p}, nil
}

func (d *dataFrame) merge(args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var right *dataFrame
	how := "inner"
	var lon, ron, suf starlark.Value
	if err := starlark.UnpackArgs("merge", args, kw, "right", &right, "how?", &how, "left_on", &lon, "right_on", &ron, "suffixes?", &suf); err != nil {
		return nil, err
	}
	l, err := stringList(lon, "left_on")
	if err != nil {
		return nil, err
	}
	r, err := stringList(ron, "right_on")
	if err != nil {
		return nil, err
	}
	sx := [2]string{"_x", "_y"}
	if suf != nil {
		s, err := stringList(suf, "suffixes")
		if err != nil || len(s) != 2 {
			return nil, fmt.Errorf("merge: suffixes must be two strings")
		}
		sx = [2]string{s[0], s[1]}
	}
	m, err := newMerge(d.n, right.n, how, l, r, sx)
	if err != nil {
		return nil, err
	}
	return &dataFrame{m}, nil
}

func (d *dataFrame) appendDF(args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var objs starlark.Value
	if err := starlark.UnpackArgs("append", args, kw, "objs", &objs); err != nil {
		return nil, err
	}
	var others []*dataFrame
	switch x := objs.(type) {
	case *dataFrame:
		others = []*dataFrame{x}
	case *starlark.List:
		for i := range x.Len() {
			o, ok := x.Index(i).(*dataFrame)
			if !ok {
				return nil, fmt.Errorf("append: want DataFrames, got %s", x.Index(i).Type())
			}
			others = append(others, o)
		}
	default:
		return nil, fmt.Errorf("append: want a DataFrame or a list of them, got %s", objs.Type())
	}
	n := d.n
	for _, o := range others {
		a, b := fieldNames(n.fields()), fieldNames(o.n.fields())
		if !slices.Equal(a, b) {
			return nil, fmt.Errorf("append: columns differ: [%s] vs [%s]", strings.Join(a, ", "), strings.Join(b, ", "))
		}
		for i, f := range n.fields() {
			if o.n.fields()[i].t != f.t {
				return nil, fmt.Errorf("append: column %s is %s and %s", f.name, f.t, o.n.fields()[i].t)
			}
		}
		n = &appendNode{a: n, b: o.n}
	}
	return &dataFrame{n}, nil
}

// grouped is the result of groupby, waiting for agg.
type grouped struct {
	d  *dataFrame
	by []string
}

func (g *grouped) String() string        { return "GroupBy(" + strings.Join(g.by, ", ") + ")" }
func (g *grouped) Type() string          { return "GroupBy" }
func (g *grouped) Freeze()               {}
func (g *grouped) Truth() starlark.Bool  { return starlark.True }
func (g *grouped) Hash() (uint32, error) { return 0, fmt.Errorf("not hashable") }
func (g *grouped) AttrNames() []string   { return []string{"agg"} }
func (g *grouped) Attr(name string) (starlark.Value, error) {
	if name != "agg" {
		return nil, fmt.Errorf("a grouped DataFrame has only .agg(), not .%s", name)
	}
	return starlark.NewBuiltin("agg", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		return g.d.agg(g.by, args, kw)
	}), nil
}

// ctxVal is df.ctx: metadata columns by Pixie's context keys.
type ctxVal struct{ d *dataFrame }

func (c ctxVal) String() string        { return "ctx" }
func (c ctxVal) Type() string          { return "ctx" }
func (c ctxVal) Freeze()               {}
func (c ctxVal) Truth() starlark.Bool  { return starlark.True }
func (c ctxVal) Hash() (uint32, error) { return 0, fmt.Errorf("not hashable") }

// ctxColumns maps Pixie's ctx keys to the columns that hold them.
var ctxColumns = map[string][]string{
	"pod": {"pod"}, "pod_name": {"pod"}, "service": {"service"}, "service_name": {"service"},
	"namespace": {"namespace"}, "container": {"container_id"}, "container_id": {"container_id"},
	"pid": {"pid"}, "cmd": {"exe"}, "cmdline": {"exe"}, "node": {"node"}, "node_name": {"node"},
}

func (c ctxVal) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := k.(starlark.String)
	if !ok {
		return nil, false, fmt.Errorf("ctx keys are strings")
	}
	cols, ok := ctxColumns[string(s)]
	if !ok {
		keys := make([]string, 0, len(ctxColumns))
		for k := range ctxColumns {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, false, fmt.Errorf("unknown ctx key %q (known: %s)", string(s), strings.Join(keys, ", "))
	}
	fs := c.d.n.fields()
	for _, col := range cols {
		if e := ctxExpr(fs, col); e != nil { // k8sctx.go: namespace/name, resource attributes, node
			return colVal{e}, true, nil
		}
	}
	// Not known for this table (yet): an empty string per row.
	if string(s) == "pid" {
		return colVal{&lit{constInt(TypeInt64, 0)}}, true, nil
	}
	return colVal{&lit{constString("")}}, true, nil
}

// aggVal is an aggregate function value (px.count, px.mean, …).
type aggVal struct{ f *aggFunc }

func (a *aggVal) String() string        { return "px." + a.f.name }
func (a *aggVal) Type() string          { return "AggregateFunction" }
func (a *aggVal) Freeze()               {}
func (a *aggVal) Truth() starlark.Bool  { return starlark.True }
func (a *aggVal) Hash() (uint32, error) { return 0, fmt.Errorf("not hashable") }

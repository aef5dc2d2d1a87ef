package pxl

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// pxModule is the `px` value of a script.
type pxModule struct {
	members map[string]starlark.Value
}

func (m *pxModule) String() string        { return "<module px>" }
func (m *pxModule) Type() string          { return "module" }
func (m *pxModule) Freeze()               {}
func (m *pxModule) Truth() starlark.Bool  { return starlark.True }
func (m *pxModule) Hash() (uint32, error) { return 0, fmt.Errorf("not hashable") }
func (m *pxModule) AttrNames() []string {
	names := make([]string, 0, len(m.members))
	for k := range m.members {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (m *pxModule) Attr(name string) (starlark.Value, error) {
	if v, ok := m.members[name]; ok {
		return v, nil
	}
	msg := fmt.Sprintf("px.%s is not a PxL function", name)
	if n := nearest(name, m.AttrNames()); n != "" {
		msg += fmt.Sprintf("; did you mean px.%s?", n)
	}
	return nil, fmt.Errorf("%s", msg)
}

// Functions lists the px members with a one-line description each, for
// documentation and `pxl functions`.
func Functions() map[string]string {
	out := map[string]string{
		"DataFrame":      "DataFrame(table, select=[cols], start_time='-5m', end_time=None): scan a table",
		"display":        "display(df, name='output'): output a DataFrame as a table",
		"debug":          "debug(df, name='debug'): like display",
		"now":            "now(): the current time in ns since the epoch",
		"DurationNanos":  "DurationNanos(n): n nanoseconds",
		"parse_duration": "parse_duration('5m'): a duration in ns (units ns us ms s m h d)",
		"parse_time":     "parse_time('-5m' | RFC 3339): a time in ns since the epoch",
		"nanoseconds":    "nanoseconds(n)", "microseconds": "microseconds(n): n µs in ns",
		"milliseconds": "milliseconds(n): n ms in ns", "seconds": "seconds(n): n s in ns",
		"minutes": "minutes(n): n min in ns", "hours": "hours(n): n h in ns",
	}
	for n, f := range scalarFuncs {
		out[n] = f.doc
	}
	for n, col := range upidFuncs {
		out[n] = n + "(df.upid): the row's " + col + " column (\"\" when the table has none)"
	}
	for n, f := range aggFuncs {
		out[n] = "aggregate: " + f.doc
	}
	return out
}

// upidFuncs map Pixie's upid_to_* functions to the column holding the answer.
var upidFuncs = map[string]string{
	"upid_to_pod_name":       "pod",
	"upid_to_service_name":   "service",
	"upid_to_namespace":      "namespace",
	"upid_to_container_id":   "container_id",
	"upid_to_cmdline":        "exe",
	"upid_to_node_name":      "node",
	"upid_to_container_name": "container_name",
}

// parseDuration reads Go durations plus a day unit ("1d", "-5m").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (want e.g. -5m, 30s, 1h, 1d)", s)
	}
	return d, nil
}

// timeArg reads start_time/end_time: a relative duration string ('-5m'),
// an RFC 3339 time, an int (ns since epoch; <= 0 means relative to now).
func timeArg(v starlark.Value, now time.Time) (int64, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return 0, nil
	case starlark.String:
		s := string(x)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UnixNano(), nil
		}
		d, err := parseDuration(s)
		if err != nil {
			return 0, err
		}
		return now.Add(d).UnixNano(), nil
	case starlark.Int:
		i, ok := x.Int64()
		if !ok {
			return 0, fmt.Errorf("time %s out of range", x)
		}
		if i <= 0 {
			return now.UnixNano() + i, nil
		}
		return i, nil
	}
	return 0, fmt.Errorf("a time must be a string like '-5m' or ns since the epoch, not %s", v.Type())
}

func (e *Engine) pxModule(c *compiled) *pxModule {
	m := &pxModule{members: map[string]starlark.Value{}}
	now := e.opts.Now()
	builtin := func(name string, f func(th *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error)) {
		m.members[name] = starlark.NewBuiltin("px."+name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			return f(th, args, kw)
		})
	}
	builtin("DataFrame", func(_ *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		var table string
		var sel, start, end starlark.Value = starlark.None, starlark.None, starlark.None
		if err := starlark.UnpackArgs("DataFrame", args, kw, "table", &table, "select?", &sel, "start_time?", &start, "end_time?", &end); err != nil {
			return nil, err
		}
		t := e.store.Table(table)
		if t == nil {
			var names []string
			for _, t := range e.store.Tables() {
				names = append(names, t.Name())
			}
			msg := fmt.Sprintf("table %q not found (tables: %s)", table, strings.Join(names, ", "))
			if n := nearest(table, names); n != "" {
				msg += fmt.Sprintf("; did you mean %q?", n)
			}
			return nil, fmt.Errorf("%s", msg)
		}
		s := &scanNode{table: table}
		for i, col := range t.Schema().Columns() {
			s.out = append(s.out, field{col.Name, storeType(t.Schema().Column(i).Type)})
		}
		if sel != starlark.None {
			names, err := stringList(sel, "select")
			if err != nil {
				return nil, err
			}
			var out []field
			for _, n := range names {
				i := fieldIndex(s.out, n)
				if i < 0 {
					return nil, unknownColumn(n, s.out)
				}
				out = append(out, s.out[i])
			}
			s.out = out
		}
		var err error
		if s.start, err = timeArg(start, now); err != nil {
			return nil, fmt.Errorf("start_time: %w", err)
		}
		if s.end, err = timeArg(end, now); err != nil {
			return nil, fmt.Errorf("end_time: %w", err)
		}
		return &dataFrame{e.redacted(s)}, nil
	})
	displayFn := func(def string) func(*starlark.Thread, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return func(th *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var df *dataFrame
			name := def
			if err := starlark.UnpackArgs("display", args, kw, "out", &df, "name?", &name); err != nil {
				return nil, err
			}
			if len(c.displays) >= DefaultMaxTables {
				return nil, fmt.Errorf("too many displayed tables (max %d)", DefaultMaxTables)
			}
			c.displays = append(c.displays, display{name: name, df: &dataFrame{df.n}, pos: th.CallFrame(1).Pos})
			return starlark.None, nil
		}
	}
	builtin("display", displayFn("output"))
	builtin("debug", displayFn("debug"))
	builtin("now", func(_ *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs("now", args, kw); err != nil {
			return nil, err
		}
		return starlark.MakeInt64(now.UnixNano()), nil
	})
	unit := func(name string, d time.Duration) {
		builtin(name, func(_ *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var n starlark.Value
			if err := starlark.UnpackArgs(name, args, kw, "n", &n); err != nil {
				return nil, err
			}
			switch x := n.(type) {
			case starlark.Int:
				i, _ := x.Int64()
				return starlark.MakeInt64(i * int64(d)), nil
			case starlark.Float:
				return starlark.MakeInt64(int64(float64(x) * float64(d))), nil
			case colVal:
				e, err := newBinary("*", x.e, &lit{constInt(TypeInt64, int64(d))})
				if err != nil {
					return nil, err
				}
				return colVal{e}, nil
			}
			return nil, fmt.Errorf("px.%s: want a number, got %s", name, n.Type())
		})
	}
	unit("DurationNanos", time.Nanosecond)
	unit("nanoseconds", time.Nanosecond)
	unit("microseconds", time.Microsecond)
	unit("milliseconds", time.Millisecond)
	unit("seconds", time.Second)
	unit("minutes", time.Minute)
	unit("hours", time.Hour)
	builtin("parse_duration", func(_ *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		var s string
		if err := starlark.UnpackArgs("parse_duration", args, kw, "s", &s); err != nil {
			return nil, err
		}
		d, err := parseDuration(s)
		if err != nil {
			return nil, err
		}
		return starlark.MakeInt64(int64(d)), nil
	})
	builtin("parse_time", func(_ *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		var v starlark.Value
		if err := starlark.UnpackArgs("parse_time", args, kw, "t", &v); err != nil {
			return nil, err
		}
		ns, err := timeArg(v, now)
		if err != nil {
			return nil, err
		}
		return starlark.MakeInt64(ns), nil
	})
	for name, f := range scalarFuncs {
		builtin(name, func(_ *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			if len(kw) > 0 {
				return nil, fmt.Errorf("px.%s takes positional arguments only", name)
			}
			es := make([]Expr, len(args))
			for i, a := range args {
				x, err := toExpr(a)
				if err != nil {
					return nil, fmt.Errorf("px.%s argument %d: %w", name, i+1, err)
				}
				es[i] = x
			}
			e, err := newCall(f, es)
			if err != nil {
				return nil, err
			}
			return colVal{e}, nil
		})
	}
	for name, f := range aggFuncs {
		m.members[name] = &aggVal{f}
	}
	// Metadata by upid: the columns the exporter fills from resource
	// attributes of the same row, or "" where the table has none.
	for name, col := range upidFuncs {
		builtin(name, func(_ *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var v starlark.Value
			if err := starlark.UnpackArgs(name, args, kw, "upid", &v); err != nil {
				return nil, err
			}
			c, ok := v.(colVal)
			if !ok || c.e.Type() != TypeString {
				return nil, fmt.Errorf("px.%s: want the upid column", name)
			}
			if r, ok := c.e.(*colRef); ok {
				if e := ctxExpr(r.from, col); e != nil { // k8sctx.go: as df.ctx[...], namespace/name
					return colVal{e}, nil
				}
			}
			return colVal{&lit{constString("")}}, nil
		})
	}
	return m
}

// storeType maps a store column type to a PxL type.
func storeType(t tablestore.ColumnType) Type {
	switch t {
	case tablestore.TypeTime:
		return TypeTime
	case tablestore.TypeInt64:
		return TypeInt64
	case tablestore.TypeFloat64:
		return TypeFloat64
	case tablestore.TypeBool:
		return TypeBool
	}
	return TypeString
}

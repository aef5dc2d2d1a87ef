package pxl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// Defaults of Options.
const (
	DefaultMaxRows     = 10000
	DefaultTimeout     = 30 * time.Second
	DefaultMaxSteps    = 10_000_000
	DefaultMaxScanRows = 50_000_000
	DefaultMaxGroups   = 1_000_000
	DefaultMaxJoinRows = 10_000_000
	DefaultMaxTables   = 64

	DefaultMaxScriptMemory int64 = 256 << 20
	DefaultMaxMemory       int64 = 1 << 30
)

// Options bound a query. Zero values mean the defaults.
type Options struct {
	// MaxRows is the maximum number of rows of each output table (Pixie's
	// max_output_rows_per_table); extra rows are cut and Truncated is set.
	MaxRows int
	// Timeout bounds the whole query (compile and execution).
	Timeout time.Duration
	// MaxSteps bounds the Starlark interpreter (loops in the script).
	MaxSteps uint64
	// MaxScanRows bounds the rows a single scan reads.
	MaxScanRows int64
	// MaxGroups bounds the groups of one group-by.
	MaxGroups int
	// MaxJoinRows bounds the rows of one merge.
	MaxJoinRows int
	// MaxScriptMemory bounds what the script's own values (lists, strings,
	// dicts built by +, *, %, list(), …) may allocate, in bytes (default
	// 256 MiB).
	MaxScriptMemory int64
	// MaxMemory bounds the estimated size of the result of one merge (rows
	// times columns), in bytes (default 1 GiB).
	MaxMemory int64
	// ScanWorkers is the number of goroutines that decode a scan's batches
	// ahead of the operators (default 1: a query takes one core; the
	// results do not depend on it).
	ScanWorkers int
	// Now is the clock for relative times (default time.Now).
	Now func() time.Time
	// Redact, when set, names the columns a script may not see (the
	// table_store extension's restricted access mode): px.DataFrame reads
	// them as "REDACTED", so no filter, function or output reaches the
	// stored value.
	Redact func(table, column string) bool
}

func (o Options) withDefaults() Options {
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.MaxScanRows <= 0 {
		o.MaxScanRows = DefaultMaxScanRows
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	if o.MaxJoinRows <= 0 {
		o.MaxJoinRows = DefaultMaxJoinRows
	}
	if o.MaxScriptMemory <= 0 {
		o.MaxScriptMemory = DefaultMaxScriptMemory
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ScanWorkers <= 0 {
		o.ScanWorkers = 1
	}
	return o
}

// Query is one script run.
type Query struct {
	// Script is the PxL source; Filename names it in errors.
	Script   string
	Filename string
	// Name is a bundled script ("px/http_data") run when Script is empty.
	Name string
	// Func, when set, names a function of the script to call with Args as
	// keyword arguments; each DataFrame it returns is displayed under the
	// function's name (this is how Pixie's vis specs run scripts). When
	// Func is empty and the script displays nothing at top level, its
	// `main` function is called, and its output is named after the script.
	Func string
	Args map[string]any
}

// Error is a query error with the script position that caused it
// (Line and Col are 0 when no position applies).
type Error struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"column,omitempty"`
	Msg  string `json:"message"`
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return e.Msg
}

// Result holds the displayed tables in display order.
type Result struct {
	Tables []*Table `json:"tables"`
}

// Table is one displayed DataFrame.
type Table struct {
	Name      string       `json:"name"`
	Columns   []ColumnDesc `json:"columns"`
	Rows      [][]any      `json:"rows"`
	Truncated bool         `json:"truncated,omitempty"`

	vecs  []*vec // columnar data for WriteArrow (nil: column absent)
	types []Type
}

// ColumnDesc names and types an output column.
type ColumnDesc struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Engine runs PxL queries against a store.
type Engine struct {
	store *tablestore.Store
	opts  Options
	bufs  *tablestore.BufferPool // scan buffers, reused across batches and queries
}

// New returns an engine over store.
func New(store *tablestore.Store, opts Options) *Engine {
	return &Engine{store: store, opts: opts.withDefaults(), bufs: tablestore.NewBufferPool()}
}

// display is one px.display call.
type display struct {
	name string
	df   *dataFrame
	pos  syntax.Position
}

// compiled is a script turned into plans.
type compiled struct {
	displays []display
}

// Run compiles and executes q. Errors are *Error.
func (e *Engine) Run(ctx context.Context, q Query) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	c, err := e.compile(ctx, q)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, d := range c.displays {
		prune(d.df.n, allFields(d.df.n))
	}
	x := &executor{ctx: ctx, store: e.store, opts: &e.opts, bufs: e.bufs}
	for _, d := range c.displays {
		f, err := x.run(d.df.n)
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("query stopped: %w", context.Cause(ctx))
			}
			pos := d.pos
			var pe *posError
			if errors.As(err, &pe) && pe.pos.Line > 0 {
				pos = pe.pos
			}
			return nil, &Error{File: pos.Filename(), Line: int(pos.Line), Col: int(pos.Col), Msg: err.Error()}
		}
		res.Tables = append(res.Tables, e.table(d, f))
	}
	return res, nil
}

func (e *Engine) table(d display, f *frame) *Table {
	t := &Table{Name: d.name, Rows: [][]any{}}
	fs := d.df.n.fields()
	cols := make([]*vec, len(fs))
	for i, fd := range fs {
		t.Columns = append(t.Columns, ColumnDesc{Name: fd.name, Type: fd.t.String()})
		cols[i] = f.col(fd.name)
	}
	t.vecs = cols
	for _, fd := range fs {
		t.types = append(t.types, fd.t)
	}
	n := f.n
	if n > e.opts.MaxRows {
		n, t.Truncated = e.opts.MaxRows, true
	}
	for r := range n {
		row := make([]any, len(cols))
		for i, c := range cols {
			if c != nil {
				row[i] = c.value(r)
				if v, ok := row[i].(float64); ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
					row[i] = nil // not representable in JSON
				}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Check compiles q without executing it (syntax, names, types).
func (e *Engine) Check(ctx context.Context, q Query) error {
	_, err := e.compile(ctx, q)
	return err
}

// Bounds of a script's source.
const (
	MaxScriptBytes = 1 << 20
	maxNesting     = 100
)

// parse reads a script into a rewritten syntax tree.
func parse(filename, script string) (*syntax.File, error) {
	if len(script) > MaxScriptBytes {
		return nil, &Error{Msg: fmt.Sprintf("the script has %d bytes (max %d)", len(script), MaxScriptBytes)}
	}
	src, depth := preprocessDepth([]byte(script))
	if depth > maxNesting {
		return nil, &Error{Msg: fmt.Sprintf("brackets nest %d deep (max %d)", depth, maxNesting)}
	}
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}
	f, err := opts.Parse(filename, src, 0)
	if err != nil {
		return nil, toError(err)
	}
	rewriteFile(f)
	return f, nil
}

func (e *Engine) compile(ctx context.Context, q Query) (*compiled, error) {
	if q.Script == "" && q.Name != "" {
		src, ok := Script(q.Name)
		if !ok {
			var names []string
			for _, s := range Scripts() {
				names = append(names, s.Name)
			}
			msg := fmt.Sprintf("no bundled script %q (scripts: %s)", q.Name, strings.Join(names, ", "))
			if n := nearest(q.Name, names); n != "" {
				msg += fmt.Sprintf("; did you mean %q?", n)
			}
			return nil, &Error{Msg: msg}
		}
		q.Script, q.Filename = src, strings.TrimSuffix(q.Name, ".pxl")+".pxl"
	}
	name := q.Filename
	if name == "" {
		name = "script.pxl"
	}
	f, err := parse(name, q.Script)
	if err != nil {
		return nil, err
	}
	c := &compiled{}
	px := e.pxModule(c)
	predeclared := checkedBuiltins()
	predeclared["px"] = px
	predeclared[binopName] = starlark.NewBuiltin(binopName, binop)
	predeclared[unopName] = starlark.NewBuiltin(unopName, unop)
	predeclared[sizeOpName] = starlark.NewBuiltin(sizeOpName, sizeOp)
	predeclared[sizeGrowName] = starlark.NewBuiltin(sizeGrowName, sizeGrow)
	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		return nil, toError(err)
	}
	th := &starlark.Thread{Name: "pxl"}
	th.SetMaxExecutionSteps(e.opts.MaxSteps)
	th.SetLocal(memLocal, &memBudget{limit: e.opts.MaxScriptMemory})
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			th.Cancel("query cancelled or timed out")
		case <-done:
		}
	}()
	globals, err := prog.Init(th, predeclared)
	if err != nil {
		return nil, toError(err)
	}
	outName := q.Func
	if q.Func == "" && len(c.displays) == 0 {
		if _, ok := globals["main"].(starlark.Callable); ok {
			q.Func = "main"
			outName = strings.TrimSuffix(path.Base(name), ".pxl")
			if q.Filename == "" {
				outName = "output"
			}
		}
	}
	if q.Func == "" && len(q.Args) > 0 {
		return nil, &Error{Msg: "arguments given, but the script has no main function (name one with func)"}
	}
	if q.Func != "" {
		fn, ok := globals[q.Func].(starlark.Callable)
		if !ok {
			names := globals.Keys()
			msg := fmt.Sprintf("the script defines no function %q", q.Func)
			if n := nearest(q.Func, names); n != "" {
				msg += fmt.Sprintf("; did you mean %q?", n)
			}
			return nil, &Error{Msg: msg}
		}
		var kw []starlark.Tuple
		keys := make([]string, 0, len(q.Args))
		for k := range q.Args {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, err := argValue(q.Args[k])
			if err != nil {
				return nil, &Error{Msg: fmt.Sprintf("argument %s: %v", k, err)}
			}
			kw = append(kw, starlark.Tuple{starlark.String(k), v})
		}
		out, err := starlark.Call(th, fn, nil, kw)
		if err != nil {
			return nil, toError(err)
		}
		var dfs []*dataFrame
		switch x := out.(type) {
		case *dataFrame:
			dfs = []*dataFrame{x}
		case starlark.Tuple:
			for _, v := range x {
				if d, ok := v.(*dataFrame); ok {
					dfs = append(dfs, d)
				}
			}
		}
		for i, d := range dfs {
			n := outName
			if len(dfs) > 1 {
				n += "_" + strconv.Itoa(i)
			}
			c.displays = append(c.displays, display{name: n, df: d})
		}
	}
	if len(c.displays) == 0 {
		return nil, &Error{Msg: "the script displays nothing: call px.display(df, 'name')"}
	}
	return c, nil
}

// argValue converts a JSON argument to a Starlark value.
func argValue(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case string:
		return starlark.String(x), nil
	case bool:
		return starlark.Bool(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return starlark.MakeInt64(int64(x)), nil
		}
		return starlark.Float(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case nil:
		return starlark.None, nil
	}
	return nil, fmt.Errorf("unsupported argument type %T", v)
}

// toError converts parser, resolver and evaluation errors into *Error.
func toError(err error) error {
	var se syntax.Error
	if errors.As(err, &se) {
		return &Error{File: se.Pos.Filename(), Line: int(se.Pos.Line), Col: int(se.Pos.Col), Msg: se.Msg}
	}
	var re resolve.ErrorList
	if errors.As(err, &re) && len(re) > 0 {
		return &Error{File: re[0].Pos.Filename(), Line: int(re[0].Pos.Line), Col: int(re[0].Pos.Col), Msg: re[0].Msg}
	}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		out := &Error{Msg: ee.Msg}
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			if p := ee.CallStack[i].Pos; p.Line > 0 {
				out.File, out.Line, out.Col = p.Filename(), int(p.Line), int(p.Col)
				break
			}
		}
		// Builtins prefix their name; the rewritten operators should not show.
		for _, pre := range []string{binopName + ": ", unopName + ": ", sizeOpName + ": ", sizeGrowName + ": "} {
			out.Msg = strings.TrimPrefix(out.Msg, pre)
		}
		return out
	}
	return &Error{Msg: err.Error()}
}

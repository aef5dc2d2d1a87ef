package pxl

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"
)

// compileOnly returns the displayed plans of a script.
func compileOnly(t *testing.T, script string) []display {
	t.Helper()
	e := New(fixture(t), Options{Now: func() time.Time { return testNow }})
	c, err := e.compile(context.Background(), Query{Script: script})
	require.NoError(t, err)
	return c.displays
}

func TestPruneReadsOnlyUsedColumns(t *testing.T) {
	ds := compileOnly(t, `
import px
df = px.DataFrame('http_events', start_time='-5m')
df.unused = df.req_body + 'x'
df.ms = df.latency / 1.0E6
df = df[df.resp_status >= 500]
df = df.groupby('service').agg(m=('ms', px.mean))
px.display(df)
`)
	root := ds[0].df.n
	prune(root, allFields(root))
	var scan *scanNode
	var maps []*mapNode
	for n := root; n != nil; {
		switch x := n.(type) {
		case *aggNode:
			n = x.in
		case *filterNode:
			n = x.in
		case *mapNode:
			maps = append(maps, x)
			n = x.in
		case *scanNode:
			scan, n = x, nil
		}
	}
	require.NotNil(t, scan)
	assert.Equal(t, map[string]bool{"latency": true, "resp_status": true, "service": true}, scan.need)
	require.Len(t, maps, 2)
	assert.True(t, maps[0].used, "ms is used")
	assert.False(t, maps[1].used, "unused is skipped")
}

func TestTimeBounds(t *testing.T) {
	tc := &colRef{name: "time_", t: TypeTime}
	k := func(v int64) Expr { return &lit{constInt(TypeInt64, v)} }
	ge, _ := newBinary(">=", tc, k(100))
	lt, _ := newBinary("<", k(200), tc) // time_ > 200
	lo, hi := timeBounds(ge)
	assert.Equal(t, [2]int64{100, 0}, [2]int64{lo, hi})
	le, _ := newBinary("<=", tc, k(300))
	and, _ := newBinary("&", ge, le)
	lo, hi = timeBounds(and)
	assert.Equal(t, [2]int64{100, 301}, [2]int64{lo, hi})
	lo, hi = timeBounds(lt)
	assert.Equal(t, [2]int64{201, 0}, [2]int64{lo, hi})
	or, _ := newBinary("|", ge, le)
	lo, hi = timeBounds(or)
	assert.Equal(t, [2]int64{0, 0}, [2]int64{lo, hi})

	s := fixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events')
df = df[(df.time_ >= px.now() - px.seconds(60)) & (df.resp_status == 200)]
px.display(df.agg(n=('latency', px.count)))
`)
	assert.Equal(t, [][]any{{int64(2)}}, res.Tables[0].Rows)
}

func TestStarlarkFallbacks(t *testing.T) {
	v, err := binop(nil, nil, starlark.Tuple{starlark.String("|"), starlark.MakeInt(1), starlark.MakeInt(4)}, nil)
	require.NoError(t, err)
	assert.Equal(t, starlark.MakeInt(5), v)
	v, err = unop(nil, nil, starlark.Tuple{starlark.String("~"), starlark.MakeInt(0)}, nil)
	require.NoError(t, err)
	assert.Equal(t, starlark.MakeInt(-1), v)
}

package pxl

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScalarFunctions(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events', start_time='-5m', select=['time_', 'service', 'req_path', 'resp_status', 'req_headers', 'latency'])
df = df[df.service == 'users']
df = df.head(1)
df.has = px.contains(df.req_path, 'users')
df.pos = px.find(df.req_path, '/1')
df.sub = px.substring(df.req_path, 1, 5)
df.len = px.length(df.req_path)
df.up = px.toupper(df.service)
df.low = px.tolower('ABC')
df.trimmed = px.trim('  x ')
df.host = px.pluck(df.req_headers, 'Host')
df.id = px.pluck_int64(df.req_headers, 'X-Id')
df.idf = px.pluck_float64(df.req_headers, 'X-Id')
df.sel = px.select(df.resp_status >= 400, 'bad', 'good')
df.bucket = px.bin(df.time_, px.seconds(60))
df.lat_ms = px.DurationNanos(df.latency) / 1.0E6
df.neg = -df.resp_status
df.mod = df.resp_status % 7
df.fdiv = 7 // 2 + df.resp_status // 3
df.cat = df.service + '!'
df.pd = px.parse_duration('1m30s')
df.pid = px.upid_to_pid('1234:99')
df = df.drop(['time_', 'req_headers', 'latency', 'req_path', 'resp_status'])
px.display(df)
`)
	tb := res.Tables[0]
	assert.Equal(t, []string{"service", "has", "pos", "sub", "len", "up", "low", "trimmed", "host", "id", "idf", "sel", "bucket",
		"lat_ms", "neg", "mod", "fdiv", "cat", "pd", "pid"}, colNames(tb))
	bucket := testNow.Add(-200 * time.Second).Truncate(time.Minute).Format(time.RFC3339Nano)
	assert.Equal(t, [][]any{{"users", true, int64(6), "users", int64(8), "USERS", "abc", "x", "users.local", int64(7), 7.0, "good",
		bucket, 5.0, int64(-200), int64(4), int64(69), "users!", int64(90 * time.Second), int64(1234)}}, tb.Rows)
	assert.Equal(t, "TIME64NS", tb.Columns[12].Type)
}

func TestQuantilesAndPluck(t *testing.T) {
	s := newTestStore(t)
	var rows []httpRow
	for i := 1; i <= 100; i++ {
		rows = append(rows, httpRow{ago: time.Duration(101-i) * time.Second, service: "a", path: "/", status: 200, latency: int64(i) * 1000})
	}
	appendHTTP(t, s, rows)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events', start_time='-10m')
df = df.agg(q=('latency', px.quantiles))
df.p50 = px.pluck_float64(df.q, 'p50')
df.p99 = px.pluck_float64(df.q, 'p99')
px.display(df)
`)
	row := res.Tables[0].Rows[0]
	assert.InEpsilon(t, 50_000.0, row[1], 0.02)
	assert.InEpsilon(t, 99_000.0, row[2], 0.02)
	assert.Contains(t, row[0], `"p01":`)
	assert.Contains(t, row[0], `"p90":`)
}

func TestMergeAppendCtx(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events', start_time='-5m')
req = df.groupby('service').agg(n=('latency', px.count))
err = df[df.resp_status >= 500].groupby('service').agg(n=('latency', px.count))
j = req.merge(err, how='left', left_on='service', right_on=['service'], suffixes=['', '_err'])
px.display(j, 'joined')
inner = req.merge(err, how='inner', left_on='service', right_on='service')
px.display(inner[['service_x', 'n_y']], 'inner')
both = req.append(err)
px.display(both, 'appended')
df.svc = df.ctx['service']
df.pod = df.ctx['pod']
px.display(df[['svc', 'pod']].head(1), 'ctx')
`)
	require.Len(t, res.Tables, 4)
	assert.Equal(t, []string{"service", "n", "service_err", "n_err"}, colNames(res.Tables[0]))
	assert.Equal(t, [][]any{
		{"cart", int64(4), "cart", int64(2)},
		{"users", int64(3), "", int64(0)},
		{"front", int64(4), "front", int64(1)},
	}, res.Tables[0].Rows)
	assert.Equal(t, [][]any{{"cart", int64(2)}, {"front", int64(1)}}, res.Tables[1].Rows)
	assert.Len(t, res.Tables[2].Rows, 5)
	assert.Equal(t, [][]any{{"cart", ""}}, res.Tables[3].Rows)
}

func TestFuncAndArgs(t *testing.T) {
	s := fixture(t)
	e := New(s, Options{Now: func() time.Time { return testNow }})
	res, err := e.Run(context.Background(), Query{Script: `
import px
def slow(start_time: str, min_ms: int):
    df = px.DataFrame(table='http_events', start_time=start_time)
    df = df[df.latency >= px.milliseconds(min_ms)]
    return df[['req_path', 'latency']]
`, Func: "slow", Args: map[string]any{"start_time": "-5m", "min_ms": float64(400)}})
	require.NoError(t, err)
	assert.Equal(t, "slow", res.Tables[0].Name)
	assert.Equal(t, [][]any{{"/cart", int64(400_000_000)}, {"/", int64(1_000_000_000)}}, res.Tables[0].Rows)
}

func TestTimeRange(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px
all = px.DataFrame('http_events', start_time='-1h')
px.display(all.agg(n=('latency', px.count)), 'all')
w = px.DataFrame('http_events', start_time='-5m', end_time='-2m')
px.display(w.agg(n=('latency', px.count)), 'window')
t = px.DataFrame('http_events', start_time=px.now() - px.minutes(1))
px.display(t.agg(n=('latency', px.count)), 'last_minute')
`)
	assert.Equal(t, [][]any{{int64(12)}}, res.Tables[0].Rows)
	assert.Equal(t, [][]any{{int64(7)}}, res.Tables[1].Rows)
	assert.Equal(t, [][]any{{int64(3)}}, res.Tables[2].Rows)
}

func TestLimits(t *testing.T) {
	s := fixture(t)
	e := New(s, Options{Now: func() time.Time { return testNow }, MaxRows: 2, MaxSteps: 100_000, Timeout: 2 * time.Second})
	res, err := e.Run(context.Background(), Query{Script: "import px\npx.display(px.DataFrame('http_events').head(1000000))\n"})
	require.NoError(t, err)
	assert.Len(t, res.Tables[0].Rows, 2)
	assert.True(t, res.Tables[0].Truncated)

	_, err = e.Run(context.Background(), Query{Script: "x = 0\nwhile True:\n    x += 1\n"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "too many steps")

	_, err = e.Run(context.Background(), Query{Script: "def f(n):\n    return f(n + 1)\nf(0)\n"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "called recursively")

	e2 := New(s, Options{Now: func() time.Time { return testNow }, MaxGroups: 2})
	_, err = e2.Run(context.Background(), Query{Script: "import px\ndf = px.DataFrame('http_events')\npx.display(df.groupby('req_path').agg(n=('latency', px.count)))\n"})
	require.Error(t, err)
	var pe *Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 3, pe.Line)
	assert.Contains(t, pe.Msg, "more than 2 groups")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.Run(ctx, Query{Script: "x = 0\nwhile True:\n    x += 1\n"})
	require.Error(t, err)
}

func TestSQLURIAndMetadataFunctions(t *testing.T) {
	assert.JSONEq(t, `{"query":"SELECT * FROM t WHERE id = $1 AND name = $2 AND x1 IN ($3, -$4)","params":["42","o'k","1.5","2"],"error":""}`,
		normalizeSQL("SELECT * FROM t WHERE id = 42 AND name = 'o''k' AND x1 IN (1.5, -2)", true))
	assert.JSONEq(t, `{"query":"select a from b where c = ? and d = ?","params":["x\"y","7"],"error":""}`,
		normalizeSQL(`select a from b where c = "x\"y" and d = 7`, false))
	assert.JSONEq(t, `{"scheme":"https","host":"h.io","port":"8443","path":"/a/b","query":"x=1"}`, uriParse("https://h.io:8443/a/b?x=1"))
	for in, want := range map[string]string{
		"/users/42/orders?x=1":                      "/users/*/orders",
		"/items/3f2a9c1e77":                         "/items/*",
		"/u/123e4567-e89b-12d3-a456-426614174000/x": "/u/*/x",
		"/api/v1/health":                            "/api/v1/health",
		"/":                                         "/",
	} {
		assert.Equal(t, want, pathTemplate(in), in)
	}

	s := fixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events', start_time='-5m')
df.svc = px.upid_to_service_name(df.upid)
df.node = px.upid_to_node_name(df.upid)
df.ep = px.path_template(df.req_path)
df.host = px.pluck(px.uri_parse('http://x.io/p'), 'host')
px.display(df[df.service == 'users'][['svc', 'node', 'ep', 'host']].head(1))
`)
	assert.Equal(t, [][]any{{"users", localNodeName(), "/users/*", "x.io"}}, res.Tables[0].Rows) // one store per node: its name
}

func TestMoreScalarFunctions(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events', start_time='-5m')
df = df[df.req_path == '/users/2']
df.a = px.abs(-df.resp_status)
df.c = px.ceil(df.latency / 4000000)
df.f = px.floor(2.5)
df.r = px.round(df.latency / 4000000)
df.i = px.atoi('12', 0) + px.atoi('x', -1)
df.s = px.itoa(df.resp_status)
df.m = px.regex_match('/users/[0-9]+', df.req_path)
df.m2 = px.regex_match('users', df.req_path)
df.rep = px.replace('[0-9]+', df.req_path, 'N')
px.display(df[['a', 'c', 'f', 'r', 'i', 's', 'm', 'm2', 'rep']])
`)
	assert.Equal(t, [][]any{{int64(404), 2.0, 2.0, 2.0, int64(11), "404", true, false, "/users/N"}}, res.Tables[0].Rows)
}

// TestScriptMemoryAndJoinLimits: values too big for the script's memory
// budget and a cross join too big for the query's are clear errors at the
// line and column that build them, not an out-of-memory crash.
func TestScriptMemoryAndJoinLimits(t *testing.T) {
	s := fixture(t)
	e := New(s, Options{Now: func() time.Time { return testNow }, MaxScriptMemory: 64 << 20, MaxMemory: 4096})
	for _, c := range []struct {
		script    string
		line, col int
		msg       string
	}{
		{"x = [0] * 1000000000\n", 1, 9, "script memory limit"},
		{"x = 'ab' * (1 << 40)\n", 1, 10, "script memory limit"},
		{"x = list(range(1000000000))\n", 1, 9, "list() of 1000000000 elements"},
		{"s = 'abcd'\nfor i in range(64):\n    s = s + s\n", 3, 11, "script memory limit"},
		{"l = [1]\nfor i in range(64):\n    l += l\n", 3, 7, "script memory limit"},
		{"l = []\nfor i in range(100):\n    l.append('x' * 4000000)\n", 3, 18, "script memory limit"},
		{"import px\na = px.DataFrame('http_events')\nb = px.DataFrame('http_events')\nj = a.merge(b, how='inner', left_on=['upid'], right_on=['upid'])\npx.display(j)\n",
			4, 12, "merge would hold more than"},
	} {
		_, err := e.Run(context.Background(), Query{Script: c.script, Filename: "h.pxl"})
		var pe *Error
		require.ErrorAs(t, err, &pe, c.script)
		assert.Equal(t, [2]int{c.line, c.col}, [2]int{pe.Line, pe.Col}, "%s: %v", c.script, err)
		assert.Contains(t, pe.Msg, c.msg, c.script)
	}
	// Ordinary scripts are unaffected.
	res, err := e.Run(context.Background(), Query{Script: "import px\nx = [1, 2] * 3 + [4]\ns = '%s-%d' % ('a', len(x))\nl = [0]\nl += [1]\ndf = px.DataFrame('http_events')\ndf = df[df.req_path == s[:0] + '/cart']\npx.display(df.agg(n=('latency', px.count)))\n"})
	require.NoError(t, err)
	assert.Equal(t, [][]any{{int64(3)}}, res.Tables[0].Rows)
}

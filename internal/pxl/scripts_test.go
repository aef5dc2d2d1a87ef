package pxl

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func checkGolden(t *testing.T, name string, res *Result) {
	t.Helper()
	got, err := json.MarshalIndent(res, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got))
}

// TestHTTPDataGolden runs a Pixie-style script: errors filtered by status,
// grouped by path, with counts and latency quantiles.
func TestHTTPDataGolden(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px

def http_errors(start_time: str, min_status: int):
    df = px.DataFrame(table='http_events', start_time=start_time)
    df = df[(df.resp_status >= min_status) | (df.req_path == '/')]
    df.failure = df.resp_status >= 500
    df = df.groupby('req_path').agg(
        count=('latency', px.count),
        errors=('failure', px.sum),
        latency_quantiles=('latency', px.quantiles),
    )
    df.p50_ms = px.pluck_float64(df.latency_quantiles, 'p50') / 1.0E6
    df.p99_ms = px.pluck_float64(df.latency_quantiles, 'p99') / 1.0E6
    return df

px.display(http_errors('-5m', 500), 'http_errors')
`)
	tb := res.Tables[0]
	assert.Equal(t, []string{"req_path", "count", "errors", "latency_quantiles", "p50_ms", "p99_ms"}, colNames(tb))
	require.Len(t, tb.Rows, 3)
	assert.Equal(t, []any{"/cart/add", int64(1), int64(1)}, tb.Rows[0][:3])
	assert.Equal(t, []any{"/cart", int64(1), int64(1)}, tb.Rows[1][:3])
	assert.Equal(t, []any{"/", int64(3), int64(1)}, tb.Rows[2][:3])
	// Nearest-rank quantiles from a DDSketch with 1% relative accuracy:
	// p50 of {30, 50, 1000} ms is 50 ms, p99 is 1000 ms.
	assert.InEpsilon(t, 300.0, tb.Rows[0][4], 0.01)
	assert.InEpsilon(t, 50.0, tb.Rows[2][4], 0.01)
	assert.InEpsilon(t, 1000.0, tb.Rows[2][5], 0.01)
	checkGolden(t, "http_errors", res)
}

func TestBundledScripts(t *testing.T) {
	s := fixture(t)
	e := New(s, Options{Now: func() time.Time { return testNow }})
	infos := Scripts()
	require.NotEmpty(t, infos)
	for _, info := range infos {
		t.Run(info.Name, func(t *testing.T) {
			assert.NotEmpty(t, info.Doc)
			start := time.Now()
			require.NoError(t, e.Check(context.Background(), Query{Name: info.Name}))
			t.Logf("compile %s: %v", info.Name, time.Since(start))
			res, err := e.Run(context.Background(), Query{Name: info.Name})
			require.NoError(t, err)
			require.Len(t, res.Tables, 1)
			assert.Equal(t, filepath.Base(info.Name), res.Tables[0].Name)
			checkGolden(t, filepath.Base(info.Name), res)
		})
	}
	res, err := e.Run(context.Background(), Query{Name: "px/http_data", Args: map[string]any{"destination_filter": "front", "num_head": 2}})
	require.NoError(t, err)
	assert.Len(t, res.Tables[0].Rows, 2)
	_, err = e.Run(context.Background(), Query{Name: "px/http_dta"})
	require.ErrorContains(t, err, `did you mean "px/http_data"?`)
}

// TestPixieStyleHTTPData runs a script in the shape of Pixie's own
// px/http_data (helper function, metadata lookups, select, projection).
func TestPixieStyleHTTPData(t *testing.T) {
	s := fixture(t)
	e := New(s, Options{Now: func() time.Time { return testNow }})
	res, err := e.Run(context.Background(), Query{Script: `
''' HTTP data: recent requests. '''
import px


def http_data(start_time: str, source_filter: str, destination_filter: str, num_head: int):
    df = px.DataFrame(table='http_events', start_time=start_time)
    df = add_source_dest_columns(df)
    df = df[px.contains(df.source, source_filter)]
    df = df[px.contains(df.destination, destination_filter)]
    df.latency = px.DurationNanos(df.latency)
    df = df[['time_', 'source', 'destination', 'latency', 'major_version', 'req_path', 'req_method',
             'req_headers', 'req_body', 'req_body_size', 'resp_status', 'resp_message',
             'resp_headers', 'resp_body', 'resp_body_size']]
    return df.head(num_head)


def add_source_dest_columns(df):
    df.pod = df.ctx['pod']
    df.namespace = df.ctx['namespace']
    df.ra_pod = px.pod_id_to_pod_name(px.ip_to_pod_id(df.remote_addr))
    df.is_ra_pod = df.ra_pod != ''
    df.ra_name = px.select(df.is_ra_pod, df.ra_pod, df.remote_addr)
    df.is_server_tracing = df.trace_role == 2
    df.source = px.select(df.is_server_tracing, df.ra_name, px.Pod(df.pod))
    df.destination = px.select(df.is_server_tracing, df.pod, df.ra_name)
    return df
`, Func: "http_data", Args: map[string]any{"start_time": "-5m", "source_filter": "10.0", "destination_filter": "", "num_head": 3}})
	require.NoError(t, err)
	tb := res.Tables[0]
	assert.Equal(t, "http_data", tb.Name)
	assert.Len(t, tb.Columns, 15)
	require.Len(t, tb.Rows, 3)
	assert.Equal(t, []any{"10.0.0.1", "", int64(10_000_000)}, tb.Rows[0][1:4])
}

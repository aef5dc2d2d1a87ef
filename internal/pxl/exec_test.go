package pxl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFilterAndProject(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame(table='http_events', start_time='-5m')
df = df[df.resp_status >= 500]
df = df[['service', 'req_path', 'resp_status']]
px.display(df, 'errors')
`)
	require.Len(t, res.Tables, 1)
	tb := res.Tables[0]
	assert.Equal(t, "errors", tb.Name)
	assert.Equal(t, []ColumnDesc{{"service", "STRING"}, {"req_path", "STRING"}, {"resp_status", "INT64"}}, tb.Columns)
	assert.Equal(t, [][]any{
		{"cart", "/cart/add", int64(500)},
		{"cart", "/cart", int64(503)},
		{"front", "/", int64(502)},
	}, tb.Rows)
}

func TestGroupByAgg(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events', start_time='-5m')
df.failure = df.resp_status >= 400
df.latency_ms = df.latency / 1000000
df = df.groupby(['service']).agg(
    n=('latency', px.count),
    errors=('failure', px.sum),
    mean_ms=('latency_ms', px.mean),
    max_ms=('latency_ms', px.max),
    min_lat=('latency', px.min),
    path=('req_path', px.any),
)
px.display(df)
`)
	tb := res.Tables[0]
	assert.Equal(t, "output", tb.Name)
	assert.Equal(t, []string{"service", "n", "errors", "mean_ms", "max_ms", "min_lat", "path"}, colNames(tb))
	require.Len(t, tb.Rows, 3)
	assert.Equal(t, []any{"cart", int64(4), int64(2), 182.5, 400.0, int64(10_000_000), "/cart"}, tb.Rows[0])
	assert.Equal(t, []any{"users", int64(3), int64(1), 6.0, 7.0, int64(5_000_000), "/users/1"}, tb.Rows[1])
	assert.Equal(t, []any{"front", int64(4), int64(1), 270.25, 1000.0, int64(1_000_000), "/"}, tb.Rows[2])
}

func colNames(t *Table) []string {
	var out []string
	for _, c := range t.Columns {
		out = append(out, c.Name)
	}
	return out
}

func TestGlobalAggOfNoRows(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events', start_time='-5m')
df = df[df.resp_status == 418]
px.display(df.agg(n=('latency', px.count), s=('latency', px.sum), m=('latency', px.mean), mx=('latency', px.max), a=('req_path', px.any)), 'global')
px.display(df.groupby('service').agg(n=('latency', px.count)), 'grouped')
`)
	assert.Equal(t, [][]any{{int64(0), int64(0), 0.0, int64(0), ""}}, res.Tables[0].Rows)
	assert.Equal(t, [][]any{}, res.Tables[1].Rows)
}

// TestFilterCmpConstFastPath: a column compared with a constant (read in
// place from Arrow) keeps the same rows as the general path, in both
// orientations and for every operator, on hot and compacted batches.
func TestFilterCmpConstFastPath(t *testing.T) {
	for _, flush := range []bool{false, true} {
		s := fixture(t)
		if flush {
			s.Flush()
		}
		for _, c := range []struct{ fast, general string }{
			{"df.resp_status >= 500", "(df.resp_status >= 500) & (df.resp_status >= 0)"},
			{"df.resp_status > 500", "(df.resp_status > 500) & (df.resp_status >= 0)"},
			{"df.resp_status < 500", "(df.resp_status < 500) & (df.resp_status >= 0)"},
			{"df.resp_status <= 500", "(df.resp_status <= 500) & (df.resp_status >= 0)"},
			{"df.resp_status == 200", "(df.resp_status == 200) & (df.resp_status >= 0)"},
			{"df.resp_status != 200", "(df.resp_status != 200) & (df.resp_status >= 0)"},
			{"500 <= df.resp_status", "(df.resp_status >= 500) & (df.resp_status >= 0)"},
			{"500 > df.resp_status", "(df.resp_status < 500) & (df.resp_status >= 0)"},
			{"200 == df.resp_status", "(df.resp_status == 200) & (df.resp_status >= 0)"},
			{"df.latency > 20000000", "(df.latency > 20000000) & (df.latency >= 0)"},
			{"df.time_ >= 1699999900000000000", "(df.time_ >= 1699999900000000000) & (df.latency >= 0)"},
			{"df.resp_status >= 600", "(df.resp_status >= 600) & (df.resp_status >= 0)"},
		} {
			script := func(pred string) string {
				return "import px\ndf = px.DataFrame('http_events', start_time='-1h')\ndf = df[" + pred +
					"]\npx.display(df[['time_', 'service', 'resp_status', 'latency']])\n"
			}
			want := mustRun(t, s, script(c.general)).Tables[0].Rows
			got := mustRun(t, s, script(c.fast)).Tables[0].Rows
			assert.Equal(t, want, got, "%s (flushed %v)", c.fast, flush)
		}
	}
}

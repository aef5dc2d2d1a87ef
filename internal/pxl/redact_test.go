package pxl

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestrictedColumns: a restricted column reads as REDACTED everywhere:
// in the output, in filters (a filter on its stored value finds nothing)
// and in functions.
func TestRestrictedColumns(t *testing.T) {
	s := fixture(t)
	e := New(s, Options{Now: func() time.Time { return testNow },
		Redact: func(table, col string) bool { return table == "http_events" && col == "req_headers" }})
	res, err := e.Run(t.Context(), Query{Script: `import px
df = px.DataFrame('http_events', start_time='-5m')
df.h = df.req_headers
df.len = px.length(df.req_headers)
df.has = px.contains(df.req_headers, 'Host')
df = df[['req_path', 'req_headers', 'h', 'len', 'has']]
px.display(df.head(3), 'out')
leak = px.DataFrame('http_events', start_time='-5m')
leak = leak[px.contains(leak.req_headers, 'cart.local')]
px.display(leak, 'leak')`})
	require.NoError(t, err)
	out := res.Tables[0]
	require.Len(t, out.Rows, 3)
	for _, r := range out.Rows {
		assert.Equal(t, []any{RedactedValue, RedactedValue, int64(len(RedactedValue)), false}, r[1:])
	}
	assert.Empty(t, res.Tables[1].Rows, "a filter on a restricted column sees only the constant")
	// Unrestricted engines see the values.
	res = mustRun(t, s, `import px
df = px.DataFrame('http_events', start_time='-5m')
px.display(df[['req_headers']].head(1), 'out')`)
	assert.True(t, strings.Contains(res.Tables[0].Rows[0][0].(string), "Host"))
}

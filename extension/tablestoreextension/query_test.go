package tablestoreextension

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

func queryServer(t *testing.T) *httptest.Server {
	t.Helper()
	store, err := tablestore.New(tablestore.Config{MaintenanceInterval: -1, CompactInline: true, MaxBytes: 1 << 30})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	tb := store.Table(tablestore.TableHTTPEvents)
	b := tb.NewBatch(3)
	now := time.Now()
	for i, st := range []int64{200, 500, 503} {
		b.AppendTime(tablestore.HTTPTime, now.Add(time.Duration(i-10)*time.Second).UnixNano())
		b.AppendString(tablestore.HTTPReqPath, "/p")
		b.AppendInt(tablestore.HTTPRespStatus, st)
		b.AppendInt(tablestore.HTTPLatency, int64(i+1)*1_000_000)
		b.AppendString(tablestore.HTTPService, "svc")
		b.EndRow()
	}
	_, err = tb.Append(b)
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(store, zap.NewNop(), nil))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, ctype, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return resp.StatusCode, out
}

const errorsScript = `import px
df = px.DataFrame(table='http_events', start_time='-5m')
df = df[df.resp_status >= 500]
df = df.groupby('req_path').agg(n=('latency', px.count), mean_latency=('latency', px.mean))
px.display(df, 'errors')
`

func TestQueryEndpoint(t *testing.T) {
	srv := queryServer(t)
	want := map[string]any{"tables": []any{map[string]any{
		"name": "errors",
		"columns": []any{
			map[string]any{"name": "req_path", "type": "STRING"},
			map[string]any{"name": "n", "type": "INT64"},
			map[string]any{"name": "mean_latency", "type": "FLOAT64"},
		},
		"rows": []any{[]any{"/p", 2.0, 2.5e6}},
	}}}

	body, _ := json.Marshal(map[string]any{"script": errorsScript})
	code, out := post(t, srv.URL+"/v1/query", "application/json", string(body))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, want, out)

	code, out = post(t, srv.URL+"/v1/pxl", "text/plain", errorsScript)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, want, out)

	// A bundled script with arguments.
	code, out = post(t, srv.URL+"/v1/query", "application/json", `{"name":"px/slow_http_requests","args":{"min_latency_ms":2}}`)
	assert.Equal(t, http.StatusOK, code)
	rows := out["tables"].([]any)[0].(map[string]any)["rows"].([]any)
	assert.Len(t, rows, 2)

	// A function with arguments.
	fn := `{"script":"import px\ndef f(start_time: str):\n    return px.DataFrame('http_events', start_time=start_time)[['resp_status']]\n","func":"f","args":{"start_time":"-1m"}}`
	code, out = post(t, srv.URL+"/v1/query", "application/json", fn)
	assert.Equal(t, http.StatusOK, code)
	assert.Len(t, out["tables"].([]any)[0].(map[string]any)["rows"], 3)
}

func TestQueryEndpointArrow(t *testing.T) {
	srv := queryServer(t)
	body, _ := json.Marshal(map[string]any{"script": errorsScript + "px.display(px.DataFrame('http_events')[['time_', 'resp_status']], 'raw')\n", "format": "arrow"})
	resp, err := http.Post(srv.URL+"/v1/query", "application/json", strings.NewReader(string(body)))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/vnd.apache.arrow.stream", resp.Header.Get("Content-Type"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := bytes.NewReader(raw)
	var names []string
	var rows []int64
	for r.Len() > 0 {
		rd, err := ipc.NewReader(r)
		require.NoError(t, err)
		name, _ := rd.Schema().Metadata().GetValue("name")
		names = append(names, name)
		var n int64
		for rd.Next() {
			n += rd.RecordBatch().NumRows()
			if name == "errors" {
				rec := rd.RecordBatch()
				assert.Equal(t, "/p", rec.Column(0).(*array.String).Value(0))
				assert.Equal(t, int64(2), rec.Column(1).(*array.Int64).Value(0))
				assert.InDelta(t, 2.5e6, rec.Column(2).(*array.Float64).Value(0), 1e-9)
			}
		}
		require.NoError(t, rd.Err())
		rd.Release()
		rows = append(rows, n)
	}
	assert.Equal(t, []string{"errors", "raw"}, names)
	assert.Equal(t, []int64{1, 3}, rows)
}

func TestQueryEndpointErrors(t *testing.T) {
	srv := queryServer(t)
	code, out := post(t, srv.URL+"/v1/query", "text/plain", "import px\ndf = px.DataFrame('http_events')\ndf.x = px.men(df.latency)\n")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, map[string]any{"error": map[string]any{
		"file": "script.pxl", "line": 3.0, "column": 10.0,
		"message": "px.men is not a PxL function; did you mean px.mean?",
	}}, out)

	code, out = post(t, srv.URL+"/v1/query", "application/json", `{"script": 3}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, out["error"].(map[string]any)["message"], "bad JSON")

	code, _ = post(t, srv.URL+"/v1/query", "text/plain", "  ")
	assert.Equal(t, http.StatusBadRequest, code)

	resp, err := http.Get(srv.URL + "/v1/scripts")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(raw), "px/http_data")
}

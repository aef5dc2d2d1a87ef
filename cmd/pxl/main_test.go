package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeServer answers like the table_store extension and records requests.
func fakeServer(t *testing.T, got *map[string]any) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/query", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(raw, got))
		if strings.Contains(fmtAny((*got)["script"]), "px.men") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"file":"script.pxl","line":3,"column":10,"message":"px.men is not a PxL function; did you mean px.mean?"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"tables":[{"name":"errors","columns":[{"name":"req_path","type":"STRING"},{"name":"n","type":"INT64"},{"name":"mean","type":"FLOAT64"}],
			"rows":[["/cart/add",1,300000000.5],["/",12,5]]}]}`))
	})
	mux.HandleFunc("GET /v1/scripts", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"scripts":[{"name":"px/http_data","doc":"Recent HTTP requests."}]}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fmtAny(v any) string { s, _ := v.(string); return s }

func TestRunFileTable(t *testing.T) {
	var got map[string]any
	srv := fakeServer(t, &got)
	f := filepath.Join(t.TempDir(), "q.pxl")
	require.NoError(t, os.WriteFile(f, []byte("import px\n"), 0o644))
	var out, errb bytes.Buffer
	code := run([]string{"run", "-f", f, "--endpoint", srv.URL}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Equal(t, "import px\n", got["script"])
	assert.Equal(t, "errors (2 rows)\n"+
		"req_path   n   mean\n"+
		"/cart/add  1   300000000.5\n"+
		"/          12  5\n", out.String())
}

func TestRunBundledWithArgsCSV(t *testing.T) {
	var got map[string]any
	srv := fakeServer(t, &got)
	var out, errb bytes.Buffer
	code := run([]string{"run", "px/http_data", "-o", "csv", "--endpoint", srv.URL, "--", "--start_time=-10m", "--num_head", "5", "--x=true"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Equal(t, "px/http_data", got["name"])
	assert.Equal(t, map[string]any{"start_time": "-10m", "num_head": 5.0, "x": true}, got["args"])
	assert.Equal(t, "req_path,n,mean\n/cart/add,1,300000000.5\n/,12,5\n", out.String())
}

func TestRunErrorAndJSON(t *testing.T) {
	var got map[string]any
	srv := fakeServer(t, &got)
	var out, errb bytes.Buffer
	code := run([]string{"run", "-e", "import px; px.men(1)", "--endpoint", srv.URL}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Equal(t, "pxl: script.pxl:3:10: px.men is not a PxL function; did you mean px.mean?\n", errb.String())

	out.Reset()
	code = run([]string{"run", "-e", "x", "-o", "json", "--endpoint", srv.URL}, &out, &errb)
	require.Equal(t, 0, code)
	assert.True(t, json.Valid(out.Bytes()))

	out.Reset()
	code = run([]string{"scripts", "--endpoint", srv.URL}, &out, &errb)
	require.Equal(t, 0, code)
	assert.Contains(t, out.String(), "px/http_data  Recent HTTP requests.")

	assert.Equal(t, 2, run([]string{"run"}, &out, &errb))
	assert.Equal(t, 2, run([]string{"bogus"}, &out, &errb))
}

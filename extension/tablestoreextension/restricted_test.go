package tablestoreextension

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// TestRestrictedAccessMode: with access_mode restricted, payload columns
// come back as REDACTED over the query endpoint; other columns are intact.
func TestRestrictedAccessMode(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.AccessMode = "restricted"
	require.NoError(t, cfg.Validate())
	store, err := tablestore.New(tablestore.Config{MaintenanceInterval: -1, CompactInline: true, MaxBytes: 1 << 30})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	tb := store.Table(tablestore.TableHTTPEvents)
	b := tb.NewBatch(1)
	b.AppendTime(tablestore.HTTPTime, time.Now().Add(-time.Second).UnixNano())
	b.AppendString(tablestore.HTTPReqPath, "/login")
	b.AppendString(tablestore.HTTPReqBody, `{"password":"hunter2"}`)
	b.AppendString(tablestore.HTTPReqHeaders, `{"Cookie":"sid=1"}`)
	b.EndRow()
	_, err = tb.Append(b)
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(store, zap.NewNop(), cfg.redact()))
	t.Cleanup(srv.Close)

	code, out := post(t, srv.URL+"/v1/query", "application/json", `{"script":"import px\ndf = px.DataFrame('http_events')\npx.display(df[['req_path', 'req_body', 'req_headers']], 'x')"}`)
	require.Equal(t, http.StatusOK, code, "%v", out)
	rows := out["tables"].([]any)[0].(map[string]any)["rows"].([]any)
	require.Len(t, rows, 1)
	assert.Equal(t, []any{"/login", "REDACTED", "REDACTED"}, rows[0])

	bad := createDefaultConfig().(*Config)
	bad.AccessMode = "open"
	require.ErrorContains(t, bad.Validate(), "access_mode must be full or restricted")
}

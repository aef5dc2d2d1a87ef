package tablestoreextension

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-ebpf/otelcol-ebpf/extension/tablestoreextension/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.HTTP.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.MaxBytes = 1 << 30
	return cfg
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func TestLifecycle(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := extensiontest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	ext, err := NewFactory().Create(context.Background(), set, testConfig())
	require.NoError(t, err)
	e := ext.(*tableStoreExtension)
	require.Nil(t, e.TableStore())

	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	store := e.TableStore()
	require.NotNil(t, store)
	base := "http://" + e.addr.String()

	code, body := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok"}`, string(body))

	// One row in http_events.
	tb := store.Table(tablestore.TableHTTPEvents)
	b := tb.NewBatch(1)
	now := time.Now().UnixNano()
	b.AppendTime(tablestore.HTTPTime, now)
	b.AppendString(tablestore.HTTPReqMethod, "GET")
	b.EndRow()
	_, err = tb.Append(b)
	require.NoError(t, err)

	code, body = get(t, base+"/v1/tables")
	require.Equal(t, http.StatusOK, code)
	var out struct {
		Tables []struct {
			Name        string     `json:"name"`
			Rows        int64      `json:"rows"`
			Bytes       int64      `json:"bytes"`
			BudgetBytes int64      `json:"budget_bytes"`
			MinTime     *time.Time `json:"min_time"`
			MinTimeNs   int64      `json:"min_time_ns"`
			Errors      int64      `json:"errors"`
			Columns     []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				ArrowType string `json:"arrow_type"`
			} `json:"columns"`
		} `json:"tables"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.Len(t, out.Tables, len(tablestore.DefaultSchemas()))
	h := out.Tables[0]
	assert.Equal(t, "http_events", h.Name)
	assert.Equal(t, int64(1), h.Rows)
	assert.Positive(t, h.Bytes)
	assert.Equal(t, int64(1<<30)*40/100, h.BudgetBytes)
	assert.Equal(t, now, h.MinTimeNs)
	require.NotNil(t, h.MinTime)
	assert.Equal(t, now, h.MinTime.UnixNano())
	assert.Positive(t, h.Errors) // the columns not set
	assert.Equal(t, "time_", h.Columns[0].Name)
	assert.Equal(t, "timestamp[ns, tz=UTC]", h.Columns[0].ArrowType)
	assert.Equal(t, "upid", h.Columns[1].Name)
	assert.Equal(t, "dictionary<values=utf8, indices=int32, ordered=false>", h.Columns[1].ArrowType)
	assert.Nil(t, out.Tables[1].MinTime)

	code, _ = get(t, base+"/v1/nope")
	assert.Equal(t, http.StatusNotFound, code)
	resp, err := http.Post(base+"/v1/tables", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	// Metrics, per table.
	m, err := tel.GetMetric("otelcol_table_store_rows")
	require.NoError(t, err)
	var rows int64
	for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
		if v, _ := dp.Attributes.Value("table"); v.AsString() == "http_events" {
			rows = dp.Value
		}
	}
	assert.Equal(t, int64(1), rows)
	for _, name := range []string{"otelcol_table_store_bytes", "otelcol_table_store_budget_bytes", "otelcol_table_store_rows_appended",
		"otelcol_table_store_rows_evicted", "otelcol_table_store_evictions", "otelcol_table_store_rows_dropped",
		"otelcol_table_store_errors", "otelcol_table_store_compactions"} {
		_, err := tel.GetMetric(name)
		assert.NoError(t, err, name)
	}

	require.NoError(t, ext.Shutdown(context.Background()))
	require.Nil(t, e.TableStore())
	_, err = http.Get(base + "/healthz")
	require.Error(t, err)
	_, err = tb.Append(b)
	require.ErrorIs(t, err, tablestore.ErrClosed)
	require.NoError(t, ext.Shutdown(context.Background())) // twice is fine
}

func TestShutdownWithoutStart(t *testing.T) {
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), testConfig())
	require.NoError(t, err)
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestStartRejectsBadConfig(t *testing.T) {
	cfg := testConfig()
	cfg.TableShares = map[string]float64{"http_events": 80, "spans": 30}
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "table shares add up to 110%, more than 100%")
	require.Nil(t, ext.(*tableStoreExtension).TableStore())

	cfg = testConfig()
	cfg.MaxBytes = 2 << 20 // 2 x 256 KiB batches (the smallest) do not fit in a table's share
	ext, err = NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.ErrorContains(t, ext.Start(context.Background(), componenttest.NewNopHost()), "too small to hold a hot batch")
}

func TestStartFailsWhenPortTaken(t *testing.T) {
	first, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), testConfig())
	require.NoError(t, err)
	require.NoError(t, first.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, first.Shutdown(context.Background())) })

	cfg := testConfig()
	cfg.HTTP.NetAddr.Endpoint = first.(*tableStoreExtension).addr.String()
	second, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.ErrorContains(t, second.Start(context.Background(), componenttest.NewNopHost()), "listen on")
	require.Nil(t, second.(*tableStoreExtension).TableStore())
}

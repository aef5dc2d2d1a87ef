package ebpfreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
)

// sumByAttr returns the value of a monotonic int64 sum's data point whose
// attribute key has value v.
func sumByAttr(t *testing.T, m metricdata.Metrics, key, v string) int64 {
	t.Helper()
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is %T", m.Name, m.Data)
	for _, dp := range sum.DataPoints {
		if got, ok := dp.Attributes.Value(attributeKey(key)); ok && got.AsString() == v {
			return dp.Value
		}
	}
	t.Fatalf("%s has no point with %s=%s", m.Name, key, v)
	return 0
}

// TestOwnMetrics: after real traffic, the receiver's own counters report
// kernel events, HTTP exchanges and spans, and the drop counters exist.
func TestOwnMetrics(t *testing.T) {
	requireRoot(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.FlushInterval = 50 * time.Millisecond
	sink := new(consumertest.TracesSink)
	rcv, err := f.CreateTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })

	_, addr := startProc(t, httpApp(t), "server")
	waitListening(t, addr)
	runCmd(t, "curl", "-sS", "-o", "/dev/null", "http://"+addr+"/hello")
	waitSpans(t, sink, 2, func(gotSpan) bool { return true })

	events, err := tel.GetMetric("otelcol_ebpf_events")
	require.NoError(t, err)
	assert.Positive(t, sumByAttr(t, events, "type", "data"))
	assert.Positive(t, sumByAttr(t, events, "type", "open"))
	exchanges, err := tel.GetMetric("otelcol_ebpf_http_exchanges")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, sumByAttr(t, exchanges, "outcome", "answered"), int64(2))
	spans, err := tel.GetMetric("otelcol_ebpf_spans")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, sumByAttr(t, spans, "outcome", "produced"), int64(2))
	dropped, err := tel.GetMetric("otelcol_ebpf_events_dropped")
	require.NoError(t, err)
	sumByAttr(t, dropped, "reason", "ringbuf_full_data") // present (usually 0)
}

func attributeKey(k string) attribute.Key { return attribute.Key(k) }

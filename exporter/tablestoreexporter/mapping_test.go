package tablestoreexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

var (
	t0  = pcommon.Timestamp(fixedNow.Add(-10e9).UnixNano()) // 10 s before the clock
	tid = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	sid = pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	pid = pcommon.SpanID{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8}
)

// ebpfTraces is what the ebpf receiver emits for one server and one client
// exchange of an nginx process, plus an SDK span of another application.
func ebpfTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutInt("process.pid", 4242)
	ra.PutStr("host.name", "node-1")
	ra.PutStr("process.executable.name", "nginx")
	ra.PutStr("service.name", "nginx")
	ra.PutStr("process.command_line", "nginx: worker process")
	ra.PutStr("container.id", "4a1c2b3d4e5f")
	ra.PutStr("k8s.pod.uid", "8f0e4c1e-1111-2222-3333-444455556666")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(EBPFScope)

	s := ss.Spans().AppendEmpty()
	s.SetName("GET /api/users/{id}")
	s.SetKind(ptrace.SpanKindServer)
	s.SetTraceID(tid)
	s.SetSpanID(sid)
	s.SetParentSpanID(pid)
	s.SetStartTimestamp(t0)
	s.SetEndTimestamp(t0 + 1_500_000)
	a := s.Attributes()
	a.PutStr("http.request.method", "GET")
	a.PutStr("url.path", "/api/users/42")
	a.PutStr("url.query", "expand=orders")
	a.PutStr("http.route", "/api/users/{id}")
	a.PutStr("network.protocol.name", "http")
	a.PutStr("network.protocol.version", "1.1")
	a.PutStr("user_agent.original", "curl/8.5.0")
	a.PutInt("http.request.body.size", 0)
	a.PutStr("server.address", "10.0.1.5")
	a.PutInt("server.port", 8080)
	a.PutStr("client.address", "10.0.2.7")
	a.PutInt("client.port", 51234)
	a.PutStr("network.peer.address", "10.0.2.7")
	a.PutInt("network.peer.port", 51234)
	a.PutStr("network.local.address", "10.0.1.5")
	a.PutInt("network.local.port", 8080)
	a.PutInt("http.response.status_code", 200)
	a.PutInt("http.response.body.size", 27)
	a.PutEmptySlice("http.request.header.host").AppendEmpty().SetStr("api:8080")
	acc := a.PutEmptySlice("http.request.header.accept")
	acc.AppendEmpty().SetStr("application/json")
	acc.AppendEmpty().SetStr("text/plain")
	a.PutEmptySlice("http.response.header.content-type").AppendEmpty().SetStr("application/json; charset=utf-8")
	a.PutStr("http.response.body", `{"id":42,"name":"ada \"λ\""}`)

	c := ss.Spans().AppendEmpty()
	c.SetName("POST /orders")
	c.SetKind(ptrace.SpanKindClient)
	c.SetTraceID(tid)
	c.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	c.SetStartTimestamp(t0 + 2_000_000)
	c.SetEndTimestamp(t0 + 9_000_000)
	c.Status().SetCode(ptrace.StatusCodeError)
	b := c.Attributes()
	b.PutStr("http.request.method", "POST")
	b.PutStr("url.path", "/orders")
	b.PutStr("http.route", "/orders")
	b.PutStr("network.protocol.version", "1.0")
	b.PutInt("http.request.body.size", 17)
	b.PutStr("http.request.body", `{"sku":"A-1","q":2}`)
	b.PutStr("server.address", "orders.shop.svc")
	b.PutInt("server.port", 80)
	b.PutStr("client.address", "10.0.1.5")
	b.PutInt("client.port", 40000)
	b.PutInt("http.response.status_code", 503)
	b.PutInt("http.response.body.size", 0)
	b.PutStr("error.type", "503")

	// Another application's SDK span: generic spans table only (by default).
	rs2 := td.ResourceSpans().AppendEmpty()
	rs2.Resource().Attributes().PutStr("service.name", "checkout")
	rs2.Resource().Attributes().PutStr("k8s.pod.name", "checkout-7d9f8")
	rs2.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
	ss2 := rs2.ScopeSpans().AppendEmpty()
	ss2.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	o := ss2.Spans().AppendEmpty()
	o.SetName("GET /cart")
	o.SetKind(ptrace.SpanKindServer)
	o.SetTraceID(tid)
	o.SetSpanID(pcommon.SpanID{9, 9, 9, 9, 9, 9, 9, 9})
	o.SetStartTimestamp(t0 + 500_000)
	o.SetEndTimestamp(t0 + 700_000)
	o.Status().SetCode(ptrace.StatusCodeOk)
	oa := o.Attributes()
	oa.PutStr("http.request.method", "GET")
	oa.PutStr("url.path", "/cart")
	oa.PutInt("http.response.status_code", 200)
	oa.PutDouble("ratio", 0.25)
	oa.PutBool("cached", true)
	oa.PutEmptyBytes("raw").FromRaw([]byte{1, 2, 3})
	oa.PutEmptyMap("nested").PutStr("k", "v\n")
	return td
}

func TestTracesGolden(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	require.NoError(t, e.ConsumeTraces(context.Background(), ebpfTraces()))

	httpRows := dumpTable(t, store.Table(tablestore.TableHTTPEvents))
	require.Len(t, httpRows, 2)
	// The Pixie columns of the server exchange, spelled out.
	srv := httpRows[0]
	assert.Equal(t, int64(t0+1_500_000), srv["time_"])
	assert.Equal(t, "4242:0", srv["upid"])
	assert.Equal(t, "10.0.2.7", srv["remote_addr"])
	assert.Equal(t, int64(51234), srv["remote_port"])
	assert.Equal(t, "10.0.1.5", srv["local_addr"])
	assert.Equal(t, int64(8080), srv["local_port"])
	assert.Equal(t, int64(2), srv["trace_role"])
	assert.Equal(t, false, srv["encrypted"])
	assert.Equal(t, int64(1), srv["major_version"])
	assert.Equal(t, int64(1), srv["minor_version"])
	assert.Equal(t, int64(1), srv["content_type"])
	assert.JSONEq(t, `{"host":"api:8080","accept":"application/json, text/plain"}`, srv["req_headers"].(string))
	assert.Equal(t, "GET", srv["req_method"])
	assert.Equal(t, "/api/users/42?expand=orders", srv["req_path"])
	assert.Equal(t, "", srv["req_body"])
	assert.Equal(t, int64(0), srv["req_body_size"])
	assert.JSONEq(t, `{"content-type":"application/json; charset=utf-8"}`, srv["resp_headers"].(string))
	assert.Equal(t, int64(200), srv["resp_status"])
	assert.Equal(t, "OK", srv["resp_message"])
	assert.Equal(t, `{"id":42,"name":"ada \"λ\""}`, srv["resp_body"])
	assert.Equal(t, int64(27), srv["resp_body_size"])
	assert.Equal(t, int64(1_500_000), srv["latency"])
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", srv["trace_id"])
	assert.Equal(t, "00f067aa0ba902b7", srv["span_id"])
	assert.Equal(t, "nginx", srv["service"])
	assert.Equal(t, "8f0e4c1e-1111-2222-3333-444455556666", srv["pod"])
	assert.Equal(t, "4a1c2b3d4e5f", srv["container_id"])
	assert.Equal(t, int64(4242), srv["pid"])
	assert.Equal(t, "nginx", srv["exe"])
	// The client exchange falls back to server.* for the remote end.
	cl := httpRows[1]
	assert.Equal(t, int64(1), cl["trace_role"])
	assert.Equal(t, "orders.shop.svc", cl["remote_addr"])
	assert.Equal(t, int64(80), cl["remote_port"])
	assert.Equal(t, "10.0.1.5", cl["local_addr"])
	assert.Equal(t, int64(40000), cl["local_port"])
	assert.Equal(t, "Service Unavailable", cl["resp_message"])
	assert.Equal(t, int64(0), cl["minor_version"])
	checkGolden(t, "http_events", httpRows)

	spanRows := dumpTable(t, store.Table(tablestore.TableSpans))
	require.Len(t, spanRows, 3)
	checkGolden(t, "spans", spanRows)
	assert.Zero(t, store.Table(tablestore.TableHTTPEvents).Stats().Errors)
	assert.Zero(t, store.Table(tablestore.TableSpans).Stats().Errors)
}

func TestTracesAnyScopeAndSkip(t *testing.T) {
	store := newStore(t)
	cfg := createDefaultConfig().(*Config)
	cfg.HTTPEventsScopes = []string{"*"}
	cfg.SkipHTTPEventsInSpans = true
	e := startExporter(t, cfg, store)
	require.NoError(t, e.ConsumeTraces(context.Background(), ebpfTraces()))
	httpRows := dumpTable(t, store.Table(tablestore.TableHTTPEvents))
	require.Len(t, httpRows, 3) // the SDK server span too
	assert.Equal(t, "checkout", httpRows[0]["service"])
	assert.Equal(t, "checkout-7d9f8", httpRows[0]["pod"])
	assert.Equal(t, "shop", httpRows[0]["namespace"])
	assert.Equal(t, "", httpRows[0]["upid"])
	assert.Empty(t, dumpTable(t, store.Table(tablestore.TableSpans)))
	// The SDK span's resource has no process.pid: counted.
	assert.Equal(t, int64(1), store.Table(tablestore.TableHTTPEvents).Stats().Errors)
}

func TestTracesBadInput(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("process.pid", "not a number") // wrong type
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(EBPFScope)
	s := ss.Spans().AppendEmpty() // no method, no kind, no timestamps
	a := s.Attributes()
	a.PutStr("http.response.status_code", "200") // wrong type
	a.PutStr("network.peer.port", "80")          // wrong type
	a.PutInt("url.path", 7)                      // wrong type
	s2 := ss.Spans().AppendEmpty()
	s2.SetStartTimestamp(t0 + 10)
	s2.SetEndTimestamp(t0) // ends before it starts
	s2.SetKind(ptrace.SpanKindServer)
	s2.Attributes().PutStr("http.request.method", "GET")
	require.NoError(t, e.ConsumeTraces(context.Background(), td))

	rows := dumpTable(t, store.Table(tablestore.TableHTTPEvents))
	require.Len(t, rows, 2)
	var bad map[string]any
	for _, r := range rows {
		if r["req_method"] == "" {
			bad = r
		}
	}
	require.NotNil(t, bad)
	assert.Equal(t, fixedNow.UnixNano(), bad["time_"]) // no timestamps: the clock
	assert.Equal(t, int64(0), bad["resp_status"])
	assert.Equal(t, int64(0), bad["remote_port"])
	assert.Equal(t, "", bad["req_path"])
	assert.Equal(t, int64(0), bad["trace_role"])
	assert.Equal(t, "", bad["trace_id"])
	// Per bad span: method missing, 3 wrong types, kind unknown, no time,
	// no latency = 7; the other span: latency; the resource: wrong pid type,
	// and no pid = 2.
	assert.Equal(t, int64(7+1+2), store.Table(tablestore.TableHTTPEvents).Stats().Errors)
	assert.Positive(t, store.Table(tablestore.TableSpans).Stats().Errors)
}

func TestMetricsGolden(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("otelcol/hostmetrics")
	ms := sm.Metrics()

	g := ms.AppendEmpty()
	g.SetName("queue.depth")
	g.SetUnit("{items}")
	dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(t0)
	dp.SetIntValue(7)
	dp.Attributes().PutStr("queue", "orders")
	dp = g.Gauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(t0 + 1)
	dp.SetDoubleValue(7.5)

	s := ms.AppendEmpty()
	s.SetName("http.server.requests")
	sum := s.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	sdp := sum.DataPoints().AppendEmpty()
	sdp.SetStartTimestamp(t0 - 1000)
	sdp.SetTimestamp(t0 + 2)
	sdp.SetIntValue(1234)

	h := ms.AppendEmpty()
	h.SetName("http.server.request.duration")
	h.SetUnit("s")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	hdp := hist.DataPoints().AppendEmpty()
	hdp.SetTimestamp(t0 + 3)
	hdp.SetCount(6)
	hdp.SetSum(0.42)
	hdp.SetMin(0.01)
	hdp.SetMax(0.2)
	hdp.ExplicitBounds().FromRaw([]float64{0.005, 0.1})
	hdp.BucketCounts().FromRaw([]uint64{0, 5, 1})
	hdp.Attributes().PutStr("http.route", "/cart")

	x := ms.AppendEmpty()
	x.SetName("latency.exp")
	xdp := x.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	xdp.SetTimestamp(t0 + 4)
	xdp.SetScale(3)
	xdp.SetCount(3)
	xdp.SetSum(3.5)
	xdp.SetZeroCount(1)
	xdp.Positive().SetOffset(2)
	xdp.Positive().BucketCounts().FromRaw([]uint64{1, 1})

	q := ms.AppendEmpty()
	q.SetName("gc.pause")
	qdp := q.SetEmptySummary().DataPoints().AppendEmpty()
	qdp.SetTimestamp(t0 + 5)
	qdp.SetCount(10)
	qdp.SetSum(2.5)
	qv := qdp.QuantileValues().AppendEmpty()
	qv.SetQuantile(0.99)
	qv.SetValue(0.8)

	ms.AppendEmpty().SetName("empty") // no data: an error, no row

	require.NoError(t, e.ConsumeMetrics(context.Background(), md))
	rows := dumpTable(t, store.Table(tablestore.TableMetrics))
	require.Len(t, rows, 6)
	assert.Equal(t, "gauge", rows[0]["type"])
	assert.Equal(t, 7.0, rows[0]["value"])
	assert.JSONEq(t, `{"queue":"orders"}`, rows[0]["attributes"].(string))
	assert.Equal(t, "histogram", rows[3]["type"])
	assert.Equal(t, int64(6), rows[3]["count"])
	assert.JSONEq(t, `{"bounds":[0.005,0.1],"counts":[0,5,1],"min":0.01,"max":0.2}`, rows[3]["buckets"].(string))
	checkGolden(t, "metrics", rows)
	assert.Equal(t, int64(1), store.Table(tablestore.TableMetrics).Stats().Errors)
}

func TestLogsGolden(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("process.executable.name", "python3")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.logger")
	l := sl.LogRecords().AppendEmpty()
	l.SetTimestamp(t0)
	l.SetSeverityText("warning")
	l.SetSeverityNumber(plog.SeverityNumberWarn)
	l.Body().SetStr("disk almost full")
	l.Attributes().PutInt("free_mb", 12)
	l.SetTraceID(tid)
	l.SetSpanID(sid)
	l = sl.LogRecords().AppendEmpty()
	l.SetObservedTimestamp(t0 + 1)
	l.SetSeverityNumber(plog.SeverityNumberError2)
	l.Body().SetEmptyMap().PutStr("event", "payment failed")
	l = sl.LogRecords().AppendEmpty() // no timestamps: the clock, counted
	l.Body().SetStr("?")

	require.NoError(t, e.ConsumeLogs(context.Background(), ld))
	rows := dumpTable(t, store.Table(tablestore.TableLogs))
	require.Len(t, rows, 3)
	assert.Equal(t, "warning", rows[0]["severity"])
	assert.Equal(t, "python3", rows[0]["service"])
	assert.Equal(t, "ERROR", rows[1]["severity"])
	assert.JSONEq(t, `{"event":"payment failed"}`, rows[1]["body"].(string))
	assert.Equal(t, fixedNow.UnixNano(), rows[2]["time_"])
	checkGolden(t, "logs", rows)
	assert.Equal(t, int64(1), store.Table(tablestore.TableLogs).Stats().Errors)
}

func TestProtoVersion(t *testing.T) {
	for in, want := range map[string][2]int64{
		"1.1": {1, 1}, "1.0": {1, 0}, "2": {2, 0}, "HTTP/1.1": {1, 1}, "3": {3, 0},
		"": {0, 0}, "x": {0, 0}, "1.x": {0, 0}, "11.1": {0, 0},
	} {
		ma, mi := protoVersion(in)
		assert.Equal(t, want, [2]int64{ma, mi}, in)
	}
}

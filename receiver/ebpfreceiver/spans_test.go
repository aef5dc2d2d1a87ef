package ebpfreceiver

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// feed runs one request/response through a real conntrack.Tracker and
// hands the record to fn.
func feed(t testing.TB, role sockevent.Role, req, resp string, fn func(*conntrack.Record)) {
	tr := conntrack.New(conntrack.Config{}, fn)
	id := sockevent.ConnID{PID: 4242, FD: 7, Gen: 1}
	local, remote := netip.MustParseAddrPort("10.0.0.1:8080"), netip.MustParseAddrPort("10.0.0.2:51000")
	if role == sockevent.RoleClient {
		local, remote = remote, local
	}
	tr.OnOpen(&sockevent.Open{ID: id, Role: role, Local: local, Remote: remote})
	in, out := sockevent.Ingress, sockevent.Egress
	if role == sockevent.RoleClient {
		in, out = out, in
	}
	tr.OnData(&sockevent.Data{ID: id, Dir: in, TimeNs: 1_000_000, Size: uint32(len(req)), Payload: []byte(req)})
	tr.OnData(&sockevent.Data{ID: id, Dir: out, TimeNs: 3_500_000, Size: uint32(len(resp)), Payload: []byte(resp)})
	tr.OnClose(&sockevent.Close{ID: id, TimeNs: 4_000_000})
}

func buildOne(t *testing.T, role sockevent.Role, cfg HTTPConfig, req, resp string) ptrace.Span {
	b := newSpanBuilder(cfg, procinfo.NewReader(t.TempDir(), 0), 10)
	feed(t, role, req, resp, b.add)
	td, n := b.take()
	require.Equal(t, 1, n)
	return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

func TestSpanFromServerRecord(t *testing.T) {
	s := buildOne(t, sockevent.RoleServer, HTTPConfig{CaptureHeaders: true, CaptureBodies: true, MaxBodyBytes: 4},
		"POST /orders/9f86d081884c7d659a2feaa0c55ad015?x=1 HTTP/1.1\r\nHost: shop:8080\r\nUser-Agent: t/1\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")
	assert.Equal(t, "POST /orders/{id}", s.Name())
	assert.Equal(t, ptrace.SpanKindServer, s.Kind())
	assert.Equal(t, ptrace.StatusCodeError, s.Status().Code(), "server 503 is an error")
	assert.EqualValues(t, 1_000_000, s.StartTimestamp())
	assert.EqualValues(t, 3_500_000, s.EndTimestamp())
	want := map[string]any{
		"http.request.method": "POST", "url.path": "/orders/9f86d081884c7d659a2feaa0c55ad015", "url.query": "x=1",
		"http.route": "/orders/{id}", "http.response.status_code": int64(503), "server.address": "10.0.0.1",
		"server.port": int64(8080), "client.address": "10.0.0.2", "client.port": int64(51000),
		"network.peer.address": "10.0.0.2", "network.peer.port": int64(51000), "network.protocol.version": "1.1",
		"user_agent.original": "t/1", "http.request.body.size": int64(7), "http.response.body.size": int64(4),
		"http.request.body": "{\"a\"", "http.response.body": "busy", "error.type": "503",
		"http.request.header.x-a": []any{"1", "2"},
	}
	for k, v := range want {
		got, ok := s.Attributes().Get(k)
		if assert.True(t, ok, k) {
			assert.Equal(t, v, got.AsRaw(), k)
		}
	}
}

func TestSpanFromClientRecord(t *testing.T) {
	s := buildOne(t, sockevent.RoleClient, HTTPConfig{},
		"GET /a HTTP/1.1\r\nHost: api.example:8080\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
	assert.Equal(t, ptrace.SpanKindClient, s.Kind())
	assert.Equal(t, ptrace.StatusCodeError, s.Status().Code(), "client 4xx is an error")
	v, _ := s.Attributes().Get("server.address")
	assert.Equal(t, "api.example", v.Str(), "client spans name the server by its Host header")
	_, hasHeaders := s.Attributes().Get("http.request.header.host")
	assert.False(t, hasHeaders, "headers are opt-in")
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", s.TraceID().String())
}

func TestSpanBuilderBounded(t *testing.T) {
	b := newSpanBuilder(HTTPConfig{}, procinfo.NewReader(t.TempDir(), 0), 3)
	assert.Empty(t, b.nudge)
	for i := 0; i < 5; i++ {
		if i == 1 {
			assert.Len(t, b.nudge, 1, "an early flush is asked for at half of the bound")
		}
		feed(t, sockevent.RoleServer, fmt.Sprintf("GET /%d HTTP/1.1\r\n\r\n", i), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b.add)
	}
	_, n := b.take()
	produced, dropped := b.stats()
	assert.Equal(t, 3, n)
	assert.EqualValues(t, 3, produced)
	assert.EqualValues(t, 2, dropped)
}

// TestSpanBuilderOldest: oldest reports when the first span waiting after
// a flush was added (the receiver's afterDrain flushes by it), and nothing
// once they are taken.
func TestSpanBuilderOldest(t *testing.T) {
	b := newSpanBuilder(HTTPConfig{}, procinfo.NewReader(t.TempDir(), 0), 100)
	add := func(i int) {
		feed(t, sockevent.RoleServer, fmt.Sprintf("GET /%d HTTP/1.1\r\n\r\n", i), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b.add)
	}
	_, ok := b.oldest()
	assert.False(t, ok, "nothing waits")
	before := time.Now()
	add(0)
	at, ok := b.oldest()
	require.True(t, ok)
	assert.False(t, at.Before(before))
	time.Sleep(2 * time.Millisecond)
	add(1)
	add(2)
	again, _ := b.oldest()
	assert.Equal(t, at, again, "later spans do not move it")
	_, n := b.take()
	assert.Equal(t, 3, n)
	_, ok = b.oldest()
	assert.False(t, ok)
	add(3)
	next, ok := b.oldest()
	require.True(t, ok)
	assert.True(t, next.After(at), "the first span after a flush sets it again")
}

// BenchmarkSpanBuild measures turning one record into a span (conntrack
// parsing included), flushing every 1024 spans like the receiver does;
// with_metrics adds what a metrics pipeline costs per request (conn_stats
// counting and the RED histogram).
func BenchmarkSpanBuild(b *testing.B) {
	b.Run("spans", func(b *testing.B) { benchSpanBuild(b, false) })
	b.Run("with_metrics", func(b *testing.B) { benchSpanBuild(b, true) })
}

func benchSpanBuild(b *testing.B, metrics bool) {
	sb := newSpanBuilder(HTTPConfig{}, procinfo.NewReader(b.TempDir(), 0), 1<<20)
	onRecord := sb.add
	var red *redMetrics
	if metrics {
		red = newREDMetrics(2000, 0)
		onRecord = func(r *conntrack.Record) {
			sb.add(r)
			addr, port := sb.serverEndpoint(r)
			red.add(r, addr, port, r.EndNs())
		}
	}
	// As the receiver's default config (no header capture) sets it up.
	tr := conntrack.New(conntrack.Config{HTTP: http1.Config{HeadlessResponses: true}}, onRecord)
	var h sockevent.Handler = tr
	if metrics {
		h = newConnStats(tr, tr.ProtocolOf, 0)
	}
	id := sockevent.ConnID{PID: 4242, FD: 7, Gen: 1}
	h.OnOpen(&sockevent.Open{ID: id, Role: sockevent.RoleServer,
		Local: netip.MustParseAddrPort("10.0.0.1:8080"), Remote: netip.MustParseAddrPort("10.0.0.2:51000")})
	req := []byte("GET /api/v1/users/123/orders?limit=10 HTTP/1.1\r\nHost: shop:8080\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"orders\":[]}")
	var posIn, posOut uint64
	b.ReportAllocs()
	b.ResetTimer()
	defer func() {
		if p, _ := sb.stats(); p < uint64(b.N) {
			b.Fatalf("built %d spans for %d exchanges", p, b.N)
		}
	}()
	for i := 0; i < b.N; i++ {
		ts := int64(i) * 1000
		h.OnData(&sockevent.Data{ID: id, Dir: sockevent.Ingress, TimeNs: ts, Pos: posIn, Size: uint32(len(req)), Payload: req})
		h.OnData(&sockevent.Data{ID: id, Dir: sockevent.Egress, TimeNs: ts + 500, Pos: posOut, Size: uint32(len(resp)), Payload: resp})
		posIn += uint64(len(req))
		posOut += uint64(len(resp))
		if i%1024 == 1023 {
			sb.take()
		}
	}
}

// TestRouteName checks span names and routes, that a repeated name is the
// same string (interned), and that the RED metrics get the route the span
// used.
func TestRouteName(t *testing.T) {
	b := newSpanBuilder(HTTPConfig{}, procinfo.NewReader(t.TempDir(), 0), 10)
	tests := []struct{ method, path, target, name, route string }{
		{"GET", "/users/42/orders", "/users/42/orders?x=1", "GET /users/{id}/orders", "/users/{id}/orders"},
		{"POST", "/index.html", "/index.html", "POST /index.html", "/index.html"},
		{"CONNECT", "", "example.com:443", "CONNECT example.com:443", "example.com:443"},
	}
	for _, tc := range tests {
		m := &http1.Message{Method: tc.method, Path: tc.path, Target: tc.target}
		name, route := b.routeName(m)
		assert.Equal(t, tc.name, name)
		assert.Equal(t, tc.route, route)
		if tc.path != "" {
			assert.Equal(t, tc.route, m.Route())
		}
		again, _ := b.routeName(&http1.Message{Method: tc.method, Path: tc.path, Target: tc.target})
		assert.Equal(t, unsafe.StringData(name), unsafe.StringData(again), "interned")
	}
	m := &http1.Message{Method: "GET", Path: "/users/7/orders"}
	assert.Zero(t, testing.AllocsPerRun(50, func() { b.routeName(m) }))
	// Names past the cache's bound are still right.
	for i := range maxNames + 10 {
		p := fmt.Sprintf("/p%d/x", i)
		name, _ := b.routeName(&http1.Message{Method: "GET", Path: p})
		require.Equal(t, "GET "+p, name)
	}
	assert.LessOrEqual(t, len(b.names), maxNames)
}

// TestAfterDrain: the tracer's drain hook asks for a flush once the oldest
// span would be due before the next drain, and ticks the tracker once a
// second.
func TestAfterDrain(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.FlushInterval = 200 * time.Millisecond
	r := &tracesReceiver{cfg: cfg, flushNow: make(chan struct{}, 1)}
	r.spans = newSpanBuilder(HTTPConfig{}, procinfo.NewReader(t.TempDir(), 0), 100)
	r.tracker = conntrack.New(conntrack.Config{}, r.spans.add)
	r.lastTick = time.Now()

	const next = 50 * time.Millisecond
	r.afterDrain(next)
	assert.Empty(t, r.flushNow, "no span")

	feed(t, sockevent.RoleServer, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", r.spans.add)
	r.afterDrain(next)
	assert.Empty(t, r.flushNow, "due in ~200 ms: the next drain comes first")
	r.afterDrain(200 * time.Millisecond)
	assert.Len(t, r.flushNow, 1, "due by the next drain: flushed now")
	<-r.flushNow

	at, _ := r.spans.oldest()
	r.spans.firstAt = at.Add(-time.Second) // the oldest span waited too long
	r.afterDrain(next)
	assert.Len(t, r.flushNow, 1)
	r.afterDrain(next)
	assert.Len(t, r.flushNow, 1, "one signal waits at most")

	before := r.lastTick
	r.afterDrain(next)
	assert.Equal(t, before, r.lastTick, "no tick within a second")
	r.lastTick = r.lastTick.Add(-tickEvery)
	r.afterDrain(next)
	assert.True(t, r.lastTick.After(before), "ticked")
}

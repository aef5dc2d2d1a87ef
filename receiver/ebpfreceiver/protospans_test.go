package ebpfreceiver

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// A PostgreSQL client connection and an HTTP server connection of the same
// process: one resource, two scopes, the database span with semconv
// attributes.
func TestProtocolSpans(t *testing.T) {
	b := newSpanBuilder(HTTPConfig{}, procinfo.NewReader(t.TempDir(), 0), 10)
	tr := conntrack.New(conntrack.Config{}, b.add)
	registerProtocols(tr, b, true, nil)

	http := sockevent.ConnID{PID: 4242, FD: 7, Gen: 1}
	tr.OnOpen(&sockevent.Open{ID: http, Role: sockevent.RoleServer,
		Local: netip.MustParseAddrPort("10.0.0.1:8080"), Remote: netip.MustParseAddrPort("10.0.0.2:51000")})
	req, resp := "GET /x HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	tr.OnData(&sockevent.Data{ID: http, Dir: sockevent.Ingress, TimeNs: 1000, Size: uint32(len(req)), Payload: []byte(req)})
	tr.OnData(&sockevent.Data{ID: http, Dir: sockevent.Egress, TimeNs: 2000, Size: uint32(len(resp)), Payload: []byte(resp)})

	pg := sockevent.ConnID{PID: 4242, FD: 8, Gen: 2}
	tr.OnOpen(&sockevent.Open{ID: pg, Role: sockevent.RoleClient,
		Local: netip.MustParseAddrPort("10.0.0.1:40000"), Remote: netip.MustParseAddrPort("10.0.0.3:5432")})
	var pos [2]uint64
	send := func(dir sockevent.Direction, ts int64, p string) {
		tr.OnData(&sockevent.Data{ID: pg, Dir: dir, TimeNs: ts, Pos: pos[dir], Size: uint32(len(p)), Payload: []byte(p)})
		pos[dir] += uint64(len(p))
	}
	send(sockevent.Egress, 3000, "Q\x00\x00\x00\x1cSELECT * FROM t WHERE x\x00")
	send(sockevent.Ingress, 5000, "E\x00\x00\x00\x20SERROR\x00C42703\x00Mno column x\x00\x00Z\x00\x00\x00\x05I")
	tr.OnClose(&sockevent.Close{ID: http, TimeNs: 6000})
	tr.OnClose(&sockevent.Close{ID: pg, TimeNs: 6000})

	td, n := b.take()
	require.Equal(t, 2, n)
	require.Equal(t, 1, td.ResourceSpans().Len(), "one resource per process")
	sss := td.ResourceSpans().At(0).ScopeSpans()
	require.Equal(t, 2, sss.Len())
	assert.Equal(t, metadata.ScopeName, sss.At(0).Scope().Name())
	assert.Equal(t, ProtocolsScopeName, sss.At(1).Scope().Name())
	s := sss.At(1).Spans().At(0)
	assert.Equal(t, "SELECT t", s.Name())
	assert.Equal(t, ptrace.SpanKindClient, s.Kind())
	assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
	assert.Equal(t, "no column x", s.Status().Message())
	assert.EqualValues(t, 3000, s.StartTimestamp())
	assert.EqualValues(t, 5000, s.EndTimestamp())
	assert.Equal(t, map[string]any{
		"db.system.name": "postgresql", "db.query.text": "SELECT * FROM t WHERE x", "db.query.summary": "SELECT t",
		"db.operation.name": "SELECT", "db.response.status_code": "42703", "error.type": "42703",
		"server.address": "10.0.0.3", "server.port": int64(5432), "client.address": "10.0.0.1", "client.port": int64(40000),
		"network.peer.address": "10.0.0.3", "network.peer.port": int64(5432),
		"pixie.req_cmd": "Query", "pixie.req_body": "SELECT * FROM t WHERE x", "pixie.resp_body": "ERROR: no column x",
	}, s.Attributes().AsRaw())

	// After a flush, a new exchange starts a new resource.
	tr.OnOpen(&sockevent.Open{ID: sockevent.ConnID{PID: 4242, FD: 9, Gen: 3}, Role: sockevent.RoleClient})
	q := "*1\r\n$4\r\nPING\r\n"
	tr.OnData(&sockevent.Data{ID: sockevent.ConnID{PID: 4242, FD: 9, Gen: 3}, Dir: sockevent.Egress, TimeNs: 7000, Size: uint32(len(q)), Payload: []byte(q)})
	tr.OnData(&sockevent.Data{ID: sockevent.ConnID{PID: 4242, FD: 9, Gen: 3}, Dir: sockevent.Ingress, TimeNs: 8000, Size: 7, Payload: []byte("+PONG\r\n")})
	td, n = b.take()
	require.Equal(t, 1, n)
	s = td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, "PING", s.Name())
	v, _ := td.ResourceSpans().At(0).Resource().Attributes().Get("process.pid")
	assert.EqualValues(t, 4242, v.Int())
}

// Without a traces pipeline (the receiver only in metrics or logs
// pipelines) the protocol parsers still label connections for conn_stats,
// but their exchanges make no spans: before, a DNS or Redis exchange then
// left spans that the flush handed to a nil consumer.
func TestProtocolsWithoutTraces(t *testing.T) {
	b := newSpanBuilder(HTTPConfig{}, procinfo.NewReader(t.TempDir(), 0), 10)
	tr := conntrack.New(conntrack.Config{}, b.add)
	registerProtocols(tr, b, false, nil)
	id := sockevent.ConnID{PID: 4242, FD: 9, Gen: 3}
	tr.OnOpen(&sockevent.Open{ID: id, Role: sockevent.RoleClient})
	q := "*1\r\n$4\r\nPING\r\n"
	tr.OnData(&sockevent.Data{ID: id, Dir: sockevent.Egress, TimeNs: 7000, Size: uint32(len(q)), Payload: []byte(q)})
	tr.OnData(&sockevent.Data{ID: id, Dir: sockevent.Ingress, TimeNs: 8000, Pos: 0, Size: 7, Payload: []byte("+PONG\r\n")})
	assert.NotEmpty(t, tr.ProtocolOf(id), "the connection is still labelled")
	_, n := b.take()
	assert.Zero(t, n, "no spans")

	// HTTP/1 spans are not built without one either (onRecord); should
	// one wait, the flush drops it rather than fail.
	feed(t, sockevent.RoleServer, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b.add)
	r := &tracesReceiver{spans: b}
	assert.NotPanics(t, func() { r.flush(context.Background()) })
	_, n = b.take()
	assert.Zero(t, n, "taken by the flush")
}

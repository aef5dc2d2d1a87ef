package ebpfreceiver

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/dns"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/http2"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/kafka"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/mysql"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/pgsql"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/redis"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// ProtocolsScopeName is the instrumentation scope of the spans of the
// protocols other than HTTP (databases, caches, DNS, messaging), so that
// the table store does not take them for http_events rows.
var ProtocolsScopeName = metadata.ScopeName + "/protocols"

// Attribute keys carrying Pixie's table columns that have no semantic
// convention (the table store exporter reads them).
const (
	attrReqCmd = "pixie.req_cmd"
	attrReq    = "pixie.req_body"
	attrResp   = "pixie.resp_body"
	attrReqH   = "pixie.req_header"
	attrRespH  = "pixie.resp_header"
)

// registerProtocols adds the non-HTTP/1 parsers to the tracker; their
// exchanges become spans in b when spans is true (a traces pipeline uses
// the receiver), and go to also when it is set (the RED metrics). Without
// either the parsers still run: conn_stats labels connections with the
// protocol they found.
func registerProtocols(t *conntrack.Tracker, b *spanBuilder, spans bool, also func(*protocols.Exchange)) {
	p := &protoSpans{b: b, byPID: make(map[uint32]ptrace.SpanSlice),
		res: make(map[uint32]ptrace.ResourceSpans)}
	b.onForget = append(b.onForget, func(pid uint32) {
		delete(p.byPID, pid)
		delete(p.res, pid)
	})
	emit := func(e *protocols.Exchange) {
		if spans {
			p.add(e)
		}
		if also != nil {
			also(e)
		}
	}
	t.Register(http2.New(emit))
	t.Register(pgsql.New(emit))
	t.Register(mysql.New(emit))
	t.Register(redis.New(emit))
	t.Register(dns.New(emit))
	t.Register(kafka.New(emit))
}

// protoSpans adds exchanges to a spanBuilder, under their own scope in
// each process's resource (HTTP/2 under the HTTP scope, so that they
// become http_events rows too).
type protoSpans struct {
	b     *spanBuilder
	byPID map[uint32]ptrace.SpanSlice     // ProtocolsScopeName spans; reset with the builder
	res   map[uint32]ptrace.ResourceSpans // resources of this flush
}

// add turns one exchange into a span. It is called from the tracer's
// goroutine; the Exchange is only valid during the call.
func (p *protoSpans) add(e *protocols.Exchange) {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending >= b.max {
		b.dropped++
		return
	}
	if b.pending == 0 {
		clear(p.byPID) // the builder was reset by a flush
		clear(p.res)
	}
	pid := e.Conn.ID.PID
	byPID, scope := p.byPID, ProtocolsScopeName
	if e.Protocol == protocols.HTTP2 {
		byPID, scope = b.byPID, metadata.ScopeName
	}
	spans, ok := byPID[pid]
	if !ok {
		rs, found := p.res[pid]
		if !found {
			rs, found = b.findResource(pid)
		}
		if !found {
			rs = b.td.ResourceSpans().AppendEmpty()
			b.fillResource(rs.Resource(), pid)
		}
		p.res[pid] = rs
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(scope)
		spans = ss.Spans()
		byPID[pid] = spans
	}
	b.fillExchangeSpan(spans.AppendEmpty(), e)
	b.added()
}

// findResource finds the resource of pid among those of this flush.
func (b *spanBuilder) findResource(pid uint32) (ptrace.ResourceSpans, bool) {
	if _, ok := b.byPID[pid]; !ok {
		return ptrace.ResourceSpans{}, false
	}
	rss := b.td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		if v, ok := rss.At(i).Resource().Attributes().Get("process.pid"); ok && v.Int() == int64(pid) {
			return rss.At(i), true
		}
	}
	return ptrace.ResourceSpans{}, false
}

func (b *spanBuilder) fillExchangeSpan(span ptrace.Span, e *protocols.Exchange) {
	span.SetName(e.Name)
	span.SetTraceID(b.newTraceID())
	span.SetSpanID(b.newSpanID())
	end := max(e.EndNs, e.StartNs)
	span.SetStartTimestamp(pcommon.Timestamp(e.StartNs))
	span.SetEndTimestamp(pcommon.Timestamp(end))
	switch {
	case e.Push:
		span.SetKind(ptrace.SpanKindConsumer)
	case e.Conn.Role == sockevent.RoleClient:
		span.SetKind(ptrace.SpanKindClient)
	default:
		span.SetKind(ptrace.SpanKindServer)
	}
	a := span.Attributes()
	a.EnsureCapacity(len(e.Attrs) + 12)
	for _, kv := range e.Attrs {
		if kv.IsInt {
			a.PutInt(kv.Key, kv.Int)
		} else {
			a.PutStr(kv.Key, kv.Str)
		}
	}
	if e.Conn.TLS { // read from the TLS library's plaintext (tls.go)
		a.PutStr("tls.protocol.name", "tls")
	}
	local, remote := e.Conn.Local, e.Conn.Remote
	server, client := local, remote
	if e.Conn.Role == sockevent.RoleClient {
		server, client = remote, local
	}
	if server.IsValid() {
		a.PutStr("server.address", b.addrString(server.Addr()))
		a.PutInt("server.port", int64(server.Port()))
	}
	if client.IsValid() {
		a.PutStr("client.address", b.addrString(client.Addr()))
		a.PutInt("client.port", int64(client.Port()))
	}
	if remote.IsValid() {
		a.PutStr("network.peer.address", b.addrString(remote.Addr()))
		a.PutInt("network.peer.port", int64(remote.Port()))
	}
	if e.ReqCmd != "" {
		a.PutStr(attrReqCmd, e.ReqCmd)
	}
	if e.Req != "" {
		a.PutStr(attrReq, e.Req)
	}
	if e.Resp != "" {
		a.PutStr(attrResp, e.Resp)
	}
	if e.ReqHeader != "" {
		a.PutStr(attrReqH, e.ReqHeader)
	}
	if e.RespHeader != "" {
		a.PutStr(attrRespH, e.RespHeader)
	}
	if e.Error {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(e.ErrorMessage)
		if e.ErrorType != "" {
			a.PutStr("error.type", e.ErrorType)
		}
	}
}

package ebpfreceiver

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// spanBuilder accumulates spans, grouped by process, until the next flush.
// It is bounded: past maxPending spans, new ones are dropped and counted.
// Half way there it asks for an early flush (nudge), so a high request rate
// is not cut at maxPending per flush interval: only a pipeline that does
// not keep up loses spans.
type spanBuilder struct {
	cfg      HTTPConfig
	procs    *procinfo.Reader
	hostName string
	max      int

	mu    sync.Mutex
	rng   *rand.ChaCha8
	addrs map[netip.Addr]string
	// header name → attribute key, for requests and responses
	reqHeaderKeys, respHeaderKeys map[string]string
	// span names ("METHOD route") by themselves, and the buffer they are
	// built in (see routeName)
	names    map[string]string
	nameBuf  []byte
	td       ptrace.Traces
	byPID    map[uint32]ptrace.SpanSlice
	pending  int
	dropped  uint64
	produced uint64
	nudge    chan struct{} // receives when pending reaches max/2
	firstAt  time.Time     // when pending went from 0 to 1
	// onForget are called (b.mu held) by forget, for the caches of
	// resources kept beside byPID (protoSpans).
	onForget []func(pid uint32)
}

func newSpanBuilder(cfg HTTPConfig, procs *procinfo.Reader, maxPending int) *spanBuilder {
	host, _ := os.Hostname()
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	b := &spanBuilder{cfg: cfg, procs: procs, hostName: host, max: maxPending,
		rng: rand.NewChaCha8(seed), addrs: make(map[netip.Addr]string),
		reqHeaderKeys: make(map[string]string), respHeaderKeys: make(map[string]string),
		names: make(map[string]string), nudge: make(chan struct{}, 1)}
	b.reset()
	return b
}

func (b *spanBuilder) reset() {
	b.td = ptrace.NewTraces()
	b.byPID = make(map[uint32]ptrace.SpanSlice)
	b.pending = 0
}

// take returns the accumulated spans (nil when none) and starts anew.
func (b *spanBuilder) take() (ptrace.Traces, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == 0 {
		return ptrace.Traces{}, 0
	}
	td, n := b.td, b.pending
	b.reset()
	return td, n
}

// oldest returns when the oldest pending span was added; false when none
// waits.
func (b *spanBuilder) oldest() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.firstAt, b.pending > 0
}

func (b *spanBuilder) stats() (produced, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.produced, b.dropped
}

// add turns one exchange into a span. It is called from the tracer's
// goroutine; the Record is only valid during the call.
func (b *spanBuilder) add(r *conntrack.Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending >= b.max {
		b.dropped++
		return
	}
	pid := r.Conn.ID.PID
	spans, ok := b.byPID[pid]
	if !ok {
		rs := b.td.ResourceSpans().AppendEmpty()
		b.fillResource(rs.Resource(), pid)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(metadata.ScopeName)
		spans = ss.Spans()
		b.byPID[pid] = spans
	}
	b.fillSpan(spans.AppendEmpty(), r)
	b.added()
}

// forget makes the next span of pid start a new resource: the process
// exec'd, and the resource of its earlier spans in this flush names the
// old executable.
func (b *spanBuilder) forget(pid uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.byPID, pid)
	for _, f := range b.onForget {
		f(pid)
	}
}

// added counts a span just added (b.mu held). The first pending span
// notes the time (oldest), half of maxPending asks for an early flush
// (nudge).
func (b *spanBuilder) added() {
	b.pending++
	b.produced++
	if b.pending == 1 {
		b.firstAt = time.Now()
	}
	if b.pending == max(b.max/2, 1) {
		signal(b.nudge)
	}
}

// signal sends on a one-slot channel unless a signal already waits there.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (b *spanBuilder) fillResource(res pcommon.Resource, pid uint32) {
	attrs := res.Attributes()
	attrs.PutInt("process.pid", int64(pid))
	if b.hostName != "" {
		attrs.PutStr("host.name", b.hostName)
	}
	in := b.procs.Get(pid)
	if in.ExeName != "" {
		attrs.PutStr("process.executable.name", in.ExeName)
		attrs.PutStr("service.name", in.ExeName)
	}
	// One instance per process on this host (Prometheus's instance label).
	attrs.PutStr("service.instance.id", b.hostName+":"+strconv.FormatUint(uint64(pid), 10))
	if in.ExePath != "" {
		attrs.PutStr("process.executable.path", in.ExePath)
	}
	if in.CommandLine != "" {
		attrs.PutStr("process.command_line", in.CommandLine)
	}
	if in.StartUnixNano > 0 {
		attrs.PutStr("process.creation.time", time.Unix(0, in.StartUnixNano).UTC().Format(time.RFC3339Nano))
	}
	if in.ContainerID != "" {
		attrs.PutStr("container.id", in.ContainerID)
	}
	if in.PodUID != "" {
		attrs.PutStr("k8s.pod.uid", in.PodUID)
	}
}

func (b *spanBuilder) fillSpan(span ptrace.Span, r *conntrack.Record) {
	cfg := b.cfg
	req, resp := r.Req, r.Resp
	name, route := b.routeName(req)
	span.SetName(name)
	if tid, parent, _, ok := parseTraceparent(req.Get("traceparent")); ok {
		span.SetTraceID(tid)
		span.SetParentSpanID(parent)
	} else {
		span.SetTraceID(b.newTraceID())
	}
	span.SetSpanID(b.newSpanID())
	span.SetStartTimestamp(pcommon.Timestamp(r.StartNs()))
	span.SetEndTimestamp(pcommon.Timestamp(r.StartNs() + int64(r.Duration())))

	// server.* names the server side of the connection, client.* the client
	// side, network.peer.* the other end from the traced process.
	local, remote := r.Conn.Local, r.Conn.Remote
	client := remote
	if r.Conn.Role == sockevent.RoleClient {
		client = local
	}
	addr, port := b.serverEndpoint(r)
	ua := req.Get("User-Agent")
	errAt := 500
	if r.Conn.Role == sockevent.RoleClient {
		errAt = 400
	}
	failed := resp == nil || resp.StatusCode >= errAt

	// Exactly the attributes below, so the map is allocated once and at
	// its size (the attribute array is half of a span's bytes).
	a := span.Attributes()
	n := 4 + b2i(req.Query != "") + b2i(req.Version != "") + 2*b2i(r.Conn.TLS) + b2i(ua != "") +
		b2i(addr != "") + b2i(port != 0) + 2*b2i(client.IsValid()) + 2*b2i(remote.IsValid()) +
		2*b2i(resp != nil) + b2i(failed)
	if cfg.CaptureHeaders {
		n += len(req.Headers)
		if resp != nil {
			n += len(resp.Headers)
		}
	}
	if cfg.CaptureBodies {
		n += 2
	}
	a.EnsureCapacity(n)
	a.PutStr("http.request.method", req.Method)
	a.PutStr("url.path", req.Path)
	if req.Query != "" {
		a.PutStr("url.query", req.Query)
	}
	a.PutStr("http.route", route)
	// network.protocol.name is only required when it is not "http".
	if req.Version != "" {
		a.PutStr("network.protocol.version", req.Version)
	}
	if r.Conn.TLS {
		// Read from the TLS library's plaintext (the table store's
		// http_events.encrypted).
		a.PutStr("url.scheme", "https")
		a.PutStr("tls.protocol.name", "tls")
	}
	if ua != "" {
		a.PutStr("user_agent.original", ua)
	}
	a.PutInt("http.request.body.size", req.BodySize)

	if addr != "" {
		a.PutStr("server.address", addr)
	}
	if port != 0 {
		a.PutInt("server.port", int64(port))
	}
	if client.IsValid() {
		a.PutStr("client.address", b.addrString(client.Addr()))
		a.PutInt("client.port", int64(client.Port()))
	}
	if remote.IsValid() {
		a.PutStr("network.peer.address", b.addrString(remote.Addr()))
		a.PutInt("network.peer.port", int64(remote.Port()))
	}
	// network.local.* (opt-in in semconv) would repeat server.* on server
	// spans and client.* on client spans: left out.

	switch r.Conn.Role {
	case sockevent.RoleClient:
		span.SetKind(ptrace.SpanKindClient)
	default:
		span.SetKind(ptrace.SpanKindServer)
	}
	if resp != nil {
		a.PutInt("http.response.status_code", int64(resp.StatusCode))
		a.PutInt("http.response.body.size", resp.BodySize)
		if failed {
			span.Status().SetCode(ptrace.StatusCodeError)
			a.PutStr("error.type", strconv.Itoa(resp.StatusCode))
		}
	} else {
		// No response: the request was cut short (closed, timed out, lost).
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage("no response seen: " + r.Unanswered.String())
		a.PutStr("error.type", "no_response_"+r.Unanswered.String())
	}

	if cfg.CaptureHeaders {
		b.putHeaders(a, b.reqHeaderKeys, "http.request.header.", req.Headers)
		if resp != nil {
			b.putHeaders(a, b.respHeaderKeys, "http.response.header.", resp.Headers)
		}
	}
	if cfg.CaptureBodies {
		if req.Body != "" {
			a.PutStr("http.request.body", capString(req.Body, cfg.MaxBodyBytes))
		}
		if resp != nil && resp.Body != "" {
			a.PutStr("http.response.body", capString(resp.Body, cfg.MaxBodyBytes))
		}
	}
}

// routeName returns a request's span name, "METHOD route", and its route
// (the path templated by http1.AppendRoute; the raw target when there is
// no path, as for CONNECT). The name is built in a reused buffer and
// interned: a node serves few routes, and building route and name
// allocated twice per span. The route is a suffix of the name, and is
// handed to the request (SetRoute) so the RED metrics reuse it.
func (b *spanBuilder) routeName(req *http1.Message) (name, route string) {
	buf := append(b.nameBuf[:0], req.Method...)
	buf = append(buf, ' ')
	n := len(buf)
	buf, _ = http1.AppendRoute(buf, req.Path)
	hasPath := len(buf) > n
	if !hasPath {
		buf = append(buf, req.Target...)
	}
	b.nameBuf = buf
	name, ok := b.names[string(buf)]
	if !ok {
		name = string(buf)
		if len(name) <= maxInternedName {
			if len(b.names) >= maxNames {
				clear(b.names)
			}
			b.names[name] = name
		}
	}
	route = name[n:]
	if hasPath {
		req.SetRoute(route)
	}
	return name, route
}

// maxNames bounds the span-name cache; names longer than maxInternedName
// are not kept (a path the templating missed ids in would churn it).
const (
	maxNames        = 4096
	maxInternedName = 256
)

// serverEndpoint names the server side of an exchange as semconv's
// server.address / server.port: for a client, the Host header it sent (the
// name it asked for), else the server's IP; port 0 when unknown.
func (b *spanBuilder) serverEndpoint(r *conntrack.Record) (string, int) {
	server := r.Conn.Local
	if r.Conn.Role == sockevent.RoleClient {
		server = r.Conn.Remote
		if host := hostOnly(r.Req.Get("Host")); host != "" {
			return host, int(server.Port())
		}
	}
	if !server.IsValid() {
		return "", 0
	}
	return b.addrString(server.Addr()), int(server.Port())
}

// hostOnly strips the port from a Host header value ("[::1]:80" → "::1").
func hostOnly(h string) string {
	if h == "" {
		return ""
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.Trim(h, "[]")
}

// putHeaders adds headers as semconv string-slice attributes
// (http.request.header.<lower-case name>), repeated headers in order.
// Attribute keys come from keys (header name as sent → key), a small
// bounded cache: a node sees few distinct header names, and building the key
// (lower-casing, concatenation) allocated twice per header.
func (b *spanBuilder) putHeaders(a pcommon.Map, keys map[string]string, prefix string, hs []http1.Header) {
	for i, h := range hs {
		key, ok := keys[h.Name]
		if !ok {
			key = prefix + strings.ToLower(h.Name)
			if len(keys) >= maxHeaderKeys {
				clear(keys)
			}
			keys[strings.Clone(h.Name)] = key
		}
		// Only a repeated header needs the lookup of an earlier value.
		if repeated(hs[:i], h.Name) {
			if v, ok := a.Get(key); ok && v.Type() == pcommon.ValueTypeSlice {
				v.Slice().AppendEmpty().SetStr(h.Value)
				continue
			}
		}
		a.PutEmptySlice(key).AppendEmpty().SetStr(h.Value)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxHeaderKeys bounds each header-key cache.
const maxHeaderKeys = 256

// repeated reports whether a header named name is among earlier.
func repeated(earlier []http1.Header, name string) bool {
	for _, e := range earlier {
		if len(e.Name) == len(name) && strings.EqualFold(e.Name, name) {
			return true
		}
	}
	return false
}

func capString(b string, n int) string {
	if n >= 0 && len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(b, "\uFFFD")
}

// addrString formats an address, remembering the last few hundred: a node
// talks to few peers, and formatting allocates.
func (b *spanBuilder) addrString(a netip.Addr) string {
	if s, ok := b.addrs[a]; ok {
		return s
	}
	s := a.Unmap().String()
	if len(b.addrs) >= 512 {
		clear(b.addrs)
	}
	b.addrs[a] = s
	return s
}

// newIDs draws a trace and a span id from a ChaCha8 stream seeded from the
// OS (ids must be unique, not secret).
func (b *spanBuilder) newTraceID() (id pcommon.TraceID) {
	binary.LittleEndian.PutUint64(id[:8], b.rng.Uint64())
	binary.LittleEndian.PutUint64(id[8:], b.rng.Uint64())
	return id
}

func (b *spanBuilder) newSpanID() (id pcommon.SpanID) {
	for id.IsEmpty() {
		binary.LittleEndian.PutUint64(id[:], b.rng.Uint64())
	}
	return id
}

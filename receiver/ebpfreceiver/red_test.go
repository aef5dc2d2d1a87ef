package ebpfreceiver

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	xhttp2 "golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

func redRecord(method, path string, status int, d time.Duration, role sockevent.Role) *conntrack.Record {
	req := &http1.Message{Method: method, Path: path, Target: path, StartNs: 1000, EndNs: 1000}
	r := &conntrack.Record{Conn: conntrack.ConnInfo{ID: sockevent.ConnID{PID: 7}, Role: role,
		Local: netip.MustParseAddrPort("10.0.0.1:80"), Remote: netip.MustParseAddrPort("10.0.0.2:5555")}, Req: req}
	if status != 0 {
		r.Resp = &http1.Message{StatusCode: status, EndNs: 1000 + int64(d)}
	} else {
		r.Unanswered = conntrack.TimedOut
	}
	return r
}

func collectRED(m *redMetrics) map[string]pmetric.HistogramDataPoint {
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	m.appendTo(func(uint32) pmetric.MetricSlice { return ms }, 5000)
	out := map[string]pmetric.HistogramDataPoint{}
	for i := 0; i < ms.Len(); i++ {
		mt := ms.At(i)
		for j := 0; j < mt.Histogram().DataPoints().Len(); j++ {
			dp := mt.Histogram().DataPoints().At(j)
			k := mt.Name()
			for _, a := range []string{"http.request.method", "http.route", "http.response.status_code", "error.type", "otel.metric.overflow"} {
				if v, ok := dp.Attributes().Get(a); ok {
					k += " " + v.AsString()
				}
			}
			out[k] = dp
		}
	}
	return out
}

func TestREDBucketsAndAttributes(t *testing.T) {
	m := newREDMetrics(100, 1)
	m.add(redRecord("GET", "/users/42", 200, 3*time.Millisecond, sockevent.RoleServer), "10.0.0.1", 80, 10)
	m.add(redRecord("GET", "/users/43", 200, 30*time.Millisecond, sockevent.RoleServer), "10.0.0.1", 80, 10)
	m.add(redRecord("BREW", "/pot", 503, 2*time.Second, sockevent.RoleServer), "10.0.0.1", 80, 10)
	m.add(redRecord("GET", "/x", 404, time.Millisecond, sockevent.RoleClient), "example.com", 80, 10)
	m.add(redRecord("GET", "/y", 0, 0, sockevent.RoleClient), "example.com", 80, 10)
	got := collectRED(m)

	u := got["http.server.request.duration GET /users/{id} 200"]
	require.Equal(t, uint64(2), u.Count(), "keys: %v", keysOf(got))
	assert.Equal(t, durationBuckets, u.ExplicitBounds().AsRaw())
	// 3 ms → bucket (0, 0.005]; 30 ms → (0.025, 0.05].
	assert.Equal(t, uint64(1), u.BucketCounts().At(1))
	assert.Equal(t, uint64(1), u.BucketCounts().At(4))
	assert.InDelta(t, 0.033, u.Sum(), 1e-9)
	_, hasPath := u.Attributes().Get("url.path")
	assert.False(t, hasPath, "raw url.path is never a metric attribute")
	v, _ := u.Attributes().Get("server.address")
	assert.Equal(t, "10.0.0.1", v.Str())

	assert.Equal(t, uint64(1), got["http.server.request.duration _OTHER /pot 503 503"].Count(), "unknown methods become _OTHER; 5xx sets error.type")
	assert.Equal(t, uint64(1), got["http.client.request.duration GET /x 404 404"].Count(), "client 4xx is an error")
	assert.Equal(t, uint64(1), got["http.client.request.duration GET /y no_response_timeout"].Count())
}

func TestREDCardinalityLimit(t *testing.T) {
	m := newREDMetrics(3, 1)
	for i := 0; i < 10; i++ {
		m.add(redRecord("GET", "/r"+string(rune('a'+i)), 200, time.Millisecond, sockevent.RoleServer), "h", 80, 10)
	}
	got := collectRED(m)
	assert.Len(t, got, 4, "3 series and one overflow series: %v", keysOf(got))
	assert.Equal(t, uint64(7), got["http.server.request.duration true"].Count(), "the overflow series takes the rest")
	assert.Equal(t, uint64(7), m.server.overflowed)
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// HTTP/2 and gRPC requests are counted in the RED histograms like HTTP/1
// ones: a plain GET with its templated route and status, a gRPC call that
// failed under a 200 with the gRPC status as error.type.
func TestREDHTTP2(t *testing.T) {
	r := &tracesReceiver{red: newREDMetrics(100, 1)}
	r.spans = newSpanBuilder(HTTPConfig{}, procinfo.NewReader(t.TempDir(), 0), 100)
	r.tracker = conntrack.New(conntrack.Config{}, r.spans.add)
	registerProtocols(r.tracker, r.spans, false, r.redExchange)

	var cb, sb, hb bytes.Buffer
	cl, sv := xhttp2.NewFramer(&cb, nil), xhttp2.NewFramer(&sb, nil)
	enc := hpack.NewEncoder(&hb)
	headers := func(fr *xhttp2.Framer, id uint32, end bool, kv ...string) {
		hb.Reset()
		for i := 0; i < len(kv); i += 2 {
			require.NoError(t, enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}))
		}
		require.NoError(t, fr.WriteHeaders(xhttp2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: end, EndHeaders: true}))
	}
	cb.WriteString(xhttp2.ClientPreface)
	require.NoError(t, cl.WriteSettings())
	headers(cl, 1, true, ":method", "GET", ":scheme", "http", ":path", "/users/42", ":authority", "svc:8080")
	headers(cl, 3, false, ":method", "POST", ":scheme", "http", ":path", "/shop.Orders/Get", ":authority", "svc:8080",
		"content-type", "application/grpc", "te", "trailers")
	require.NoError(t, cl.WriteData(3, true, []byte("\x00\x00\x00\x00\x00")))
	require.NoError(t, sv.WriteSettings())
	// The server's encoder has its own dynamic table.
	enc = hpack.NewEncoder(&hb)
	headers(sv, 1, true, ":status", "200")
	headers(sv, 3, false, ":status", "200", "content-type", "application/grpc")
	headers(sv, 3, true, "grpc-status", "13", "grpc-message", "boom")

	id := sockevent.ConnID{PID: 7, FD: 4, Gen: 1}
	r.tracker.OnOpen(&sockevent.Open{ID: id, Role: sockevent.RoleServer,
		Local: netip.MustParseAddrPort("10.0.0.1:8080"), Remote: netip.MustParseAddrPort("10.0.0.2:5555")})
	r.tracker.OnData(&sockevent.Data{ID: id, Dir: sockevent.Ingress, TimeNs: 1000, Size: uint32(cb.Len()), Payload: cb.Bytes()})
	r.tracker.OnData(&sockevent.Data{ID: id, Dir: sockevent.Egress, TimeNs: 3000, Size: uint32(sb.Len()), Payload: sb.Bytes()})

	got := collectRED(r.red)
	get := got["http.server.request.duration GET /users/{id} 200"]
	require.Equal(t, uint64(1), get.Count(), "keys: %v", keysOf(got))
	v, _ := get.Attributes().Get("server.address")
	assert.Equal(t, "10.0.0.1", v.Str())
	grpc, ok := got["http.server.request.duration POST /shop.Orders/Get 200 INTERNAL"]
	require.True(t, ok, "keys: %v", keysOf(got))
	assert.Equal(t, uint64(1), grpc.Count())
	_, n := r.spans.take()
	assert.Zero(t, n, "no traces pipeline: no spans")
}

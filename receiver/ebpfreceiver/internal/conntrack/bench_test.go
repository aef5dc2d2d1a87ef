package conntrack

import (
	"strings"
	"testing"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

const benchReq = "GET /api/v1/users/12345/orders?limit=20&offset=40 HTTP/1.1\r\n" +
	"Host: orders.default.svc.cluster.local:8080\r\n" +
	"User-Agent: Go-http-client/1.1\r\n" +
	"Accept: application/json\r\n" +
	"Accept-Encoding: gzip\r\n" +
	"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.abc\r\n" +
	"Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n" +
	"X-Request-Id: 9f86d081-884c-7d65-9a2f-eaa0c55ad015\r\n\r\n"

var benchResp = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json; charset=utf-8\r\n" +
	"Date: Mon, 02 Jun 2025 10:00:00 GMT\r\n" +
	"Server: envoy\r\n" +
	"X-Envoy-Upstream-Service-Time: 3\r\n" +
	"Content-Length: 1024\r\n\r\n" + `{"orders":[` + strings.Repeat(`{"id":1,"x":"y"},`, 59) + `{"id":2,"x":"yyyyyyyy"}]}`

func init() {
	// Keep the body exactly 1024 bytes as declared.
	head := benchResp[:strings.Index(benchResp, "\r\n\r\n")+4]
	body := benchResp[len(head):]
	if len(body) < 1024 {
		body += strings.Repeat(" ", 1024-len(body))
	}
	benchResp = head + body[:1024]
}

type benchFeeder struct {
	tr  *Tracker
	pos map[sockevent.ConnID]*[2]uint64
	ev  sockevent.Data
}

func (f *benchFeeder) send(id sockevent.ConnID, dir sockevent.Direction, b []byte, ts int64) {
	p := f.pos[id]
	if p == nil {
		p = new([2]uint64)
		f.pos[id] = p
	}
	f.ev = sockevent.Data{ID: id, Dir: dir, TimeNs: ts, Pos: p[dir], Size: uint32(len(b)), Payload: b}
	f.tr.OnData(&f.ev)
	p[dir] += uint64(len(b))
}

// BenchmarkConntrackHTTP feeds realistic request/response exchanges; MB/s
// counts request plus response bytes.
func BenchmarkConntrackHTTP(b *testing.B) {
	req, resp := []byte(benchReq), []byte(benchResp)
	records := 0
	onRecord := func(r *Record) {
		records++
		_ = r.Req.Path
		_ = r.Resp.StatusCode
	}

	b.Run("keepalive", func(b *testing.B) {
		tr := New(Config{}, onRecord)
		f := &benchFeeder{tr: tr, pos: map[sockevent.ConnID]*[2]uint64{}}
		id := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
		tr.OnOpen(&sockevent.Open{ID: id, Role: sockevent.RoleServer})
		b.SetBytes(int64(len(req) + len(resp)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ts := int64(i) * 1000
			f.send(id, sockevent.Ingress, req, ts)
			f.send(id, sockevent.Egress, resp[:200], ts+500)
			f.send(id, sockevent.Egress, resp[200:], ts+600)
		}
	})

	b.Run("pipelined_small_chunks", func(b *testing.B) {
		tr := New(Config{}, onRecord)
		f := &benchFeeder{tr: tr, pos: map[sockevent.ConnID]*[2]uint64{}}
		id := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
		tr.OnOpen(&sockevent.Open{ID: id, Role: sockevent.RoleClient})
		reqs := []byte(strings.Repeat(benchReq, 4))
		resps := []byte(strings.Repeat(benchResp, 4))
		b.SetBytes(int64(len(reqs) + len(resps)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ts := int64(i) * 1000
			f.send(id, sockevent.Egress, reqs, ts)
			for j := 0; j < len(resps); j += 128 {
				f.send(id, sockevent.Ingress, resps[j:min(j+128, len(resps))], ts+1)
			}
		}
	})

	b.Run("conn_per_request", func(b *testing.B) {
		tr := New(Config{}, onRecord)
		ev := sockevent.Data{}
		b.SetBytes(int64(len(req) + len(resp)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			id := sockevent.ConnID{PID: 1, FD: int32(i % 512), Gen: uint64(i)}
			ts := int64(i) * 1000
			tr.OnOpen(&sockevent.Open{ID: id, TimeNs: ts, Role: sockevent.RoleServer})
			ev = sockevent.Data{ID: id, Dir: sockevent.Ingress, TimeNs: ts, Size: uint32(len(req)), Payload: req}
			tr.OnData(&ev)
			ev = sockevent.Data{ID: id, Dir: sockevent.Egress, TimeNs: ts + 1, Size: uint32(len(resp)), Payload: resp}
			tr.OnData(&ev)
			tr.OnClose(&sockevent.Close{ID: id, TimeNs: ts + 2})
		}
	})

	b.Run("ignored_non_http", func(b *testing.B) {
		tr := New(Config{}, onRecord)
		f := &benchFeeder{tr: tr, pos: map[sockevent.ConnID]*[2]uint64{}}
		id := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
		tr.OnOpen(&sockevent.Open{ID: id, Role: sockevent.RoleClient})
		junk := []byte("\x16\x03\x03" + strings.Repeat("\x00\x17", 700))
		b.SetBytes(int64(len(junk)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			f.send(id, sockevent.Direction(i&1), junk, int64(i))
		}
	})
	_ = records
}

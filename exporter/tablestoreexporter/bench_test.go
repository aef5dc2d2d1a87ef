package tablestoreexporter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// benchTraces builds n spans shaped like the ebpf receiver's (17 attributes,
// three request headers and one response header) over five processes.
func benchTraces(n int, start pcommon.Timestamp) ptrace.Traces {
	rng := rand.New(rand.NewPCG(1, 2))
	td := ptrace.NewTraces()
	var spans [5]ptrace.SpanSlice
	for p := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		a := rs.Resource().Attributes()
		a.PutInt("process.pid", int64(1000+p))
		a.PutStr("host.name", "node-1")
		a.PutStr("process.executable.name", fmt.Sprintf("svc%d", p))
		a.PutStr("service.name", fmt.Sprintf("svc%d", p))
		a.PutStr("container.id", fmt.Sprintf("%064x", p))
		a.PutStr("k8s.pod.uid", fmt.Sprintf("pod-%d", p))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(EBPFScope)
		spans[p] = ss.Spans()
	}
	t := start
	for i := range n {
		s := spans[rng.IntN(5)].AppendEmpty()
		t += pcommon.Timestamp(rng.IntN(100_000))
		var id [16]byte
		for j := range id {
			id[j] = byte(rng.Uint32())
		}
		s.SetTraceID(id)
		s.SetSpanID(pcommon.SpanID(id[:8]))
		s.SetName("GET /api/users/{id}")
		s.SetKind(ptrace.SpanKindServer)
		lat := pcommon.Timestamp(100_000 + rng.IntN(5_000_000))
		s.SetStartTimestamp(t - lat)
		s.SetEndTimestamp(t)
		a := s.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("url.path", fmt.Sprintf("/api/users/%d", rng.IntN(5000)))
		a.PutStr("http.route", "/api/users/{id}")
		a.PutStr("network.protocol.name", "http")
		a.PutStr("network.protocol.version", "1.1")
		a.PutStr("user_agent.original", "Go-http-client/1.1")
		a.PutInt("http.request.body.size", 0)
		a.PutStr("server.address", "10.0.1.5")
		a.PutInt("server.port", 8080)
		peer := fmt.Sprintf("10.0.2.%d", rng.IntN(20))
		port := int64(32768 + rng.IntN(64))
		a.PutStr("client.address", peer)
		a.PutInt("client.port", port)
		a.PutStr("network.peer.address", peer)
		a.PutInt("network.peer.port", port)
		a.PutStr("network.local.address", "10.0.1.5")
		a.PutInt("network.local.port", 8080)
		a.PutInt("http.response.status_code", 200)
		a.PutInt("http.response.body.size", int64(100+rng.IntN(1900)))
		a.PutEmptySlice("http.request.header.host").AppendEmpty().SetStr("api:8080")
		a.PutEmptySlice("http.request.header.user-agent").AppendEmpty().SetStr("Go-http-client/1.1")
		a.PutEmptySlice("http.request.header.accept").AppendEmpty().SetStr("application/json")
		a.PutEmptySlice("http.response.header.content-type").AppendEmpty().SetStr("application/json")
		_ = i
	}
	return td
}

// BenchmarkConsumeTraces maps ebpf-shaped spans (1000 per call) into the
// store: http_events only, or http_events plus the generic spans table.
func BenchmarkConsumeTraces(b *testing.B) {
	for _, both := range []bool{false, true} {
		b.Run(fmt.Sprintf("spans_table=%v", both), func(b *testing.B) {
			now := time.Now()
			s, err := tablestore.New(tablestore.Config{MaxBytes: 8 << 30, MaintenanceInterval: -1, CompactInline: true,
				Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			cfg := createDefaultConfig().(*Config)
			cfg.SkipHTTPEventsInSpans = !both
			e := startExporter(b, cfg, s)
			const per = 1000
			tds := make([]ptrace.Traces, 16)
			base := pcommon.Timestamp(now.Add(-time.Hour).UnixNano())
			for i := range tds {
				tds[i] = benchTraces(per, base+pcommon.Timestamp(i)*pcommon.Timestamp(per*100_000))
			}
			shift := pcommon.Timestamp(len(tds) * per * 100_000)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%len(tds) == 0 { // move the data forward in time (untimed)
					b.StopTimer()
					for _, td := range tds {
						shiftTimes(td, shift)
					}
					b.StartTimer()
				}
				if err := e.ConsumeTraces(context.Background(), tds[i%len(tds)]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "spans/s")
			if st := s.Table(tablestore.TableHTTPEvents).Stats(); st.DroppedLate > 0 || st.RowsAppended != int64(b.N*per) {
				b.Fatalf("rows lost: %+v", st)
			}
		})
	}
}

func shiftTimes(td ptrace.Traces, d pcommon.Timestamp) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				s.SetStartTimestamp(s.StartTimestamp() + d)
				s.SetEndTimestamp(s.EndTimestamp() + d)
			}
		}
	}
}

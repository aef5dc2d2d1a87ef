package piiredactionprocessor

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/pii"
)

var cleanBody = func() string {
	var b strings.Builder
	b.WriteString(`{"event":"checkout","items":[`)
	for b.Len() < 600 {
		b.WriteString(`{"sku":"SKU-01234","qty":3,"name":"blue shirt"},`)
	}
	return b.String()[:512]
}()

func benchSpans(n int, body string) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for range n {
		a := ss.Spans().AppendEmpty().Attributes()
		sp := ss.Spans().At(ss.Spans().Len() - 1)
		sp.SetName("POST /api/orders/{id}")
		a.PutStr("http.request.method", "POST")
		a.PutStr("url.path", "/api/orders/123456")
		a.PutStr("http.route", "/api/orders/{id}")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("server.address", "10.0.3.17")
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.6099.109")
		a.PutStr("http.request.header.content-type", "application/json")
		a.PutStr("http.request.body", body)
		a.PutStr("http.response.body", body)
	}
	return td
}

// TestNoAllocsOnCleanSpans: a batch without PII is processed without
// allocating (the key cache is warm after the first batch).
func TestNoAllocsOnCleanSpans(t *testing.T) {
	cfg := defaultCfg()
	cfg.NeverTouchKeys = []string{"server.address"}
	p, _ := newTestProcessor(t, cfg)
	td := benchSpans(10, cleanBody)
	ctx := context.Background()
	_, _ = p.processTraces(ctx, td)
	n := testing.AllocsPerRun(20, func() { _, _ = p.processTraces(ctx, td) })
	if n != 0 {
		t.Fatalf("%v allocations per clean batch", n)
	}
}

func BenchmarkProcessTracesClean(b *testing.B) {
	benchProcess(b, cleanBody)
}

func BenchmarkProcessTracesPII(b *testing.B) {
	benchProcess(b, cleanBody[:400]+` "note":"jane.doe@example.com 4111 1111 1111 1111"`)
}

func benchProcess(b *testing.B, body string) {
	cfg := defaultCfg()
	cfg.NeverTouchKeys = []string{"server.address"}
	p, err := newProcessor(noopTelemetry(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	src := benchSpans(100, body)
	td := ptrace.NewTraces()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(100 * 2 * len(body)))
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		src.CopyTo(td)
		b.StartTimer()
		_, _ = p.processTraces(ctx, td)
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "spans/s")
}

func BenchmarkDetectorClean512(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(cleanBody)))
	for b.Loop() {
		pii.Redact(cleanBody, pii.All, nil)
	}
}

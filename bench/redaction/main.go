// Command redaction compares the pii_redaction processor with contrib's
// redactionprocessor (v0.165.1, configured with equivalent blocked_values
// regexes and allow_all_keys) on the same realistic spans, in the same run,
// alternating the variants round by round. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor"
)

// contribBlockedValues are Go regexps for the same categories the
// pii_redaction detector finds (shape only: regexps cannot check Luhn,
// mod-97 or the SSA rules).
var contribBlockedValues = []string{
	`[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`,                                               // email
	`\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b`,                                     // IPv4
	`\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?\b`, // IPv6
	`\b(?:\d[ -]?){12,18}\d\b`,                                                 // card
	`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`,              // IBAN
	`\b\d{3}[- ]\d{2}[- ]\d{4}\b`,                                              // SSN
	`\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b`,                              // MAC
	`\b\d{2}[- ]?\d{6}[- ]?\d{6}[- ]?\d{1,2}\b`,                                // IMEI / IMEISV
	`\+[1-9][\d .()-]{7,18}\d\b|\(?\b[2-9]\d{2}\)?[-. ][2-9]\d{2}[-. ]\d{4}\b`, // phone
	`\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`,                      // JWT
	`(?i)\b(?:bearer|basic) [A-Za-z0-9._~+/-]{8,}=*`,                           // Authorization
	`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|\bgh[pousr]_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,}`, // API keys
}

func main() {
	spansPerBatch := flag.Int("spans", 100, "spans per batch")
	batches := flag.Int("batches", 40, "distinct batches (cycled)")
	perRound := flag.Int("per-round", 20000, "spans per variant per round")
	rounds := flag.Int("rounds", 5, "rounds; each runs every variant once, alternating")
	piiShare := flag.Float64("pii", 0.25, "share of spans whose bodies carry PII")
	flag.Parse()

	data := make([]ptrace.Traces, *batches)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = makeBatch(rng, *spansPerBatch, *piiShare)
	}

	ctx := context.Background()
	addrs := []string{"server.address", "client.address", "network.peer.address"}
	ours := newProc(ctx, piiredactionprocessor.NewFactory(), func(c component.Config) {
		c.(*piiredactionprocessor.Config).NeverTouchKeys = addrs
	})
	contrib := newProc(ctx, redactionprocessor.NewFactory(), func(c component.Config) {
		cfg := c.(*redactionprocessor.Config)
		cfg.AllowAllKeys = true
		cfg.BlockedValues = contribBlockedValues
		cfg.IgnoredKeys = addrs
		cfg.Summary = "silent"
	})
	contrib2 := newProc(ctx, redactionprocessor.NewFactory(), func(c component.Config) {
		cfg := c.(*redactionprocessor.Config)
		cfg.AllowAllKeys = true
		cfg.BlockedValues = []string{contribBlockedValues[0]}
		cfg.BlockedValues = append(cfg.BlockedValues, contribBlockedValues[3])
		cfg.IgnoredKeys = addrs
		cfg.Summary = "silent"
	})
	type variant struct {
		name string
		run  func(ptrace.Traces)
	}
	variants := []variant{
		{"copy only (baseline)", func(ptrace.Traces) {}},
		{"pii_redaction (categories)", func(td ptrace.Traces) { must(ours.ConsumeTraces(ctx, td)) }},
		{"contrib redaction (12 regexps)", func(td ptrace.Traces) { must(contrib.ConsumeTraces(ctx, td)) }},
		{"contrib redaction (email+card only)", func(td ptrace.Traces) { must(contrib2.ConsumeTraces(ctx, td)) }},
	}

	// Correctness on the same data: how many values each changed, and
	// what is left that should not be.
	for _, v := range variants[1:] {
		changed, leaked, over := 0, 0, 0
		for _, td := range data {
			cp := ptrace.NewTraces()
			td.CopyTo(cp)
			v.run(cp)
			c, l, o := audit(td, cp)
			changed += c
			leaked += l
			over += o
		}
		fmt.Printf("%-32s values changed %6d, real PII left %4d, near misses redacted %5d\n", v.name, changed, leaked, over)
	}

	times := make([][]float64, len(variants))
	n := *perRound / *spansPerBatch
	copies := make([]ptrace.Traces, n)
	for r := 0; r < *rounds; r++ {
		for vi, v := range variants {
			for i := range copies {
				copies[i] = ptrace.NewTraces()
			}
			runtime.GC()
			start := time.Now()
			for i := range copies {
				data[(r*n+i)%len(data)].CopyTo(copies[i])
				v.run(copies[i])
			}
			el := time.Since(start).Seconds()
			times[vi] = append(times[vi], el/float64(n**spansPerBatch))
		}
	}
	med := make([]float64, len(variants))
	for i, ts := range times {
		sort.Float64s(ts)
		med[i] = ts[len(ts)/2]
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "variant\tspans/s (median of %d)\tµs/span\tnet µs/span (minus copy)\tnet ratio to pii_redaction\t\n", *rounds)
	for i, v := range variants {
		net := med[i] - med[0]
		ratio := ""
		if i > 0 {
			ratio = fmt.Sprintf("%.2f×", net/(med[1]-med[0]))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%s\t\n", v.name, 1/med[i], med[i]*1e6, net*1e6, ratio)
	}
	tw.Flush()
	fmt.Printf("spans: %d per batch, %.0f%% with PII in bodies, bodies 512 B; %d rounds of %d spans per variant; GOMAXPROCS=%d\n",
		*spansPerBatch, *piiShare*100, *rounds, *perRound, runtime.GOMAXPROCS(0))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func newProc(ctx context.Context, f processor.Factory, set func(component.Config)) consumer.Traces {
	cfg := f.CreateDefaultConfig()
	set(cfg)
	p, err := f.CreateTraces(ctx, processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	must(err)
	must(p.Start(ctx, componenttest.NewNopHost()))
	return p
}

// PII planted in bodies, and near misses that a validating detector leaves.
var (
	real = []string{
		"jane.doe@example.com", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
		"123-45-6789", "+1 415 555 2671", "192.168.14.7", "2001:db8:85a3::8a2e:370:7334",
		"00:1A:2B:3C:4D:5E", "490154203237518",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
		"AKIAIOSFODNN7EXAMPLE", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
	}
	nearMiss = []string{
		"4111 1111 1111 1112", "DE89 3704 0044 0532 0130 01", "666-12-3456", "1700000000123",
		"10.0.0.256", "490154203237517", "2024-01-15 10:30:00",
	}
	words = strings.Fields("the order was placed and shipped to the customer with items quantity price total status ok id region eu west cart session checkout")
)

func body(rng *rand.Rand, withPII bool) string {
	var b strings.Builder
	b.WriteString(`{"event":"checkout","items":[`)
	for b.Len() < 380 {
		fmt.Fprintf(&b, `{"sku":"SKU-%05d","qty":%d,"name":"%s %s"},`, rng.IntN(99999), rng.IntN(9)+1, words[rng.IntN(len(words))], words[rng.IntN(len(words))])
	}
	b.WriteString(`{}],"note":"`)
	if withPII {
		b.WriteString(real[rng.IntN(len(real))])
		b.WriteString(" ")
		b.WriteString(real[rng.IntN(len(real))])
	}
	b.WriteString(" ref ")
	b.WriteString(nearMiss[rng.IntN(len(nearMiss))])
	b.WriteString(`","v":"1.4.2"}`)
	for b.Len() < 512 {
		b.WriteByte(' ')
	}
	return b.String()[:512]
}

func makeBatch(rng *rand.Rand, n int, share float64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutInt("process.pid", 4242)
	ra.PutStr("process.executable.name", "shop")
	ra.PutStr("process.command_line", "/usr/bin/shop --port 8080")
	ra.PutStr("container.id", "3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e")
	ra.PutStr("host.name", "node-1")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver")
	for i := 0; i < n; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("POST /api/orders/{id}")
		sp.SetKind(ptrace.SpanKindServer)
		var tid [16]byte
		var sid [8]byte
		for k := range tid {
			tid[k] = byte(rng.Uint32())
		}
		for k := range sid {
			sid[k] = byte(rng.Uint32())
		}
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		a := sp.Attributes()
		a.PutStr("http.request.method", "POST")
		a.PutStr("url.path", fmt.Sprintf("/api/orders/%d", rng.IntN(1e6)))
		a.PutStr("url.query", "lang=en&page=2")
		a.PutStr("http.route", "/api/orders/{id}")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("server.address", "10.0.3.17")
		a.PutInt("server.port", 8080)
		a.PutStr("client.address", "10.0.7.41")
		a.PutStr("network.peer.address", "10.0.7.41")
		a.PutInt("network.peer.port", 51234)
		a.PutStr("network.protocol.version", "1.1")
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36")
		a.PutStr("http.request.header.content-type", "application/json")
		a.PutStr("http.request.header.accept", "application/json")
		a.PutStr("http.request.header.x-request-id", fmt.Sprintf("req-%08x", rng.Uint32()))
		a.PutStr("http.response.header.content-type", "application/json")
		a.PutInt("http.request.body.size", 512)
		a.PutInt("http.response.body.size", 512)
		a.PutStr("http.request.body", body(rng, rng.Float64() < share))
		a.PutStr("http.response.body", body(rng, rng.Float64() < share))
	}
	return td
}

// audit compares an input batch with its processed copy: values changed,
// planted PII still present, planted near misses no longer present.
func audit(in, out ptrace.Traces) (changed, leaked, over int) {
	a := in.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	b := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < a.Len(); i++ {
		b.At(i).Attributes().Range(func(k string, v pcommon.Value) bool {
			orig, _ := a.At(i).Attributes().Get(k)
			if orig.AsString() != v.AsString() {
				changed++
			}
			ov := orig.AsString()
			for _, r := range real {
				if strings.Contains(ov, r) && strings.Contains(v.AsString(), r) {
					leaked++
				}
			}
			for _, m := range nearMiss {
				if strings.Contains(ov, m) && !strings.Contains(v.AsString(), m) {
					over++
				}
			}
			return true
		})
	}
	return changed, leaked, over
}

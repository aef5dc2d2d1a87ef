package tablestore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// httpGen generates realistic http_events rows: a few processes and pods,
// keep-alive connections, templated paths with IDs, JSON APIs, log-normal
// latencies, random (worst case: unpropagated) trace and span IDs.
type httpGen struct {
	rng    *rand.Rand
	t      int64
	bodies bool
	conns  []int64
	words  []string
}

type proc struct {
	upid, service, pod, ns, cid, exe, local string
	pid                                     int64
}

var procs = func() []proc {
	var out []proc
	for i, svc := range []string{"checkout", "cart", "catalog", "users", "frontend"} {
		pid := int64(1000 + 37*i)
		out = append(out, proc{
			upid:    fmt.Sprintf("%d:%d", pid, 1_700_000_000_000_000_000+int64(i)*1e9),
			service: svc, pod: svc + "-7d9f8b6c5-x2k4q", ns: "shop",
			cid: fmt.Sprintf("%064x", 0xabcdef+i), exe: "/app/" + svc, local: fmt.Sprintf("10.0.1.%d", 10+i), pid: pid,
		})
	}
	return out
}()

var paths = []string{"/api/v1/users/%d", "/api/v1/products/%d", "/api/v1/cart/%d/items", "/healthz", "/api/v1/orders", "/api/v1/search?q=item%d&limit=20"}

func newHTTPGen(seed uint64, bodies bool) *httpGen {
	g := &httpGen{rng: rand.New(rand.NewPCG(seed, seed+1)), t: time.Now().Add(-time.Hour).UnixNano(), bodies: bodies}
	for range 64 {
		g.conns = append(g.conns, int64(32768+g.rng.IntN(28000)))
	}
	g.words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"}
	return g
}

func (g *httpGen) jsonBody(id int, n int) string {
	b := make([]byte, 0, 600)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `,"name":"user-`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `","email":"user`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `@example.com","status":"active","items":[`...)
	for i := 0; len(b) < n-80; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sku":"SKU-`...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(500)), 10)
		b = append(b, `","qty":`...)
		b = strconv.AppendInt(b, int64(1+g.rng.IntN(5)), 10)
		b = append(b, `,"price":`...)
		b = strconv.AppendFloat(b, float64(g.rng.IntN(10000))/100, 'f', 2, 64)
		b = append(b, `,"tag":"`...)
		b = append(b, g.words[g.rng.IntN(len(g.words))]...)
		b = append(b, `"}`...)
	}
	b = append(b, `],"updated_at":"2026-03-0`...)
	b = strconv.AppendInt(b, int64(1+g.rng.IntN(9)), 10)
	b = append(b, `T12:00:00Z"}`...)
	if len(b) > 512 {
		b = b[:512]
	}
	return string(b)
}

// fill appends n rows to b.
func (g *httpGen) fill(b *Batch, n int) {
	rng := g.rng
	var tid [16]byte
	var sid [8]byte
	for range n {
		g.t += int64(rng.ExpFloat64() * 50_000) // ~20k requests/s
		p := &procs[rng.IntN(len(procs))]
		role := int64(2)
		if rng.IntN(10) < 3 {
			role = 1
		}
		method := "GET"
		switch r := rng.IntN(100); {
		case r >= 95:
			method = "DELETE"
		case r >= 85:
			method = "PUT"
		case r >= 65:
			method = "POST"
		}
		pt := paths[rng.IntN(len(paths))]
		path := pt
		id := 1 + rng.IntN(5000)
		if pt[len(pt)-1] != 'z' && pt != "/api/v1/orders" {
			path = fmt.Sprintf(pt, id)
		}
		status := int64(200)
		switch r := rng.IntN(100); {
		case r >= 98:
			status = 500
		case r >= 94:
			status = 404
		case r >= 90 && method == "POST":
			status = 201
		}
		reqSize, respSize := int64(0), int64(100+rng.IntN(1900))
		var reqBody, respBody string
		if method == "POST" || method == "PUT" {
			reqSize = int64(80 + rng.IntN(900))
			if g.bodies {
				reqBody = g.jsonBody(id, int(min(reqSize, 512)))
			}
		}
		if g.bodies {
			respBody = g.jsonBody(id, int(min(respSize, 512)))
		}
		for i := range tid {
			tid[i] = byte(rng.Uint32())
		}
		for i := range sid {
			sid[i] = byte(rng.Uint32())
		}
		b.AppendTime(HTTPTime, g.t)
		b.AppendString(HTTPUPID, p.upid)
		b.AppendString(HTTPRemoteAddr, "10.0.2."+strconv.Itoa(rng.IntN(20)))
		b.AppendInt(HTTPRemotePort, g.conns[rng.IntN(len(g.conns))])
		b.AppendString(HTTPLocalAddr, p.local)
		b.AppendInt(HTTPLocalPort, 8080)
		b.AppendInt(HTTPTraceRole, role)
		b.AppendBool(HTTPEncrypted, false)
		b.AppendInt(HTTPMajorVersion, 1)
		b.AppendInt(HTTPMinorVersion, 1)
		b.AppendInt(HTTPContentType, 1)
		b.AppendString(HTTPReqHeaders, `{"accept":"application/json","host":"`+p.service+`:8080","user-agent":"Go-http-client/1.1"}`)
		b.AppendString(HTTPReqMethod, method)
		b.AppendString(HTTPReqPath, path)
		b.AppendString(HTTPReqBody, reqBody)
		b.AppendInt(HTTPReqBodySize, reqSize)
		b.AppendString(HTTPRespHeaders, `{"content-type":"application/json"}`)
		b.AppendInt(HTTPRespStatus, status)
		b.AppendString(HTTPRespMessage, statusText(status))
		b.AppendString(HTTPRespBody, respBody)
		b.AppendInt(HTTPRespBodySize, respSize)
		b.AppendInt(HTTPLatency, int64(math.Exp(rng.NormFloat64()*0.8+14))) // median ~1.2ms
		b.AppendID(HTTPTraceID, tid[:])
		b.AppendID(HTTPSpanID, sid[:])
		b.AppendString(HTTPService, p.service)
		b.AppendString(HTTPPod, p.pod)
		b.AppendString(HTTPNamespace, p.ns)
		b.AppendString(HTTPContainerID, p.cid)
		b.AppendInt(HTTPPID, p.pid)
		b.AppendString(HTTPExe, p.exe)
		b.EndRow()
	}
}

func statusText(s int64) string {
	switch s {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 404:
		return "Not Found"
	}
	return "Internal Server Error"
}

// BenchmarkAppendHTTPEvents appends pre-built batches of 1024 rows with
// compaction inline (so the figure includes sealing, encoding and
// compressing), then reports rows/s and the stored bytes per row after
// compaction. Run with -cpu 1 for a per-core figure, and a fixed
// -benchtime (e.g. 2000000x) so B/row covers many batches.
//
// Metrics: rows/s is wall time; rows/cpu-s divides the rows by the CPU time
// the whole process used meanwhile (appending goroutine, compaction worker
// and GC), i.e. rows per second per core; B/row is the compressed size of
// the compacted batches divided by their rows.
func BenchmarkAppendHTTPEvents(b *testing.B) {
	for _, bodies := range []bool{false, true} {
		for _, comp := range []Compression{CompressionZstd, CompressionLZ4} {
			for _, inline := range []bool{true, false} {
				mode := map[bool]string{true: "inline", false: "worker"}[inline]
				name := fmt.Sprintf("bodies=%v/%s/%s", bodies, comp, mode)
				b.Run(name, func(b *testing.B) { benchAppend(b, bodies, comp, inline) })
			}
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchAppend(b *testing.B, bodies bool, comp Compression, inline bool) {
	const per = 1024
	g := newHTTPGen(42, bodies)
	batches := make([]*Batch, 32)
	for i := range batches {
		batches[i] = NewBatch(HTTPEventsSchema, per)
		g.fill(batches[i], per)
	}
	span := g.t - batches[0].Times()[0] + 1
	var latest atomic.Int64
	latest.Store(g.t)
	now := func() time.Time { return time.Unix(0, latest.Load()+int64(time.Second)) }
	s, err := New(Config{MaxBytes: 64 << 30, Compression: comp, CompactInline: inline, Now: now, MaintenanceInterval: -1}, HTTPEventsSchema)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tb := s.Table(TableHTTPEvents)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	rows := 0
	for round := int64(0); rows < b.N; round++ {
		for _, bt := range batches {
			if rows >= b.N {
				break
			}
			if round > 0 { // shift times so they keep increasing
				ts := bt.cols[0].i64
				for i := range ts {
					ts[i] += span
				}
				latest.Store(ts[len(ts)-1])
			}
			res, err := tb.Append(bt)
			if err != nil || res.Accepted != per {
				b.Fatalf("append: %v %+v", err, res)
			}
			rows += per
		}
	}
	s.Flush()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	st := tb.Stats()
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(st.ColdBytes)/float64(st.Rows), "B/row")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkScanOneColumn scans the latency column of 10M rows: "cold" from
// compressed batches (decompress + decode every time), "hot" from sealed
// batches of 65536 rows kept uncompressed (compaction disabled: what the hot
// and warm batches cost per row), "hotbatch" from one 10M-row hot batch
// (copied out under the read lock).
func BenchmarkScanOneColumn(b *testing.B) {
	const total = 10_000_000
	schema := MustSchema("narrow", []Column{
		{TimeColumn, TypeTime, ""}, {"latency", TypeInt64, ""}, {"service", TypeDict, ""},
	})
	for _, mode := range []string{"cold", "hot", "hotbatch"} {
		b.Run(mode, func(b *testing.B) {
			cfg := Config{MaxBytes: 64 << 30, MaintenanceInterval: -1, Now: func() time.Time { return time.Now().Add(time.Hour) }}
			if mode == "hotbatch" {
				cfg.BatchRows = 1 << 24
				cfg.BatchBytes = MaxBatchBytes
				cfg.MaxHotAge = 24 * time.Hour
			}
			s, err := New(cfg, schema)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.noCompact = mode == "hot"
			tb := s.Table("narrow")
			rng := rand.New(rand.NewPCG(1, 2))
			t := time.Now().Add(-time.Hour).UnixNano()
			bt := NewBatch(schema, 8192)
			for n := 0; n < total; n += 8192 {
				bt.Reset()
				for range 8192 {
					t += int64(rng.ExpFloat64() * 50_000)
					bt.AppendTime(0, t)
					bt.AppendInt(1, int64(math.Exp(rng.NormFloat64()*0.8+14)))
					bt.AppendString(2, procs[rng.IntN(len(procs))].service)
					bt.EndRow()
				}
				if _, err := tb.Append(bt); err != nil {
					b.Fatal(err)
				}
			}
			if mode != "hotbatch" {
				s.Flush()
			}
			st := tb.Stats()
			b.ResetTimer()
			var sum int64
			for range b.N {
				err := tb.Scan(context.Background(), ScanOptions{Columns: []string{"latency"}}, func(rec arrow.RecordBatch) error {
					for _, v := range rec.Column(0).(*array.Int64).Int64Values() {
						sum += v
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(st.Rows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
			b.ReportMetric(float64(st.Rows), "rows")
			_ = sum
		})
	}
}

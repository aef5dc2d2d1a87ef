package pxl

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// testNow is the fixed clock of the tests.
var testNow = time.Unix(1_700_000_000, 0).UTC()

type httpRow struct {
	ago     time.Duration // before testNow
	service string
	method  string
	path    string
	status  int64
	latency int64 // ns
	remote  string
	headers string
}

func newTestStore(tb testing.TB) *tablestore.Store {
	tb.Helper()
	s, err := tablestore.New(tablestore.Config{
		Now:                 func() time.Time { return testNow },
		MaintenanceInterval: -1,
		CompactInline:       true,
		MaxBytes:            512 << 20,
	})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func appendHTTP(tb testing.TB, s *tablestore.Store, rows []httpRow) {
	tb.Helper()
	t := s.Table(tablestore.TableHTTPEvents)
	b := t.NewBatch(len(rows))
	for _, r := range rows {
		b.AppendTime(tablestore.HTTPTime, testNow.Add(-r.ago).UnixNano())
		b.AppendString(tablestore.HTTPUPID, "42:0")
		b.AppendString(tablestore.HTTPRemoteAddr, r.remote)
		b.AppendInt(tablestore.HTTPTraceRole, 2)
		b.AppendString(tablestore.HTTPReqMethod, r.method)
		b.AppendString(tablestore.HTTPReqPath, r.path)
		b.AppendString(tablestore.HTTPReqHeaders, r.headers)
		b.AppendInt(tablestore.HTTPRespStatus, r.status)
		b.AppendInt(tablestore.HTTPLatency, r.latency)
		b.AppendString(tablestore.HTTPService, r.service)
		b.AppendInt(tablestore.HTTPPID, 42)
		b.EndRow()
	}
	_, err := t.Append(b)
	require.NoError(tb, err)
}

// fixture is a small, known http_events table: 3 services, 12 rows.
func fixture(tb testing.TB) *tablestore.Store {
	s := newTestStore(tb)
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	var rows []httpRow
	add := func(ago time.Duration, svc, method, path string, status, lat int64) {
		rows = append(rows, httpRow{ago: ago, service: svc, method: method, path: path, status: status, latency: lat,
			remote: "10.0.0.1", headers: `{"Host":"` + svc + `.local","X-Id":"7"}`})
	}
	// Oldest first (the store wants rows roughly in time order).
	add(20*time.Minute, "cart", "GET", "/old", 200, ms(1)) // outside a -5m window
	add(240*time.Second, "cart", "GET", "/cart", 200, ms(10))
	add(230*time.Second, "cart", "GET", "/cart", 200, ms(20))
	add(220*time.Second, "cart", "POST", "/cart/add", 500, ms(300))
	add(210*time.Second, "cart", "GET", "/cart", 503, ms(400))
	add(200*time.Second, "users", "GET", "/users/1", 200, ms(5))
	add(190*time.Second, "users", "GET", "/users/2", 404, ms(6))
	add(180*time.Second, "users", "GET", "/users/3", 200, ms(7))
	add(120*time.Second, "front", "GET", "/", 200, ms(50))
	add(60*time.Second, "front", "GET", "/", 502, ms(1000))
	add(30*time.Second, "front", "GET", "/", 200, ms(30))
	add(10*time.Second, "front", "GET", "/health", 200, ms(1))
	appendHTTP(tb, s, rows)
	return s
}

func run(tb testing.TB, s *tablestore.Store, script string) (*Result, error) {
	tb.Helper()
	e := New(s, Options{Now: func() time.Time { return testNow }})
	return e.Run(context.Background(), Query{Script: script})
}

func mustRun(tb testing.TB, s *tablestore.Store, script string) *Result {
	tb.Helper()
	res, err := run(tb, s, script)
	require.NoError(tb, err)
	return res
}

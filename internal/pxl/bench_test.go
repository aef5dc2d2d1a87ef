package pxl

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// benchStore holds n http_events rows over the last 10 minutes: 20
// services, 10% of responses >= 500.
func benchStore(b *testing.B, n int) *tablestore.Store {
	s, err := tablestore.New(tablestore.Config{
		Now:                 func() time.Time { return testNow },
		MaintenanceInterval: -1,
		CompactInline:       true,
		MaxBytes:            1 << 30,
		Shares:              map[string]float64{tablestore.TableHTTPEvents: 90},
	})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	t := s.Table(tablestore.TableHTTPEvents)
	services := make([]string, 20)
	for i := range services {
		services[i] = fmt.Sprintf("svc-%02d", i)
	}
	start := testNow.Add(-10 * time.Minute).UnixNano()
	step := int64(10*time.Minute) / int64(n)
	const chunk = 8192
	for lo := 0; lo < n; lo += chunk {
		bt := t.NewBatch(chunk)
		for i := lo; i < min(n, lo+chunk); i++ {
			bt.AppendTime(tablestore.HTTPTime, start+int64(i)*step)
			bt.AppendString(tablestore.HTTPReqPath, "/api/items")
			bt.AppendString(tablestore.HTTPService, services[i%len(services)])
			status := int64(200)
			if i%7 == 3 {
				status = 503
			}
			bt.AppendInt(tablestore.HTTPRespStatus, status)
			bt.AppendInt(tablestore.HTTPLatency, int64(1_000_000+(i*7919)%5_000_000))
			bt.EndRow()
		}
		_, err := t.Append(bt)
		require.NoError(b, err)
	}
	s.Flush()
	return s
}

// BenchmarkFilterGroupByMean: resp_status >= 500, group by service, mean
// latency, over 1M rows (scan and decompression included).
func BenchmarkFilterGroupByMean(b *testing.B) {
	const n = 1_000_000
	s := benchStore(b, n)
	e := New(s, Options{Now: func() time.Time { return testNow }})
	q := Query{Script: `
import px
df = px.DataFrame(table='http_events', start_time='-1h')
df = df[df.resp_status >= 500]
df = df.groupby('service').agg(mean_latency=('latency', px.mean), requests=('latency', px.count))
px.display(df)
`}
	res, err := e.Run(context.Background(), q)
	require.NoError(b, err)
	require.Len(b, res.Tables[0].Rows, 20)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := e.Run(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds()/1e6, "Mrows/s")
}

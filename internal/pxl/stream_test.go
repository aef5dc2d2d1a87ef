package pxl

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStreamingAggMatchesMaterialized runs group-bys straight over scans
// (the streaming path) and with streaming off (rows materialized first):
// the answers are identical, over compacted batches and hot rows.
func TestStreamingAggMatchesMaterialized(t *testing.T) {
	s := newTestStore(t)
	var rows []httpRow
	svcs := []string{"cart", "users", "front", "pay"}
	for i := range 3000 {
		rows = append(rows, httpRow{
			ago:     time.Duration(3000-i) * 50 * time.Millisecond,
			service: svcs[(i*7)%len(svcs)], method: "GET", path: fmt.Sprintf("/p/%d", i%13),
			status: []int64{200, 200, 404, 500, 503}[i%5], latency: int64(1000 + (i*7919)%900_000),
			remote: fmt.Sprintf("10.0.0.%d", i%3),
		})
	}
	appendHTTP(t, s, rows[:2000])
	s.Flush()                     // compacted batches ...
	appendHTTP(t, s, rows[2000:]) // ... and hot rows
	e := New(s, Options{Now: func() time.Time { return testNow }})
	for _, q := range []string{
		`df = df[df.resp_status >= 500]
df = df.groupby('service').agg(n=('latency', px.count), mean=('latency', px.mean), q=('latency', px.quantiles), lo=('latency', px.min), hi=('latency', px.max), s=('latency', px.sum), a=('latency', px.any))`,
		`df = df.groupby(['resp_status']).agg(n=('latency', px.count), t=('time_', px.max))`,
		`df = df.groupby('req_path').agg(n=('latency', px.count), m=('latency', px.mean))`,
		`df = df.agg(n=('latency', px.count), m=('latency', px.mean), q=('latency', px.quantiles))`,
		`df = df[df.resp_status == 999]
df = df.agg(n=('latency', px.count), m=('latency', px.mean))`,
		`df = df[df.resp_status == 999]
df = df.groupby('service').agg(n=('latency', px.count))`,
		`df = df[df.req_path == '/p/3']
df = df.groupby('remote_addr').agg(n=('latency', px.count), m=('latency', px.max))`,
	} {
		script := "import px\ndf = px.DataFrame('http_events', start_time='-5m')\n" + q + "\npx.display(df, 'out')\n"
		noStream = false
		streamed, err := e.Run(context.Background(), Query{Script: script})
		require.NoError(t, err, q)
		noStream = true
		materialized, err := e.Run(context.Background(), Query{Script: script})
		noStream = false
		require.NoError(t, err, q)
		require.Equal(t, materialized, streamed, q)
		parallel, err := New(s, Options{Now: func() time.Time { return testNow }, ScanWorkers: 3}).Run(context.Background(), Query{Script: script})
		require.NoError(t, err, q)
		require.Equal(t, streamed, parallel, q)
		if !strings.Contains(q, "999") {
			require.NotEmpty(t, streamed.Tables[0].Rows, q)
		}
	}
}

package ebpfreceiver

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
)

// pyClient sends three keep-alive requests on one connection (the last
// asks the server to close), reads until EOF and prints
// "<local port> <bytes sent> <bytes received>".
const pyClient = `
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port))
reqs = [b"GET /users/1 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /users/2 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /fail HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"]
sent = 0
for r in reqs:
    s.sendall(r)
    sent += len(r)
got = 0
while True:
    b = s.recv(65536)
    if not b:
        break
    got += len(b)
print(s.getsockname()[1], sent, got)
s.close()
`

// TestMetricsFromTraffic: RED histograms count exactly the requests sent, by
// route and status; conn_stats bytes are exactly what the client sent and
// received; process metrics describe the server process.
func TestMetricsFromTraffic(t *testing.T) {
	requireRoot(t)
	app := httpApp(t)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Metrics.Interval = time.Second
	set := receivertest.NewNopSettings(metadata.Type)
	traces := new(consumertest.TracesSink)
	metrics := new(consumertest.MetricsSink)
	logs := new(consumertest.LogsSink)
	tr, err := f.CreateTraces(context.Background(), set, cfg, traces)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, metrics)
	require.NoError(t, err)
	lr, err := f.CreateLogs(context.Background(), set, cfg, logs)
	require.NoError(t, err)
	require.Same(t, tr, mr, "one receiver serves every signal of a config")
	require.Same(t, tr, lr)
	require.NoError(t, tr.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, mr.Start(context.Background(), componenttest.NewNopHost()), "a second Start is a no-op")
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })

	srv, addr := startProc(t, app, "server")
	waitListening(t, addr)
	srvPID := int64(srv.Process.Pid)
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command("python3", "-c", pyClient, host, port).Output()
	require.NoError(t, err)
	f3 := strings.Fields(string(out))
	require.Len(t, f3, 3)
	clientPort, _ := strconv.Atoi(f3[0])
	sent, _ := strconv.Atoi(f3[1])
	got, _ := strconv.Atoi(f3[2])

	// RED: 2 × GET /users/{id} 200, 1 × GET /fail 500 (error.type "500").
	deadline := time.Now().Add(20 * time.Second)
	var counts map[string]uint64
	for time.Now().Before(deadline) {
		counts = redCounts(metrics.AllMetrics(), srvPID)
		if counts["/users/{id} 200"] == 2 && counts["/fail 500"] == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.Equal(t, uint64(2), counts["/users/{id} 200"], "server histogram count for GET /users/{id} 200: %v", counts)
	assert.Equal(t, uint64(1), counts["/fail 500"], "server histogram count for GET /fail 500: %v", counts)

	// conn_stats: the server's connection from the python client.
	var row pcommon.Map
	for time.Now().Before(deadline) {
		row = connRow(logs.AllLogs(), srvPID, clientPort)
		if row.Len() > 0 {
			if v, _ := row.Get("ebpf.connection.closed"); v.Int() == 1 {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.NotZero(t, row.Len(), "no conn_stats event for the server side of port %d", clientPort)
	attr := func(k string) int64 { v, _ := row.Get(k); return v.Int() }
	assert.EqualValues(t, sent, attr("ebpf.connection.bytes_recv"), "server received exactly what the client sent")
	assert.EqualValues(t, got, attr("ebpf.connection.bytes_sent"), "server sent exactly what the client received")
	assert.EqualValues(t, 1, attr("ebpf.connection.closed"))
	assert.EqualValues(t, 0, attr("ebpf.connection.active"))
	assert.EqualValues(t, 1, attr("ebpf.connection.protocol_id"), "Pixie's protocol id of HTTP")
	role, _ := row.Get("ebpf.connection.role")
	assert.Equal(t, "server", role.Str())

	_, hasRetrans := row.Get("ebpf.connection.retransmits")
	assert.True(t, hasRetrans, "conn_stats rows carry the TCP retransmit count")

	// TCP state transitions (node level: a resource without process.pid):
	// the python client's connection became established.
	var established int64
	for _, md := range metrics.AllMetrics() {
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			rm := md.ResourceMetrics().At(i)
			if _, ok := rm.Resource().Attributes().Get("process.pid"); ok {
				continue
			}
			ms := rm.ScopeMetrics().At(0).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if ms.At(k).Name() != "ebpf.tcp.state_transitions" {
					continue
				}
				dps := ms.At(k).Sum().DataPoints()
				for d := 0; d < dps.Len(); d++ {
					if st, _ := dps.At(d).Attributes().Get("tcp.state"); st.Str() == "established" {
						established = dps.At(d).IntValue()
					}
				}
			}
		}
	}
	assert.Positive(t, established, "ebpf.tcp.state_transitions{tcp.state=established}")

	// process metrics of the server: RSS close to /proc's VmRSS.
	rss := processGauge(metrics.AllMetrics(), srvPID, "process.memory.usage")
	require.Positive(t, rss, "process.memory.usage of the server")
	st, err := os.ReadFile("/proc/" + strconv.FormatInt(srvPID, 10) + "/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			assert.InDelta(t, float64(kb*1024), float64(rss), 8<<20, "RSS within 8 MiB of VmRSS")
		}
	}
}

// redCounts sums the latest http.server.request.duration counts of pid by
// "route status".
func redCounts(all []pmetric.Metrics, pid int64) map[string]uint64 {
	out := map[string]uint64{}
	for _, md := range all {
		cur := map[string]uint64{}
		found := false
		forMetrics(md, pid, func(m pmetric.Metric) {
			if m.Name() != "http.server.request.duration" {
				return
			}
			found = true
			dps := m.Histogram().DataPoints()
			for i := 0; i < dps.Len(); i++ {
				dp := dps.At(i)
				route, _ := dp.Attributes().Get("http.route")
				st, _ := dp.Attributes().Get("http.response.status_code")
				cur[route.Str()+" "+strconv.FormatInt(st.Int(), 10)] += dp.Count()
			}
		})
		if found {
			out = cur // cumulative: the latest report wins
		}
	}
	return out
}

func forMetrics(md pmetric.Metrics, pid int64, fn func(pmetric.Metric)) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		if resInt(rm.Resource(), "process.pid") != pid {
			continue
		}
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				fn(ms.At(k))
			}
		}
	}
}

func processGauge(all []pmetric.Metrics, pid int64, name string) int64 {
	var v int64
	for _, md := range all {
		forMetrics(md, pid, func(m pmetric.Metric) {
			if m.Name() == name && m.Sum().DataPoints().Len() > 0 {
				v = m.Sum().DataPoints().At(0).IntValue()
			}
		})
	}
	return v
}

// connRow returns the latest conn_stats event of pid whose peer port is port.
func connRow(all []plog.Logs, pid int64, port int) pcommon.Map {
	row := pcommon.NewMap()
	for _, ld := range all {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			if resInt(rl.Resource(), "process.pid") != pid {
				continue
			}
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					if lr.EventName() != ConnStatsEventName {
						continue
					}
					if p, _ := lr.Attributes().Get("network.peer.port"); p.Int() == int64(port) {
						row = lr.Attributes()
					}
				}
			}
		}
	}
	return row
}

package pxl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

type connRow struct {
	ago                    time.Duration
	upid, service, remote  string
	port, role             int64
	open, close, sent, rcv int64
	proto                  string
}

func appendConns(tb testing.TB, s *tablestore.Store, rows []connRow) {
	tb.Helper()
	t := s.Table(tablestore.TableConnStats)
	b := t.NewBatch(len(rows))
	for _, r := range rows {
		b.AppendTime(tablestore.ConnTime, testNow.Add(-r.ago).UnixNano())
		b.AppendString(tablestore.ConnUPID, r.upid)
		b.AppendString(tablestore.ConnRemoteAddr, r.remote)
		b.AppendInt(tablestore.ConnRemotePort, r.port)
		b.AppendInt(tablestore.ConnTraceRole, r.role)
		b.AppendInt(tablestore.ConnAddrFamily, 1)
		b.AppendInt(tablestore.ConnOpen, r.open)
		b.AppendInt(tablestore.ConnClose, r.close)
		b.AppendInt(tablestore.ConnActive, r.open-r.close)
		b.AppendInt(tablestore.ConnBytesSent, r.sent)
		b.AppendInt(tablestore.ConnBytesRecv, r.rcv)
		b.AppendString(tablestore.ConnProtocolName, r.proto)
		b.AppendString(tablestore.ConnService, r.service)
		b.EndRow()
	}
	_, err := t.Append(b)
	require.NoError(tb, err)
}

// connFixture adds conn_stats rows to the http_events fixture: cumulative
// counters reported twice for some connections (the latest counts).
func connFixture(tb testing.TB) *tablestore.Store {
	s := fixture(tb)
	appendConns(tb, s, []connRow{
		// front (server) ← 10.0.0.1, two connections, one reported twice.
		{ago: 100 * time.Second, upid: "42:0", service: "front", remote: "10.0.0.1", port: 50000, role: 2, open: 1, sent: 100, rcv: 10, proto: "http1"},
		{ago: 90 * time.Second, upid: "42:0", service: "front", remote: "10.0.0.1", port: 50001, role: 2, open: 1, close: 1, sent: 50, rcv: 5, proto: "http1"},
		{ago: 80 * time.Second, upid: "42:0", service: "front", remote: "10.0.0.1", port: 50000, role: 2, open: 1, close: 1, sent: 300, rcv: 30, proto: "http1"},
		// front (client) → db 10.0.0.9:5432.
		{ago: 70 * time.Second, upid: "42:0", service: "front", remote: "10.0.0.9", port: 5432, role: 1, open: 1, sent: 40, rcv: 4000, proto: "pgsql"},
		{ago: 60 * time.Second, upid: "42:0", service: "front", remote: "10.0.0.9", port: 5432, role: 1, open: 1, sent: 80, rcv: 8000, proto: "pgsql"},
		// outside the -5m window.
		{ago: 20 * time.Minute, upid: "42:0", service: "front", remote: "10.0.0.7", port: 1, role: 2, open: 1, sent: 1, rcv: 1, proto: "http1"},
	})
	return s
}

func rowsByFirst(tb *Table) map[string][]any {
	out := map[string][]any{}
	for _, r := range tb.Rows {
		k := ""
		for _, v := range r {
			if s, ok := v.(string); ok {
				k += s + "|"
			}
		}
		out[k] = r
	}
	return out
}

func TestConnScripts(t *testing.T) {
	s := connFixture(t)

	res := mustRun(t, s, `import px
px.display(px.DataFrame('conn_stats'), 'all')
`)
	require.Len(t, res.Tables[0].Rows, 6)

	in := runScript(t, s, "px/inbound_conns")
	require.Len(t, in.Rows, 1, "one (service, remote) pair inside the window")
	assert.Equal(t, []string{"service", "remote_addr", "connections", "active", "bytes_recv", "bytes_sent"}, colNames(in))
	assert.Equal(t, []any{"front", "10.0.0.1", int64(2), int64(0), int64(35), int64(350)}, in.Rows[0],
		"two connections, latest cumulative values summed: recv 30+5, sent 300+50")

	out := runScript(t, s, "px/outbound_conns")
	require.Len(t, out.Rows, 1)
	assert.Equal(t, []any{"front", "10.0.0.9", int64(5432), "pgsql", int64(1), int64(1), int64(80), int64(8000)}, out.Rows[0])

	flow := runScript(t, s, "px/net_flow_graph")
	byPair := rowsByFirst(flow)
	f := byPair["10.0.0.1|front|"]
	require.NotNil(t, f, "rows: %v", flow.Rows)
	assert.Equal(t, int64(4), f[2], "front got 4 requests from 10.0.0.1 in the window")
	assert.Equal(t, int64(1), f[3], "one 5xx")
	assert.Equal(t, int64(35), f[6], "bytes to front from conn_stats")
	assert.Equal(t, int64(350), f[7], "bytes from front")
	checkGolden(t, "net_flow_graph_conns", &Result{Tables: []*Table{flow}})
}

func runScript(t *testing.T, s *tablestore.Store, name string) *Table {
	t.Helper()
	e := New(s, Options{Now: func() time.Time { return testNow }})
	res, err := e.Run(t.Context(), Query{Name: name})
	require.NoError(t, err, name)
	require.Len(t, res.Tables, 1)
	return res.Tables[0]
}

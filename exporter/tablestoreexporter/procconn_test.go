package tablestoreexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

func TestProcessStatsRows(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutInt("process.pid", 42)
	rm.Resource().Attributes().PutStr("process.executable.name", "nginx")
	rm.Resource().Attributes().PutStr("process.creation.time", "2026-03-01T11:00:00Z")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(ebpfScope)
	ms := sm.Metrics()
	sum := func(name string, vals map[string]float64, key string) {
		m := ms.AppendEmpty()
		m.SetName(name)
		s := m.SetEmptySum()
		for k, v := range vals {
			dp := s.DataPoints().AppendEmpty()
			dp.SetTimestamp(t0)
			if name == "process.cpu.time" {
				dp.SetDoubleValue(v)
			} else {
				dp.SetIntValue(int64(v))
			}
			if key != "" {
				dp.Attributes().PutStr(key, k)
			}
		}
	}
	sum("process.memory.usage", map[string]float64{"": 4096}, "")
	sum("process.memory.virtual", map[string]float64{"": 1 << 20}, "")
	sum("process.thread.count", map[string]float64{"": 3}, "")
	sum("process.cpu.time", map[string]float64{"user": 1.5, "system": 0.25}, "cpu.mode")
	sum("process.paging.faults", map[string]float64{"major": 2, "minor": 300}, "system.paging.fault.type")
	sum("process.disk.io", map[string]float64{"read": 10, "write": 20}, "disk.io.direction")
	sum("process.io.chars", map[string]float64{"read": 30, "write": 40}, "disk.io.direction")
	sum("process.network.io", map[string]float64{"transmit": 5}, "network.io.direction")

	require.NoError(t, e.ConsumeMetrics(context.Background(), md))
	rows := dumpTable(t, store.Table(tablestore.TableProcessStats))
	require.Len(t, rows, 1)
	r := rows[0]
	assert.Equal(t, "42:"+"1772362800000000000", r["upid"])
	assert.Equal(t, int64(4096), r["rss_bytes"])
	assert.Equal(t, int64(1<<20), r["vsize_bytes"])
	assert.Equal(t, int64(3), r["num_threads"])
	assert.Equal(t, int64(1_500_000_000), r["cpu_utime_ns"])
	assert.Equal(t, int64(250_000_000), r["cpu_ktime_ns"])
	assert.Equal(t, int64(2), r["major_faults"])
	assert.Equal(t, int64(300), r["minor_faults"])
	assert.Equal(t, int64(10), r["read_bytes"])
	assert.Equal(t, int64(40), r["wchar_bytes"])
	assert.Equal(t, "nginx", r["exe"])
	// Only process.network.io stays in the generic metrics table.
	mrows := dumpTable(t, store.Table(tablestore.TableMetrics))
	require.Len(t, mrows, 1)
	assert.Equal(t, "process.network.io", mrows[0]["name"])
}

func TestConnStatsRows(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutInt("process.pid", 7)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(ebpfScope)
	l := sl.LogRecords().AppendEmpty()
	l.SetEventName(connStatsEvent)
	l.SetTimestamp(t0)
	a := l.Attributes()
	a.PutStr("network.peer.address", "10.1.2.3")
	a.PutInt("network.peer.port", 5432)
	a.PutStr("network.type", "ipv4")
	a.PutStr("ebpf.connection.role", "client")
	a.PutStr("network.protocol.name", "pgsql")
	a.PutInt("ebpf.connection.protocol_id", 5)
	a.PutBool("tls", false)
	a.PutInt("ebpf.connection.opened", 1)
	a.PutInt("ebpf.connection.closed", 0)
	a.PutInt("ebpf.connection.active", 1)
	a.PutInt("ebpf.connection.bytes_sent", 100)
	a.PutInt("ebpf.connection.bytes_recv", 2000)
	a.PutStr("ebpf.connection.bytes_sent_wrong", "x") // unknown: ignored
	other := sl.LogRecords().AppendEmpty()            // an ordinary log from the same scope
	other.Body().SetStr("hello")
	other.SetTimestamp(t0)

	require.NoError(t, e.ConsumeLogs(context.Background(), ld))
	rows := dumpTable(t, store.Table(tablestore.TableConnStats))
	require.Len(t, rows, 1)
	r := rows[0]
	assert.Equal(t, "10.1.2.3", r["remote_addr"])
	assert.Equal(t, int64(5432), r["remote_port"])
	assert.Equal(t, int64(1), r["trace_role"])
	assert.Equal(t, int64(1), r["addr_family"])
	assert.Equal(t, int64(5), r["protocol"])
	assert.Equal(t, int64(1), r["conn_open"])
	assert.Equal(t, int64(1), r["conn_active"])
	assert.Equal(t, int64(100), r["bytes_sent"])
	assert.Equal(t, int64(2000), r["bytes_recv"])
	assert.Equal(t, "pgsql", r["protocol_name"])
	lrows := dumpTable(t, store.Table(tablestore.TableLogs))
	require.Len(t, lrows, 1, "conn_stats events do not go to the generic logs table")
}

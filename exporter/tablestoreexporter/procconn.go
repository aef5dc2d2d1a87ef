package tablestoreexporter

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	ts "github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// ebpfScope is the instrumentation scope of everything the ebpf receiver
// emits; connStatsEvent the event name of its per-connection records.
const (
	ebpfScope      = "github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver"
	connStatsEvent = "ebpf.conn_stats"
)

// isProcessStat tells whether a metric is one of the ebpf receiver's
// process.* metrics, which go to process_stats rather than the generic
// metrics table.
func isProcessStat(scope, name string) bool {
	return scope == ebpfScope && strings.HasPrefix(name, "process.") && name != "process.network.io"
}

// processStatsRows writes one process_stats row per process sample: a
// resource whose ebpf scope carries process.memory.usage.
func (m *mapper) processStatsRows(md pmetric.Metrics, b *ts.Batch) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			if sm.Scope().Name() != ebpfScope {
				continue
			}
			m.processStatsRow(rm.Resource(), sm.Metrics(), b)
		}
	}
}

func (m *mapper) processStatsRow(res pcommon.Resource, ms pmetric.MetricSlice, b *ts.Batch) {
	var row [ts.ProcWriteBytes + 1]int64
	var when pcommon.Timestamp
	found := false
	var errs int64
	first := func(dps pmetric.NumberDataPointSlice) (pmetric.NumberDataPoint, bool) {
		if dps.Len() == 0 {
			errs++
			return pmetric.NumberDataPoint{}, false
		}
		return dps.At(0), true
	}
	byAttr := func(dps pmetric.NumberDataPointSlice, key string, cols map[string]int, scale float64) {
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			v, _ := dp.Attributes().Get(key)
			col, ok := cols[v.Str()]
			if !ok {
				continue
			}
			if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
				row[col] = int64(dp.DoubleValue() * scale)
			} else {
				row[col] = dp.IntValue() * int64(scale)
			}
		}
	}
	for i := 0; i < ms.Len(); i++ {
		mt := ms.At(i)
		if mt.Type() != pmetric.MetricTypeSum {
			continue
		}
		dps := mt.Sum().DataPoints()
		switch mt.Name() {
		case "process.memory.usage":
			if dp, ok := first(dps); ok {
				row[ts.ProcRSSBytes] = dp.IntValue()
				when = dp.Timestamp()
				found = true
			}
		case "process.memory.virtual":
			if dp, ok := first(dps); ok {
				row[ts.ProcVSizeBytes] = dp.IntValue()
			}
		case "process.thread.count":
			if dp, ok := first(dps); ok {
				row[ts.ProcNumThreads] = dp.IntValue()
			}
		case "process.cpu.time":
			byAttr(dps, "cpu.mode", map[string]int{"user": ts.ProcCPUUTimeNs, "system": ts.ProcCPUKTimeNs}, 1e9)
		case "process.paging.faults":
			byAttr(dps, "system.paging.fault.type", map[string]int{"major": ts.ProcMajorFaults, "minor": ts.ProcMinorFaults}, 1)
		case "process.disk.io":
			byAttr(dps, "disk.io.direction", map[string]int{"read": ts.ProcReadBytes, "write": ts.ProcWriteBytes}, 1)
		case "process.io.chars":
			byAttr(dps, "disk.io.direction", map[string]int{"read": ts.ProcRCharBytes, "write": ts.ProcWCharBytes}, 1)
		}
	}
	if !found {
		return // not a process sample (RED or connection metrics only)
	}
	r := m.resource(res)
	b.AppendTime(ts.ProcTime, m.rowTime(&errs, when))
	b.AppendString(ts.ProcUPID, r.upid)
	for col := ts.ProcMajorFaults; col <= ts.ProcWriteBytes; col++ {
		b.AppendInt(col, row[col])
	}
	b.AppendString(ts.ProcService, r.service)
	b.AppendString(ts.ProcPod, r.pod)
	b.AppendString(ts.ProcNamespace, r.namespace)
	b.AppendString(ts.ProcContainerID, r.containerID)
	b.AppendInt(ts.ProcPID, r.pid)
	b.AppendString(ts.ProcExe, r.exe)
	b.AddErrors(errs + r.errs)
	b.EndRow()
}

// connStatsRows writes one conn_stats row per ebpf.conn_stats event.
func (m *mapper) connStatsRows(ld plog.Logs, b *ts.Batch) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		var r *resInfo
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if lr.EventName() != connStatsEvent {
					continue
				}
				if r == nil {
					ri := m.resource(rl.Resource())
					r = &ri
				}
				m.connStatsRow(r, lr, b)
			}
		}
	}
}

func (m *mapper) connStatsRow(r *resInfo, lr plog.LogRecord, b *ts.Batch) {
	var errs int64
	var addr, proto, role, family string
	var port, protoID, opened, closed, active, sent, recv, retrans int64
	var tls bool
	for k, v := range lr.Attributes().All() {
		switch k {
		case "network.peer.address":
			addr = m.str(v, &errs)
		case "network.peer.port":
			port = m.int(v, &errs)
		case "network.type":
			family = m.str(v, &errs)
		case "network.protocol.name":
			proto = m.str(v, &errs)
		case "ebpf.connection.role":
			role = m.str(v, &errs)
		case "ebpf.connection.protocol_id":
			protoID = m.int(v, &errs)
		case "ebpf.connection.opened":
			opened = m.int(v, &errs)
		case "ebpf.connection.closed":
			closed = m.int(v, &errs)
		case "ebpf.connection.active":
			active = m.int(v, &errs)
		case "ebpf.connection.bytes_sent":
			sent = m.int(v, &errs)
		case "ebpf.connection.bytes_recv":
			recv = m.int(v, &errs)
		case "ebpf.connection.retransmits":
			retrans = m.int(v, &errs)
		case "tls":
			tls = v.Bool()
		}
	}
	b.AppendTime(ts.ConnTime, m.rowTime(&errs, lr.Timestamp(), lr.ObservedTimestamp()))
	b.AppendString(ts.ConnUPID, r.upid)
	b.AppendString(ts.ConnRemoteAddr, addr)
	b.AppendInt(ts.ConnRemotePort, port)
	b.AppendInt(ts.ConnTraceRole, roleCode(role))
	fam := int64(1)
	if family == "ipv6" {
		fam = 2
	}
	b.AppendInt(ts.ConnAddrFamily, fam)
	b.AppendInt(ts.ConnProtocol, protoID)
	b.AppendBool(ts.ConnSSL, tls)
	b.AppendInt(ts.ConnOpen, opened)
	b.AppendInt(ts.ConnClose, closed)
	b.AppendInt(ts.ConnActive, active)
	b.AppendInt(ts.ConnBytesSent, sent)
	b.AppendInt(ts.ConnBytesRecv, recv)
	b.AppendString(ts.ConnProtocolName, proto)
	b.AppendInt(ts.ConnRetransmits, retrans)
	b.AppendString(ts.ConnService, r.service)
	b.AppendString(ts.ConnPod, r.pod)
	b.AppendString(ts.ConnNamespace, r.namespace)
	b.AppendInt(ts.ConnPID, r.pid)
	b.AddErrors(errs)
	b.EndRow()
}

func roleCode(role string) int64 {
	switch role {
	case "client":
		return 1
	case "server":
		return 2
	}
	return 0
}

package ebpfreceiver

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procstats"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tcpstats"
)

// reportMetrics sends one report: RED histograms, connection metrics and
// process metrics to the metrics pipeline, conn_stats events to the logs
// pipeline. Everything is cumulative since the receiver started.
func (r *tracesReceiver) reportMetrics(ctx context.Context, now time.Time) {
	nowNs := now.UnixNano()
	md := pmetric.NewMetrics()
	ld := plog.NewLogs()
	scopes := map[uint32]pmetric.MetricSlice{}
	scopeFor := func(pid uint32) pmetric.MetricSlice {
		if ms, ok := scopes[pid]; ok {
			return ms
		}
		rm := md.ResourceMetrics().AppendEmpty()
		if pid == 0 { // the node itself
			if r.spans.hostName != "" {
				rm.Resource().Attributes().PutStr("host.name", r.spans.hostName)
			}
		} else {
			r.spans.fillResource(rm.Resource(), pid)
		}
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(metadata.ScopeName)
		scopes[pid] = sm.Metrics()
		return sm.Metrics()
	}
	logScopes := map[uint32]plog.LogRecordSlice{}
	recordsFor := func(pid uint32) plog.LogRecordSlice {
		if lrs, ok := logScopes[pid]; ok {
			return lrs
		}
		rl := ld.ResourceLogs().AppendEmpty()
		r.spans.fillResource(rl.Resource(), pid)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(metadata.ScopeName)
		logScopes[pid] = sl.LogRecords()
		return sl.LogRecords()
	}

	var tcp tcpstats.Stats
	var tcpErr error
	if r.tcp != nil {
		tcp, tcpErr = r.tcp.Read()
		if tcpErr != nil {
			r.logger.Debug("ebpf receiver: reading TCP stats", zap.Error(tcpErr))
		}
	}

	r.mu.Lock()
	if r.red != nil {
		r.red.server.expire(nowNs - int64(redSeriesTTL))
		r.red.client.expire(nowNs - int64(redSeriesTTL))
		if r.nextMetrics != nil {
			r.red.appendTo(scopeFor, nowNs)
		}
	}
	if r.conns != nil {
		if r.tcp != nil {
			r.conns.addTCPStats(tcp)
		}
		if r.nextMetrics != nil {
			r.conns.appendMetrics(scopeFor, nowNs)
			if r.tcp != nil {
				r.conns.appendNodeMetrics(scopeFor(0), nowNs)
			}
		}
		if r.nextLogs != nil {
			r.conns.appendRows(recordsFor, nowNs)
		} else {
			r.conns.forgetClosed()
		}
		r.conns.forgetPIDs(processAlive)
	}
	r.mu.Unlock()

	if r.pstats != nil && r.nextMetrics != nil {
		r.appendProcessStats(scopeFor, nowNs)
	}
	if r.nextMetrics != nil && md.DataPointCount() > 0 {
		if err := r.nextMetrics.ConsumeMetrics(ctx, md); err != nil {
			r.logger.Debug("ebpf receiver: pipeline refused metrics", zap.Error(err))
		}
	}
	if r.nextLogs != nil && ld.LogRecordCount() > 0 {
		if err := r.nextLogs.ConsumeLogs(ctx, ld); err != nil {
			r.logger.Debug("ebpf receiver: pipeline refused conn_stats events", zap.Error(err))
		}
	}
}

// redSeriesTTL: a RED series without observations for this long is
// forgotten (the process is gone, or the route is no longer used).
const redSeriesTTL = 15 * time.Minute

func processAlive(pid uint32) bool {
	_, err := procstats.NewReader("").Read(pid)
	return err == nil || procstats.IsKernelThread(err)
}

// appendProcessStats samples every process (filters applied) and writes the
// process.* metrics of semantic conventions.
func (r *tracesReceiver) appendProcessStats(scopeFor func(uint32) pmetric.MetricSlice, nowNs int64) {
	pids, err := r.pstats.PIDs()
	if err != nil {
		r.logger.Warn("ebpf receiver: process_stats", zap.Error(err))
		return
	}
	filtered := r.cfg.Filter.hasProcessRules()
	for _, pid := range pids {
		if !r.pidTraced(pid) {
			continue
		}
		s, err := r.pstats.Read(pid)
		if err != nil {
			if !procstats.IsKernelThread(err) && !errors.Is(err, fs.ErrNotExist) {
				r.logger.Debug("ebpf receiver: process_stats", zap.Uint32("pid", pid), zap.Error(err))
			}
			continue
		}
		in := r.procs.Get(pid)
		if filtered && !keepProcess(r.cfg.Filter, in) {
			continue
		}
		start := pcommon.Timestamp(in.StartUnixNano)
		if start == 0 {
			start = pcommon.Timestamp(r.startNs)
		}
		writeProcessMetrics(scopeFor(pid), &s, start, pcommon.Timestamp(nowNs))
	}
}

// pidTraced applies the pid lists of the filter.
func (r *tracesReceiver) pidTraced(pid uint32) bool {
	for _, p := range r.cfg.Filter.ExcludePIDs {
		if p == pid {
			return false
		}
	}
	if len(r.cfg.Filter.IncludePIDs) == 0 {
		return true
	}
	for _, p := range r.cfg.Filter.IncludePIDs {
		if p == pid {
			return true
		}
	}
	return false
}

// writeProcessMetrics writes one process's sample as semconv process
// metrics (the table_store exporter turns them into a process_stats row).
func writeProcessMetrics(ms pmetric.MetricSlice, s *procstats.Sample, start, now pcommon.Timestamp) {
	sum := func(name, unit, desc string, monotonic bool) pmetric.NumberDataPointSlice {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		m.SetDescription(desc)
		sm := m.SetEmptySum()
		sm.SetIsMonotonic(monotonic)
		sm.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		return sm.DataPoints()
	}
	point := func(dps pmetric.NumberDataPointSlice) pmetric.NumberDataPoint {
		dp := dps.AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(now)
		return dp
	}
	cpu := sum("process.cpu.time", "s", "Total CPU seconds broken down by mode.", true)
	dp := point(cpu)
	dp.SetDoubleValue(float64(s.UTimeNs) / 1e9)
	dp.Attributes().PutStr("cpu.mode", "user")
	dp = point(cpu)
	dp.SetDoubleValue(float64(s.STimeNs) / 1e9)
	dp.Attributes().PutStr("cpu.mode", "system")

	mem := sum("process.memory.usage", "By", "The amount of physical memory in use.", false)
	point(mem).SetIntValue(int64(s.RSSBytes))
	vm := sum("process.memory.virtual", "By", "The amount of committed virtual memory.", false)
	point(vm).SetIntValue(int64(s.VSizeBytes))
	th := sum("process.thread.count", "{thread}", "Process threads count.", false)
	point(th).SetIntValue(s.Threads)

	faults := sum("process.paging.faults", "{fault}", "Number of page faults the process has made.", true)
	dp = point(faults)
	dp.SetIntValue(int64(s.MajorFaults))
	dp.Attributes().PutStr("system.paging.fault.type", "major")
	dp = point(faults)
	dp.SetIntValue(int64(s.MinorFaults))
	dp.Attributes().PutStr("system.paging.fault.type", "minor")

	if s.HasIO {
		disk := sum("process.disk.io", "By", "Disk bytes transferred.", true)
		dp = point(disk)
		dp.SetIntValue(int64(s.ReadBytes))
		dp.Attributes().PutStr("disk.io.direction", "read")
		dp = point(disk)
		dp.SetIntValue(int64(s.WriteBytes))
		dp.Attributes().PutStr("disk.io.direction", "write")
		// rchar/wchar: every read/write-like syscall, cached or not
		// (Pixie's rchar_bytes / wchar_bytes).
		chars := sum("process.io.chars", "By", "Bytes passed through read- and write-like syscalls (rchar, wchar).", true)
		dp = point(chars)
		dp.SetIntValue(int64(s.RChar))
		dp.Attributes().PutStr("disk.io.direction", "read")
		dp = point(chars)
		dp.SetIntValue(int64(s.WChar))
		dp.Attributes().PutStr("disk.io.direction", "write")
	}
}

package ebpfreceiver

import (
	"net/netip"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tcpstats"
)

// maxConnStats bounds the connections whose counters are kept; beyond it new
// connections are not counted (and counted as such).
const maxConnStats = 65536

// ConnStatsEventName is the event name of the per-connection log records
// (one per active connection per report) that the table_store exporter
// turns into conn_stats rows.
const ConnStatsEventName = "ebpf.conn_stats"

// connStat is one connection's counters.
type connStat struct {
	role     sockevent.Role
	local    netip.AddrPort
	remote   netip.AddrPort
	retrans  uint64 // TCP retransmits (tcpstats), cumulative
	ipv6     bool
	protocol string
	sent     uint64
	recv     uint64
	closed   bool
	changed  bool // since the last report
	probes   uint8
}

// aggKey is a per-process, low-cardinality series of the connection
// metrics.
type aggKey struct {
	pid      uint32
	role     sockevent.Role
	protocol string
}

type aggStat struct {
	opened, closed, sent, recv, retrans uint64
}

// connStats counts connections and bytes from socket events, between the
// user-space filter and the parsers: it sees exactly what is traced. It is
// a sockevent.Handler that forwards every event to next. Not safe for
// concurrent use (the receiver calls it under its mutex).
type connStats struct {
	next      sockevent.Handler
	protocol  func(sockevent.ConnID) string // the parsers' verdict, "" if none yet
	conns     map[sockevent.ConnID]*connStat
	agg       map[aggKey]*aggStat
	startNs   int64
	untracked uint64
	// TCP health: last cumulative retransmit count per tuple, retransmits
	// of connections no traced process owns, transitions per state.
	lastRetrans  map[[2]netip.AddrPort]uint64
	nodeRetrans  uint64
	transitions  [16]uint64
	haveTCPStats bool
}

func newConnStats(next sockevent.Handler, protocol func(sockevent.ConnID) string, startNs int64) *connStats {
	return &connStats{next: next, protocol: protocol, startNs: startNs,
		conns: map[sockevent.ConnID]*connStat{}, agg: map[aggKey]*aggStat{},
		lastRetrans: map[[2]netip.AddrPort]uint64{}}
}

func (s *connStats) aggFor(pid uint32, c *connStat) *aggStat {
	k := aggKey{pid: pid, role: c.role, protocol: c.protocol}
	a := s.agg[k]
	if a == nil {
		a = &aggStat{}
		s.agg[k] = a
	}
	return a
}

func (s *connStats) OnOpen(o *sockevent.Open) {
	s.next.OnOpen(o)
	if _, ok := s.conns[o.ID]; !ok {
		if len(s.conns) >= maxConnStats {
			s.untracked++
			return
		}
		c := &connStat{role: o.Role, local: unmapped(o.Local), remote: unmapped(o.Remote), ipv6: o.IPv6, changed: true}
		s.conns[o.ID] = c
		s.aggFor(o.ID.PID, c).opened++
	}
}

func (s *connStats) OnData(d *sockevent.Data) {
	s.next.OnData(d)
	c := s.conns[d.ID]
	if c == nil {
		return
	}
	// The parsers recognise a protocol within the first few chunks; the
	// bytes counted so far move to the protocol's series.
	if c.protocol == "" && c.probes < 16 {
		c.probes++
		if p := s.protocol(d.ID); p != "" {
			old := s.aggFor(d.ID.PID, c)
			old.opened--
			old.sent -= c.sent
			old.recv -= c.recv
			c.protocol = p
			nw := s.aggFor(d.ID.PID, c)
			nw.opened++
			nw.sent += c.sent
			nw.recv += c.recv
		}
	}
	a := s.aggFor(d.ID.PID, c)
	if d.Dir == sockevent.Ingress {
		c.recv += uint64(d.Size)
		a.recv += uint64(d.Size)
	} else {
		c.sent += uint64(d.Size)
		a.sent += uint64(d.Size)
	}
	c.changed = true
}

func (s *connStats) OnClose(cl *sockevent.Close) {
	c := s.conns[cl.ID]
	if c != nil {
		// The kernel's totals include bytes of dropped records.
		a := s.aggFor(cl.ID.PID, c)
		if cl.BytesSent > c.sent {
			a.sent += cl.BytesSent - c.sent
			c.sent = cl.BytesSent
		}
		if cl.BytesRecv > c.recv {
			a.recv += cl.BytesRecv - c.recv
			c.recv = cl.BytesRecv
		}
		a.closed++
		c.closed = true
		c.changed = true
	}
	s.next.OnClose(cl)
}

func unmapped(a netip.AddrPort) netip.AddrPort {
	if !a.IsValid() {
		return a
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// addTCPStats attributes cumulative retransmit counts (per local/remote
// tuple) to the connections that have those addresses; the rest count for
// the node.
func (s *connStats) addTCPStats(st tcpstats.Stats) {
	s.haveTCPStats = true
	s.transitions = st.Transitions
	if len(st.Conns) == 0 {
		return
	}
	byTuple := make(map[[2]netip.AddrPort]struct {
		id sockevent.ConnID
		c  *connStat
	}, len(s.conns))
	for id, c := range s.conns {
		if c.local.IsValid() && c.remote.IsValid() {
			byTuple[[2]netip.AddrPort{c.local, c.remote}] = struct {
				id sockevent.ConnID
				c  *connStat
			}{id, c}
		}
	}
	for _, tc := range st.Conns {
		k := [2]netip.AddrPort{tc.Local, tc.Remote}
		delta := tc.Retransmits - s.lastRetrans[k]
		if tc.Retransmits < s.lastRetrans[k] {
			delta = tc.Retransmits // a new connection on the same tuple
		}
		if tc.Closed {
			delete(s.lastRetrans, k)
		} else {
			s.lastRetrans[k] = tc.Retransmits
		}
		if delta == 0 {
			continue
		}
		if o, ok := byTuple[k]; ok {
			o.c.retrans += delta
			o.c.changed = true
			s.aggFor(o.id.PID, o.c).retrans += delta
		} else {
			s.nodeRetrans += delta
		}
	}
}

// appendNodeMetrics writes the TCP metrics no process owns: retransmits
// of untraced connections and state transitions.
func (s *connStats) appendNodeMetrics(ms pmetric.MetricSlice, nowNs int64) {
	if !s.haveTCPStats {
		return
	}
	sum := func(name, unit, desc string) pmetric.NumberDataPointSlice {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		m.SetDescription(desc)
		sm := m.SetEmptySum()
		sm.SetIsMonotonic(true)
		sm.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		return sm.DataPoints()
	}
	point := func(dps pmetric.NumberDataPointSlice, v uint64) pmetric.NumberDataPoint {
		dp := dps.AppendEmpty()
		dp.SetStartTimestamp(pcommon.Timestamp(s.startNs))
		dp.SetTimestamp(pcommon.Timestamp(nowNs))
		dp.SetIntValue(int64(v))
		return dp
	}
	point(sum("ebpf.tcp.retransmits", "{segment}", "TCP segments retransmitted on connections of no traced process."), s.nodeRetrans)
	tr := sum("ebpf.tcp.state_transitions", "{transition}", "TCP state transitions on this node, by new state.")
	for i, n := range s.transitions {
		if i < len(tcpstats.States) && tcpstats.States[i] != "" {
			point(tr, n).Attributes().PutStr("tcp.state", tcpstats.States[i])
		}
	}
}

// appendMetrics writes the per-process connection metrics.
func (s *connStats) appendMetrics(scopeFor func(pid uint32) pmetric.MetricSlice, nowNs int64) {
	keys := make([]aggKey, 0, len(s.agg))
	for k := range s.agg {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].pid != keys[j].pid {
			return keys[i].pid < keys[j].pid
		}
		if keys[i].role != keys[j].role {
			return keys[i].role < keys[j].role
		}
		return keys[i].protocol < keys[j].protocol
	})
	type perPID struct{ io, opened, active, retrans pmetric.NumberDataPointSlice }
	out := map[uint32]*perPID{}
	sum := func(ms pmetric.MetricSlice, name, unit, desc string, monotonic bool) pmetric.NumberDataPointSlice {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		m.SetDescription(desc)
		sm := m.SetEmptySum()
		sm.SetIsMonotonic(monotonic)
		sm.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		return sm.DataPoints()
	}
	for _, k := range keys {
		a := s.agg[k]
		p := out[k.pid]
		if p == nil {
			ms := scopeFor(k.pid)
			p = &perPID{
				io:     sum(ms, "process.network.io", "By", "Bytes the process sent and received on traced connections.", true),
				opened: sum(ms, "ebpf.connection.opened", "{connection}", "Traced connections opened (or first seen).", true),
				active: sum(ms, "ebpf.connection.active", "{connection}", "Traced connections open now.", false),
			}
			if s.haveTCPStats {
				p.retrans = sum(ms, "ebpf.tcp.retransmits", "{segment}", "TCP segments the process's connections retransmitted.", true)
			}
			out[k.pid] = p
		}
		point := func(dps pmetric.NumberDataPointSlice, v int64) pcommon.Map {
			dp := dps.AppendEmpty()
			dp.SetStartTimestamp(pcommon.Timestamp(s.startNs))
			dp.SetTimestamp(pcommon.Timestamp(nowNs))
			dp.SetIntValue(v)
			attrs := dp.Attributes()
			attrs.PutStr("ebpf.connection.role", k.role.String())
			proto := k.protocol
			if proto == "" {
				proto = "unknown"
			}
			attrs.PutStr("network.protocol.name", proto)
			return attrs
		}
		point(p.io, int64(a.sent)).PutStr("network.io.direction", "transmit")
		point(p.io, int64(a.recv)).PutStr("network.io.direction", "receive")
		point(p.opened, int64(a.opened))
		point(p.active, int64(a.opened-a.closed))
		if s.haveTCPStats {
			point(p.retrans, int64(a.retrans))
		}
	}
}

// pixieProtocol is Pixie's traffic-protocol enum for the conn_stats
// protocol column.
var pixieProtocol = map[string]int64{"http1": 1, "http": 1, "http2": 2, "mysql": 3, "pgsql": 5, "dns": 6, "redis": 7, "kafka": 10}

// appendRows writes one event per connection that changed since the last
// report, with its cumulative counters, and forgets closed connections.
func (s *connStats) appendRows(recordsFor func(pid uint32) plog.LogRecordSlice, nowNs int64) {
	ids := make([]sockevent.ConnID, 0, len(s.conns))
	for id, c := range s.conns {
		if c.changed {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].PID != ids[j].PID {
			return ids[i].PID < ids[j].PID
		}
		return ids[i].Gen < ids[j].Gen
	})
	for _, id := range ids {
		c := s.conns[id]
		lr := recordsFor(id.PID).AppendEmpty()
		lr.SetEventName(ConnStatsEventName)
		lr.SetTimestamp(pcommon.Timestamp(nowNs))
		lr.SetObservedTimestamp(pcommon.Timestamp(nowNs))
		a := lr.Attributes()
		a.EnsureCapacity(13)
		if c.remote.IsValid() {
			a.PutStr("network.peer.address", c.remote.Addr().Unmap().String())
			a.PutInt("network.peer.port", int64(c.remote.Port()))
		}
		if c.ipv6 && !c.remote.Addr().Is4In6() {
			a.PutStr("network.type", "ipv6")
		} else {
			a.PutStr("network.type", "ipv4")
		}
		a.PutStr("ebpf.connection.role", c.role.String())
		proto := c.protocol
		if proto == "" {
			proto = "unknown"
		}
		a.PutStr("network.protocol.name", proto)
		a.PutInt("ebpf.connection.protocol_id", pixieProtocol[c.protocol])
		a.PutBool("tls", false)
		closed := int64(0)
		if c.closed {
			closed = 1
		}
		a.PutInt("ebpf.connection.opened", 1)
		a.PutInt("ebpf.connection.closed", closed)
		a.PutInt("ebpf.connection.active", 1-closed)
		a.PutInt("ebpf.connection.bytes_sent", int64(c.sent))
		a.PutInt("ebpf.connection.bytes_recv", int64(c.recv))
		a.PutInt("ebpf.connection.retransmits", int64(c.retrans))
		c.changed = false
		if c.closed {
			delete(s.conns, id)
		}
	}
}

// forgetClosed drops closed connections without reporting them (when no
// logs pipeline takes the rows).
func (s *connStats) forgetClosed() {
	for id, c := range s.conns {
		if c.closed {
			delete(s.conns, id)
		}
	}
}

// forgetPID drops the counters of a process that exited and whose
// connections are all closed and reported.
func (s *connStats) forgetPIDs(alive func(pid uint32) bool) {
	for k, a := range s.agg {
		if a.opened == a.closed && !alive(k.pid) {
			delete(s.agg, k)
		}
	}
}

// Package tcpstats loads bpf/tcp_stats.c: TCP retransmissions per
// connection 4-tuple and TCP state transitions, from the
// tcp:tcp_retransmit_skb and sock:inet_sock_set_state tracepoints (no
// kprobes). The receiver matches the tuples with the socket tracer's
// connections to attribute retransmits to processes.
package tcpstats

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// States are the names of the TCP states (include/net/tcp_states.h), by
// number, as the tcp.state attributes use them.
var States = [...]string{1: "established", 2: "syn_sent", 3: "syn_recv", 4: "fin_wait1", 5: "fin_wait2",
	6: "time_wait", 7: "close", 8: "close_wait", 9: "last_ack", 10: "listen", 11: "closing", 12: "new_syn_recv"}

// Conn is one connection's cumulative retransmit count.
type Conn struct {
	Local, Remote netip.AddrPort // IPv4-mapped addresses are unmapped
	Retransmits   uint64
	Closed        bool // the socket closed; the entry is gone after this read
}

// Stats is the result of one Read.
type Stats struct {
	Conns []Conn
	// Transitions counts transitions into each state (index: state
	// number), cumulative since Start.
	Transitions [16]uint64
}

// Collector owns the loaded programs.
type Collector struct {
	objs  tcpStatsObjects
	links []link.Link
	// last holds the transitions of the previous Read: a state whose
	// counters could not be read keeps them, so that the cumulative
	// ebpf.tcp.state_transitions never goes backwards.
	last [16]uint64
}

// Start loads the programs and attaches them. tracefs must be mounted (the
// socket tracer mounts it).
func Start() (*Collector, error) {
	_ = rlimit.RemoveMemlock()
	c := &Collector{}
	if err := loadTcpStatsObjects(&c.objs, nil); err != nil {
		return nil, fmt.Errorf("tcp stats: loading BPF programs: %w", err)
	}
	for _, a := range []struct {
		group, event string
		prog         *ebpf.Program
	}{
		{"tcp", "tcp_retransmit_skb", c.objs.TcpRetransmit},
		{"sock", "inet_sock_set_state", c.objs.TcpSetState},
	} {
		l, err := link.Tracepoint(a.group, a.event, a.prog, nil)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("tcp stats: attaching to tracepoint %s/%s: %w", a.group, a.event, err)
		}
		c.links = append(c.links, l)
	}
	return c, nil
}

// ProgramIDs returns the IDs of the loaded programs.
func (c *Collector) ProgramIDs() []ebpf.ProgramID {
	var ids []ebpf.ProgramID
	for _, p := range []*ebpf.Program{c.objs.TcpRetransmit, c.objs.TcpSetState} {
		if info, err := p.Info(); err == nil {
			if id, ok := info.ID(); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Read returns every connection that retransmitted (cumulative counts) and
// the state transition counters; closed connections are deleted after
// being read.
func (c *Collector) Read() (Stats, error) {
	var st Stats
	var k tcpStatsTcpKey
	var v tcpStatsTcpVal
	var closed []tcpStatsTcpKey
	it := c.objs.TcpConns.Iterate()
	for it.Next(&k, &v) {
		conn := Conn{Local: tupleAddr(k.Family, k.Laddr, k.Lport), Remote: tupleAddr(k.Family, k.Raddr, k.Rport),
			Retransmits: v.Retransmits, Closed: v.Closed != 0}
		st.Conns = append(st.Conns, conn)
		if conn.Closed {
			closed = append(closed, k)
		}
	}
	err := it.Err()
	for _, k := range closed {
		_ = c.objs.TcpConns.Delete(&k)
	}
	var perCPU []uint64
	for i := uint32(0); i < uint32(len(st.Transitions)); i++ {
		if e := c.objs.StateCounts.Lookup(&i, &perCPU); e != nil {
			err = errors.Join(err, e)
			st.Transitions[i] = c.last[i]
			continue
		}
		for _, n := range perCPU {
			st.Transitions[i] += n
		}
	}
	c.last = st.Transitions
	return st, err
}

func tupleAddr(family uint16, b [16]uint8, port uint16) netip.AddrPort {
	var a netip.Addr
	if family == 2 {
		a = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		a = netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrPortFrom(a, port)
}

// Close detaches and unloads everything.
func (c *Collector) Close() error {
	var errs []error
	for _, l := range c.links {
		errs = append(errs, l.Close())
	}
	c.links = nil
	errs = append(errs, c.objs.Close())
	return errors.Join(errs...)
}

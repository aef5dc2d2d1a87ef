package tracer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// Ring record layouts, mirrored from the ev_* structs in bpf/socket_trace.c
// (little endian). TestRecordLayout checks them against the bpf2go types.
const (
	evOpen  = 1
	evData  = 2
	evClose = 3
	evExit  = 4 // header only
	evExec  = 5 // header only

	// data flags (ev_hdr.b2)
	evfTLS = 1

	// struct ev_hdr
	offType = 0
	offB1   = 1 // open: role; data: dir
	offB2   = 2 // open: existing
	offB3   = 3 // open: the process is not in known_procs
	offTgid = 4
	offFd   = 8
	offSize = 12 // data: bytes moved; open: family
	offGen  = 16
	offTs   = 24
	hdrSize = 32

	// struct ev_open
	offLaddr = 32
	offRaddr = 48
	offLport = 64
	offRport = 66
	offComm  = 68
	commSize = 16
	openSize = 88

	// struct ev_data_hdr
	offPos      = 32
	offLen      = 40
	dataHdrSize = 48

	// struct ev_close
	offSent   = 32
	offRecv   = 40
	closeSize = 48

	afInet6 = 10
)

var le = binary.LittleEndian

// dispatch decodes one ring record and calls the handler. raw is only valid
// during the call.
func (t *Tracer) dispatch(raw []byte) {
	t.pend.records++
	if len(raw) < hdrSize {
		t.nMalformed.Add(1)
		return
	}
	id := sockevent.ConnID{
		PID: le.Uint32(raw[offTgid:]),
		FD:  int32(le.Uint32(raw[offFd:])),
		Gen: le.Uint64(raw[offGen:]),
	}
	ts := int64(le.Uint64(raw[offTs:])) + t.clockOffset
	if raw[offType] != evData {
		// Whoever sees this Open, Close or exit also sees the counts
		// of the Data before it.
		t.publish()
	}
	switch raw[offType] {
	case evData:
		if len(raw) < dataHdrSize {
			break
		}
		n := le.Uint32(raw[offLen:])
		if uint64(len(raw)) < dataHdrSize+uint64(n) {
			break
		}
		d := &t.data
		d.ID = id
		d.Dir = sockevent.Direction(raw[offB1])
		d.TimeNs = ts
		d.Pos = le.Uint64(raw[offPos:])
		d.Size = le.Uint32(raw[offSize:])
		d.Payload = raw[dataHdrSize : dataHdrSize+n : dataHdrSize+n]
		d.TLS = raw[offB2]&evfTLS != 0
		if d.TLS {
			t.nTLSData.Add(1)
		}
		t.pend.data++
		t.pend.dataBytes += uint64(d.Size)
		t.pend.payload += uint64(n)
		t.h.OnData(d)
		d.Payload = nil
		return
	case evOpen:
		if len(raw) < openSize {
			break
		}
		o := &sockevent.Open{
			ID:       id,
			TimeNs:   ts,
			Role:     sockevent.Role(raw[offB1]),
			Existing: raw[offB2] != 0,
			IPv6:     le.Uint32(raw[offSize:]) == afInet6,
		}
		o.Local = addrPort(raw[offLaddr:offLaddr+16], le.Uint16(raw[offLport:]), o.IPv6)
		o.Remote = addrPort(raw[offRaddr:offRaddr+16], le.Uint16(raw[offRport:]), o.IPv6)
		o.Comm = cString(raw[offComm : offComm+commSize])
		t.track(id)
		t.nEvents.Add(1)
		t.nOpen.Add(1)
		t.h.OnOpen(o)
		t.markKnown(id.PID, raw[offB3] != 0)
		return
	case evClose:
		if len(raw) < closeSize {
			break
		}
		c := &sockevent.Close{
			ID:        id,
			TimeNs:    ts,
			BytesSent: le.Uint64(raw[offSent:]),
			BytesRecv: le.Uint64(raw[offRecv:]),
		}
		if !t.untrack(id) {
			// Already closed at the process's exec (a socket it
			// kept across execve and used before this reader saw
			// the exec record): reported once.
			return
		}
		t.nEvents.Add(1)
		t.nClose.Add(1)
		t.h.OnClose(c)
		return
	case evExit:
		delete(t.known, id.PID) // the kernel side forgot it too
		t.processExited(id.PID, ts)
		if h := t.hook.Load(); h != nil {
			(*h).ProcessExited(id.PID)
		}
		return
	case evExec:
		delete(t.known, id.PID) // the kernel side forgot it too
		// execve closed the process's CLOEXEC sockets without a
		// close() (no Close record), and the kernel side takes every
		// connection from before the exec as ended (its exec_id; one
		// kept across the exec comes back as a new, existing one): end
		// them all now rather than at the new image's exit.
		t.processExited(id.PID, ts)
		if h := t.hook.Load(); h != nil {
			(*h).ProcessExec(id.PID)
		}
		return
	}
	t.nMalformed.Add(1)
}

// pendingCounts are the per-record counters of Data records, kept by the
// reader goroutine and added to the Stats atomics once per drain
// (publish): five atomic adds per record were ~2% of the collector's CPU.
type pendingCounts struct {
	records, data, dataBytes, payload uint64
}

// publish adds the pending counts to the Stats counters.
func (t *Tracer) publish() {
	p := t.pend
	if p == (pendingCounts{}) {
		return
	}
	t.pend = pendingCounts{}
	t.nRecords.Add(p.records)
	t.nEvents.Add(p.data)
	t.nData.Add(p.data)
	t.nDataBytes.Add(p.dataBytes)
	t.nPayload.Add(p.payload)
}

// track remembers an open connection so that a process exit can close it.
func (t *Tracer) track(id sockevent.ConnID) {
	if t.live == nil {
		t.live = make(map[uint32]map[int32]uint64)
	}
	fds := t.live[id.PID]
	if fds == nil {
		fds = make(map[int32]uint64)
		t.live[id.PID] = fds
	}
	fds[id.FD] = id.Gen
}

// untrack forgets a closed connection; false when it was not tracked
// (closed already, at its process's exec).
func (t *Tracer) untrack(id sockevent.ConnID) bool {
	fds := t.live[id.PID]
	if fds == nil || fds[id.FD] != id.Gen {
		return false
	}
	delete(fds, id.FD)
	if len(fds) == 0 {
		delete(t.live, id.PID)
	}
	return true
}

// processExited reports a Close for every connection the exited (or
// exec'd) process still had open, with the byte totals from the BPF conns
// map, and removes
// the map entries.
func (t *Tracer) processExited(pid uint32, ts int64) {
	fds := t.live[pid]
	delete(t.live, pid)
	for fd, gen := range fds {
		c := &sockevent.Close{ID: sockevent.ConnID{PID: pid, FD: fd, Gen: gen}, TimeNs: ts}
		if t.connsMap != nil {
			key := connsKey(pid, fd)
			var v socketTraceConn
			if err := t.connsMap.Lookup(&key, &v); err == nil && v.Gen == gen {
				c.BytesSent, c.BytesRecv = v.Sent, v.Recv
				_ = t.connsMap.Delete(&key)
			}
		}
		t.nEvents.Add(1)
		t.nClose.Add(1)
		t.nExitClosed.Add(1)
		t.h.OnClose(c)
	}
}

// sweepEvery is how often the reader checks whether Close or exit records
// were dropped (a lookup of the BPF counters); only then does it sweep.
const sweepEvery = 10 * time.Second

// maybeSweep sweeps the live connections (sweep) when the kernel side
// dropped Close or exit records since the last sweep: without them a
// connection, or a whole process's, would stay in live (and open in the
// handler) until its pid exits again, and live would grow on a node that
// often fills the ring.
func (t *Tracer) maybeSweep() {
	t.mu.Lock()
	c := t.kernelCounters()
	t.mu.Unlock()
	drops := c[socketTraceCounterCNT_DROP_RB_CLOSE] + c[socketTraceCounterCNT_DROP_RB_EXIT]
	if drops == t.sweptDrops {
		return
	}
	t.sweptDrops = drops
	t.sweep(time.Now().UnixNano())
}

// sweep reports a Close for every live connection the kernel side no
// longer has (its conns entry is gone or is a newer connection on the fd:
// it was closed and the record dropped; no byte totals then) and for every
// connection of a process that no longer exists (its exit record dropped;
// processExited). A Close record still in the ring for one of them is then
// not reported again (untrack).
func (t *Tracer) sweep(now int64) {
	for pid, fds := range t.live {
		if _, err := os.Stat("/proc/" + strconv.FormatUint(uint64(pid), 10)); errors.Is(err, fs.ErrNotExist) {
			t.processExited(pid, now)
			continue
		}
		if t.connsMap == nil {
			continue
		}
		for fd, gen := range fds {
			key := connsKey(pid, fd)
			var v socketTraceConn
			if err := t.connsMap.Lookup(&key, &v); err == nil && v.Gen == gen {
				continue
			}
			id := sockevent.ConnID{PID: pid, FD: fd, Gen: gen}
			t.untrack(id)
			t.nEvents.Add(1)
			t.nClose.Add(1)
			t.nSwept.Add(1)
			t.h.OnClose(&sockevent.Close{ID: id, TimeNs: now})
		}
	}
}

// connsKey is the BPF conns map's key of a connection (conn_key in
// bpf/socket_trace.c).
func connsKey(pid uint32, fd int32) uint64 { return uint64(pid)<<32 | uint64(uint32(fd)) }

// cString returns b up to its first NUL byte.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// addrPort builds an address from a record; an all-zero address with port 0
// (e.g. an unconnected UDP peer) is unknown and returned as the zero value.
func addrPort(b []byte, port uint16, v6 bool) netip.AddrPort {
	var a netip.Addr
	if v6 {
		a = netip.AddrFrom16([16]byte(b[:16]))
	} else {
		a = netip.AddrFrom4([4]byte(b[:4]))
	}
	if port == 0 && a.IsUnspecified() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, port)
}

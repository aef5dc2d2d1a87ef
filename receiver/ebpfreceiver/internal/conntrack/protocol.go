package conntrack

import "github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"

// Verdict is a Protocol's answer to "is this connection yours?".
type Verdict uint8

const (
	// Maybe: cannot tell yet (too few bytes, or bytes from the middle of
	// a stream); ask again with the next chunk.
	Maybe Verdict = iota
	// Yes: the protocol takes the connection.
	Yes
	// No: not this protocol; it is not asked again for this connection.
	No
)

func (v Verdict) String() string {
	switch v {
	case Yes:
		return "yes"
	case No:
		return "no"
	default:
		return "maybe"
	}
}

// Protocol is a wire protocol the tracker can recognise and parse. HTTP/1
// is built in; others (DNS, PostgreSQL, Redis...) are added with
// Tracker.Register. Protocols are asked in registration order, HTTP/1 first.
type Protocol interface {
	// Name is a short identifier ("http1"), copied to ConnInfo.Protocol.
	Name() string
	// Detect looks at bytes of one direction of a connection not yet
	// recognised: a chunk's payload, or very short earlier chunks joined
	// with the beginning of this one. start reports that b is at the very
	// beginning of a fresh connection's stream, so a protocol that expects
	// its own message start there can answer No at once; otherwise b may
	// begin in the middle of a message and a message may start inside it.
	// Detect must not retain b and should look at a bounded prefix.
	Detect(c *ConnInfo, dir sockevent.Direction, b []byte, start bool) Verdict
	// NewSession starts parsing a connection the protocol said Yes to.
	// c stays valid (and may be updated by the session, e.g. its Role)
	// until the session is closed.
	NewSession(c *ConnInfo) Session
}

// Session parses one connection. The tracker calls it from one goroutine,
// in stream order per direction.
type Session interface {
	// Data gives the next bytes of dir; b must not be retained.
	Data(dir sockevent.Direction, b []byte, timeNs int64)
	// Skip says n bytes of dir are missing at this point.
	Skip(dir sockevent.Direction, n uint64, timeNs int64)
	// Expire gives up on requests that ended before deadlineNs and still
	// have no response.
	Expire(deadlineNs int64)
	// Close ends the session: report what is pending, then release all
	// state. The session is not used again.
	Close(timeNs int64, why Unanswered)
	// Buffered is the number of bytes the session holds.
	Buffered() int
	// Done reports that the session wants no more data (the connection
	// switched to a protocol it does not parse); the tracker then ignores
	// the connection's data.
	Done() bool
}

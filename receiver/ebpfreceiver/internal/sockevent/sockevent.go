// Package sockevent defines the events the socket tracer hands to user space:
// a connection opened, bytes moved on it, a connection closed. It is the only
// contract between the BPF side (internal/tracer) and the parsers
// (internal/conntrack, internal/http1), so both can be tested alone.
package sockevent

import (
	"fmt"
	"net/netip"
)

// Role is the side of the connection the traced process plays.
type Role uint8

const (
	// RoleUnknown: the connection was already open when tracing started, or
	// neither accept nor connect was seen. Parsers infer the role from the
	// direction of the first request they recognise.
	RoleUnknown Role = 0
	// RoleClient: the traced process called connect().
	RoleClient Role = 1
	// RoleServer: the traced process got the fd from accept()/accept4().
	RoleServer Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	default:
		return "unknown"
	}
}

// Direction says which way bytes moved, seen from the traced process.
type Direction uint8

const (
	// Egress: the traced process wrote/sent the bytes.
	Egress Direction = 0
	// Ingress: the traced process read/received the bytes.
	Ingress Direction = 1
)

func (d Direction) String() string {
	if d == Ingress {
		return "ingress"
	}
	return "egress"
}

// ConnID identifies one connection: a (pid, fd) pair plus a generation stamp
// taken when the tracer first saw that fd, so a reused fd is a new connection.
type ConnID struct {
	PID uint32 // thread group id (the process id users see)
	FD  int32
	Gen uint64 // monotonic ns of the open (or of the first sighting)
}

func (c ConnID) String() string { return fmt.Sprintf("%d/%d/%d", c.PID, c.FD, c.Gen) }

// Open is reported once per connection, before any Data for it.
type Open struct {
	ID       ConnID
	TimeNs   int64 // wall clock, Unix ns
	Role     Role
	Local    netip.AddrPort // zero when unknown
	Remote   netip.AddrPort // zero when unknown
	IPv6     bool           // AF_INET6 socket (IPv4-mapped addresses stay mapped)
	Existing bool           // first seen on a data syscall, not on accept/connect
	// Comm is the task's command name (at most 16 bytes, as in
	// /proc/<pid>/comm) when the connection was accepted, connected or
	// first seen: short-lived clients may be gone before /proc is read.
	Comm string
}

// Data is one syscall's worth of bytes (or one message of a vectored call).
type Data struct {
	ID     ConnID
	Dir    Direction
	TimeNs int64 // wall clock, Unix ns, at syscall exit (when the bytes moved)
	// Pos is the offset of the first byte of this chunk in the connection's
	// byte stream for Dir (starting at 0 when the tracer first saw the
	// connection). A jump in Pos means chunks were lost.
	Pos uint64
	// Size is the number of bytes the syscall moved; Payload holds the first
	// len(Payload) of them (len(Payload) < Size when capped or, as for
	// sendfile, when no bytes are copied at all).
	Size    uint32
	Payload []byte
	// TLS: Payload is the plaintext of a TLS library call (OpenSSL,
	// BoringSSL, Go crypto/tls) on this connection, and Pos counts plaintext
	// bytes. Once a connection carries TLS Data, its ciphertext is no longer
	// reported (the handshake before it may have been).
	TLS bool
}

// Truncated reports whether Payload lacks some of the moved bytes.
func (d *Data) Truncated() bool { return uint32(len(d.Payload)) < d.Size }

// Close is reported when the traced process closes the fd (or exits).
type Close struct {
	ID        ConnID
	TimeNs    int64
	BytesSent uint64 // total egress bytes seen on the connection
	BytesRecv uint64 // total ingress bytes seen on the connection
}

// Handler receives events in the order the kernel produced them for each
// connection. Implementations must not keep Payload after returning nor
// write to it (it is a read-only view into the tracer's ring buffer, which
// the kernel reuses) and must not block for long.
type Handler interface {
	OnOpen(*Open)
	OnData(*Data)
	OnClose(*Close)
}

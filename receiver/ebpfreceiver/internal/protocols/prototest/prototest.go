// Package prototest drives a protocol parser through a real
// conntrack.Tracker with synthetic socket events, for the protocol
// packages' unit and fuzz tests.
package prototest

import (
	"encoding/hex"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// Got is a copy of an Exchange that outlives the callback.
type Got struct {
	protocols.Exchange
	A map[string]string // attributes, ints formatted in decimal
}

// String renders the exchange on one line, attributes sorted.
func (g Got) String() string {
	var sb strings.Builder
	sb.WriteString(g.Name)
	if g.Error {
		sb.WriteString(" ERROR(" + g.ErrorType + ")")
	}
	if g.Unanswered != conntrack.Answered {
		sb.WriteString(" " + g.Unanswered.String())
	}
	keys := make([]string, 0, len(g.A))
	for k := range g.A {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sb.WriteString(" " + k + "=" + g.A[k])
	}
	return sb.String()
}

// Harness feeds one connection's events to a Tracker.
type Harness struct {
	T    *conntrack.Tracker
	Got  []Got
	ID   sockevent.ConnID
	pos  [2]uint64
	Now  int64
	Step int64 // ns between events (1000 by default)
}

// New returns a harness whose tracker knows the protocol built by mk.
func New(mk func(protocols.Emit) conntrack.Protocol) *Harness {
	h := &Harness{ID: sockevent.ConnID{PID: 100, FD: 5, Gen: 1}, Now: 1_000_000_000, Step: 1000}
	h.T = conntrack.New(conntrack.Config{}, nil)
	h.T.Register(mk(h.emit))
	return h
}

func (h *Harness) emit(e *protocols.Exchange) {
	g := Got{Exchange: *e, A: make(map[string]string)}
	g.Attrs = nil
	for _, a := range e.Attrs {
		if a.IsInt {
			g.A[a.Key] = strconv.FormatInt(a.Int, 10)
		} else {
			g.A[a.Key] = a.Str
		}
	}
	h.Got = append(h.Got, g)
}

// Open reports the connection's open with a role (RoleUnknown and
// existing for a connection caught mid-stream).
func (h *Harness) Open(role sockevent.Role, existing bool) {
	h.Now += h.Step
	h.T.OnOpen(&sockevent.Open{ID: h.ID, TimeNs: h.Now, Role: role, Existing: existing,
		Local:  netip.MustParseAddrPort("127.0.0.1:5432"),
		Remote: netip.MustParseAddrPort("127.0.0.1:40000")})
}

// Write reports bytes moving in dir.
func (h *Harness) Write(dir sockevent.Direction, b []byte) {
	h.Now += h.Step
	h.T.OnData(&sockevent.Data{ID: h.ID, Dir: dir, TimeNs: h.Now, Pos: h.pos[dir], Size: uint32(len(b)), Payload: b})
	h.pos[dir] += uint64(len(b))
}

// Gap reports n lost bytes in dir (the next Write comes after them).
func (h *Harness) Gap(dir sockevent.Direction, n int) { h.pos[dir] += uint64(n) }

// Close reports the connection's close.
func (h *Harness) Close() {
	h.Now += h.Step
	h.T.OnClose(&sockevent.Close{ID: h.ID, TimeNs: h.Now})
}

// Lines renders Got, one exchange a line.
func (h *Harness) Lines() []string {
	var out []string
	for _, g := range h.Got {
		out = append(out, g.String())
	}
	return out
}

// Chunk is one recorded read: bytes the client sent (Client) or the
// server sent.
type Chunk struct {
	Client bool
	B      []byte
}

// ParseRecording reads a recording: one chunk a line, "c <hex>" for bytes
// from the client, "s <hex>" for bytes from the server; '#' lines are
// comments.
func ParseRecording(text string) ([]Chunk, error) {
	var out []Chunk
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		tag, h, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil {
			return nil, err
		}
		out = append(out, Chunk{Client: tag == "c", B: b})
	}
	return out, nil
}

// Replay feeds chunks as seen by a traced process playing role (the client
// writes what the client sent; the server reads it). RoleUnknown replays as
// the server side without telling the tracker the role.
func (h *Harness) Replay(role sockevent.Role, chunks []Chunk) {
	for _, c := range chunks {
		dir := sockevent.Ingress
		if c.Client == (role == sockevent.RoleClient) {
			dir = sockevent.Egress
		}
		if role == sockevent.RoleUnknown && c.Client {
			dir = sockevent.Ingress
		} else if role == sockevent.RoleUnknown {
			dir = sockevent.Egress
		}
		h.Write(dir, c.B)
	}
}

// TimeAfter is the harness clock plus s seconds, for Tracker.Tick.
func (h *Harness) TimeAfter(s int64) time.Time { return time.Unix(0, h.Now+s*1e9) }

// Bench replays chunks on fresh connections b.N times and reports the
// throughput in bytes of payload.
func Bench(b interface {
	SetBytes(int64)
	ResetTimer()
	ReportAllocs()
	Loop() bool
}, mk func(protocols.Emit) conntrack.Protocol, role sockevent.Role, chunks []Chunk) {
	n := 0
	for _, c := range chunks {
		n += len(c.B)
	}
	h := New(mk)
	h.T = conntrack.New(conntrack.Config{}, nil)
	h.T.Register(mk(func(*protocols.Exchange) {}))
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ID.Gen++
		h.pos = [2]uint64{}
		h.Open(role, false)
		h.Replay(role, chunks)
		h.Close()
	}
}

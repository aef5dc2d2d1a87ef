package dns

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

func mk(e protocols.Emit) conntrack.Protocol { return New(e) }

func load(t testing.TB, udp bool) []prototest.Chunk {
	t.Helper()
	b, err := os.ReadFile("testdata/dns_tcp.txt")
	if err != nil {
		t.Fatal(err)
	}
	c, err := prototest.ParseRecording(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if udp {
		for i := range c {
			c[i].B = c[i].B[2:]
		}
	}
	return c
}

func TestDNS(t *testing.T) {
	for _, udp := range []bool{false, true} {
		for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleServer, sockevent.RoleUnknown} {
			h := prototest.New(mk)
			h.Open(role, false)
			h.Replay(role, load(t, udp))
			h.Close()
			tr := "tcp"
			if udp {
				tr = "udp"
			}
			want := []string{
				"DNS A dns.answers=10.1.2.3 dns.question.name=shop.test dns.question.type=A dns.response_code=NoError network.transport=" + tr,
				"DNS A ERROR(Refused) dns.question.name=nosuch.example dns.question.type=A dns.response_code=Refused network.transport=" + tr,
			}
			if got := h.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("udp=%v role=%v got:\n%s", udp, role, strings.Join(got, "\n"))
			}
			if len(h.Got) > 0 {
				g := h.Got[0]
				if g.Resp != `{"answers":[{"name":"shop.test","type":"A","addr":"10.1.2.3"}]}` || g.Req != `{"queries":[{"name":"shop.test","type":"A"}]}` || g.EndNs <= g.StartNs {
					t.Errorf("%q %q", g.Req, g.Resp)
				}
				if role == sockevent.RoleUnknown && (g.Conn.Role != sockevent.RoleServer || !g.Conn.RoleInferred) {
					t.Errorf("role %v", g.Conn.Role)
				}
			}
		}
	}
}

func TestNoResponse(t *testing.T) {
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	c := load(t, true)
	h.Write(sockevent.Egress, c[0].B)
	h.T.Tick(h.TimeAfter(120))
	if len(h.Got) != 1 || h.Got[0].Unanswered != conntrack.TimedOut {
		t.Fatalf("%q", h.Lines())
	}
}

func TestDetect(t *testing.T) {
	p := New(nil)
	c := load(t, false)
	for _, tc := range []struct {
		b    []byte
		want conntrack.Verdict
	}{
		{c[0].B, conntrack.Yes},
		{c[0].B[2:], conntrack.Yes},
		{c[1].B[2:], conntrack.Yes},
		{c[0].B[:6], conntrack.Maybe},
		{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), conntrack.No},
		{[]byte("*1\r\n$4\r\nPING\r\n"), conntrack.No},
	} {
		if got := p.Detect(&conntrack.ConnInfo{}, 0, tc.b, true); got != tc.want {
			t.Errorf("Detect(%q) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

func FuzzDNS(f *testing.F) {
	for _, c := range load(f, false) {
		f.Add(c.B, uint8(0))
		f.Add(c.B[2:], uint8(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		var m Message
		Parse(b, &m)
		h := prototest.New(mk)
		h.Open(sockevent.Role(mode%3), mode&4 != 0)
		d := sockevent.Direction(mode >> 3 & 1)
		h.Write(d, b)
		cut := len(b) / 2
		h.Write(1-d, b[:cut])
		if mode&0x10 != 0 {
			h.Gap(1-d, 3)
		}
		h.Write(1-d, b[cut:])
		h.T.Tick(h.TimeAfter(3600))
		h.Close()
	})
}

// tcpQuery is a length-prefixed query (or response) for example.com.
func tcpQuery(id, typ uint16, resp bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	fl := uint16(0x0100)
	if resp {
		fl |= 0x8000
	}
	b = binary.BigEndian.AppendUint16(b, fl)
	b = append(b, 0, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, "\x07example\x03com\x00"...)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = append(b, 0, 1)
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

// glibc over TCP writes its A and AAAA queries in one write: two
// length-prefixed messages in one chunk. Such a connection was not
// recognised as DNS at all.
func TestTCPTwoQueriesInOneWrite(t *testing.T) {
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	for i := range 3 {
		id := uint16(10 * i)
		h.Write(sockevent.Egress, append(tcpQuery(id+1, 1, false), tcpQuery(id+2, 28, false)...))
		h.Write(sockevent.Ingress, tcpQuery(id+1, 1, true))
		h.Write(sockevent.Ingress, tcpQuery(id+2, 28, true))
	}
	h.Close()
	if len(h.Got) != 6 {
		t.Fatalf("%d exchanges, want 6: %v", len(h.Got), h.Lines())
	}
	for i, e := range h.Got {
		if e.Error {
			t.Errorf("exchange %d: %s", i, h.Lines()[i])
		}
	}
}

// With too many queries waiting, the oldest is given up on (reported as
// overflow), not an arbitrary one.
func TestOverflowDropsOldest(t *testing.T) {
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	for i := range maxPending + 1 {
		h.Write(sockevent.Egress, tcpQuery(uint16(i+1), 1, false))
	}
	if len(h.Got) != 1 || h.Got[0].Unanswered != conntrack.Overflow || !strings.Contains(h.Got[0].ReqHeader, `"txid":1,`) {
		t.Fatalf("want query 1 given up on: %v %q", h.Lines(), h.Got[0].ReqHeader)
	}
}

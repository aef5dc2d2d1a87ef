package protocols_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/dns"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/http2"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/kafka"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/mysql"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/pgsql"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/redis"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// all registers every protocol, in the receiver's order, behind HTTP/1.
func all(h *prototest.Harness) {
	h.T = conntrack.New(conntrack.Config{}, nil)
	emit := func(e *protocols.Exchange) { h.Got = append(h.Got, prototest.Got{Exchange: *e}) }
	h.T.Register(http2.New(emit))
	h.T.Register(pgsql.New(emit))
	h.T.Register(mysql.New(emit))
	h.T.Register(redis.New(emit))
	h.T.Register(dns.New(emit))
	h.T.Register(kafka.New(emit))
}

var recordings = map[string]string{
	"pgsql/testdata/pg_simple.txt":    protocols.PGSQL,
	"pgsql/testdata/pg_ext.txt":       protocols.PGSQL,
	"mysql/testdata/my_query.txt":     protocols.MySQL,
	"redis/testdata/redis_cmds.txt":   protocols.Redis,
	"redis/testdata/redis_resp3.txt":  protocols.Redis,
	"redis/testdata/redis_pubsub.txt": protocols.Redis,
	"dns/testdata/dns_tcp.txt":        protocols.DNS,
	"mysql/testdata/my_db.txt":        protocols.MySQL,
}

func load(t testing.TB, path string) []prototest.Chunk {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	c, err := prototest.ParseRecording(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every recording is recognised as its own protocol with all protocols
// registered, from either side and mid-stream.
func TestDetectionAmongAll(t *testing.T) {
	for path, want := range recordings {
		for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleServer, sockevent.RoleUnknown} {
			h := prototest.New(func(protocols.Emit) conntrack.Protocol { return nil })
			all(h)
			h.Open(role, role == sockevent.RoleUnknown)
			h.Replay(role, load(t, path))
			h.Close()
			if len(h.Got) == 0 {
				t.Errorf("%s as %v: nothing reported", path, role)
				continue
			}
			for _, g := range h.Got {
				if g.Protocol != want {
					t.Errorf("%s as %v: reported as %s", path, role, g.Protocol)
					break
				}
			}
		}
	}
}

// FuzzAll feeds arbitrary bytes to a tracker knowing every protocol: no
// input may crash it or produce an unnamed exchange.
func FuzzAll(f *testing.F) {
	for path := range recordings {
		c := load(f, path)
		for i := 0; i+1 < len(c) && i < 6; i += 2 {
			f.Add(c[i].B, c[i+1].B, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte, mode uint8) {
		h := prototest.New(func(protocols.Emit) conntrack.Protocol { return nil })
		all(h)
		h.Open(sockevent.Role(mode%3), mode&4 != 0)
		d := sockevent.Direction(mode >> 3 & 1)
		h.Write(d, a)
		h.Write(1-d, b)
		if mode&0x10 != 0 {
			h.Gap(d, 5)
		}
		h.Write(d, b)
		h.Write(1-d, a)
		h.T.Tick(h.TimeAfter(3600))
		h.Close()
		for _, g := range h.Got {
			if g.Name == "" {
				t.Fatalf("unnamed %s exchange", g.Protocol)
			}
		}
	})
}

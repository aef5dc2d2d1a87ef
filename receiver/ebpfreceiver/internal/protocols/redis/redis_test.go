package redis

import (
	"os"
	"strings"
	"testing"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

func mk(e protocols.Emit) conntrack.Protocol { return New(e) }

func load(t testing.TB, name string) []prototest.Chunk {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := prototest.ParseRecording(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func check(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

type row struct{ line, req, resp string }

func run(t *testing.T, file string, role sockevent.Role, want []row) {
	t.Helper()
	h := prototest.New(mk)
	h.Open(role, false)
	h.Replay(role, load(t, file))
	h.Close()
	var lines, wantLines []string
	for i, g := range h.Got {
		lines = append(lines, g.String())
		if g.EndNs < g.StartNs || !g.Push && g.EndNs == g.StartNs {
			t.Errorf("%s: bad times", g.Name)
		}
		if i < len(want) && (g.Req != want[i].req || g.Resp != want[i].resp) {
			t.Errorf("%s: req %q resp %q, want %q %q", g.Name, g.Req, g.Resp, want[i].req, want[i].resp)
		}
	}
	for _, w := range want {
		wantLines = append(wantLines, w.line)
	}
	check(t, lines, wantLines)
}

func TestRESP2(t *testing.T) {
	for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleServer, sockevent.RoleUnknown} {
		run(t, "redis_cmds.txt", role, []row{
			{"SET db.operation.name=SET db.query.text=SET user:1 alice db.system.name=redis", `["user:1", "alice"]`, "OK"},
			{"GET db.operation.name=GET db.query.text=GET user:1 db.system.name=redis", `["user:1"]`, "alice"},
			{"LPUSH ERROR(WRONGTYPE) db.operation.name=LPUSH db.query.text=LPUSH user:1 x db.response.status_code=WRONGTYPE db.system.name=redis", `["user:1", "x"]`, "WRONGTYPE Operation against a key holding the wrong kind of value"},
			{"GET db.operation.name=GET db.query.text=GET nokey db.system.name=redis", `["nokey"]`, "<NULL>"},
			{"COMMAND DOCS db.operation.name=COMMAND DOCS db.query.text=COMMAND DOCS db.system.name=redis", `[]`, `["save", "summary", "Synchronously save the dataset to disk", "since", "1.0.0", "group", "server", "complexity", "O(N) where N is the total number of keys in all databases", "incrby", "summary", "Increment the integer value of a key by the given amount", "since", "1.0.0", "group", "string", ...]`},
			{"PING db.operation.name=PING db.query.text=PING db.system.name=redis", `[]`, "PONG"},
			{"SET db.operation.name=SET db.query.text=SET a 1 db.system.name=redis", `["a", "1"]`, "OK"},
			{"INCR db.operation.name=INCR db.query.text=INCR a db.system.name=redis", `["a"]`, "2"},
			{"MGET db.operation.name=MGET db.query.text=MGET a user:1 nokey db.system.name=redis", `["a", "user:1", "nokey"]`, `["2", "alice", "<NULL>"]`},
			{"HSET db.operation.name=HSET db.query.text=HSET h f v db.system.name=redis", `["h", "f", "v"]`, "1"},
			{"HGETALL db.operation.name=HGETALL db.query.text=HGETALL h db.system.name=redis", `["h"]`, `["f", "v"]`},
		})
	}
}

func TestRESP3(t *testing.T) {
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	h.Replay(sockevent.RoleClient, load(t, "redis_resp3.txt"))
	h.Close()
	var cmds, resps []string
	for _, g := range h.Got {
		cmds = append(cmds, g.Name)
		resps = append(resps, g.Resp)
	}
	check(t, cmds, []string{"HELLO", "COMMAND DOCS", "HGETALL", "SMEMBERS", "INCRBYFLOAT", "EXISTS"})
	check(t, resps[2:], []string{`["f", "v"]`, `[]`, "1.5", "1"})
}

func TestPubSub(t *testing.T) {
	for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleUnknown} {
		h := prototest.New(mk)
		h.Open(role, false)
		h.Replay(role, load(t, "redis_pubsub.txt"))
		h.Close()
		check(t, h.Lines(), []string{
			"SUBSCRIBE db.operation.name=SUBSCRIBE db.query.text=SUBSCRIBE news sport db.system.name=redis",
			"PUSH PUB db.operation.name=PUSH PUB db.system.name=redis messaging.destination.name=news",
			"PUSH PUB db.operation.name=PUSH PUB db.system.name=redis messaging.destination.name=sport",
		})
	}
	// RESP3: pushes.
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	h.Write(sockevent.Egress, []byte("*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n"))
	h.Write(sockevent.Ingress, []byte(">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n"))
	h.Write(sockevent.Egress, []byte("*1\r\n$4\r\nPING\r\n"))
	h.Write(sockevent.Ingress, []byte("+PONG\r\n"))
	check(t, h.Lines(), []string{
		"SUBSCRIBE db.operation.name=SUBSCRIBE db.query.text=SUBSCRIBE c db.system.name=redis",
		"PUSH PUB db.operation.name=PUSH PUB db.system.name=redis messaging.destination.name=c",
		"PING db.operation.name=PING db.query.text=PING db.system.name=redis",
	})
}

func TestPipelineSplitAndGap(t *testing.T) {
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	req := "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nGET\r\n$1\r\nc\r\n"
	resp := "$1\r\n1\r\n$-1\r\n$3\r\nccc\r\n"
	// The first command in one chunk (detection), the rest byte by byte.
	h.Write(sockevent.Egress, []byte(req[:22]))
	for i := 22; i < len(req); i++ {
		h.Write(sockevent.Egress, []byte{req[i]})
	}
	for i := range resp {
		h.Write(sockevent.Ingress, []byte{resp[i]})
	}
	// A lost reply chunk in the middle of a bulk string.
	h.Write(sockevent.Egress, []byte("*2\r\n$3\r\nGET\r\n$1\r\nd\r\n"))
	h.Write(sockevent.Ingress, []byte("$10\r\n01234"))
	h.Gap(sockevent.Ingress, 7)
	h.Write(sockevent.Egress, []byte("PING\r\n"))
	h.Write(sockevent.Ingress, []byte("+PONG\r\n"))
	h.Close()
	var got []string
	for _, g := range h.Got {
		got = append(got, g.Name+" "+g.Resp+" "+g.Unanswered.String())
	}
	check(t, got, []string{"GET 1 answered", "GET <NULL> answered", "GET ccc answered", "GET  lost", "PING PONG answered"})
}

func TestDetect(t *testing.T) {
	p := New(nil)
	c := &conntrack.ConnInfo{}
	for _, tc := range []struct {
		b     string
		start bool
		want  conntrack.Verdict
	}{
		{"*1\r\n$4\r\nPING\r\n", true, conntrack.Yes},
		{"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\nb\r\n", false, conntrack.Yes},
		{"*1\r\n$4\r\nPI", true, conntrack.Maybe},
		{"*1\r\n$4\r\nNOPE\r\n", true, conntrack.No},
		{"PING\r\n", true, conntrack.Yes},
		{"GET / HTTP/1.1\r\n", true, conntrack.No},
		{"+OK\r\n", true, conntrack.Maybe},
		{"\x16\x03\x01", true, conntrack.No},
	} {
		if got := p.Detect(c, 0, []byte(tc.b), tc.start); got != tc.want {
			t.Errorf("Detect(%q, %v) = %v, want %v", tc.b, tc.start, got, tc.want)
		}
	}
}

func FuzzRedis(f *testing.F) {
	for _, name := range []string{"redis_cmds.txt", "redis_resp3.txt", "redis_pubsub.txt"} {
		for _, c := range load(f, name) {
			if len(c.B) < 4096 {
				f.Add(c.B, uint8(0))
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		h := prototest.New(mk)
		h.Open(sockevent.Role(mode%3), mode&4 != 0)
		d := sockevent.Direction(mode >> 3 & 1)
		h.Write(1-d, []byte("*1\r\n$4\r\nPING\r\n"))
		cut := len(b) / 2
		h.Write(d, b[:cut])
		if mode&0x10 != 0 {
			h.Gap(d, 3)
		}
		h.Write(d, b[cut:])
		h.Write(1-d, b)
		h.T.Tick(h.TimeAfter(3600))
		h.Close()
		for _, g := range h.Got {
			if g.Name == "" {
				t.Fatal("empty span name")
			}
		}
	})
}

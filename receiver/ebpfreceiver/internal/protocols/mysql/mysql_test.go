package mysql

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

func TestQueries(t *testing.T) {
	want := []string{
		"CREATE DATABASE db.operation.name=CREATE db.query.summary=CREATE DATABASE db.query.text=CREATE DATABASE IF NOT EXISTS shop db.system.name=mariadb",
		"SELECT db.operation.name=SELECT db.query.summary=SELECT db.query.text=SELECT DATABASE() db.response.returned_rows=1 db.system.name=mariadb",
		"CREATE TABLE db.namespace=shop db.operation.name=CREATE db.query.summary=CREATE TABLE db.query.text=CREATE TABLE IF NOT EXISTS users(id INT, name VARCHAR(20)) db.system.name=mariadb",
		"INSERT users db.namespace=shop db.operation.name=INSERT db.query.summary=INSERT users db.query.text=INSERT INTO users VALUES (1,'alice'),(2,'bob') db.system.name=mariadb",
		"SELECT users db.namespace=shop db.operation.name=SELECT db.query.summary=SELECT users db.query.text=SELECT name FROM users WHERE id > 0 db.response.returned_rows=2 db.system.name=mariadb",
		"SELECT nosuchtable ERROR(1146) db.namespace=shop db.operation.name=SELECT db.query.summary=SELECT nosuchtable db.query.text=SELECT * FROM nosuchtable db.response.status_code=1146 db.system.name=mariadb",
	}
	for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleServer, sockevent.RoleUnknown} {
		t.Run(role.String(), func(t *testing.T) {
			h := prototest.New(mk)
			h.Open(role, false)
			h.Replay(role, load(t, "my_query.txt"))
			h.Close()
			check(t, h.Lines(), want)
			for _, g := range h.Got {
				if g.EndNs <= g.StartNs {
					t.Errorf("%s: no latency", g.Name)
				}
			}
			if g := h.Got[5]; g.Resp != "Table 'shop.nosuchtable' doesn't exist" || g.ReqCmd != "3" {
				t.Errorf("%q %q", g.Resp, g.ReqCmd)
			}
			if g := h.Got[4]; g.Resp != "Resultset rows = 2" {
				t.Errorf("%q", g.Resp)
			}
		})
	}
}

func TestDatabaseFromHandshake(t *testing.T) {
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	h.Replay(sockevent.RoleClient, load(t, "my_db.txt"))
	h.Close()
	var got []string
	for _, g := range h.Got {
		got = append(got, g.Name+" "+g.A["db.namespace"]+" "+g.Resp)
	}
	check(t, got, []string{"SELECT users shop Resultset rows = 1"})
}

func pkt(seq byte, p string) []byte {
	n := len(p)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, p...)
}

const colDef = "\x03def\x04shop\x05users\x05users\x04name\x04name\x0c\x21\x00\x3c\x00\x00\x00\xfd\x00\x00\x00\x00\x00"

func TestPreparedStatements(t *testing.T) {
	for _, deprecateEOF := range []bool{false, true} {
		eof := func(seq byte) []byte {
			if deprecateEOF {
				return nil
			}
			return pkt(seq, "\xfe\x00\x00\x02\x00")
		}
		h := prototest.New(mk)
		h.Open(sockevent.RoleClient, false)
		out, in := sockevent.Egress, sockevent.Ingress
		h.Write(in, pkt(0, "\x0a8.0.36\x00\x01\x00\x00\x00abcdefgh\x00\xff\xf7"))
		h.Write(out, pkt(0, "\x16SELECT name FROM users WHERE id = ?"))
		var resp []byte
		resp = append(resp, pkt(1, "\x00\x07\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00")...)
		resp = append(resp, pkt(2, "\x03def\x00\x00\x00\x01?\x00\x0c\x3f\x00\x00\x00\x00\x00\x08\x80\x00\x00\x00\x00")...)
		resp = append(resp, eof(3)...)
		resp = append(resp, pkt(4, colDef)...)
		resp = append(resp, eof(5)...)
		h.Write(in, resp)
		h.Write(out, pkt(0, "\x17\x07\x00\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x00\x01\x00\x00\x00"))
		h.Write(in, pkt(1, "\x01"))
		h.Write(in, append(pkt(2, colDef), eof(3)...))
		h.Write(in, pkt(4, "\x00\x00\x05alice"))
		if deprecateEOF {
			h.Write(in, pkt(5, "\xfe\x00\x00\x02\x00\x00\x00"))
		} else {
			h.Write(in, pkt(5, "\xfe\x00\x00\x02\x00"))
		}
		// An execute of an unknown statement (prepared before tracing), failing.
		h.Write(out, pkt(0, "\x17\x09\x00\x00\x00\x00\x01\x00\x00\x00"))
		h.Write(in, pkt(1, "\xff\x13\x02#HY000Unknown prepared statement handler"))
		h.Write(out, pkt(0, "\x19\x07\x00\x00\x00")) // close: no response
		h.Write(out, pkt(0, "\x03SELECT 1"))
		h.Write(in, append(append(pkt(1, "\x01"), pkt(2, colDef)...), append(eof(3), append(pkt(4, "\x011"), pkt(5, "\xfe\x00\x00\x02\x00\x00\x00")...)...)...))
		h.Close()
		check(t, h.Lines(), []string{
			"PREPARE SELECT users db.operation.name=PREPARE db.query.summary=SELECT users db.query.text=SELECT name FROM users WHERE id = ? db.system.name=mysql",
			"SELECT users db.operation.name=SELECT db.query.summary=SELECT users db.query.text=SELECT name FROM users WHERE id = ? db.response.returned_rows=1 db.system.name=mysql",
			"EXECUTE ERROR(531) db.operation.name=EXECUTE db.query.summary=EXECUTE db.query.text=EXECUTE stmt 9 db.response.status_code=531 db.system.name=mysql",
			"SELECT db.operation.name=SELECT db.query.summary=SELECT db.query.text=SELECT 1 db.response.returned_rows=1 db.system.name=mysql",
		})
	}
}

func TestMidStreamAndGaps(t *testing.T) {
	chunks := load(t, "my_query.txt")
	h := prototest.New(mk)
	h.Replay(sockevent.RoleUnknown, chunks[9:])
	h.Close()
	if len(h.Got) != 4 || h.Got[3].ErrorType != "1146" || h.Got[3].Conn.Role != sockevent.RoleServer {
		t.Errorf("%q", h.Lines())
	}
	h = prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	for i, c := range chunks {
		dir := sockevent.Ingress
		if c.Client {
			dir = sockevent.Egress
		}
		if i == 14 { // the two-row result set is lost
			h.Gap(dir, len(c.B))
			continue
		}
		h.Write(dir, c.B)
	}
	h.Close()
	if g := h.Got[len(h.Got)-1]; g.ErrorType != "1146" || h.Got[len(h.Got)-2].Unanswered != conntrack.ResponseLost {
		t.Errorf("%q", h.Lines())
	}
}

func TestDetect(t *testing.T) {
	p := New(nil)
	c := &conntrack.ConnInfo{}
	for _, tc := range []struct {
		b     []byte
		start bool
		want  conntrack.Verdict
	}{
		{load(t, "my_query.txt")[0].B, true, conntrack.Yes},
		{pkt(0, "\x03SELECT 1"), false, conntrack.Yes},
		{pkt(0, "\x03\x00\x01\x02"), false, conntrack.No},
		{[]byte("GET / HTTP/1.1\r\n"), true, conntrack.No},
		{pkt(0, "\x03SELECT 1"), true, conntrack.No},
	} {
		if got := p.Detect(c, 0, tc.b, tc.start); got != tc.want {
			t.Errorf("Detect(%q, %v) = %v, want %v", tc.b, tc.start, got, tc.want)
		}
	}
}

func FuzzMySQL(f *testing.F) {
	for _, c := range load(f, "my_query.txt") {
		f.Add(c.B, uint8(0))
	}
	f.Add(pkt(1, "\x00\x07\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00"), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		h := prototest.New(mk)
		h.Open(sockevent.Role(mode%3), mode&4 != 0)
		d := sockevent.Direction(mode >> 3 & 1)
		h.Write(1-d, pkt(0, "\x03SELECT 1"))
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

// A result set of more than 254 rows: the packets' sequence id wraps past
// 255 to 0 and 1, and the 1 used to be taken for the start of a new
// response (the query reported as lost).
func TestSequenceWrap(t *testing.T) {
	pkt := func(seq byte, p []byte) []byte {
		n := len(p)
		return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, p...)
	}
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, true)
	h.Write(sockevent.Egress, pkt(0, append([]byte{comQuery}, "SELECT x FROM t"...)))
	seq := byte(1)
	resp := pkt(seq, []byte{1}) // one column
	seq++
	resp = append(resp, pkt(seq, append([]byte{3}, "def"...))...) // its definition
	seq++
	for range 300 {
		resp = append(resp, pkt(seq, []byte{1, 'a'})...)
		seq++ // wraps past 255
	}
	resp = append(resp, pkt(seq, []byte{0xfe, 0, 0, 2, 0, 0, 0})...) // OK (DEPRECATE_EOF)
	h.Write(sockevent.Ingress, resp)
	h.Close()
	if len(h.Got) != 1 || h.Got[0].Error || h.Got[0].A["db.response.returned_rows"] != "300" {
		t.Fatalf("want one answered query with 300 rows: %v", h.Lines())
	}
}

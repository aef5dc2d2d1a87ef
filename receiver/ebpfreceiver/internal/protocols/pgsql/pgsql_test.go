package pgsql

import (
	"encoding/binary"
	"os"
	"strconv"
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

func TestSimpleQuery(t *testing.T) {
	want := []string{
		"CREATE TABLE db.namespace=postgres db.operation.name=CREATE db.query.summary=CREATE TABLE db.query.text=CREATE TABLE IF NOT EXISTS users(id int, name text) db.system.name=postgresql",
		"INSERT users db.namespace=postgres db.operation.name=INSERT db.query.summary=INSERT users db.query.text=INSERT INTO users VALUES (1, 'alice'), (2, 'bob') db.system.name=postgresql",
		"SELECT users db.namespace=postgres db.operation.name=SELECT db.query.summary=SELECT users db.query.text=SELECT name FROM users WHERE id = 1 db.response.returned_rows=1 db.system.name=postgresql",
		"SELECT nosuchtable ERROR(42P01) db.namespace=postgres db.operation.name=SELECT db.query.summary=SELECT nosuchtable db.query.text=SELECT * FROM nosuchtable db.response.status_code=42P01 db.system.name=postgresql",
	}
	for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleServer, sockevent.RoleUnknown} {
		t.Run(role.String(), func(t *testing.T) {
			h := prototest.New(mk)
			h.Open(role, false)
			h.Replay(role, load(t, "pg_simple.txt"))
			h.Close()
			check(t, h.Lines(), want)
			for _, g := range h.Got {
				if g.EndNs <= g.StartNs {
					t.Errorf("%s: no latency", g.Name)
				}
				if g.Conn.Role != sockevent.RoleServer && role != sockevent.RoleClient {
					t.Errorf("role %v", g.Conn.Role)
				}
			}
			if h.Got[3].Resp != `ERROR: relation "nosuchtable" does not exist` || h.Got[2].Resp != "SELECT 1" || h.Got[0].ReqCmd != "Query" {
				t.Errorf("resp %q %q", h.Got[3].Resp, h.Got[2].Resp)
			}
		})
	}
}

func TestExtendedQuery(t *testing.T) {
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	h.Replay(sockevent.RoleClient, load(t, "pg_ext.txt"))
	h.Close()
	check(t, h.Lines(), []string{
		"SELECT users db.namespace=postgres db.operation.name=SELECT db.query.summary=SELECT users db.query.text=SELECT name FROM users WHERE id = 2; db.response.returned_rows=1 db.system.name=postgresql",
		"SELECT ERROR(22012) db.namespace=postgres db.operation.name=SELECT db.query.summary=SELECT db.query.text=SELECT 1/0; db.response.status_code=22012 db.system.name=postgresql",
	})
	if h.Got[0].ReqCmd != "Execute" || h.Got[1].Resp != "ERROR: division by zero" {
		t.Errorf("%+v", h.Got[1].Exchange)
	}
}

// A connection caught mid-stream: the statements prepared before tracing
// are unknown, queries are still reported.
func TestMidStream(t *testing.T) {
	chunks := load(t, "pg_simple.txt")
	h := prototest.New(mk)
	h.Replay(sockevent.RoleUnknown, chunks[3:])
	h.Close()
	if len(h.Got) == 0 {
		t.Fatal("nothing reported")
	}
	last := h.Got[len(h.Got)-1]
	if last.ErrorType != "42P01" || last.Conn.Role != sockevent.RoleServer || !last.Conn.RoleInferred {
		t.Errorf("%s", last)
	}
}

func TestGapResyncs(t *testing.T) {
	chunks := load(t, "pg_simple.txt")
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	for i, c := range chunks {
		if i == 4 {
			h.Gap(sockevent.Ingress, 100)
			continue // a lost server chunk
		}
		dir := sockevent.Ingress
		if c.Client {
			dir = sockevent.Egress
		}
		h.Write(dir, c.B)
	}
	h.Close()
	if len(h.Got) < 3 {
		t.Fatalf("got %d: %q", len(h.Got), h.Lines())
	}
	if g := h.Got[len(h.Got)-1]; g.ErrorType != "42P01" {
		t.Errorf("%s", g)
	}
}

func TestDetect(t *testing.T) {
	p := New(nil)
	c := &conntrack.ConnInfo{}
	for _, tc := range []struct {
		b     string
		start bool
		want  conntrack.Verdict
	}{
		{"\x00\x00\x00\x08\x04\xd2\x16\x2f", true, conntrack.Yes},            // SSLRequest
		{"Q\x00\x00\x00\x0dSELECT 1\x00", false, conntrack.Yes},              // simple query
		{"Z\x00\x00\x00\x05I", false, conntrack.Yes},                         // ReadyForQuery
		{"GET / HTTP/1.1\r\n", true, conntrack.No},                           // not PostgreSQL
		{"*1\r\n$4\r\nPING\r\n", false, conntrack.No},                        // Redis
		{"Q\x00\x00\x00\x0dSELECT\x01\x02\x00", false, conntrack.No},         // binary junk
		{"Q\x00\x00\x00\x20SELECT 1", false, conntrack.Maybe},                // incomplete
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", true, conntrack.No}, // TLS
	} {
		if got := p.Detect(c, 0, []byte(tc.b), tc.start); got != tc.want {
			t.Errorf("Detect(%q, %v) = %v, want %v", tc.b, tc.start, got, tc.want)
		}
	}
}

func TestNormalizeSummary(t *testing.T) {
	for _, tc := range []struct{ q, norm, sum string }{
		{"SELECT name FROM users WHERE id = 1 AND n = 'x''y'", "SELECT name FROM users WHERE id = ? AND n = ?", "SELECT users"},
		{"select * from public.t where a=$1", "select * from public.t where a=$1", "SELECT public.t"},
		{"INSERT INTO \"Orders\" (a) VALUES (1.5e3, $$x$$)", "INSERT INTO \"Orders\" (a) VALUES (?, ?)", "INSERT Orders"},
		{"  -- c\n UPDATE accounts SET x = 0x1f", "UPDATE accounts SET x = ?", "UPDATE accounts"},
		{"BEGIN", "BEGIN", "BEGIN"},
	} {
		if got := protocols.NormalizeSQL(tc.q, false); got != tc.norm {
			t.Errorf("NormalizeSQL(%q) = %q", tc.q, got)
		}
		if got := protocols.SQLSummary(tc.q); got != tc.sum {
			t.Errorf("SQLSummary(%q) = %q", tc.q, got)
		}
	}
}

func FuzzPGSQL(f *testing.F) {
	for _, name := range []string{"pg_simple.txt", "pg_ext.txt"} {
		for _, c := range load(f, name) {
			f.Add(c.B, c.Client, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, client bool, mode uint8) {
		h := prototest.New(mk)
		role := sockevent.Role(mode % 3)
		h.Open(role, mode&4 != 0)
		// The input split in two chunks, both directions.
		cut := len(b) / 2
		h.Write(sockevent.Direction(mode>>3&1), b[:cut])
		if mode&0x10 != 0 {
			h.Gap(sockevent.Ingress, 7)
		}
		h.Write(sockevent.Direction(mode>>3&1), b[cut:])
		h.Write(sockevent.Direction(1-mode>>3&1), b)
		h.T.Tick(h.TimeAfter(3600))
		h.Close()
		for _, g := range h.Got {
			if g.Name == "" {
				t.Fatal("empty span name")
			}
		}
	})
}

// pgMsg frames a message: type byte, length, body.
func pgMsg(t byte, body string) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{t}, uint32(len(body)+4)), body...)
}

// A batch (JDBC executeBatch, pgx Batch): one Parse, a Bind and an Execute
// per row, one Sync, then the replies. With more than 64 messages waiting
// the oldest were reported as overflow and the rest as lost.
func TestBatch(t *testing.T) {
	const rows = 300
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, true)
	req := pgMsg('P', "\x00INSERT INTO t VALUES ($1)\x00\x00\x00")
	resp := pgMsg('1', "")
	for i := range rows {
		v := strconv.Itoa(i)
		bind := "\x00\x00\x00\x00\x00\x01" + string(binary.BigEndian.AppendUint32(nil, uint32(len(v)))) + v + "\x00\x00"
		req = append(req, pgMsg('B', bind)...)
		req = append(req, pgMsg('E', "\x00\x00\x00\x00\x00")...)
		resp = append(resp, pgMsg('2', "")...)
		resp = append(resp, pgMsg('C', "INSERT 0 1\x00")...)
	}
	req = append(req, pgMsg('S', "")...)
	resp = append(resp, pgMsg('Z', "I")...)
	h.Write(sockevent.Egress, req)
	h.Write(sockevent.Ingress, resp)
	h.Close()
	if len(h.Got) != rows {
		t.Fatalf("%d exchanges, want %d: %v", len(h.Got), rows, h.Lines()[:3])
	}
	for i, e := range h.Got {
		if e.Error || e.Name != "INSERT t" {
			t.Fatalf("exchange %d: %s", i, h.Lines()[i])
		}
	}
}

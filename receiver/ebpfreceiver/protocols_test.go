package ebpfreceiver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Real servers from Debian packages, started by the tests on loopback,
// with their own command-line clients; both sides are traced. Packages:
// redis-server redis-tools postgresql mariadb-server mariadb-client
// dnsmasq-base dnsutils.

// needBin finds a program; without it the test fails under CI and is
// skipped otherwise.
func needBin(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/lib/postgresql/15/bin"} {
			if _, e := os.Stat(filepath.Join(dir, name)); e == nil {
				return filepath.Join(dir, name)
			}
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is needed (install the Debian packages listed in protocols_test.go)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func freePort(t *testing.T) uint16 {
	_, p, _ := net.SplitHostPort(freeAddr(t))
	n, _ := strconv.Atoi(p)
	return uint16(n)
}

// startDaemon starts a server that stays in the foreground.
func startDaemon(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return cmd
}

// kindSpans returns the protocol spans of one kind whose attribute key is
// val, as "name|error.type|db.query.text" strings.
func kindSpans(all []gotSpan, kind ptrace.SpanKind, key, val string) []string {
	var out []string
	for _, s := range all {
		if s.span.Kind() != kind || sattr(s.span, key) != val {
			continue
		}
		out = append(out, s.span.Name()+"|"+sattr(s.span, "error.type")+"|"+sattr(s.span, "db.query.text"))
	}
	return out
}

func checkLatency(t *testing.T, all []gotSpan, key, val string) {
	for _, s := range all {
		if sattr(s.span, key) == val && s.span.EndTimestamp() <= s.span.StartTimestamp() {
			t.Errorf("%s: no latency", s.span.Name())
		}
	}
}

func TestRedisRealServer(t *testing.T) {
	server, cli := needBin(t, "redis-server"), needBin(t, "redis-cli")
	port := freePort(t)
	_, sink := startReceiver(t, func(c *Config) { c.Filter.IncludePorts = []uint16{port} })
	srv := startDaemon(t, server, "--port", strconv.Itoa(int(port)), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	p := strconv.Itoa(int(port))
	runCmd(t, cli, "-p", p, "SET", "user:1", "alice")
	runCmd(t, cli, "-p", p, "GET", "user:1")
	runCmd(t, cli, "-p", p, "LPUSH", "user:1", "x") // WRONGTYPE
	match := func(s gotSpan) bool { return sattr(s.span, "db.system.name") == "redis" }
	waitSpans(t, sink, 6, match)
	time.Sleep(300 * time.Millisecond)
	all := allSpans(sink)
	want := []string{"SET||SET user:1 alice", "GET||GET user:1", "LPUSH|WRONGTYPE|LPUSH user:1 x"}
	assert.Equal(t, want, kindSpans(all, ptrace.SpanKindClient, "db.system.name", "redis"))
	var server3 []string
	for _, s := range all {
		if s.span.Kind() == ptrace.SpanKindServer && resInt(s.res, "process.pid") == int64(srv.Process.Pid) && match(s) {
			server3 = append(server3, s.span.Name()+"|"+sattr(s.span, "error.type")+"|"+sattr(s.span, "db.query.text"))
		}
	}
	assert.Equal(t, want, server3)
	checkLatency(t, all, "db.system.name", "redis")
}

// runAs runs a command as a system user (the database servers refuse root).
func runAs(t *testing.T, user string, name string, args ...string) string {
	t.Helper()
	return runCmd(t, "runuser", append([]string{"-u", user, "--", name}, args...)...)
}

func TestPostgresRealServer(t *testing.T) {
	psql := needBin(t, "psql")
	port, sink := startPostgres(t)
	cmd := exec.Command(psql, "-h", "127.0.0.1", "-p", strconv.Itoa(int(port)), "-U", "postgres", "-d", "postgres",
		"-c", "CREATE TABLE users(id int, name text)", "-c", "INSERT INTO users VALUES (1, 'alice')",
		"-c", "SELECT name FROM users WHERE id = 1", "-c", "SELECT * FROM nosuchtable")
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable")
	out, _ := cmd.CombinedOutput() // the last statement fails on purpose
	require.Contains(t, string(out), "alice")
	match := func(s gotSpan) bool {
		return sattr(s.span, "db.system.name") == "postgresql" && strings.Contains(sattr(s.span, "db.query.text"), "users")
	}
	waitSpans(t, sink, 6, match)
	time.Sleep(300 * time.Millisecond)
	all := allSpans(sink)
	want := []string{
		"CREATE TABLE||CREATE TABLE users(id int, name text)",
		"INSERT users||INSERT INTO users VALUES (1, 'alice')",
		"SELECT users||SELECT name FROM users WHERE id = 1",
		"SELECT nosuchtable|42P01|SELECT * FROM nosuchtable",
	}
	for _, kind := range []ptrace.SpanKind{ptrace.SpanKindClient, ptrace.SpanKindServer} {
		got := kindSpans(all, kind, "db.system.name", "postgresql")
		var mine []string
		for _, g := range got {
			if strings.Contains(g, "users") || strings.Contains(g, "nosuchtable") {
				mine = append(mine, g)
			}
		}
		assert.Equal(t, want, mine, kind.String())
	}
	checkLatency(t, all, "db.system.name", "postgresql")

	// The extended query protocol: pgbench with prepared statements
	// (Parse/Bind/Execute/Sync), one statement failing at execution.
	pgbench := needBin(t, "pgbench")
	script := filepath.Join(t.TempDir(), "bench.sql")
	require.NoError(t, os.WriteFile(script, []byte("SELECT name FROM users WHERE id = 1;\nSELECT 1/0 FROM users;\n"), 0o644))
	cmd = exec.Command(pgbench, "-h", "127.0.0.1", "-p", strconv.Itoa(int(port)), "-U", "postgres", "-n", "-M", "prepared",
		"-t", "1", "-f", script, "postgres")
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable")
	_, _ = cmd.CombinedOutput() // the division by zero aborts the run, on purpose
	isExec := func(s gotSpan) bool {
		return sattr(s.span, "db.system.name") == "postgresql" && sattr(s.span, "pixie.req_cmd") == "Execute"
	}
	waitSpans(t, sink, 4, isExec)
	time.Sleep(300 * time.Millisecond)
	for _, kind := range []ptrace.SpanKind{ptrace.SpanKindClient, ptrace.SpanKindServer} {
		var got []string
		for _, s := range allSpans(sink) {
			if isExec(s) && s.span.Kind() == kind {
				got = append(got, s.span.Name()+"|"+sattr(s.span, "error.type")+"|"+sattr(s.span, "db.query.text")+"|"+fmt.Sprint(intAttr2(s.span, "db.response.returned_rows")))
			}
		}
		assert.Equal(t, []string{
			"SELECT users||SELECT name FROM users WHERE id = 1;|1",
			"SELECT users|22012|SELECT 1/0 FROM users;|0",
		}, got, kind.String())
	}
}

func TestMariaDBRealServer(t *testing.T) {
	install, mysqld, client := needBin(t, "mariadb-install-db"), needBin(t, "mariadbd"), needBin(t, "mysql")
	dir, err := os.MkdirTemp("", "mytest")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	runCmd(t, install, "--user=mysql", "--datadir="+dir+"/data", "--auth-root-authentication-method=normal")
	port := freePort(t)
	_, sink := startReceiver(t, func(c *Config) { c.Filter.IncludePorts = []uint16{port} })
	// Started as root, mariadbd drops to the mysql user itself (so killing
	// the process we started stops the server).
	startDaemon(t, mysqld, "--no-defaults", "--user=mysql", "--datadir="+dir+"/data",
		"--socket="+dir+"/sock", "--port="+strconv.Itoa(int(port)), "--bind-address=127.0.0.1", "--pid-file="+dir+"/pid")
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	out, _ := exec.Command(client, "--protocol=tcp", "-h", "127.0.0.1", "-P", strconv.Itoa(int(port)), "-u", "root", "--skip-ssl",
		"-e", "CREATE DATABASE shop; USE shop; CREATE TABLE users(id INT, name VARCHAR(20)); INSERT INTO users VALUES (1,'alice'),(2,'bob'); SELECT name FROM users WHERE id > 0; SELECT * FROM nosuchtable").CombinedOutput()
	require.Contains(t, string(out), "bob")
	match := func(s gotSpan) bool {
		q := sattr(s.span, "db.query.text")
		return sattr(s.span, "db.system.name") == "mariadb" && (strings.Contains(q, "users") || strings.Contains(q, "nosuchtable"))
	}
	waitSpans(t, sink, 8, match)
	time.Sleep(300 * time.Millisecond)
	all := allSpans(sink)
	want := []string{
		"CREATE TABLE||CREATE TABLE users(id INT, name VARCHAR(20))",
		"INSERT users||INSERT INTO users VALUES (1,'alice'),(2,'bob')",
		"SELECT users||SELECT name FROM users WHERE id > 0",
		"SELECT nosuchtable|1146|SELECT * FROM nosuchtable",
	}
	for _, kind := range []ptrace.SpanKind{ptrace.SpanKindClient, ptrace.SpanKindServer} {
		var mine []string
		for _, g := range kindSpans(all, kind, "db.system.name", "mariadb") {
			if strings.Contains(g, "users") || strings.Contains(g, "nosuchtable") {
				mine = append(mine, g)
			}
		}
		assert.Equal(t, want, mine, kind.String())
	}
	for _, s := range all {
		if match(s) && s.span.Name() == "SELECT users" {
			assert.EqualValues(t, 2, intAttr(s.span, "db.response.returned_rows"))
		}
	}
	checkLatency(t, all, "db.system.name", "mariadb")
}

func TestDNSRealServer(t *testing.T) {
	dnsmasq, dig := needBin(t, "dnsmasq"), needBin(t, "dig")
	port := freePort(t)
	_, sink := startReceiver(t, func(c *Config) { c.Filter.IncludePorts = []uint16{port} })
	startDaemon(t, dnsmasq, "--no-daemon", "--no-resolv", "--no-hosts", "--port="+strconv.Itoa(int(port)),
		"--listen-address=127.0.0.1", "--bind-interfaces", "--address=/shop.test/10.1.2.3", "--pid-file=")
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port)) // dnsmasq also listens on TCP
	p := "-p" + strconv.Itoa(int(port))
	require.Contains(t, runCmd(t, dig, "+short", p, "@127.0.0.1", "shop.test", "A"), "10.1.2.3")
	require.Contains(t, runCmd(t, dig, "+tcp", "+short", p, "@127.0.0.1", "tcp.shop.test", "A"), "10.1.2.3")
	match := func(s gotSpan) bool { return strings.HasSuffix(sattr(s.span, "dns.question.name"), "shop.test") }
	waitSpans(t, sink, 4, match)
	time.Sleep(300 * time.Millisecond)
	all := allSpans(sink)
	for _, kind := range []ptrace.SpanKind{ptrace.SpanKindClient, ptrace.SpanKindServer} {
		var got []string
		for _, s := range all {
			if match(s) && s.span.Kind() == kind {
				got = append(got, s.span.Name()+" "+sattr(s.span, "dns.question.name")+" "+sattr(s.span, "dns.answers")+" "+sattr(s.span, "network.transport"))
			}
		}
		assert.Equal(t, []string{"DNS A shop.test 10.1.2.3 udp", "DNS A tcp.shop.test 10.1.2.3 tcp"}, got, kind.String())
	}
	checkLatency(t, all, "dns.question.name", "shop.test")
}

// sattr is an attribute as a string, "" when absent.
func sattr(s ptrace.Span, k string) string {
	if v, ok := s.Attributes().Get(k); ok {
		return v.AsString()
	}
	return ""
}

// grpcApp is testdata/grpcapp, built once.
func grpcApp(t *testing.T) string { return testProgram(t, "grpcapp") }

// TestGRPCRealServer: a grpc-go server and client (HTTP/2 with HPACK in
// both directions), plus curl speaking plain HTTP/2 to the same server.
func TestGRPCRealServer(t *testing.T) {
	app := grpcApp(t)
	curl := needBin(t, "curl")
	_, sink := startReceiver(t, nil)
	srv, addr := startProc(t, app, "server")
	waitListening(t, addr)
	out := runCmd(t, app, "client", addr)
	require.Contains(t, out, "check: SERVING")
	_, _ = exec.Command(curl, "-s", "--http2-prior-knowledge", "http://"+addr+"/plain/1").CombinedOutput()
	srvPID := int64(srv.Process.Pid)
	match := func(s gotSpan) bool {
		return resInt(s.res, "process.pid") == srvPID && sattr(s.span, "network.protocol.version") == "2"
	}
	waitSpans(t, sink, 4, match)
	time.Sleep(300 * time.Millisecond)
	var server, client []string
	for _, s := range allSpans(sink) {
		if sattr(s.span, "network.protocol.version") != "2" || !strings.HasSuffix(addr, fmt.Sprintf(":%d", intAttr2(s.span, "server.port"))) {
			continue
		}
		line := fmt.Sprintf("%s %s %s %s", s.span.Name(), sattr(s.span, "rpc.system"), sattr(s.span, "rpc.grpc.status_code"), sattr(s.span, "error.type"))
		switch s.span.Kind() {
		case ptrace.SpanKindServer:
			server = append(server, line)
			assert.Equal(t, srvPID, resInt(s.res, "process.pid"))
		case ptrace.SpanKindClient:
			client = append(client, line)
		}
		assert.Greater(t, s.span.EndTimestamp(), s.span.StartTimestamp(), s.span.Name())
	}
	assert.Equal(t, []string{
		"grpc.health.v1.Health/Check grpc 0 ",
		"grpc.health.v1.Health/Check grpc 5 ",
		"grpc.health.v1.Health/Nope grpc 12 UNIMPLEMENTED",
		"GET /plain/{id}   ",
	}, server)
	assert.Equal(t, []string{
		"grpc.health.v1.Health/Check grpc 0 ",
		"grpc.health.v1.Health/Check grpc 5 NOT_FOUND",
		"grpc.health.v1.Health/Nope grpc 12 UNIMPLEMENTED",
	}, client[:min(3, len(client))])
}

func intAttr2(s ptrace.Span, k string) int64 {
	if v, ok := s.Attributes().Get(k); ok {
		return v.Int()
	}
	return 0
}

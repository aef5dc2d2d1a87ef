package ebpfreceiver

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The Go drivers of the protocols (pgx, go-sql-driver/mysql, go-redis,
// franz-go) run in a child process built from testdata/dbclients, against
// the real servers of protocols_test.go (or, for Kafka, a kfake broker in
// another child process). Both ends are traced.

// dbClients is testdata/dbclients, built once.
func dbClients(t *testing.T) string { return testProgram(t, "dbclients") }

// runClient runs one dbclients command to its end and returns its pid and
// output.
func runClient(t *testing.T, args ...string) (int64, string) {
	t.Helper()
	cmd := exec.Command(dbClients(t), args...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "dbclients %v: %s", args, out)
	return int64(cmd.Process.Pid), string(out)
}

// spanLines are the spans of one kind accepted by keep, as
// "name|db.operation.name|error.type|db.query.text"; a span with an
// error.type must have an error status, and every span a latency.
func spanLines(t *testing.T, all []gotSpan, kind ptrace.SpanKind, keep func(gotSpan) bool) []string {
	t.Helper()
	var out []string
	for _, s := range all {
		if s.span.Kind() != kind || !keep(s) {
			continue
		}
		errType := sattr(s.span, "error.type")
		out = append(out, s.span.Name()+"|"+sattr(s.span, "db.operation.name")+"|"+errType+"|"+sattr(s.span, "db.query.text"))
		assert.Greater(t, s.span.EndTimestamp(), s.span.StartTimestamp(), "latency of %s", s.span.Name())
		if errType != "" {
			assert.Equal(t, ptrace.StatusCodeError, s.span.Status().Code(), "status of %s", s.span.Name())
		} else {
			assert.NotEqual(t, ptrace.StatusCodeError, s.span.Status().Code(), "status of %s", s.span.Name())
		}
	}
	return out
}

// ofPID keeps the spans of one system from one process.
func ofPID(system string, pid int64) func(gotSpan) bool {
	return func(s gotSpan) bool {
		return sattr(s.span, "db.system.name") == system && resInt(s.res, "process.pid") == pid
	}
}

// startPostgres runs PostgreSQL 15 on a free loopback port (as in
// TestPostgresRealServer) after starting the receiver, and returns its
// port and the receiver's sink.
func startPostgres(t *testing.T) (uint16, *consumertest.TracesSink) {
	initdb, postgres := needBin(t, "initdb"), needBin(t, "postgres")
	dir, err := os.MkdirTemp("", "pgtest")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	runAs(t, "postgres", initdb, "-D", dir+"/data", "-A", "trust", "-U", "postgres")
	port := freePort(t)
	_, sink := startReceiver(t, func(c *Config) { c.Filter.IncludePorts = []uint16{port} })
	startDaemon(t, "runuser", "-u", "postgres", "--", postgres, "-D", dir+"/data", "-p", strconv.Itoa(int(port)),
		"-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
	t.Cleanup(func() { // runuser does not pass SIGKILL on: stop the postmaster itself
		b, err := os.ReadFile(dir + "/data/postmaster.pid")
		if err != nil {
			return
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGQUIT)
			for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	// The postmaster listens before it accepts: "the database system is
	// starting up" until its startup process is done.
	isready := needBin(t, "pg_isready")
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := exec.Command(isready, "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(int(port)), "-U", "postgres").Run()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres on port %d not accepting connections after 15s: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return port, sink
}

// TestDriverPgx: pgx's simple protocol, its prepared statements (the
// extended protocol, with a parameter) and an error at execution.
func TestDriverPgx(t *testing.T) {
	dbClients(t)
	port, sink := startPostgres(t)
	pid, out := runClient(t, "pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	require.Contains(t, out, "name: bob")
	require.Contains(t, out, "SQLSTATE 22012")
	waitSpans(t, sink, 4, ofPID("postgresql", pid))
	time.Sleep(300 * time.Millisecond)
	all := allSpans(sink)
	want := []string{
		"CREATE TABLE|CREATE||CREATE TABLE drivers(id int, name text)",
		"INSERT drivers|INSERT||INSERT INTO drivers VALUES (1, 'alice'), (2, 'bob')",
		"SELECT drivers|SELECT||SELECT name FROM drivers WHERE id = $1",
		"SELECT drivers|SELECT|22012|SELECT 10 / $1::int FROM drivers WHERE id = 1",
	}
	assert.Equal(t, want, spanLines(t, all, ptrace.SpanKindClient, ofPID("postgresql", pid)), "client")
	assert.Equal(t, want, spanLines(t, all, ptrace.SpanKindServer, func(s gotSpan) bool {
		return sattr(s.span, "db.system.name") == "postgresql"
	}), "server")
}

// TestDriverMySQL: go-sql-driver/mysql's text protocol, one statement
// prepared once and executed twice (COM_STMT_PREPARE, then two
// COM_STMT_EXECUTE with its statement id) and an error.
func TestDriverMySQL(t *testing.T) {
	app := dbClients(t)
	install, mysqld := needBin(t, "mariadb-install-db"), needBin(t, "mariadbd")
	dir, err := os.MkdirTemp("", "mytest")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	runCmd(t, install, "--user=mysql", "--datadir="+dir+"/data", "--auth-root-authentication-method=normal")
	port := freePort(t)
	_, sink := startReceiver(t, func(c *Config) { c.Filter.IncludePorts = []uint16{port} })
	srv := startDaemon(t, mysqld, "--no-defaults", "--user=mysql", "--datadir="+dir+"/data",
		"--socket="+dir+"/sock", "--port="+strconv.Itoa(int(port)), "--bind-address=127.0.0.1", "--pid-file="+dir+"/pid")
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	cmd := exec.Command(app, "mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/", port))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "name: alice\nname: bob\n")
	require.Contains(t, string(out), "Error 1146")
	pid := int64(cmd.Process.Pid)
	waitSpans(t, sink, 7, ofPID("mariadb", pid))
	time.Sleep(300 * time.Millisecond)
	all := allSpans(sink)
	want := []string{
		"CREATE DATABASE|CREATE||CREATE DATABASE drivers",
		"CREATE TABLE|CREATE||CREATE TABLE drivers.users(id INT, name VARCHAR(20))",
		"INSERT drivers.users|INSERT||INSERT INTO drivers.users VALUES (1,'alice'),(2,'bob')",
		"PREPARE SELECT drivers.users|PREPARE||SELECT name FROM drivers.users WHERE id = ?",
		"SELECT drivers.users|SELECT||SELECT name FROM drivers.users WHERE id = ?",
		"SELECT drivers.users|SELECT||SELECT name FROM drivers.users WHERE id = ?",
		"SELECT drivers.nosuchtable|SELECT|1146|SELECT * FROM drivers.nosuchtable",
	}
	assert.Equal(t, want, spanLines(t, all, ptrace.SpanKindClient, ofPID("mariadb", pid)), "client")
	assert.Equal(t, want, spanLines(t, all, ptrace.SpanKindServer, ofPID("mariadb", int64(srv.Process.Pid))), "server")
	// The prepared statement is COM_STMT_PREPARE, then two COM_STMT_EXECUTE
	// whose query text comes from the statement id.
	var cmds []string
	var executeRows []int64
	for _, s := range all {
		if ofPID("mariadb", pid)(s) && s.span.Kind() == ptrace.SpanKindClient {
			cmds = append(cmds, sattr(s.span, "pixie.req_cmd"))
			if sattr(s.span, "pixie.req_cmd") == "23" {
				v, _ := s.span.Attributes().Get("db.response.returned_rows")
				executeRows = append(executeRows, v.Int())
			}
		}
	}
	assert.Equal(t, []string{"3", "3", "3", "22", "23", "23", "3"}, cmds) // COM_QUERY=3, COM_STMT_PREPARE=22, COM_STMT_EXECUTE=23
	// Each EXECUTE returns one row; with MariaDB's cache-metadata option the
	// column definitions are not resent (the parser must not count rows as
	// definitions).
	assert.Equal(t, []int64{1, 1}, executeRows)
}

// TestDriverRedis: go-redis (RESP3 after HELLO), a pipeline of three
// commands written at once and a WRONGTYPE error.
func TestDriverRedis(t *testing.T) {
	dbClients(t)
	server := needBin(t, "redis-server")
	port := freePort(t)
	_, sink := startReceiver(t, func(c *Config) { c.Filter.IncludePorts = []uint16{port} })
	srv := startDaemon(t, server, "--port", strconv.Itoa(int(port)), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	pid, out := runClient(t, "redis", fmt.Sprintf("127.0.0.1:%d", port))
	require.Contains(t, out, "get: alice\npipeline: 2\n")
	require.Contains(t, out, "WRONGTYPE")
	waitSpans(t, sink, 7, ofPID("redis", pid)) // six commands and at least one HELLO
	time.Sleep(300 * time.Millisecond)
	all := allSpans(sink)
	want := []string{
		"SET|SET||SET drivers:1 alice",
		"GET|GET||GET drivers:1",
		"INCR|INCR||INCR drivers:n",
		"INCR|INCR||INCR drivers:n",
		"GET|GET||GET drivers:n",
		"LPUSH|LPUSH|WRONGTYPE|LPUSH drivers:1 x",
	}
	// go-redis opens each connection with HELLO 3 (RESP3); how many
	// connections it opens is its own business.
	for side, lines := range map[string][]string{
		"client": spanLines(t, all, ptrace.SpanKindClient, ofPID("redis", pid)),
		"server": spanLines(t, all, ptrace.SpanKindServer, ofPID("redis", int64(srv.Process.Pid))),
	} {
		var cmds, hellos []string
		for _, l := range lines {
			if strings.HasPrefix(l, "HELLO|") {
				hellos = append(hellos, l)
			} else {
				cmds = append(cmds, l)
			}
		}
		assert.Equal(t, want, cmds, side)
		require.NotEmpty(t, hellos, side)
		for _, h := range hellos {
			assert.Equal(t, "HELLO|HELLO||HELLO 3", h, side)
		}
	}
}

// TestDriverKafka: a franz-go client produces records to a kfake broker
// (another process) and fetches them back, with the API versions franz-go
// negotiates.
func TestDriverKafka(t *testing.T) {
	app := dbClients(t)
	_, sink := startReceiver(t, nil)
	const topic = "drivers-orders"
	broker, addr := startProc(t, app, "kafka-broker", topic)
	waitListening(t, addr)
	pid, out := runClient(t, "kafka-client", addr, topic, "3")
	require.Contains(t, out, "record: record-2")
	for i := 0; i < 3; i++ {
		require.Contains(t, out, fmt.Sprintf("record: record-%d\n", i))
	}
	isKafka := func(pid int64) func(gotSpan) bool {
		return func(s gotSpan) bool {
			return sattr(s.span, "messaging.system") == "kafka" && resInt(s.res, "process.pid") == pid
		}
	}
	isProduce := func(s gotSpan) bool { return isKafka(pid)(s) && sattr(s.span, "messaging.kafka.api") == "Produce" }
	waitSpans(t, sink, 3, isProduce)
	time.Sleep(300 * time.Millisecond)
	all := allSpans(sink)
	// Produce and Fetch as "name|operation type|api|topic|partition|error";
	// the Fetch of an incremental fetch session that names no partition,
	// and the long poll still waiting when the client closes, are left out.
	lines := func(kind ptrace.SpanKind, pid int64) (produce, fetch []string) {
		for _, s := range all {
			api := sattr(s.span, "messaging.kafka.api")
			if s.span.Kind() != kind || !isKafka(pid)(s) {
				continue
			}
			errType := sattr(s.span, "error.type")
			if strings.HasPrefix(errType, "no_response_") {
				continue // unanswered: no latency
			}
			assert.Greater(t, s.span.EndTimestamp(), s.span.StartTimestamp(), "latency of %s", s.span.Name())
			assert.Empty(t, errType, s.span.Name())
			if api != "Produce" && api != "Fetch" {
				continue
			}
			l := s.span.Name() + "|" + sattr(s.span, "messaging.operation.type") + "|" + api + "|" + sattr(s.span, "messaging.destination.name") +
				"|" + sattr(s.span, "messaging.destination.partition.id") + "|" + errType
			if api == "Produce" {
				produce = append(produce, l)
			} else if sattr(s.span, "messaging.destination.name") != "" {
				fetch = append(fetch, l)
			}
		}
		sort.Strings(fetch) // the client's connections are flushed in any order
		return produce, fetch
	}
	cliProduce, cliFetch := lines(ptrace.SpanKindClient, pid)
	srvProduce, srvFetch := lines(ptrace.SpanKindServer, int64(broker.Process.Pid))
	send := "send " + topic + "|send|Produce|" + topic + "|0|"
	assert.Equal(t, []string{send, send, send}, cliProduce, "client")
	assert.Equal(t, cliProduce, srvProduce, "server")
	require.NotEmpty(t, cliFetch)
	for _, l := range cliFetch {
		assert.Equal(t, "poll "+topic+"|receive|Fetch|"+topic+"|0|", l)
	}
	assert.Equal(t, cliFetch, srvFetch, "server")
	// franz-go speaks the newest versions kfake offers: topics named by
	// their ids (Produce and Fetch v13+), resolved from Metadata.
	for _, s := range all {
		if api := sattr(s.span, "messaging.kafka.api"); isKafka(pid)(s) && (api == "Produce" || api == "Fetch") {
			assert.GreaterOrEqual(t, intAttr2(s.span, "messaging.kafka.api_version"), int64(13), api)
		}
	}
}

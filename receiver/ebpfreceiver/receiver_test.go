package ebpfreceiver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
)

// requireRoot skips without root, unless CI is set: then eBPF tests fail.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the ebpf receiver tests load eBPF programs and CI is set: run them as root")
		}
		t.Skip("the ebpf receiver tests need root; skipping because CI is unset")
	}
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// testProgram builds ./testdata/<name> once per test binary and returns the
// binary's path.
func testProgram(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "ebpfreceiver-"+name)
	require.NoError(t, err)
	p := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", p, "./testdata/"+name).CombinedOutput()
	require.NoError(t, err, "building testdata/%s: %s", name, out)
	built[name] = p
	return p
}

// httpApp is testdata/httpapp, built once.
func httpApp(t *testing.T) string { return testProgram(t, "httpapp") }

// startProc starts a long-running child and returns the first line it prints.
func startProc(t *testing.T, name string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "reading the first line of %s", name)
	go func() { _, _ = bufio.NewReader(stdout).WriteTo(devNull{}) }()
	return cmd, strings.TrimSpace(line)
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// startReceiver starts an ebpf receiver with cfg edited by edit.
func startReceiver(t *testing.T, edit func(*Config)) (receiver.Traces, *consumertest.TracesSink) {
	t.Helper()
	requireRoot(t)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.FlushInterval = 50 * time.Millisecond
	if edit != nil {
		edit(cfg)
	}
	sink := new(consumertest.TracesSink)
	rcv, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()), "starting the ebpf receiver")
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
	return rcv, sink
}

type gotSpan struct {
	span ptrace.Span
	res  pcommon.Resource
}

func allSpans(sink *consumertest.TracesSink) []gotSpan {
	var out []gotSpan
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				spans := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					out = append(out, gotSpan{spans.At(k), rs.Resource()})
				}
			}
		}
	}
	return out
}

func strAttr(s ptrace.Span, k string) string {
	v, _ := s.Attributes().Get(k)
	return v.AsString()
}

func intAttr(s ptrace.Span, k string) int64 {
	v, _ := s.Attributes().Get(k)
	return v.Int()
}

func resInt(r pcommon.Resource, k string) int64 {
	v, _ := r.Attributes().Get(k)
	return v.Int()
}

// waitSpans waits until match finds n spans.
func waitSpans(t *testing.T, sink *consumertest.TracesSink, n int, match func(gotSpan) bool) []gotSpan {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got []gotSpan
		for _, s := range allSpans(sink) {
			if match(s) {
				got = append(got, s)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				var names []string
				for _, s := range allSpans(sink) {
					names = append(names, fmt.Sprintf("%s(%s pid=%d)", s.span.Name(), s.span.Kind(), resInt(s.res, "process.pid")))
				}
				t.Fatalf("want %d matching spans, got %d; all spans: %v", n, len(got), names)
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

// TestGoServerCurlClient: a Go net/http server and curl, both traced.
func TestGoServerCurlClient(t *testing.T) {
	app := httpApp(t)
	_, sink := startReceiver(t, func(c *Config) { c.HTTP.CaptureHeaders = true })
	srv, addr := startProc(t, app, "server")
	waitListening(t, addr)
	srvPID := int64(srv.Process.Pid)

	runCmd(t, "curl", "-sS", "-o", "/dev/null", "http://"+addr+"/users/42?verbose=1")
	runCmd(t, "curl", "-sS", "-o", "/dev/null", "http://"+addr+"/fail")
	runCmd(t, "curl", "-sS", "-o", "/dev/null", "-H", "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "http://"+addr+"/hello")

	isServer := func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindServer && resInt(s.res, "process.pid") == srvPID
	}
	server := waitSpans(t, sink, 3, isServer)
	byPath := map[string]ptrace.Span{}
	for _, s := range server {
		byPath[strAttr(s.span, "url.path")] = s.span
		assert.Equal(t, "httpapp", func() string { v, _ := s.res.Attributes().Get("process.executable.name"); return v.Str() }())
	}
	u := byPath["/users/42"]
	require.NotEqual(t, ptrace.Span{}, u, "no server span for /users/42")
	assert.Equal(t, "GET /users/{id}", u.Name())
	assert.Equal(t, "GET", strAttr(u, "http.request.method"))
	assert.Equal(t, "verbose=1", strAttr(u, "url.query"))
	assert.Equal(t, "/users/{id}", strAttr(u, "http.route"))
	assert.EqualValues(t, 200, intAttr(u, "http.response.status_code"))
	assert.Equal(t, "1.1", strAttr(u, "network.protocol.version"))
	host, port, _ := net.SplitHostPort(addr)
	assert.Equal(t, host, strAttr(u, "server.address"))
	assert.Equal(t, port, strconv.FormatInt(intAttr(u, "server.port"), 10))
	assert.Equal(t, "127.0.0.1", strAttr(u, "client.address"))
	assert.True(t, strings.HasPrefix(strAttr(u, "user_agent.original"), "curl/"))
	assert.Greater(t, u.EndTimestamp(), u.StartTimestamp(), "duration must be > 0")
	assert.Equal(t, ptrace.StatusCodeUnset, u.Status().Code())

	f := byPath["/fail"]
	assert.EqualValues(t, 500, intAttr(f, "http.response.status_code"))
	assert.Equal(t, ptrace.StatusCodeError, f.Status().Code(), "server 5xx is an error")

	h := byPath["/hello"]
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", h.TraceID().String(), "traceparent joins the trace")
	assert.Equal(t, "00f067aa0ba902b7", h.ParentSpanID().String())

	// curl's client spans: same addresses, mirrored.
	client := waitSpans(t, sink, 1, func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindClient && strAttr(s.span, "url.path") == "/users/42"
	})
	c := client[0].span
	exe, _ := client[0].res.Attributes().Get("process.executable.name")
	assert.Equal(t, "curl", exe.Str(), "a short-lived client keeps its executable name (from /proc or the kernel's comm)")
	assert.Equal(t, "GET /users/{id}", c.Name())
	assert.EqualValues(t, 200, intAttr(c, "http.response.status_code"))
	assert.Equal(t, intAttr(u, "client.port"), intAttr(c, "client.port"), "both spans name the same client port")
	assert.Equal(t, intAttr(u, "server.port"), intAttr(c, "network.peer.port"), "the client's peer is the server")
	assert.Equal(t, intAttr(u, "network.peer.port"), intAttr(c, "client.port"), "the server's peer is the client")
	assert.Equal(t, strAttr(u, "server.port"), strAttr(c, "server.port"))
	assert.Greater(t, c.EndTimestamp(), c.StartTimestamp())
	assert.GreaterOrEqual(t, int64(c.EndTimestamp()-c.StartTimestamp()), int64(u.EndTimestamp()-u.StartTimestamp()),
		"the client sees at least the server's latency")
}

// TestPythonServer: Python's http.server (HTTP/1.0 responses, close-delimited) and curl.
func TestPythonServer(t *testing.T) {
	_, sink := startReceiver(t, nil)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "page.txt"), []byte(strings.Repeat("p", 1000)), 0o644))
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	py := exec.Command("python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, port)
	require.NoError(t, py.Start())
	t.Cleanup(func() { _ = py.Process.Kill(); _ = py.Wait() })
	waitListening(t, addr)

	runCmd(t, "curl", "-sS", "-o", "/dev/null", "http://"+addr+"/page.txt")
	runCmd(t, "curl", "-sS", "-o", "/dev/null", "http://"+addr+"/missing")
	spans := waitSpans(t, sink, 2, func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindServer && resInt(s.res, "process.pid") == int64(py.Process.Pid)
	})
	status := map[string]int64{}
	for _, s := range spans {
		status[strAttr(s.span, "url.path")] = intAttr(s.span, "http.response.status_code")
		if strAttr(s.span, "url.path") == "/page.txt" {
			assert.EqualValues(t, 1000, intAttr(s.span, "http.response.body.size"))
		}
	}
	assert.EqualValues(t, 200, status["/page.txt"])
	assert.EqualValues(t, 404, status["/missing"])
}

// TestPipelinedKeepAlive: a client (python) writes three requests in one
// send on one connection; the Go server answers them in order.
func TestPipelinedKeepAlive(t *testing.T) {
	app := httpApp(t)
	_, sink := startReceiver(t, nil)
	srv, addr := startProc(t, app, "server")
	waitListening(t, addr)
	host, port, _ := net.SplitHostPort(addr)
	script := fmt.Sprintf(`
import socket
s = socket.create_connection((%q, %s))
reqs = b"".join(b"GET /users/%%d HTTP/1.1\r\nHost: x\r\n\r\n" %% i for i in (1, 2)) + b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
s.sendall(reqs)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
assert data.count(b"HTTP/1.1 200") == 3, data
`, host, port)
	runCmd(t, "python3", "-c", script)
	spans := waitSpans(t, sink, 3, func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindServer && resInt(s.res, "process.pid") == int64(srv.Process.Pid)
	})
	var paths []string
	for _, s := range spans {
		paths = append(paths, strAttr(s.span, "url.path"))
		assert.EqualValues(t, 200, intAttr(s.span, "http.response.status_code"))
	}
	assert.ElementsMatch(t, []string{"/users/1", "/users/2", "/hello"}, paths)
	// The python client's spans are client spans with the same paths.
	waitSpans(t, sink, 3, func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindClient && strings.HasPrefix(strAttr(s.span, "server.address"), "x")
	})
}

// TestCaptureRatio: a separate load process sends sequence-numbered
// requests at a modest rate; every sequence number must appear in a server
// span and in a client span.
func TestCaptureRatio(t *testing.T) {
	app := httpApp(t)
	_, sink := startReceiver(t, func(c *Config) { c.HTTP.CaptureHeaders = true })
	srv, addr := startProc(t, app, "server")
	waitListening(t, addr)
	const n = 2000
	out := runCmd(t, app, "load", "-url", "http://"+addr+"/seq", "-n", strconv.Itoa(n), "-rate", "1000", "-conns", "4")
	require.Contains(t, out, fmt.Sprintf("ok=%d failed=0", n))
	seen := map[ptrace.SpanKind]map[string]bool{ptrace.SpanKindServer: {}, ptrace.SpanKindClient: {}}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range allSpans(sink) {
			if strAttr(s.span, "url.path") != "/seq" {
				continue
			}
			if s.span.Kind() == ptrace.SpanKindServer && resInt(s.res, "process.pid") != int64(srv.Process.Pid) {
				continue
			}
			if v, ok := s.span.Attributes().Get("http.request.header.x-seq"); ok && v.Slice().Len() == 1 {
				seen[s.span.Kind()][v.Slice().At(0).Str()] = true
			}
		}
		if len(seen[ptrace.SpanKindServer]) == n && len(seen[ptrace.SpanKindClient]) == n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Len(t, seen[ptrace.SpanKindServer], n, "server spans with distinct X-Seq")
	assert.Len(t, seen[ptrace.SpanKindClient], n, "client spans with distinct X-Seq")
}

// TestLifecycle: start, shutdown, start again; no BPF program survives a
// shutdown.
func TestLifecycle(t *testing.T) {
	requireRoot(t)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	var ids []ebpf.ProgramID
	for i := 0; i < 2; i++ {
		rcv, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
		ids = ProgramIDs(rcv)
		require.NotEmpty(t, ids)
		for _, id := range ids {
			p, err := ebpf.NewProgramFromID(id)
			require.NoError(t, err, "program %d should be loaded", id)
			p.Close()
		}
		require.NoError(t, rcv.Shutdown(context.Background()))
		require.NoError(t, rcv.Shutdown(context.Background()), "second shutdown is a no-op")
		for _, id := range ids {
			if p, err := ebpf.NewProgramFromID(id); err == nil {
				p.Close()
				t.Errorf("program %d still loaded after shutdown", id)
			}
		}
		// Restart the same instance too.
		require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, rcv.Shutdown(context.Background()))
	}
}

func TestFilterExecutable(t *testing.T) {
	app := httpApp(t)
	_, sink := startReceiver(t, func(c *Config) { c.Filter.ExcludeExecutables = []string{"curl"} })
	srv, addr := startProc(t, app, "server")
	waitListening(t, addr)
	runCmd(t, "curl", "-sS", "-o", "/dev/null", "http://"+addr+"/hello")
	waitSpans(t, sink, 1, func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindServer && resInt(s.res, "process.pid") == int64(srv.Process.Pid)
	})
	time.Sleep(300 * time.Millisecond)
	for _, s := range allSpans(sink) {
		v, _ := s.res.Attributes().Get("process.executable.name")
		assert.NotEqual(t, "curl", v.Str(), "curl is excluded")
	}
}

func TestStartFailsClearlyWithBadTracefs(t *testing.T) {
	requireRoot(t)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	// A regular file where tracefs should be: it can be neither used nor mounted.
	notDir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notDir, nil, 0o644))
	cfg.TracefsPath = notDir
	rcv, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = rcv.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tracefs")
	assert.Contains(t, err.Error(), notDir)
	require.NoError(t, rcv.Shutdown(context.Background()), "shutdown after a failed start")
}

// TestConnectionOpenBeforeStart: a keep-alive connection opened (and used)
// before the receiver started is picked up mid-stream: its next request
// becomes a span on both ends.
func TestConnectionOpenBeforeStart(t *testing.T) {
	requireRoot(t)
	app := httpApp(t)
	srv, addr := startProc(t, app, "server")
	waitListening(t, addr)
	host, port, _ := net.SplitHostPort(addr)
	trigger := filepath.Join(t.TempDir(), "go")
	script := fmt.Sprintf(`
import os, socket, sys, time
s = socket.create_connection((%q, %s))
def get(path):
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"}"):
        data += s.recv(65536)
    return data
get(b"/users/1")
print("ready", flush=True)
while not os.path.exists(%q):
    time.sleep(0.05)
get(b"/users/2")
get(b"/users/3")
`, host, port, trigger)
	py, line := startProc(t, "python3", "-c", script)
	require.Equal(t, "ready", line)
	_, sink := startReceiver(t, nil)
	require.NoError(t, os.WriteFile(trigger, nil, 0o644))
	require.NoError(t, py.Wait())
	server := waitSpans(t, sink, 2, func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindServer && resInt(s.res, "process.pid") == int64(srv.Process.Pid)
	})
	var paths []string
	for _, s := range server {
		paths = append(paths, strAttr(s.span, "url.path"))
		assert.EqualValues(t, 200, intAttr(s.span, "http.response.status_code"))
	}
	assert.ElementsMatch(t, []string{"/users/2", "/users/3"}, paths)
	waitSpans(t, sink, 2, func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindClient && resInt(s.res, "process.pid") == int64(py.Process.Pid)
	})
}

// TestExecRenamesProcess: a process that made a request and then exec'd
// another program (an entrypoint script that exec's its server) keeps its
// pid and start time; the spans after the exec must name the new
// executable, not what was read of the process before (TLS tracing off,
// the default of this receiver's config).
func TestExecRenamesProcess(t *testing.T) {
	_, sink := startReceiver(t, nil)
	dir := t.TempDir()
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	py := exec.Command("python3", "-m", "http.server", "--bind", host, "--directory", dir, port)
	require.NoError(t, py.Start())
	t.Cleanup(func() { _ = py.Process.Kill(); _ = py.Wait() })
	waitListening(t, addr)

	curl, err := exec.LookPath("curl")
	require.NoError(t, err)
	client := exec.Command("python3", "testdata/exec_client.py", host, port, curl)
	out, err := client.CombinedOutput()
	require.NoError(t, err, "%s", out)
	pid := int64(client.Process.Pid)

	spans := waitSpans(t, sink, 2, func(s gotSpan) bool {
		return s.span.Kind() == ptrace.SpanKindClient && resInt(s.res, "process.pid") == pid
	})
	exe := map[string]string{}
	cmd := map[string]string{}
	for _, s := range spans {
		v, _ := s.res.Attributes().Get("process.executable.name")
		exe[strAttr(s.span, "url.path")] = v.Str()
		v, _ = s.res.Attributes().Get("process.command_line")
		cmd[strAttr(s.span, "url.path")] = v.Str()
	}
	assert.True(t, strings.HasPrefix(exe["/before"], "python3"), "before the exec: %q", exe["/before"])
	assert.Equal(t, "curl", exe["/after"], "after the exec")
	assert.Contains(t, cmd["/after"], "/after")
}

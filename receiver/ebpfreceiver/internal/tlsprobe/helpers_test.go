package tlsprobe

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tracer"
)

// requireBPF skips (or fails, under CI) when the test cannot load eBPF.
func requireBPF(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("eBPF tests need root and CI is set: run them as root")
		}
		t.Skip("eBPF tests need root; skipping because CI is unset")
	}
}

// requireTool skips (or fails, under CI) when a program the test runs is
// missing.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed and CI is set (see .ci/run)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// record is an HTTP exchange the tracker reported.
type record struct {
	pid    uint32
	role   sockevent.Role
	method string
	path   string
	status int
	tls    bool
}

// stack is the socket tracer with TLS probes and a connection tracker.
type stack struct {
	mu      sync.Mutex
	tracker *conntrack.Tracker
	recs    []record
	events  []string // every event, for failure messages
	tr      *tracer.Tracer
	m       *Manager
}

func (s *stack) OnOpen(o *sockevent.Open) {
	s.mu.Lock()
	s.events = append(s.events, fmt.Sprintf("open %v %v", o.ID, o.Role))
	s.tracker.OnOpen(o)
	s.mu.Unlock()
}

func (s *stack) OnData(d *sockevent.Data) {
	s.mu.Lock()
	s.events = append(s.events, fmt.Sprintf("data %v %v tls=%v pos=%d size=%d %q", d.ID, d.Dir, d.TLS, d.Pos, d.Size, d.Payload[:min(len(d.Payload), 40)]))
	s.tracker.OnData(d)
	s.mu.Unlock()
}

func (s *stack) OnClose(c *sockevent.Close) {
	s.mu.Lock()
	s.events = append(s.events, fmt.Sprintf("close %v", c.ID))
	s.tracker.OnClose(c)
	s.mu.Unlock()
}

// eventsOf returns the events of pid, for failure messages.
func (s *stack) eventsOf(pid int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	p := fmt.Sprintf(" %d/", pid)
	for _, e := range s.events {
		if strings.Contains(e, p) {
			b.WriteString(e)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func (s *stack) onRecord(r *conntrack.Record) {
	rec := record{pid: r.Conn.ID.PID, role: r.Conn.Role, method: r.Req.Method, path: r.Req.Path, tls: r.Conn.TLS}
	if r.Resp != nil {
		rec.status = r.Resp.StatusCode
	}
	s.recs = append(s.recs, rec) // called with s.mu held
}

func startStack(t *testing.T) *stack {
	t.Helper()
	requireBPF(t)
	s := &stack{}
	s.tracker = conntrack.New(conntrack.Config{}, s.onRecord)
	log := zaptest.NewLogger(t)
	tr, err := tracer.New(tracer.Config{TLS: true}, s, log)
	require.NoError(t, err)
	require.NoError(t, tr.Start())
	t.Cleanup(func() { _ = tr.Close() })
	m, err := New(Config{RescanInterval: time.Second}, programsOf(t, tr), log)
	require.NoError(t, err)
	tr.SetProcessHook(m)
	m.Start()
	t.Cleanup(func() {
		tr.SetProcessHook(nil)
		require.NoError(t, m.Close())
	})
	s.tr, s.m = tr, m
	return s
}

// programsOf returns the tracer's TLS uprobe programs as a Manager takes them.
func programsOf(t *testing.T, tr *tracer.Tracer) Programs {
	t.Helper()
	p, err := tr.TLSPrograms()
	require.NoError(t, err)
	return Programs{
		SSLWrite: p.SSLWrite, SSLRead: p.SSLRead, SSLWriteEx: p.SSLWriteEx, SSLReadEx: p.SSLReadEx,
		SSLReturn: p.SSLReturn, GoWrite: p.GoWrite, GoRead: p.GoRead, GoReturn: p.GoReturn,
	}
}

// waitRecords waits until pred holds for the records of pid (0: any)
// whose path starts with prefix, and returns them.
func (s *stack) waitRecords(t *testing.T, pid int, prefix string, pred func([]record) bool) []record {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		var got []record
		for _, r := range s.recs {
			if (pid == 0 || int(r.pid) == pid) && strings.HasPrefix(r.path, prefix) {
				got = append(got, r)
			}
		}
		s.mu.Unlock()
		if pred(got) {
			return got
		}
		if time.Now().After(deadline) {
			st := s.tr.Stats()
			t.Fatalf("records of pid %d with path %s*: %+v (tracer stats: TLS data %d, TLS no fd %d, cipher bytes %d; binaries %+v)",
				pid, prefix, got, st.TLSDataEvents, st.TLSNoFD, st.TLSCipherBytes, s.m.Binaries())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitAttached waits until a binary whose path ends with suffix has its
// probes attached.
func (s *stack) waitAttached(t *testing.T, suffix string) BinaryStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, b := range s.m.Binaries() {
			if strings.HasSuffix(b.Path, suffix) && b.Attached {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attached binary %s: %+v", suffix, s.m.Binaries())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGone waits until no binary whose path ends with suffix is probed.
func (s *stack) waitGone(t *testing.T, suffix string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		found := false
		for _, b := range s.m.Binaries() {
			found = found || strings.HasSuffix(b.Path, suffix)
		}
		if !found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("binary %s still probed: %+v", suffix, s.m.Binaries())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// token is a unique path component, so records of concurrent tests and other
// traffic on the node never match.
func token() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// selfSignedCert writes a key and a self-signed certificate for 127.0.0.1
// with the openssl CLI.
func selfSignedCert(t *testing.T) (cert, key string) {
	t.Helper()
	openssl := requireTool(t, "openssl")
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	out, err := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
		"-addext", "subjectAltName=IP:127.0.0.1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return cert, key
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on port %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startCmd starts cmd in its own process group, killing the group (cmd
// and its children, e.g. nginx's workers) at cleanup.
func startCmd(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
}

// buildGo builds testdata/gotls with extra go build flags.
func buildGo(t *testing.T, name string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	args := append([]string{"build", "-o", out}, flags...)
	args = append(args, "./testdata/gotls")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	return out
}

// goServer starts a gotls server and returns its pid and port.
func goServer(t *testing.T, bin string) (pid, port int) {
	t.Helper()
	cmd := exec.Command(bin, "server")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	startCmd(t, cmd)
	t.Cleanup(func() { stdin.Close() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	_, err = fmt.Sscanf(line, "port %d", &port)
	require.NoError(t, err, line)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return cmd.Process.Pid, port
}

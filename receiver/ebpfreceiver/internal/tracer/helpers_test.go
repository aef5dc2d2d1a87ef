package tracer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// requireBPF skips (or fails, under CI) when the test cannot load eBPF.
func requireBPF(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("eBPF tests need root and CI is set: run them as root")
		}
		t.Skip("eBPF tests need root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN for tracefs); skipping because CI is unset")
	}
}

// dataRec is a Data event with its payload copied.
type dataRec struct {
	sockevent.Data
}

type recorder struct {
	mu     sync.Mutex
	opens  []sockevent.Open
	datas  []dataRec
	closes []sockevent.Close
	// block, when not nil, is waited on by OnData calls for blockPID.
	block    chan struct{}
	blockPID atomic.Int64
	// seen holds the connections whose Open was delivered; orphans counts
	// Data or Close events without an Open before them.
	seen    map[sockevent.ConnID]bool
	orphans []string
}

func (r *recorder) OnOpen(o *sockevent.Open) {
	r.mu.Lock()
	r.opens = append(r.opens, *o)
	if r.seen == nil {
		r.seen = make(map[sockevent.ConnID]bool)
	}
	r.seen[o.ID] = true
	r.mu.Unlock()
}

func (r *recorder) orphan(kind string, id sockevent.ConnID) {
	if !r.seen[id] {
		r.orphans = append(r.orphans, kind+" "+id.String())
	}
}

func (r *recorder) OnData(d *sockevent.Data) {
	if r.block != nil && int64(d.ID.PID) == r.blockPID.Load() {
		<-r.block
	}
	c := *d
	c.Payload = bytes.Clone(d.Payload)
	if c.Payload == nil {
		c.Payload = []byte{}
	}
	r.mu.Lock()
	r.orphan("data", d.ID)
	r.datas = append(r.datas, dataRec{c})
	r.mu.Unlock()
}

func (r *recorder) OnClose(c *sockevent.Close) {
	r.mu.Lock()
	r.orphan("close", c.ID)
	r.closes = append(r.closes, *c)
	r.mu.Unlock()
}

func (r *recorder) opensOf(pid int) []sockevent.Open {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sockevent.Open
	for _, o := range r.opens {
		if int(o.ID.PID) == pid {
			out = append(out, o)
		}
	}
	return out
}

func (r *recorder) dataOf(id sockevent.ConnID) []dataRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []dataRec
	for _, d := range r.datas {
		if d.ID == id {
			out = append(out, d)
		}
	}
	return out
}

func (r *recorder) closeOf(id sockevent.ConnID) (sockevent.Close, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.closes {
		if c.ID == id {
			return c, true
		}
	}
	return sockevent.Close{}, false
}

// waitClosed waits until a Close for every id was delivered.
func (r *recorder) waitClosed(t *testing.T, ids ...sockevent.ConnID) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, id := range ids {
			if _, ok := r.closeOf(id); !ok {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "no Close for %v", ids)
}

// stream concatenates the payloads of one direction of a connection,
// checking that Pos is contiguous and nothing was truncated.
func stream(t *testing.T, ds []dataRec, dir sockevent.Direction) []byte {
	t.Helper()
	var b []byte
	var pos uint64
	for _, d := range ds {
		if d.Dir != dir {
			continue
		}
		require.Equal(t, pos, d.Pos, "gap in %s stream of %v", dir, d.ID)
		require.False(t, d.Truncated(), "truncated chunk at %d", d.Pos)
		b = append(b, d.Payload...)
		pos += uint64(d.Size)
	}
	return b
}

func startTracer(t *testing.T, cfg Config) (*Tracer, *recorder) {
	t.Helper()
	return startTracerWith(t, cfg, &recorder{})
}

func startTracerWith(t *testing.T, cfg Config, rec *recorder) (*Tracer, *recorder) {
	t.Helper()
	requireBPF(t)
	tr, err := New(cfg, rec, zaptest.NewLogger(t))
	require.NoError(t, err)
	require.NoError(t, tr.Start(), "starting the tracer")
	t.Cleanup(func() {
		require.NoError(t, tr.Close())
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Empty(t, rec.orphans, "events for connections whose Open was not delivered first")
	})
	return tr, rec
}

// freePort returns a TCP port that was free on host a moment ago.
func freePort(t *testing.T, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pyProc is a python3 process the test talks to over stdin/stdout.
type pyProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// startPy runs python3 -u args... and kills it at cleanup.
func startPy(t *testing.T, args ...string) *pyProc {
	t.Helper()
	cmd := exec.Command("python3", append([]string{"-u"}, args...)...)
	cmd.Stderr = &testWriter{t: t, prefix: "python: "}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &pyProc{cmd: cmd, stdin: in, lines: make(chan string, 100)}
	t.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	go func() {
		defer close(p.lines)
		br := bufio.NewReader(out)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			p.lines <- strings.TrimSpace(line)
		}
	}()
	return p
}

// expect waits for a stdout line starting with prefix (skipping others)
// and returns its fields after the prefix.
func (p *pyProc) expect(t *testing.T, prefix string) []string {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			require.True(t, ok, "python exited before printing %q", prefix)
			if strings.HasPrefix(line, prefix) {
				return strings.Fields(strings.TrimPrefix(line, prefix))
			}
		case <-timeout:
			t.Fatalf("python did not print %q", prefix)
		}
	}
}

// next lets the script go on (it waits for a line on stdin).
func (p *pyProc) next(t *testing.T) {
	t.Helper()
	_, err := io.WriteString(p.stdin, "\n")
	require.NoError(t, err)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

type testWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.prefix + l)
	}
	return len(p), nil
}

func hostURL(host string, port int, path string) string {
	return fmt.Sprintf("http://%s%s", net.JoinHostPort(host, fmt.Sprint(port)), path)
}

package ebpfreceiver

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
)

// pyBinary: a TCP connection carrying a binary protocol nobody parses:
// 20 request/response round trips of non-text bytes, "phase1", a line read
// from stdin, 280 more round trips, then the client's port and the bytes
// each way.
const pyBinary = `
import os, socket, sys
lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen(1)
c = socket.create_connection(lst.getsockname()); s, _ = lst.accept()
req, resp = bytes([0, 1, 2, 250, 251]) * 20, bytes([7, 8, 9, 255]) * 50
def exact(sock, n):
    got = 0
    while got < n:
        b = sock.recv(n - got)
        assert b
        got += len(b)
def rounds(n):
    for _ in range(n):
        c.sendall(req); exact(s, len(req))
        s.sendall(resp); exact(c, len(resp))
rounds(20)
print("phase1", flush=True)
sys.stdin.readline()
rounds(280)
print(c.getsockname()[1], 300 * len(req), 300 * len(resp), flush=True)
c.close(); s.close()
`

// TestUnknownProtocolMuted: a connection in which no protocol is
// recognised is muted (its payload no longer copied in BPF) while
// conn_stats still counts its bytes exactly.
func TestUnknownProtocolMuted(t *testing.T) {
	requireRoot(t)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Metrics.Interval = time.Second
	set := receivertest.NewNopSettings(metadata.Type)
	logs := new(consumertest.LogsSink)
	tr, err := f.CreateTraces(context.Background(), set, cfg, new(consumertest.TracesSink))
	require.NoError(t, err)
	_, err = f.CreateLogs(context.Background(), set, cfg, logs)
	require.NoError(t, err)
	require.NoError(t, tr.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })

	cmd := exec.Command("python3", "-c", pyBinary)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	br := bufio.NewReader(stdout)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "phase1\n", line)

	// Detection gives up after 8 chunks per end (the first round trips),
	// and the receiver mutes both ends.
	rcv := tr.(*sharedReceiver).tracesReceiver
	require.Eventually(t, func() bool { return rcv.tracer.Stats().Muted >= 2 },
		10*time.Second, 20*time.Millisecond, "both ends of the connection are muted")
	_, err = io.WriteString(stdin, "go\n")
	require.NoError(t, err)
	line, err = br.ReadString('\n')
	require.NoError(t, err)
	fs := strings.Fields(line)
	require.Len(t, fs, 3)
	port, _ := strconv.Atoi(fs[0])
	sent, _ := strconv.Atoi(fs[1])
	recv, _ := strconv.Atoi(fs[2])
	pid := int64(cmd.Process.Pid)

	// Each end looks at the muted map by its 64th data syscall (it had
	// made 40): of the 280 later round trips (1120 syscalls) at most 24
	// per end still carry payload.
	phase2 := uint64(sent+recv) * 280 / 300
	require.Eventually(t, func() bool { return rcv.tracer.Stats().MutedBytes >= phase2-48*250 },
		10*time.Second, 50*time.Millisecond, "muted bytes")

	// The server end's conn_stats row (its peer is the client's port):
	// exact bytes although muted.
	var gotRecv, gotSent int64
	require.Eventually(t, func() bool {
		row := connRow(logs.AllLogs(), pid, port)
		if row.Len() == 0 {
			return false
		}
		v := func(k string) int64 { x, _ := row.Get(k); return x.Int() }
		gotRecv, gotSent = v("ebpf.connection.bytes_recv"), v("ebpf.connection.bytes_sent")
		return v("ebpf.connection.closed") == 1
	}, 20*time.Second, 200*time.Millisecond)
	assert.EqualValues(t, sent, gotRecv, "server received what the client sent")
	assert.EqualValues(t, recv, gotSent, "server sent what the client received")
}

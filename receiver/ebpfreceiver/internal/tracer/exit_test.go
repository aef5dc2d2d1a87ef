package tracer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// TestProcessExitCloses: a process that exits with connections open gets a
// Close for each, with the byte totals.
func TestProcessExitCloses(t *testing.T) {
	tr, rec := startTracer(t, Config{})
	py := startPy(t, "-c", `
import os, socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
c.sendall(b"ping!"); assert s.recv(5) == b"ping!"
s.sendall(b"pong"); assert c.recv(4) == b"pong"
print("port", c.getsockname()[1], flush=True)
os._exit(0)
`)
	port := uint16(atoi(t, py.expect(t, "port")[0]))
	pid := py.cmd.Process.Pid

	var opens []sockevent.Open
	require.Eventually(t, func() bool {
		opens = rec.opensOf(pid)
		if len(opens) != 2 {
			return false
		}
		for _, o := range opens {
			if _, ok := rec.closeOf(o.ID); !ok {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "opens %+v", rec.opensOf(pid))
	for _, o := range opens {
		cl, _ := rec.closeOf(o.ID)
		if o.Local.Port() == port { // client
			assert.Equal(t, sockevent.Close{ID: o.ID, TimeNs: cl.TimeNs, BytesSent: 5, BytesRecv: 4}, cl)
		} else {
			assert.Equal(t, sockevent.Close{ID: o.ID, TimeNs: cl.TimeNs, BytesSent: 4, BytesRecv: 5}, cl)
		}
		assert.GreaterOrEqual(t, cl.TimeNs, o.TimeNs)
	}
	st := tr.Stats()
	assert.GreaterOrEqual(t, st.ExitClosed, uint64(2))
	assert.Positive(t, st.KernelExitEvents)
}

// execve closes the sockets opened with CLOEXEC (Python's and Go's
// default) without a close(): no Close record comes. The exec record now
// ends every connection of the process, as its exit would.
func TestExecClosesConnections(t *testing.T) {
	_, rec := startTracer(t, Config{})
	py := startPy(t, "-c", `
import os, socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
c.sendall(b"ping!"); assert s.recv(5) == b"ping!"
print("ready", flush=True)
os.execv("/bin/sleep", ["sleep", "30"])
`)
	py.expect(t, "ready")
	pid := py.cmd.Process.Pid
	var opens []sockevent.Open
	require.Eventually(t, func() bool { opens = rec.opensOf(pid); return len(opens) == 2 }, 5*time.Second, 10*time.Millisecond)
	ids := make([]sockevent.ConnID, len(opens))
	for i, o := range opens {
		ids[i] = o.ID
	}
	rec.waitClosed(t, ids...)
}

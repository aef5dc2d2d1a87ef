package tracer

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const echoScript = `
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
print("port", l.getsockname()[1], flush=True)
sys.stdin.readline()
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
c.sendall(b"ping"); s.recv(4)
print("accepting", flush=True)
s2, _ = l.accept()  # the test process connects
s2.sendall(b"hi test"); s2.close()
c.close(); s.close()
print("done", flush=True)
sys.stdin.readline()
`

// TestPIDFilters: IncludePIDs narrows tracing to the listed processes,
// ExcludePIDs removes processes, and the tracer's own process is never
// traced.
func TestPIDFilters(t *testing.T) {
	requireBPF(t)
	a := startPy(t, "-c", echoScript)
	b := startPy(t, "-c", echoScript)
	portA := atoi(t, a.expect(t, "port")[0])
	portB := atoi(t, b.expect(t, "port")[0])
	pidA, pidB := uint32(a.cmd.Process.Pid), uint32(b.cmd.Process.Pid)

	tr, rec := startTracer(t, Config{IncludePIDs: []uint32{pidA, pidB}, ExcludePIDs: []uint32{pidB}})
	for _, x := range []struct {
		p    *pyProc
		port int
	}{{a, portA}, {b, portB}} {
		x.p.next(t)
		x.p.expect(t, "accepting")
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", x.port))
		require.NoError(t, err)
		buf := make([]byte, 7)
		_, err = conn.Read(buf)
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		x.p.expect(t, "done")
	}

	// A: client, server and the test's connection, all closed.
	require.Eventually(t, func() bool {
		opens := rec.opensOf(int(pidA))
		if len(opens) != 3 {
			return false
		}
		for _, o := range opens {
			if _, ok := rec.closeOf(o.ID); !ok {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "opens of A: %+v", rec.opensOf(int(pidA)))
	time.Sleep(3 * maxPollInterval)
	assert.Empty(t, rec.opensOf(int(pidB)), "B is excluded")
	assert.Empty(t, rec.opensOf(os.Getpid()), "the tracer's own process is never traced")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, d := range rec.datas {
		assert.Equal(t, pidA, d.ID.PID)
	}
	_ = tr
}

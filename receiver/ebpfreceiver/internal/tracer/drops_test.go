package tracer

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

const dropScript = `
import os, socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.socket(); c.connect(l.getsockname()); s, _ = l.accept()
print("conn", c.getsockname()[1], flush=True)
sys.stdin.readline()
chunk = b"z" * 4096
for i in range(64):
    os.write(c.fileno(), chunk)
    n = 0
    while n < 4096:
        n += len(os.read(s.fileno(), 4096 - n))
# Small records fill whatever room the big ones left.
for i in range(1500):
    os.write(c.fileno(), b"y")
    os.read(s.fileno(), 1)
# A new connection while the ring is full: its Open is dropped, so its Data
# must wait until the Open gets through.
c2 = socket.create_connection(l.getsockname()); s2, _ = l.accept()
os.write(c2.fileno(), b"lost")
print("sent", c2.getsockname()[1], flush=True)
sys.stdin.readline()
os.write(c2.fileno(), b"after")
c.close(); s.close(); c2.close(); s2.close(); l.close()
print("closed", flush=True)
sys.stdin.readline()
`

// TestRingFullDropsAndGaps blocks the handler while a process writes far
// more than a 64 KiB ring holds: the BPF side must drop (never block), count
// the drops, and keep Pos and the byte totals right so the gap shows.
func TestRingFullDropsAndGaps(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	tr, rec := startTracerWith(t, Config{RingBufferBytes: MinRingBufferBytes}, &recorder{block: gate})
	t.Cleanup(release) // runs before the tracer's Close, which waits for the handler

	py := startPy(t, "-c", dropScript)
	rec.blockPID.Store(int64(py.cmd.Process.Pid))
	port := uint16(atoi(t, py.expect(t, "conn")[0]))
	var client sockevent.Open
	require.Eventually(t, func() bool {
		for _, o := range rec.opensOf(py.cmd.Process.Pid) {
			if o.Local.Port() == port {
				client = o
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)

	py.next(t)
	port2 := uint16(atoi(t, py.expect(t, "sent")[0])) // the writer was never blocked by the stuck handler
	release()
	// Let the reader drain the ring before the script goes on.
	require.Eventually(t, func() bool {
		st := tr.Stats()
		return st.Records == st.KernelRecords()
	}, 10*time.Second, 10*time.Millisecond)
	py.next(t)
	py.expect(t, "closed")
	rec.waitClosed(t, client.ID)

	// The second connection's Open was dropped, then sent before its next
	// Data (which shows the gap left by the Data dropped meanwhile); the
	// role survives.
	var c2 sockevent.Open
	require.Eventually(t, func() bool {
		for _, o := range rec.opensOf(py.cmd.Process.Pid) {
			if o.Local.Port() == port2 {
				c2 = o
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, sockevent.RoleClient, c2.Role)
	assert.False(t, c2.Existing)
	rec.waitClosed(t, c2.ID)
	d2 := rec.dataOf(c2.ID)
	require.Len(t, d2, 1)
	assert.Equal(t, uint64(4), d2[0].Pos)
	assert.Equal(t, []byte("after"), d2[0].Payload)
	cl2, _ := rec.closeOf(c2.ID)
	assert.Equal(t, uint64(9), cl2.BytesSent)

	const total = 64*4096 + 1500
	cl, _ := rec.closeOf(client.ID)
	assert.Equal(t, uint64(total), cl.BytesSent, "totals count dropped chunks too")

	var delivered, gaps int
	var next uint64
	for _, d := range rec.dataOf(client.ID) {
		if d.Dir != sockevent.Egress {
			continue
		}
		if d.Pos != next {
			gaps++
		}
		next = d.Pos + uint64(d.Size)
		delivered++
	}
	if next != total {
		gaps++ // the last chunks were lost
	}
	st := tr.Stats()
	t.Logf("delivered %d Data events, %d gaps; stats %+v", delivered, gaps, st)
	assert.Less(t, delivered, 64+1500)
	assert.Positive(t, gaps)
	assert.Positive(t, st.DropRingbufData)
	assert.Positive(t, st.DropDataBytes)
	assert.GreaterOrEqual(t, st.Drops(), st.DropRingbufData)
	assert.Positive(t, st.DropRingbufOpen)
}

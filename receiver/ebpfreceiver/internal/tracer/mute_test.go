package tracer

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// TestMute: after Mute, a connection's Data records keep their sizes and
// stream offsets but carry no payload (write and writev), the kernel counts
// the muted bytes, the Close totals stay exact, and the other end of the
// same TCP connection (not muted) is unaffected.
func TestMute(t *testing.T) {
	requireBPF(t)
	tr, rec := startTracer(t, Config{})
	py := startPy(t, "testdata/mute.py")
	cport := atoi(t, py.expect(t, "pair")[0])
	py.expect(t, "phase1")
	pid := py.cmd.Process.Pid

	var client, server sockevent.Open
	require.Eventually(t, func() bool {
		for _, o := range rec.opensOf(pid) {
			switch {
			case o.Role == sockevent.RoleClient && int(o.Local.Port()) == cport:
				client = o
			case o.Role == sockevent.RoleServer && int(o.Remote.Port()) == cport:
				server = o
			}
		}
		return client.ID.PID != 0 && server.ID.PID != 0 && len(rec.dataOf(client.ID)) == 4
	}, 10*time.Second, 10*time.Millisecond)

	tr.Mute(client.ID)
	py.next(t)
	py.expect(t, "done")
	py.next(t)
	py.expect(t, "closed")
	rec.waitClosed(t, client.ID, server.ID)

	chunk := make([]byte, 100)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	const total = 604 * 100
	var pos, withPayload uint64
	for i, d := range rec.dataOf(client.ID) {
		require.Equal(t, sockevent.Egress, d.Dir)
		require.EqualValues(t, 100, d.Size, "record %d", i)
		require.Equal(t, pos, d.Pos, "record %d: stream offsets stay contiguous", i)
		pos += uint64(d.Size)
		if len(d.Payload) > 0 {
			require.True(t, bytes.Equal(chunk, d.Payload), "record %d", i)
			withPayload++
		}
	}
	assert.EqualValues(t, total, pos, "every write reported")
	// Mute takes effect at the connection's next power-of-two record (the
	// 8th): 4 before Mute, at most 3 after it.
	assert.LessOrEqual(t, withPayload, uint64(7))
	cl, ok := rec.closeOf(client.ID)
	require.True(t, ok)
	assert.EqualValues(t, total, cl.BytesSent)

	// The server end was not muted: every byte it read has its payload.
	var got uint64
	for _, d := range rec.dataOf(server.ID) {
		if d.Dir == sockevent.Ingress {
			got += uint64(len(d.Payload))
		}
	}
	assert.EqualValues(t, total, got)

	st := tr.Stats()
	assert.EqualValues(t, 1, st.Muted)
	assert.GreaterOrEqual(t, st.MutedBytes, uint64(total-700))
}

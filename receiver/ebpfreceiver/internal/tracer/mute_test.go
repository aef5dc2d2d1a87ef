package tracer

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// TestMute: after Mute, a connection's syscalls (write and writev) copy no
// payload and emit no record each: their sizes add up and go out as
// size-only records (one per 64 KiB or second), with contiguous stream
// offsets; the Close totals stay exact, the kernel counts the muted bytes,
// and the other end of the same TCP connection (not muted) is unaffected.
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

	chunk := make([]byte, 1000)
	for i := range chunk {
		chunk[i] = byte(i % 100)
	}
	const total = 604 * 1000
	var pos, withPayload uint64
	recs := rec.dataOf(client.ID)
	for i, d := range recs {
		require.Equal(t, sockevent.Egress, d.Dir)
		require.Equal(t, pos, d.Pos, "record %d: stream offsets stay contiguous", i)
		pos += uint64(d.Size)
		if len(d.Payload) > 0 {
			require.EqualValues(t, 1000, d.Size, "record %d", i)
			require.True(t, bytes.Equal(chunk, d.Payload), "record %d", i)
			withPayload++
		}
	}
	// Mute takes effect at the connection's next power-of-two syscall (the
	// 8th): 4 records before Mute, at most 3 after it, then a size-only
	// record at the first muted syscall and one per 64 KiB (~590 KB: 9);
	// what is left (< 64 KiB) is only in the Close totals.
	assert.LessOrEqual(t, withPayload, uint64(7))
	sizeOnly := len(recs) - int(withPayload)
	assert.GreaterOrEqual(t, sizeOnly, 9, "muted bytes still reported")
	assert.LessOrEqual(t, sizeOnly, 12, "muted syscalls are batched")
	assert.Greater(t, pos, uint64(total-64<<10))
	assert.LessOrEqual(t, pos, uint64(total))
	cl, ok := rec.closeOf(client.ID)
	require.True(t, ok)
	assert.EqualValues(t, total, cl.BytesSent, "every byte counted")

	// The server end was not muted: every byte it read has its payload.
	var got uint64
	for _, d := range rec.dataOf(server.ID) {
		if d.Dir == sockevent.Ingress {
			got += uint64(len(d.Payload))
		}
	}
	assert.EqualValues(t, total, got)

	st := tr.Stats()
	assert.NotZero(t, st.Kicks, "the Opens woke the reader through the kick ring")
	assert.EqualValues(t, 1, st.Muted)
	assert.GreaterOrEqual(t, st.MutedBytes, uint64(total-7000))
}

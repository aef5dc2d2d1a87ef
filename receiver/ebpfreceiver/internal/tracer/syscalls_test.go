package tracer

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

const chunkCap = 4096

// TestSyscalls drives testdata/sockets.py (one separate process) through a
// connection that predates the tracer, readv/writev, recvmsg/sendmsg,
// sendfile, a write above MaxChunkBytes, more iovecs than BPF copies, fd
// reuse and UDP recvmmsg/sendmmsg.
func TestSyscalls(t *testing.T) {
	requireBPF(t)
	py := startPy(t, "testdata/sockets.py")
	ready := py.expect(t, "ready")
	ecPort, esPort := atoi(t, ready[0]), atoi(t, ready[1])

	tr, rec := startTracer(t, Config{MaxChunkBytes: chunkCap})
	py.next(t)
	pr := py.expect(t, "pair")
	cFD, sFD, cPort := atoi(t, pr[0]), atoi(t, pr[1]), atoi(t, pr[2])
	reuse := py.expect(t, "reuse")
	udp := py.expect(t, "udp")
	py.expect(t, "done")
	py.next(t)
	py.expect(t, "closed")
	pid := py.cmd.Process.Pid
	lo := netip.MustParseAddr("127.0.0.1")

	// Wait until every connection of the script was closed and reported.
	require.Eventually(t, func() bool {
		opens := rec.opensOf(pid)
		if len(opens) < 8 {
			return false
		}
		for _, o := range opens {
			if _, ok := rec.closeOf(o.ID); !ok {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "opens: %+v", rec.opensOf(pid))

	find := func(t *testing.T, pred func(o sockevent.Open) bool) sockevent.Open {
		t.Helper()
		var found []sockevent.Open
		for _, o := range rec.opensOf(pid) {
			if pred(o) {
				found = append(found, o)
			}
		}
		require.Len(t, found, 1, "opens: %+v", rec.opensOf(pid))
		return found[0]
	}

	t.Run("existing connection", func(t *testing.T) {
		ec := find(t, func(o sockevent.Open) bool { return o.Local.Port() == uint16(ecPort) })
		es := find(t, func(o sockevent.Open) bool { return o.Remote.Port() == uint16(ecPort) })
		assert.Equal(t, uint16(esPort), es.Local.Port())
		for _, o := range []sockevent.Open{ec, es} {
			assert.True(t, o.Existing)
			assert.Equal(t, sockevent.RoleUnknown, o.Role)
			assert.False(t, o.IPv6)
		}
		assert.Equal(t, netip.AddrPortFrom(lo, uint16(esPort)), ec.Remote)
		assert.Equal(t, netip.AddrPortFrom(lo, uint16(ecPort)), es.Remote)
		assert.Equal(t, []byte("existing hello"), stream(t, rec.dataOf(ec.ID), sockevent.Egress))
		assert.Equal(t, []byte("existing hello"), stream(t, rec.dataOf(es.ID), sockevent.Ingress))
		// The Open comes first; Gen is the first sighting.
		assert.LessOrEqual(t, ec.ID.Gen, uint64(ec.TimeNs))
	})

	c := find(t, func(o sockevent.Open) bool { return o.Local.Port() == uint16(cPort) })
	s := find(t, func(o sockevent.Open) bool { return o.Remote.Port() == uint16(cPort) })
	assert.Equal(t, sockevent.RoleClient, c.Role)
	assert.Equal(t, sockevent.RoleServer, s.Role)
	assert.Equal(t, int32(cFD), c.ID.FD)
	assert.Equal(t, int32(sFD), s.ID.FD)
	cd, sd := rec.dataOf(c.ID), rec.dataOf(s.ID)

	big := make([]byte, 0, 10240)
	for range 40 {
		for i := range 256 {
			big = append(big, byte(i))
		}
	}
	manyIov := make([]byte, 0, 160)
	for i := range 16 {
		manyIov = append(manyIov, bytes.Repeat([]byte{byte(65 + i)}, 10)...)
	}
	// What the client sent, one Data per syscall, in order.
	wantEgress := []struct {
		size    int
		payload []byte
	}{
		{6, []byte("abcdef")},                // writev
		{20, []byte("hello vectored world")}, // sendmsg
		{1000, []byte{}},                     // sendfile: count only
		{10240, big[:chunkCap]},              // send, capped
		{200, manyIov},                       // writev, 20 iovecs
	}
	t.Run("client egress", func(t *testing.T) {
		var eg []dataRec
		for _, d := range cd {
			if d.Dir == sockevent.Egress {
				eg = append(eg, d)
			}
		}
		require.Len(t, eg, len(wantEgress))
		var pos uint64
		for i, w := range wantEgress {
			assert.Equal(t, pos, eg[i].Pos, "event %d", i)
			assert.Equal(t, uint32(w.size), eg[i].Size, "event %d", i)
			assert.Equal(t, w.payload, eg[i].Payload, "event %d", i)
			pos += uint64(w.size)
		}
		assert.True(t, eg[3].Truncated())
		cl, ok := rec.closeOf(c.ID)
		require.True(t, ok)
		assert.Equal(t, pos, cl.BytesSent)
		assert.Zero(t, cl.BytesRecv)
	})

	t.Run("server ingress", func(t *testing.T) {
		var in []dataRec
		for _, d := range sd {
			if d.Dir == sockevent.Ingress {
				in = append(in, d)
			}
		}
		require.GreaterOrEqual(t, len(in), 5)
		assert.Equal(t, []byte("abcdef"), in[0].Payload, "readv into 2 buffers")
		assert.Equal(t, []byte("hello vectored world"), in[1].Payload, "recvmsg into 2 buffers")
		// The rest came through recv (recvfrom) in whatever pieces TCP
		// made: offsets are contiguous, payloads are prefixes of the
		// bytes at those offsets.
		var all []byte
		all = append(all, "abcdefhello vectored world"...)
		all = append(all, bytes.Repeat([]byte("file-bytes"), 100)...)
		all = append(all, big...)
		for i := range 20 {
			all = append(all, bytes.Repeat([]byte{byte(65 + i)}, 10)...)
		}
		var pos uint64
		for _, d := range in {
			require.Equal(t, pos, d.Pos)
			require.LessOrEqual(t, int(d.Pos)+int(d.Size), len(all))
			assert.Equal(t, all[d.Pos:int(d.Pos)+len(d.Payload)], d.Payload, "chunk at %d", d.Pos)
			assert.Equal(t, min(int(d.Size), chunkCap), len(d.Payload))
			pos += uint64(d.Size)
		}
		assert.Equal(t, uint64(6+20+1000+10240+200), pos)
		cl, _ := rec.closeOf(s.ID)
		assert.Equal(t, pos, cl.BytesRecv)
	})

	t.Run("fd reuse", func(t *testing.T) {
		oldFD, newFD, c2Port := atoi(t, reuse[0]), atoi(t, reuse[1]), atoi(t, reuse[2])
		require.Equal(t, oldFD, newFD, "python did not reuse the fd")
		c2 := find(t, func(o sockevent.Open) bool { return o.Local.Port() == uint16(c2Port) })
		assert.Equal(t, c.ID.PID, c2.ID.PID)
		assert.Equal(t, c.ID.FD, c2.ID.FD)
		assert.NotEqual(t, c.ID.Gen, c2.ID.Gen)
		assert.Equal(t, sockevent.RoleClient, c2.Role)
		cl, _ := rec.closeOf(c.ID)
		assert.LessOrEqual(t, cl.TimeNs, c2.TimeNs, "old connection closed before the new one opened")
		assert.Equal(t, []byte("x"), stream(t, rec.dataOf(c2.ID), sockevent.Egress))
	})

	t.Run("udp mmsg", func(t *testing.T) {
		u1FD, u1Port, u2FD, u2Port := atoi(t, udp[0]), atoi(t, udp[1]), atoi(t, udp[2]), atoi(t, udp[3])
		u1 := find(t, func(o sockevent.Open) bool {
			return o.Local.Port() == uint16(u1Port) && o.Remote.Port() == uint16(u2Port)
		})
		u2 := find(t, func(o sockevent.Open) bool {
			return o.Local.Port() == uint16(u2Port) && o.Remote.Port() == uint16(u1Port)
		})
		assert.Equal(t, int32(u1FD), u1.ID.FD)
		assert.Equal(t, int32(u2FD), u2.ID.FD)
		assert.Equal(t, sockevent.RoleClient, u1.Role, "connect() on UDP")
		want := []string{"one-1", "two-22", "three-333"}
		for _, x := range []struct {
			o   sockevent.Open
			dir sockevent.Direction
		}{{u1, sockevent.Egress}, {u2, sockevent.Ingress}} {
			var got []string
			var pos uint64
			for _, d := range rec.dataOf(x.o.ID) {
				if d.Dir == x.dir {
					got = append(got, string(d.Payload))
					assert.Equal(t, pos, d.Pos)
					assert.Equal(t, uint32(len(d.Payload)), d.Size)
					pos += uint64(d.Size)
				}
			}
			assert.Equal(t, want, got, "%s", x.dir)
		}
	})

	st := tr.Stats()
	t.Logf("stats: %+v", st)
	assert.GreaterOrEqual(t, st.CappedChunks, uint64(2), "client send + server recv of the big write")
	assert.GreaterOrEqual(t, st.IovecTruncated, uint64(1))
	assert.GreaterOrEqual(t, st.OpenEvents, uint64(8))
	assert.Zero(t, st.Drops())
	assert.Zero(t, st.Malformed)
}

package tracer

import (
	"encoding/binary"
	"github.com/cilium/ebpf"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

func TestConfigValidate(t *testing.T) {
	ok := []Config{
		{},
		{MaxChunkBytes: 1, RingBufferBytes: MinRingBufferBytes},
		{MaxChunkBytes: MaxChunkBytesLimit, RingBufferBytes: MaxRingBufferBytes},
		{IncludePIDs: []uint32{1, 2}, ExcludePIDs: []uint32{3}, TracefsPath: "/mnt/tracing"},
	}
	for _, c := range ok {
		assert.NoError(t, c.Validate(), "%+v", c)
	}
	bad := map[string]Config{
		"above the BPF limit": {MaxChunkBytes: MaxChunkBytesLimit + 1},
		"power of two":        {RingBufferBytes: 3 << 20},
		"between":             {RingBufferBytes: 4096},
		"pid 0":               {ExcludePIDs: []uint32{0}},
		"absolute":            {TracefsPath: "sys/kernel/tracing"},
		"at most":             {IncludePIDs: make([]uint32, MaxPIDFilter+1)},
	}
	for want, c := range bad {
		err := c.Validate()
		if assert.Error(t, err, want) {
			assert.Contains(t, err.Error(), want)
		}
	}
	_, err := New(Config{RingBufferBytes: 1000}, &recorder{}, nil)
	assert.Error(t, err)
	_, err = New(Config{}, nil, nil)
	assert.Error(t, err)

	d := (&Config{}).withDefaults()
	assert.Equal(t, uint32(DefaultMaxChunkBytes), d.MaxChunkBytes)
	assert.Equal(t, DefaultRingBufferBytes, d.RingBufferBytes)
	assert.Equal(t, DefaultTracefsPath, d.TracefsPath)
}

// TestRecordLayout checks the decoder's offsets against the types bpf2go
// generated from the C structs.
func TestRecordLayout(t *testing.T) {
	var h socketTraceEvHdr
	assert.Equal(t, uintptr(hdrSize), unsafe.Sizeof(h))
	assert.Equal(t, uintptr(offType), unsafe.Offsetof(h.Type))
	assert.Equal(t, uintptr(offB1), unsafe.Offsetof(h.B1))
	assert.Equal(t, uintptr(offB2), unsafe.Offsetof(h.B2))
	assert.Equal(t, uintptr(offTgid), unsafe.Offsetof(h.Tgid))
	assert.Equal(t, uintptr(offFd), unsafe.Offsetof(h.Fd))
	assert.Equal(t, uintptr(offSize), unsafe.Offsetof(h.Size))
	assert.Equal(t, uintptr(offGen), unsafe.Offsetof(h.Gen))
	assert.Equal(t, uintptr(offTs), unsafe.Offsetof(h.Ts))
	var d socketTraceEvDataHdr
	assert.Equal(t, uintptr(dataHdrSize), unsafe.Sizeof(d))
	assert.Equal(t, uintptr(offPos), unsafe.Offsetof(d.Pos))
	assert.Equal(t, uintptr(offLen), unsafe.Offsetof(d.Len))
	var s socketTraceScratch
	assert.GreaterOrEqual(t, len(s.Payload), 2*MaxChunkBytesLimit)
	assert.Equal(t, int(socketTraceCounterCNT_MAX), len(socketTraceCounters{}.C))
}

func hdr(typ, b1, b2 uint8, pid uint32, fd int32, size uint32, gen, ts uint64, n int) []byte {
	b := make([]byte, n)
	b[offType], b[offB1], b[offB2] = typ, b1, b2
	binary.LittleEndian.PutUint32(b[offTgid:], pid)
	binary.LittleEndian.PutUint32(b[offFd:], uint32(fd))
	binary.LittleEndian.PutUint32(b[offSize:], size)
	binary.LittleEndian.PutUint64(b[offGen:], gen)
	binary.LittleEndian.PutUint64(b[offTs:], ts)
	return b
}

func TestDispatch(t *testing.T) {
	rec := &recorder{}
	tr := &Tracer{h: rec, clockOffset: 1000}

	o := hdr(evOpen, uint8(sockevent.RoleServer), 0, 42, 7, 2, 555, 10, openSize)
	copy(o[offLaddr:], []byte{127, 0, 0, 1})
	copy(o[offRaddr:], []byte{10, 1, 2, 3})
	binary.LittleEndian.PutUint16(o[offLport:], 8080)
	binary.LittleEndian.PutUint16(o[offRport:], 50000)
	copy(o[offComm:], "nginx")
	tr.dispatch(o)

	o6 := hdr(evOpen, uint8(sockevent.RoleUnknown), 1, 42, 8, afInet6, 556, 11, openSize)
	o6[offLaddr+15] = 1 // ::1, remote unknown (all zero, port 0)
	binary.LittleEndian.PutUint16(o6[offLport:], 443)
	tr.dispatch(o6)

	payload := []byte("GET / HTTP/1.1\r\n")
	d := hdr(evData, uint8(sockevent.Ingress), 0, 42, 7, 100, 555, 20, dataHdrSize)
	binary.LittleEndian.PutUint64(d[offPos:], 64)
	binary.LittleEndian.PutUint32(d[offLen:], uint32(len(payload)))
	d = append(d, payload...)
	tr.dispatch(d)

	c := hdr(evClose, 0, 0, 42, 7, 0, 555, 30, closeSize)
	binary.LittleEndian.PutUint64(c[offSent:], 5)
	binary.LittleEndian.PutUint64(c[offRecv:], 164)
	tr.dispatch(c)

	// Malformed: short, unknown type, payload length beyond the record.
	tr.dispatch([]byte{1, 2, 3})
	tr.dispatch(hdr(9, 0, 0, 1, 1, 0, 0, 0, 64))
	bad := hdr(evData, 0, 0, 1, 1, 10, 0, 0, dataHdrSize)
	binary.LittleEndian.PutUint32(bad[offLen:], 10)
	tr.dispatch(bad)

	id := sockevent.ConnID{PID: 42, FD: 7, Gen: 555}
	require.Len(t, rec.opens, 2)
	assert.Equal(t, sockevent.Open{
		ID: id, TimeNs: 1010, Role: sockevent.RoleServer,
		Local:  netip.MustParseAddrPort("127.0.0.1:8080"),
		Remote: netip.MustParseAddrPort("10.1.2.3:50000"), Comm: "nginx",
	}, rec.opens[0])
	assert.Equal(t, sockevent.Open{
		ID: sockevent.ConnID{PID: 42, FD: 8, Gen: 556}, TimeNs: 1011,
		Local: netip.MustParseAddrPort("[::1]:443"), IPv6: true, Existing: true,
	}, rec.opens[1])
	require.Len(t, rec.datas, 1)
	assert.Equal(t, sockevent.Data{
		ID: id, Dir: sockevent.Ingress, TimeNs: 1020, Pos: 64, Size: 100, Payload: payload,
	}, rec.datas[0].Data)
	assert.True(t, rec.datas[0].Truncated())
	require.Len(t, rec.closes, 1)
	assert.Equal(t, sockevent.Close{ID: id, TimeNs: 1030, BytesSent: 5, BytesRecv: 164}, rec.closes[0])

	tr.publish() // as each drain does
	st := tr.Stats()
	assert.Equal(t, uint64(4), st.Events)
	assert.Equal(t, uint64(7), st.Records)
	assert.Equal(t, uint64(3), st.Malformed)
	assert.Equal(t, uint64(100), st.DataBytes)
	assert.Equal(t, uint64(len(payload)), st.PayloadBytes)
}

func TestDispatchDoesNotAllocateForData(t *testing.T) {
	tr := &Tracer{h: nopHandler{}}
	d := hdr(evData, 0, 0, 1, 3, 4, 9, 9, dataHdrSize)
	binary.LittleEndian.PutUint32(d[offLen:], 4)
	d = append(d, "abcd"...)
	allocs := testing.AllocsPerRun(1000, func() { tr.dispatch(d) })
	assert.Zero(t, allocs)
}

type nopHandler struct{}

func (nopHandler) OnOpen(*sockevent.Open)   {}
func (nopHandler) OnData(*sockevent.Data)   {}
func (nopHandler) OnClose(*sockevent.Close) {}

func TestMonoToUnixOffset(t *testing.T) {
	off := monoToUnixOffset()
	var m unixTimespec
	mono := monotonicNow(&m)
	got := time.Unix(0, mono+off)
	assert.WithinDuration(t, time.Now(), got, 50*time.Millisecond)
}

func BenchmarkDispatchData(b *testing.B) {
	tr := &Tracer{h: nopHandler{}}
	d := hdr(evData, 0, 0, 1, 3, 512, 9, 9, dataHdrSize)
	binary.LittleEndian.PutUint32(d[offLen:], 512)
	d = append(d, make([]byte, 512)...)
	b.ReportAllocs()
	for b.Loop() {
		tr.dispatch(d)
	}
}

type unixTimespec = unix.Timespec

func monotonicNow(ts *unix.Timespec) int64 {
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, ts)
	return ts.Nano()
}

// TestNextPoll: the reader backs off while the ring stays empty, polls at
// the normal rate while few records come, and sooner when records come fast
// enough to fill an eighth of the ring before the next poll.
func TestNextPoll(t *testing.T) {
	const size = 8 << 20
	d := fastPollInterval
	var got []time.Duration
	for range 9 {
		d = nextPoll(d, 0, 0, size, time.Second)
		got = append(got, d)
	}
	assert.Equal(t, []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond, 16 * time.Millisecond,
		32 * time.Millisecond, 64 * time.Millisecond, 128 * time.Millisecond, maxPollInterval, maxPollInterval}, got, "idle: back off")
	assert.Equal(t, pollInterval, nextPoll(maxPollInterval, 100, 1, size, 200*time.Millisecond), "100 B/200 ms")
	// 2 MiB in 20 ms (100 MiB/s): 1 MiB takes 10 ms (1000 records 20 ms).
	assert.Equal(t, 10*time.Millisecond, nextPoll(pollInterval, 2<<20, 1000, size, 20*time.Millisecond))
	// 4k records/s (1k HTTP requests/s): 1000 take 250 ms, more than pollInterval.
	assert.Equal(t, pollInterval, nextPoll(pollInterval, 400<<10, 800, size, 200*time.Millisecond))
	// 20k records/s (5k requests/s), 1 MiB/s: 1000 take 50 ms.
	assert.Equal(t, 50*time.Millisecond, nextPoll(pollInterval, 200<<10, 4000, size, 200*time.Millisecond))
	// 200k records/s, 10 MiB/s: 1000 take 5 ms, but not less than
	// busyPollInterval; an eighth of the ring 100 ms.
	assert.Equal(t, busyPollInterval, nextPoll(pollInterval, 2<<20, 40000, size, 200*time.Millisecond))
	assert.Equal(t, fastPollInterval, nextPoll(pollInterval, size, 1, size, time.Millisecond), "never below the floor")
	assert.Equal(t, fastPollInterval, nextPoll(pollInterval, 10, 1, size, 0))
}

// A connection ended at its process's exec is reported closed once, even
// when the kernel side's own Close for it (a socket kept across the exec,
// used before the reader saw the exec record) comes after.
func TestExecCloseOnce(t *testing.T) {
	rec := &recorder{}
	tr := &Tracer{h: rec}
	tr.dispatch(hdr(evOpen, uint8(sockevent.RoleClient), 0, 42, 7, 2, 555, 10, openSize))
	tr.dispatch(hdr(evExec, 0, 0, 42, 0, 0, 0, 20, hdrSize))
	id := sockevent.ConnID{PID: 42, FD: 7, Gen: 555}
	_, ok := rec.closeOf(id)
	require.True(t, ok, "closed at the exec")
	tr.dispatch(hdr(evClose, 0, 0, 42, 7, 0, 555, 30, closeSize))
	assert.EqualValues(t, 1, tr.Stats().CloseEvents)
	n := 0
	for _, c := range rec.closes {
		if c.ID == id {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

// After Close or exit records were dropped, a sweep closes the live
// connections the kernel side no longer has (entry gone, or a newer
// connection on the fd) and those of processes that no longer exist.
func TestSweep(t *testing.T) {
	requireBPF(t)
	conns, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8,
		ValueSize: uint32(binary.Size(socketTraceConn{})), MaxEntries: 16})
	require.NoError(t, err)
	defer conns.Close()
	me := uint32(os.Getpid())
	put := func(pid uint32, fd int32, gen uint64) {
		key := uint64(pid)<<32 | uint64(uint32(fd))
		require.NoError(t, conns.Put(&key, &socketTraceConn{Gen: gen, Sent: 10}))
	}
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	dead := uint32(cmd.Process.Pid)

	rec := &recorder{}
	tr := &Tracer{h: rec, connsMap: conns}
	for _, id := range []sockevent.ConnID{{PID: me, FD: 7, Gen: 1}, {PID: me, FD: 8, Gen: 2}, {PID: me, FD: 9, Gen: 3}, {PID: dead, FD: 5, Gen: 6}} {
		tr.track(id)
	}
	put(me, 7, 1) // still open
	put(me, 9, 4) // fd 9 is a newer connection now
	tr.sweep(100)

	closed := map[sockevent.ConnID]bool{}
	for _, c := range rec.closes {
		closed[c.ID] = true
	}
	assert.Equal(t, map[sockevent.ConnID]bool{{PID: me, FD: 8, Gen: 2}: true, {PID: me, FD: 9, Gen: 3}: true, {PID: dead, FD: 5, Gen: 6}: true}, closed)
	assert.Equal(t, map[uint32]map[int32]uint64{me: {7: 1}}, tr.live)
	st := tr.Stats()
	assert.EqualValues(t, 2, st.Swept)
	assert.EqualValues(t, 1, st.ExitClosed)
	// The dropped Close records' late twins (none here) would be skipped;
	// a Close of the live connection still goes through.
	tr.dispatch(hdr(evClose, 0, 0, me, 7, 0, 1, 30, closeSize))
	assert.Empty(t, tr.live)
}

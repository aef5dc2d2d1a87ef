package tracer

import (
	"errors"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKnownProcessKicks: a process's first Open wakes the reader through
// the kick ring; once the handler has seen it, the process is in the
// kernel's known_procs and its next Opens (20 connections, 30 ms apart,
// each past the kick rate limit) do not kick; its exit takes it out again.
func TestKnownProcessKicks(t *testing.T) {
	requireBPF(t)
	py := startPy(t, "testdata/conns.py")
	py.expect(t, "ready")
	pid := uint32(py.cmd.Process.Pid)
	tr, rec := startTracer(t, Config{IncludePIDs: []uint32{pid}})

	py.next(t)
	py.expect(t, "done")
	require.Eventually(t, func() bool { return len(rec.opensOf(int(pid))) >= 40 }, 10*time.Second, 10*time.Millisecond,
		"both ends of the 20 connections")

	kicks := tr.Stats().Kicks
	assert.GreaterOrEqual(t, kicks, uint64(1), "the first Open kicks")
	// Without known_procs every connection kicked (20); a second kick can
	// come from an Open written before user space marked the process.
	assert.LessOrEqual(t, kicks, uint64(3), "later Opens of a known process do not kick")

	var one uint8
	require.NoError(t, tr.knownProcs.Lookup(&pid, &one), "the process is in known_procs")

	py.next(t)
	require.NoError(t, py.cmd.Wait())
	require.Eventually(t, func() bool {
		return errors.Is(tr.knownProcs.Lookup(&pid, &one), ebpf.ErrKeyNotExist)
	}, 10*time.Second, 10*time.Millisecond, "its exit took it out of known_procs")
}

// TestFillKicks: a burst from a known process after a quiet spell (the
// reader then sleeps up to 200 ms, and a known process's Opens do not
// kick) wakes the reader once a quarter of the ring is full: the kernel
// looks at the ring's fill every FILL_EVERY Data records.
func TestFillKicks(t *testing.T) {
	requireBPF(t)
	py := startPy(t, "testdata/burst.py")
	py.expect(t, "ready")
	pid := uint32(py.cmd.Process.Pid)
	const ring = 4 << 20
	tr, rec := startTracer(t, Config{IncludePIDs: []uint32{pid}, RingBufferBytes: ring})

	py.next(t)
	py.expect(t, "paired")
	require.Eventually(t, func() bool { return len(rec.opensOf(int(pid))) >= 2 }, 10*time.Second, 10*time.Millisecond)
	// Quiet: the reader backs off to its longest sleep.
	time.Sleep(600 * time.Millisecond)
	before := tr.Stats().Kicks

	py.next(t)
	py.expect(t, "done")
	// 16 MiB of records through a 4 MiB ring.
	require.Eventually(t, func() bool {
		st := tr.Stats()
		return st.KernelRecords()+st.Drops() >= 2*4096
	}, 10*time.Second, 10*time.Millisecond, "the burst's records")
	st := tr.Stats()
	t.Logf("kicks during the burst: %d; records %d, dropped %d", st.Kicks-before, st.KernelRecords(), st.Drops())
	assert.Greater(t, st.Kicks, before, "a ring a quarter full wakes the reader")
}

// The kernel side forgets a process before it writes its exit or exec
// record, so with that record dropped on a full ring user space still took
// the pid as known and never marked it again: every later Open of the pid
// kicked the reader. The Open now says when the kernel does not know the
// process (b3), and the mark is written again.
func TestKnownResyncAfterDroppedExit(t *testing.T) {
	requireBPF(t)
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.LRUHash, KeySize: 4, ValueSize: 1, MaxEntries: maxKnown})
	require.NoError(t, err)
	defer m.Close()
	tr := &Tracer{h: &recorder{}, knownProcs: m, known: map[uint32]struct{}{}}
	open := func(fd int32, gen uint64, unknown bool) {
		o := hdr(evOpen, 0, 0, 42, fd, 2, gen, 10, openSize)
		if unknown {
			o[offB3] = 1
		}
		tr.dispatch(o)
	}
	var v uint8
	open(7, 1, true)
	require.NoError(t, m.Lookup(uint32(42), &v), "marked")
	// sched_process_exit: the pid leaves known_procs, its record is dropped.
	require.NoError(t, m.Delete(uint32(42)))
	open(3, 2, true) // a later Open of pid 42, unknown to the kernel
	require.NoError(t, m.Lookup(uint32(42), &v), "marked again")
}

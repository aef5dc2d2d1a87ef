package tracer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"
)

// linksTo returns the IDs of the kernel links whose program is in progs.
func linksTo(t *testing.T, progs []ebpf.ProgramID) []link.ID {
	t.Helper()
	var out []link.ID
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil {
			continue
		}
		if slices.Contains(progs, info.Program) {
			out = append(out, it.ID)
		}
	}
	require.NoError(t, it.Err())
	return out
}

// numPrograms is the number of tracer programs attached (one tracepoint
// each): the exit of 14 syscalls (their arguments are read from pt_regs at
// exit, no enter program), sys_enter_close, sched_process_exit and
// sched_process_exec. The object also holds 8 TLS uprobe programs
// (attached by tlsprobe).
func numPrograms(t *testing.T) int {
	spec, err := loadSocketTrace()
	require.NoError(t, err)
	require.Len(t, spec.Programs, 25)
	n := 0
	for _, ps := range spec.Programs {
		if !skipProgram(ps) {
			n++
		}
	}
	require.Equal(t, 17, n)
	return n
}

func requireGone(t *testing.T, ids []ebpf.ProgramID) {
	t.Helper()
	for _, id := range ids {
		p, err := ebpf.NewProgramFromID(id)
		if err == nil {
			p.Close()
		}
		assert.ErrorIs(t, err, os.ErrNotExist, "program %d still loaded", id)
	}
	assert.Empty(t, linksTo(t, ids), "links still attached")
}

// TestLifecycle: Start, Close, Start a new Tracer, Close; nothing of ours
// remains in the kernel after each Close.
func TestLifecycle(t *testing.T) {
	requireBPF(t)
	for round := range 2 {
		tr, err := New(Config{}, &recorder{}, zaptest.NewLogger(t))
		require.NoError(t, err)
		assert.Empty(t, tr.ProgramIDs())
		require.NoError(t, tr.Start(), "round %d", round)

		ids := tr.ProgramIDs()
		progs := tr.Programs()
		require.Len(t, ids, numPrograms(t))
		require.Len(t, progs, numPrograms(t))
		for _, p := range progs {
			assert.True(t, p.Attached, "%s on %s: %v", p.Name, p.Tracepoint, p.Err)
			assert.NoError(t, p.Err)
		}
		assert.Len(t, linksTo(t, ids), numPrograms(t))
		assert.Error(t, tr.Start(), "second Start")

		require.NoError(t, tr.Close())
		require.NoError(t, tr.Close(), "Close is idempotent")
		requireGone(t, ids)
		assert.Error(t, tr.Start(), "Start after Close")
	}
}

func TestCloseWithoutStart(t *testing.T) {
	tr, err := New(Config{}, &recorder{}, nil)
	require.NoError(t, err)
	require.NoError(t, tr.Close())
	require.Error(t, tr.Start())
}

func TestFloor(t *testing.T) {
	requireBPF(t)
	f, err := StartFloor("")
	require.NoError(t, err)
	ids := f.ProgramIDs()
	require.Len(t, ids, 1)
	assert.Equal(t, numPrograms(t), f.Attached(), "same tracepoints as the tracer")
	assert.Len(t, linksTo(t, ids), numPrograms(t))

	c0 := f.Count()
	// Any read/write counts (the floor has no pid filter).
	for range 10 {
		require.NoError(t, os.WriteFile(filepath.Join(t.TempDir(), "x"), []byte("x"), 0o600))
	}
	py := startPy(t, "-c", `import socket; l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1); c = socket.create_connection(l.getsockname()); s, _ = l.accept(); c.sendall(b"x"); s.recv(1); print("ok")`)
	py.expect(t, "ok")
	assert.Greater(t, f.Count(), c0+20)

	require.NoError(t, f.Close())
	require.NoError(t, f.Close())
	requireGone(t, ids)
}

func TestMountTracefs(t *testing.T) {
	requireBPF(t)
	require.NoError(t, MountTracefs(""), "default path")
	require.NoError(t, MountTracefs(DefaultTracefsPath), "idempotent")

	dir := filepath.Join(t.TempDir(), "tracing")
	require.NoError(t, MountTracefs(dir))
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	require.True(t, isTracefs(dir))
	require.NoError(t, MountTracefs(dir), "idempotent")
	_, err := os.Stat(filepath.Join(dir, "events", "syscalls", "sys_enter_write"))
	require.NoError(t, err)
}

func TestStartErrorNamesTracefs(t *testing.T) {
	requireBPF(t)
	// A regular file cannot become a mount point: Start must say so.
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, nil, 0o600))
	tr, err := New(Config{TracefsPath: f}, &recorder{}, nil)
	require.NoError(t, err)
	err = tr.Start()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tracefs not mounted at "+f)
	t.Log(err)
	assert.Empty(t, tr.ProgramIDs())
	require.NoError(t, tr.Close())
}

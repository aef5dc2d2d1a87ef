package profiler

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/symbolize"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/symbolize/symtest"
)

// topUserFrames counts, for one pid, the samples per innermost user frame.
func topUserFrames(s *symbolize.Symbolizer, samples []Sample, pid uint32) (map[string]uint64, uint64) {
	out := map[string]uint64{}
	var total uint64
	proc := s.Process(pid)
	for _, x := range samples {
		if x.PID != pid {
			continue
		}
		total += x.Count
		name := "[no user stack]"
		if len(x.User) > 0 {
			name = proc.Symbolize(x.User[0]).String()
		}
		out[name] += x.Count
	}
	return out, total
}

func largest(m map[string]uint64) string {
	var best string
	var n uint64
	for k, v := range m {
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	return best
}

// TestHotFunction runs a Go and a C program burning CPU in a known function
// and one sleeping program: each hot function is the top user frame of its
// program with the largest share, the sleeper gets (almost) nothing.
func TestHotFunction(t *testing.T) {
	requireBPF(t)
	goBin := symtest.BuildGo(t, symtest.Stripped)
	cBin := symtest.BuildC(t, symtest.Plain)

	p, err := New(Config{})
	require.NoError(t, err)
	defer p.Close()

	goProc := symtest.Start(t, goBin, "burn")
	cProc := symtest.Start(t, cBin, "burn")
	sleeper := symtest.Start(t, goBin, "sleep")
	_, err = p.Drain() // start from an empty buffer

	require.NoError(t, err)
	var all []Sample
	// Two drains, so both buffers are used.
	for range 2 {
		time.Sleep(1500 * time.Millisecond)
		s, err := p.Drain()
		require.NoError(t, err)
		all = append(all, s...)
	}
	sym := symbolize.New(symbolize.Options{})
	for _, c := range []struct {
		pid  uint32
		want string
	}{{goProc.PID, symtest.GoHot}, {cProc.PID, symtest.CHot}} {
		frames, total := topUserFrames(sym, all, c.pid)
		t.Logf("pid %d: %d samples, top user frames %v", c.pid, total, frames)
		require.NotZero(t, total, "no samples for the busy program")
		assert.Equal(t, c.want, largest(frames))
		assert.Greater(t, frames[c.want]*2, total, "%s should have most of the samples", c.want)
	}
	_, sleeping := topUserFrames(sym, all, sleeper.PID)
	_, busy := topUserFrames(sym, all, cProc.PID)
	t.Logf("sleeping program: %d samples, busy C program: %d", sleeping, busy)
	assert.LessOrEqual(t, sleeping*20, busy, "a sleeping program must get almost no samples")

	st, err := p.Stats()
	require.NoError(t, err)
	t.Logf("stats: %+v", st)
	assert.Zero(t, st.CountsFull)
	assert.Equal(t, uint64(3), st.Drains)
}

// TestSelfNotSampled: the collector's own busy loop is never counted.
func TestSelfNotSampled(t *testing.T) {
	requireBPF(t)
	p, err := New(Config{FrequencyHz: 199})
	require.NoError(t, err)
	defer p.Close()
	deadline := time.Now().Add(500 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	s, err := p.Drain()
	require.NoError(t, err)
	for _, smp := range s {
		assert.NotEqual(t, uint32(os.Getpid()), smp.PID)
	}
	st, err := p.Stats()
	require.NoError(t, err)
	assert.NotZero(t, st.SelfTicks)
}

// TestCloseLeavesNothing: after Close, the program, its maps and its links
// are gone from the kernel (checked through the cilium/ebpf ID API).
func TestCloseLeavesNothing(t *testing.T) {
	requireBPF(t)
	p, err := New(Config{})
	require.NoError(t, err)
	require.NotZero(t, p.CPUs())
	progID := p.ProgramID()
	require.NotZero(t, progID)
	info, err := p.objs.ProfileSample.Info()
	require.NoError(t, err)
	mapIDs, ok := info.MapIDs()
	require.True(t, ok)
	require.NotEmpty(t, mapIDs)
	var linkIDs []link.ID
	for _, l := range p.links {
		li, err := l.Info()
		require.NoError(t, err)
		linkIDs = append(linkIDs, li.ID)
	}
	require.Len(t, linkIDs, p.CPUs())

	require.NoError(t, p.Close())
	require.NoError(t, p.Close()) // idempotent
	_, err = p.Drain()
	assert.Error(t, err)

	// The kernel frees objects after an RCU grace period: wait for it.
	gone := func() error {
		if prog, err := ebpf.NewProgramFromID(progID); err == nil {
			prog.Close()
			return errors.New("program still loaded")
		}
		for _, id := range mapIDs {
			if m, err := ebpf.NewMapFromID(id); err == nil {
				m.Close()
				return errors.New("map still there")
			}
		}
		for _, id := range linkIDs {
			if l, err := link.NewFromID(id); err == nil {
				l.Close()
				return errors.New("link still there")
			}
		}
		return nil
	}
	var last error
	for range 100 {
		if last = gone(); last == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.NoError(t, last)
}

func TestConfigAndCPUList(t *testing.T) {
	assert.NoError(t, Config{}.Validate())
	assert.Error(t, Config{FrequencyHz: -1}.Validate())
	assert.Error(t, Config{FrequencyHz: MaxFrequencyHz + 1}.Validate())
	assert.Error(t, Config{StackEntries: -1}.Validate())
	got, err := parseCPUList("0-2,5,7-8")
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2, 5, 7, 8}, got)
	for _, bad := range []string{"", "a", "3-1", "1-"} {
		_, err := parseCPUList(bad)
		assert.Error(t, err, bad)
	}
}

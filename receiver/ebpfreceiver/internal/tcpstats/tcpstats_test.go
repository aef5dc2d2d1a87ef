package tcpstats

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tracer"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("tcpstats loads eBPF programs and CI is set: run the tests as root")
		}
		t.Skip("needs root; skipping because CI is unset")
	}
}

// TestSYNRetransmitsAndStates: a listener whose accept queue is full drops
// SYNs, so the kernel retransmits them; the collector counts them for that
// connection's tuple, and counts transitions to established and close.
func TestSYNRetransmitsAndStates(t *testing.T) {
	requireRoot(t)
	require.NoError(t, tracer.MountTracefs(""))
	c, err := Start()
	require.NoError(t, err)
	ids := c.ProgramIDs()
	require.Len(t, ids, 2)
	before, err := c.Read()
	require.NoError(t, err)

	// A listener with backlog 0 that never accepts.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	port := sa.(*syscall.SockaddrInet4).Port
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))

	var conns []net.Conn
	for i := 0; i < 4; i++ {
		d := net.Dialer{Timeout: 2500 * time.Millisecond}
		if cn, err := d.Dial("tcp", addr.String()); err == nil {
			conns = append(conns, cn)
		}
	}
	// The dials past the queue's room retransmitted their SYN (after 1 s)
	// before timing out.
	var st Stats
	found := false
	deadline := time.Now().Add(10 * time.Second)
	for !found && time.Now().Before(deadline) {
		st, err = c.Read()
		require.NoError(t, err)
		for _, cn := range st.Conns {
			if cn.Remote == addr && cn.Retransmits > 0 {
				found = true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.True(t, found, "no retransmits counted for connections to %s: %+v", addr, st.Conns)
	for _, cn := range conns {
		cn.Close()
	}
	require.Greater(t, st.Transitions[1], before.Transitions[1], "transitions to established")
	require.Greater(t, st.Transitions[2]+st.Transitions[7], before.Transitions[2]+before.Transitions[7],
		"transitions to syn_sent/close")

	require.NoError(t, c.Close())
	for _, id := range ids {
		if p, err := ebpf.NewProgramFromID(id); err == nil {
			p.Close()
			t.Errorf("program %d still loaded after Close", id)
		}
	}
}

// A Read whose state counters cannot be read reports the error and the
// previous counts, never zeros: ebpf.tcp.state_transitions is cumulative.
func TestReadKeepsTransitionsOnError(t *testing.T) {
	requireRoot(t)
	require.NoError(t, tracer.MountTracefs(""))
	c, err := Start()
	require.NoError(t, err)
	defer c.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	cn.Close()
	good, err := c.Read()
	require.NoError(t, err)
	require.Positive(t, good.Transitions[1], "transitions to established")

	require.NoError(t, c.objs.StateCounts.Close()) // every lookup now fails
	bad, err := c.Read()
	require.Error(t, err)
	assert.Equal(t, good.Transitions, bad.Transitions)
}

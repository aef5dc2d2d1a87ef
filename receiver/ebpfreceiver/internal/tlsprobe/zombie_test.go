package tlsprobe

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// pyWithSSL starts python3 with libssl loaded; it exits when its stdin is
// closed. The caller decides whether to reap it.
func pyWithSSL(t *testing.T) (*exec.Cmd, func()) {
	t.Helper()
	py := requireTool(t, "python3")
	cmd := exec.Command(py, "-c", "import ssl, sys; print('ready', flush=True); sys.stdin.readline()")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	return cmd, func() { _ = stdin.Close() }
}

func libssl(t *testing.T, m *Manager, pid int) mapping {
	t.Helper()
	maps, err := m.mappedFiles(uint32(pid))
	require.NoError(t, err)
	for _, mp := range maps {
		if strings.Contains(mp.path, "libssl") {
			return mp
		}
	}
	t.Fatalf("python3 (pid %d) maps no libssl", pid)
	return mapping{}
}

// TestProbeZombie: a process that exited but is not reaped yet (a zombie:
// its /proc entry is there, its mappings are gone) is no reason to give up
// on a file. Probing libssl through it records nothing, so probing it
// through a live process that maps it attaches. Before, the failure was
// kept and a live TLS server stayed unprobed (TestTLSNginxCurlSpans failed
// when curl was looked at first).
func TestProbeZombie(t *testing.T) {
	s := startStack(t) // for the programs; its own manager is not used
	m, err := New(Config{}, programsOf(t, s.tr), zaptest.NewLogger(t))
	require.NoError(t, err)
	defer func() { require.NoError(t, m.Close()) }()

	zombie, exit := pyWithSSL(t)
	mp := libssl(t, m, zombie.Process.Pid)
	exit()
	stat := "/proc/" + strconv.Itoa(zombie.Process.Pid) + "/stat"
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(stat)
		return err == nil && strings.Contains(string(b), ") Z ")
	}, 10*time.Second, 10*time.Millisecond, "python3 became a zombie")
	defer func() { _ = zombie.Wait() }()

	assert.Nil(t, m.probe(uint32(zombie.Process.Pid), mp))
	m.mu.Lock()
	_, negative := m.negative[mp.key]
	bin := m.bins[mp.key]
	m.mu.Unlock()
	assert.False(t, negative, "not remembered as nothing to probe")
	assert.Nil(t, bin, "no failed binary kept")

	live, exit2 := pyWithSSL(t)
	defer func() { exit2(); _ = live.Wait() }()
	b := m.probe(uint32(live.Process.Pid), libssl(t, m, live.Process.Pid))
	require.NotNil(t, b)
	assert.NoError(t, b.err)
	assert.NotEmpty(t, b.links)
}

package distribution

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProfilesFlamegraph: the default config's profiles pipeline (with
// `make run`'s feature gate) profiles a Go program burning CPU in a known
// function; `pxl run px/perf_flamegraph` on the built binary's store shows
// that function on its hottest stack.
func TestProfilesFlamegraph(t *testing.T) {
	requireRoot(t)
	burn := filepath.Join(t.TempDir(), "goburn")
	src := filepath.Join(repoRoot(t), "receiver", "ebpfreceiver", "internal", "symbolize", "testdata", "goburn")
	if out, err := exec.Command("go", "build", "-o", burn, src).CombinedOutput(); err != nil {
		t.Fatalf("building goburn: %v\n%s", err, out)
	}
	p, ports := portsOverlay(t)
	overlay := writeFile(t, "overlay.yaml", `
receivers:
  ebpf:
    profiling:
      report_interval: 2s
`)
	c := startCollector(t, "--config", defaultConfig(t), "--config", ports, "--config", overlay)
	waitHealthy(t, c, p.health)

	cmd := exec.Command(burn, "burn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	_, _ = bufio.NewReader(stdout).ReadString('\n')
	pid := cmd.Process.Pid

	pxl := filepath.Join(filepath.Dir(collectorBinary(t)), "pxl")
	var out string
	deadline := time.Now().Add(60 * time.Second)
	for {
		o, err := exec.Command(pxl, "run", "--endpoint", fmt.Sprintf("http://127.0.0.1:%d", p.store), "-o", "csv",
			"px/perf_flamegraph", "--", "--pid="+strconv.Itoa(pid)).CombinedOutput()
		if err != nil {
			t.Fatalf("pxl run px/perf_flamegraph: %v\n%s", err, o)
		}
		out = string(o)
		if strings.Contains(out, "burnGoHot") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("px/perf_flamegraph never showed main.burnGoHot for pid %d:\n%s\n%s", pid, out, c.out.String())
		}
		time.Sleep(time.Second)
	}
}

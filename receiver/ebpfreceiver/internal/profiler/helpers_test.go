package profiler

import (
	"os"
	"testing"
)

// requireBPF skips (or fails, under CI) when the test cannot load eBPF.
func requireBPF(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("eBPF tests need root and CI is set: run them as root")
		}
		t.Skip("eBPF tests need root (CAP_BPF, CAP_PERFMON); skipping because CI is unset")
	}
}

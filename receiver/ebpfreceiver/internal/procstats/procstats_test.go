package procstats

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestParseFixture(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "42")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// comm with a space and a parenthesis, as proc(5) allows.
	stat := "42 (my (app) x) S 1 42 42 0 -1 4194560 1500 0 7 0 250 130 0 0 20 0 5 0 12345 104857600 2560 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	io := "rchar: 1000\nwchar: 2000\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n"
	_ = os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "io"), []byte(io), 0o644)
	r := NewReader(root)
	s, err := r.Read(42)
	if err != nil {
		t.Fatal(err)
	}
	page := uint64(os.Getpagesize())
	want := Sample{PID: 42, UTimeNs: 2500 * 1e6, STimeNs: 1300 * 1e6, MajorFaults: 7, MinorFaults: 1500, Threads: 5,
		VSizeBytes: 104857600, RSSBytes: 2560 * page, RChar: 1000, WChar: 2000, ReadBytes: 4096, WriteBytes: 8192, HasIO: true}
	if s != want {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	pids, err := r.PIDs()
	if err != nil || len(pids) != 1 || pids[0] != 42 {
		t.Fatalf("PIDs = %v, %v", pids, err)
	}
}

func TestKernelThreadAndGone(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "2")
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, "stat"), []byte("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"), 0o644)
	r := NewReader(root)
	if _, err := r.Read(2); !IsKernelThread(err) {
		t.Fatalf("kernel thread: err = %v", err)
	}
	if _, err := r.Read(3); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("gone process: err = %v", err)
	}
	_ = os.WriteFile(filepath.Join(dir, "stat"), []byte("garbage"), 0o644)
	if _, err := r.Read(2); err == nil || IsKernelThread(err) {
		t.Fatalf("garbage stat: err = %v", err)
	}
}

// TestRealChild compares a sample of a real child with what its /proc files
// say, read independently, and checks that a busy child accumulates CPU time.
func TestRealChild(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := uint32(cmd.Process.Pid)
	r := NewReader("")
	var s Sample
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		s, err = r.Read(pid)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "wchan")); string(b) != "" && s.UTimeNs+s.STimeNs > 0 && stateSleeping(pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child never went to sleep after its loop: %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.Threads != 1 || s.RSSBytes == 0 || s.VSizeBytes < s.RSSBytes {
		t.Fatalf("implausible sample %+v", s)
	}
	// Within a tolerance of ps's own view: RSS in KiB from /proc/<pid>/status.
	st, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "status"))
	var rssKB uint64
	for _, line := range splitLines(string(st)) {
		if len(line) > 6 && line[:6] == "VmRSS:" {
			rssKB = parseLeadingUint(line[6:])
		}
	}
	if diff := int64(s.RSSBytes) - int64(rssKB*1024); diff > 1<<20 || diff < -(1<<20) {
		t.Fatalf("RSS %d vs status VmRSS %d KiB", s.RSSBytes, rssKB)
	}
}

package procinfo

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseCgroup(t *testing.T) {
	const id = "4a1c2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
	cases := []struct {
		path, cid, pod string
	}{
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_4718_8293_a4b5c6d7e8f9.slice/cri-containerd-" + id + ".scope",
			id, "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"},
		{"/kubepods/besteffort/pod1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9/" + id, id, "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"},
		{"/system.slice/docker-" + id + ".scope", id, ""},
		{"/kubepods.slice/kubepods-pod1b2c3d4e_5f60_4718_8293_a4b5c6d7e8f9.slice/crio-" + id + ".scope", id, "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"},
		{"/user.slice/user-0.slice/session-1.scope", "", ""},
		{"/", "", ""},
	}
	for _, c := range cases {
		cid, pod := ParseCgroup(c.path)
		if cid != c.cid || pod != c.pod {
			t.Errorf("ParseCgroup(%q) = %q, %q; want %q, %q", c.path, cid, pod, c.cid, c.pod)
		}
	}
}

func TestParseStartTime(t *testing.T) {
	stat := "1234 (my (weird) prog) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 1000000 100 18446744073709551615"
	if got := parseStartTime([]byte(stat)); got != 987654 {
		t.Fatalf("start time = %d, want 987654", got)
	}
	if got := parseStartTime([]byte("garbage")); got != 0 {
		t.Fatalf("garbage start time = %d", got)
	}
}

func TestReaderSelf(t *testing.T) {
	r := NewReader("", 4)
	in := r.Get(uint32(os.Getpid()))
	exe, _ := os.Executable()
	if in.ExeName != filepath.Base(exe) {
		t.Errorf("ExeName = %q, want %q", in.ExeName, filepath.Base(exe))
	}
	if d := time.Since(time.Unix(0, in.StartUnixNano)); d < 0 || d > time.Hour {
		t.Errorf("start time %v is not within the last hour", time.Unix(0, in.StartUnixNano))
	}
	if in.CommandLine == "" || in.StartTime == 0 {
		t.Errorf("incomplete info: %+v", in)
	}
	if again := r.Get(uint32(os.Getpid())); again != in {
		t.Errorf("second Get did not hit the cache")
	}
	// Bounded cache: many pids (most nonexistent) never exceed max.
	for pid := uint32(1); pid < 50; pid++ {
		r.Get(pid)
	}
	if len(r.cache) > 4 {
		t.Errorf("cache grew to %d entries, max 4", len(r.cache))
	}
}

func TestReaderFakeProc(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "42")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(d, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat", "42 (nginx) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 0 0")
	write("cmdline", "nginx: worker process\x00-g\x00daemon off;\x00")
	write("comm", "nginx\n")
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("cgroup", "0::/kubepods/burstable/pod11111111-2222-3333-4444-555555555555/"+
		"abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd\n")
	in := NewReader(root, 0).Get(42)
	if in.ExeName != "nginx" || in.CommandLine != "nginx: worker process -g daemon off;" ||
		in.PodUID != "11111111-2222-3333-4444-555555555555" || in.StartTime != 555 ||
		in.ContainerID != "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd" {
		t.Fatalf("got %+v", in)
	}
	if in.StartUnixNano != 1700000000*1e9+555*1e7 {
		t.Fatalf("StartUnixNano = %d", in.StartUnixNano)
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_4718_8293_a4b5c6d7e8f9.slice/cri-containerd-4a1c2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9.scope")
	f.Add("/system.slice/docker-4a1c2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9.scope")
	f.Add("0::/")
	f.Fuzz(func(t *testing.T, path string) {
		cid, pod := ParseCgroup(path)
		if cid != "" && (len(cid) != 64 || !isLowerHex(cid)) {
			t.Fatalf("container id %q from %q", cid, path)
		}
		if pod != "" && len(pod) != 36 {
			t.Fatalf("pod uid %q from %q", pod, path)
		}
		_ = cgroupPath([]byte(path))
		_ = parseStartTime([]byte(path))
	})
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func TestNoteCommForGoneProcess(t *testing.T) {
	r := NewReader(t.TempDir(), 4)
	r.NoteComm(77, "curl")
	if in := r.Get(77); in.ExeName != "curl" {
		t.Fatalf("ExeName = %q, want the noted comm", in.ExeName)
	}
	for pid := uint32(100); pid < 120; pid++ {
		r.NoteComm(pid, "x")
	}
	if len(r.comms) > 4 {
		t.Fatalf("comms grew to %d, max 4", len(r.comms))
	}
}

// TestReaderRevalidate: a cached Info is served without reading /proc for
// Revalidate; after that Get looks at the start time again, keeps the entry
// when it is the same process (or gone), and reads the new process when the
// pid was reused.
func TestReaderRevalidate(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "42")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	proc := func(start, cmd string) {
		for name, s := range map[string]string{
			"stat":    "42 (" + cmd + ") S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 " + start + " 0 0",
			"cmdline": cmd + "\x00",
			"comm":    cmd + "\n",
		} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Unix(1000, 0)
	r := NewReader(root, 0)
	r.now = func() time.Time { return now }

	proc("100", "first")
	if in := r.Get(42); in.CommandLine != "first" || in.StartTime != 100 {
		t.Fatalf("got %+v", in)
	}
	// The pid is reused, but within Revalidate the cache is trusted.
	proc("200", "second")
	now = now.Add(Revalidate / 2)
	if in := r.Get(42); in.CommandLine != "first" {
		t.Fatalf("within Revalidate: got %+v, want the cached first process", in)
	}
	now = now.Add(Revalidate)
	if in := r.Get(42); in.CommandLine != "second" || in.StartTime != 200 {
		t.Fatalf("after Revalidate: got %+v, want the second process", in)
	}
	// Gone from /proc: what was known stays.
	if err := os.RemoveAll(d); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * Revalidate)
	if in := r.Get(42); in.CommandLine != "second" {
		t.Fatalf("gone: got %+v, want the cached second process", in)
	}
}

// Package procinfo reads what the receiver needs to know about a traced
// process from /proc: executable, command line, and the container id and pod
// uid found in its cgroup path. Results are cached per pid and invalidated
// when the pid is reused (a different start time), which is checked at
// most once per Revalidate per pid.
package procinfo

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Info describes one process.
type Info struct {
	PID         uint32
	ExePath     string // /proc/pid/exe target ("" when unreadable)
	ExeName     string // base name of ExePath, or comm
	CommandLine string // argv joined by spaces
	CgroupPath  string // the unified (v2) or first cgroup path
	ContainerID string // 64-hex container id from the cgroup path, if any
	PodUID      string // Kubernetes pod uid from the cgroup path, if any
	StartTime   uint64 // clock ticks since boot (field 22 of /proc/pid/stat)
	// StartUnixNano is the process start as wall-clock Unix ns (boot time
	// from /proc/stat btime + StartTime ticks), 0 when unknown. It is
	// stable for the life of the process, so pid+StartUnixNano identifies it
	// (Pixie's upid).
	StartUnixNano int64
}

// clockTicks is USER_HZ, 100 on every Linux architecture we run on.
const clockTicks = 100

// Revalidate is how long a cached Info is trusted before Get reads the
// process's start time again to see whether its pid now belongs to another
// process. Reading /proc/pid/stat on every Get (every new connection) was
// half of the collector's CPU with one connection per request; a pid is
// reused only after the kernel's pid counter wraps (pid_max new tasks).
const Revalidate = time.Second

// entry is a cached Info and when its pid was last checked (monotonic).
type entry struct {
	in      *Info
	checked time.Time
}

// Reader reads and caches Info. It is safe for concurrent use.
type Reader struct {
	root string // "/proc" unless testing
	max  int

	now func() time.Time // time.Now unless testing

	mu    sync.Mutex
	cache map[uint32]*entry
	comms map[uint32]string // pid → kernel comm, for processes gone from /proc

	btimeOnce sync.Once
	btime     int64 // boot time, Unix seconds
}

// bootTime reads btime from /proc/stat once.
func (r *Reader) bootTime() int64 {
	r.btimeOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(r.root, "stat"))
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				r.btime, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
	})
	return r.btime
}

// NewReader returns a Reader over procRoot ("/proc" when empty) keeping at
// most maxEntries processes cached.
func NewReader(procRoot string, maxEntries int) *Reader {
	if procRoot == "" {
		procRoot = "/proc"
	}
	if maxEntries <= 0 {
		maxEntries = 16384
	}
	return &Reader{root: procRoot, max: maxEntries, now: time.Now, cache: make(map[uint32]*entry), comms: make(map[uint32]string)}
}

// Get returns the Info of pid, reading /proc on a miss or when the cached
// entry belongs to an earlier process with the same pid (looked at once per
// Revalidate). A process that already exited yields a partial Info (PID
// only, or what was cached).
func (r *Reader) Get(pid uint32) *Info {
	now := r.now()
	r.mu.Lock()
	if e, ok := r.cache[pid]; ok && now.Sub(e.checked) < Revalidate {
		r.mu.Unlock()
		return e.in
	}
	r.mu.Unlock()

	start := r.startTime(pid)
	r.mu.Lock()
	if e, ok := r.cache[pid]; ok && (start == 0 || e.in.StartTime == start) {
		// The same process, or gone: keep what we know.
		e.checked = now
		r.mu.Unlock()
		return e.in
	}
	r.mu.Unlock()

	in := r.read(pid, start)
	if start == 0 && in.ExeName == "" {
		// Gone (or never there): fall back on the comm the kernel gave us,
		// and remember nothing; a later Get may find a new process.
		r.mu.Lock()
		in.ExeName = r.comms[pid]
		r.mu.Unlock()
		return in
	}
	r.mu.Lock()
	if len(r.cache) >= r.max {
		// Drop an arbitrary half: cheap, bounded, and entries are re-read on demand.
		n := 0
		for k := range r.cache {
			delete(r.cache, k)
			if n++; n >= r.max/2 {
				break
			}
		}
	}
	r.cache[pid] = &entry{in: in, checked: now}
	r.mu.Unlock()
	return in
}

// NoteComm remembers the kernel's name (comm, at most 15 bytes) of pid, as
// the socket tracer saw it: the executable name of a process that exits
// before /proc is read (a curl, a cron job) comes from there.
func (r *Reader) NoteComm(pid uint32, comm string) {
	if comm == "" {
		return
	}
	r.mu.Lock()
	if r.comms[pid] != comm {
		if len(r.comms) >= r.max {
			clear(r.comms)
		}
		r.comms[pid] = comm
	}
	r.mu.Unlock()
}

// Forget drops pid from the cache (the process exited).
func (r *Reader) Forget(pid uint32) {
	r.mu.Lock()
	delete(r.cache, pid)
	r.mu.Unlock()
}

func (r *Reader) dir(pid uint32) string {
	return filepath.Join(r.root, strconv.FormatUint(uint64(pid), 10))
}

func (r *Reader) startTime(pid uint32) uint64 {
	b, err := os.ReadFile(filepath.Join(r.dir(pid), "stat"))
	if err != nil {
		return 0
	}
	return parseStartTime(b)
}

// parseStartTime returns field 22 of /proc/pid/stat; comm (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func parseStartTime(stat []byte) uint64 {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64)
	return v
}

func (r *Reader) read(pid uint32, start uint64) *Info {
	d := r.dir(pid)
	in := &Info{PID: pid, StartTime: start}
	if bt := r.bootTime(); bt > 0 && start > 0 {
		in.StartUnixNano = bt*1e9 + int64(start)*(1e9/clockTicks)
	}
	if exe, err := os.Readlink(filepath.Join(d, "exe")); err == nil {
		in.ExePath = strings.TrimSuffix(exe, " (deleted)")
		in.ExeName = filepath.Base(in.ExePath)
	}
	if b, err := os.ReadFile(filepath.Join(d, "cmdline")); err == nil {
		b = bytes.TrimRight(b, "\x00")
		in.CommandLine = string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
	}
	if in.ExeName == "" {
		if b, err := os.ReadFile(filepath.Join(d, "comm")); err == nil {
			in.ExeName = strings.TrimSpace(string(b))
		}
	}
	if b, err := os.ReadFile(filepath.Join(d, "cgroup")); err == nil {
		in.CgroupPath = cgroupPath(b)
		in.ContainerID, in.PodUID = ParseCgroup(in.CgroupPath)
	}
	return in
}

// cgroupPath picks the unified hierarchy's path ("0::/...") or else the first.
func cgroupPath(b []byte) string {
	first := ""
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			return parts[2]
		}
		if first == "" {
			first = parts[2]
		}
	}
	return first
}

var (
	containerIDRe = regexp.MustCompile(`(?:^|[/\-:])([0-9a-f]{64})(?:\.scope)?(?:/|$)`)
	podUIDRe      = regexp.MustCompile(`pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})`)
)

// ParseCgroup extracts the container id and the Kubernetes pod uid from a
// cgroup path, for the layouts of the systemd and cgroupfs drivers with
// containerd, CRI-O and Docker, e.g.
//
//	/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c..._..slice/cri-containerd-<64 hex>.scope
//	/kubepods/besteffort/pod1b2c...-..../<64 hex>
//	/system.slice/docker-<64 hex>.scope
func ParseCgroup(path string) (containerID, podUID string) {
	if m := containerIDRe.FindAllStringSubmatch(path, -1); len(m) > 0 {
		containerID = m[len(m)-1][1]
	}
	if m := podUIDRe.FindStringSubmatch(path); m != nil {
		podUID = strings.ReplaceAll(m[1], "_", "-")
	}
	return containerID, podUID
}

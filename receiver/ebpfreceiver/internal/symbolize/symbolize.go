// Package symbolize turns the raw addresses of the CPU profiler's stacks
// into function names.
//
// User addresses are resolved per process: /proc/<pid>/maps says which file
// (and which offset in it) an address belongs to; the file's ELF program
// headers turn that offset into a link-time address, which is looked up in
// the Go pclntab (debug/gosym; found by section name, or by scanning for the
// pclntab header when the section headers are gone) for Go binaries, else
// in the ELF .symtab and .dynsym. Parsed files are cached by GNU/Go build
// id, or by device+inode+mtime+size when there is none, so the same binary
// in many processes (or containers) is parsed once. Kernel addresses come
// from /proc/kallsyms.
//
// Nothing is dropped: a frame that cannot be named is reported as
// "module+0xoffset" (module is the file's base name, offset the link-time
// address), "[vdso]+0x…", "[anon]+0x…" for anonymous executable memory (JIT),
// or "[unknown]+0x…" when the address is in no mapping (the process exited).
// Frames of interpreted languages (Python, Ruby, Node.js, Java) are the
// interpreter's or the JIT's, not the script's: they are out of scope.
package symbolize

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Frame is one symbolized address.
type Frame struct {
	// Function is the function name, "" when unknown.
	Function string
	// Module is the base name of the file the address is in (or "[vdso]",
	// "[anon]", "[unknown]", "[kernel]" / a kernel module name).
	Module string
	// Offset is the link-time address in Module (for "[unknown]": the
	// address itself).
	Offset uint64
}

// String is the function name, or "module+0xoffset" when it is unknown.
func (f Frame) String() string {
	if f.Function != "" {
		return f.Function
	}
	return f.Module + "+0x" + strconv.FormatUint(f.Offset, 16)
}

// Options configure a Symbolizer.
type Options struct {
	// ProcRoot is where /proc is ("/proc" when empty).
	ProcRoot string
	// MaxFiles bounds the cached symbol tables (default 256).
	MaxFiles int
}

// Symbolizer resolves addresses. It is safe for concurrent use.
type Symbolizer struct {
	root     string
	maxFiles int

	mu      sync.Mutex
	byStat  map[statKey]*symtab
	byBuild map[string]*symtab
	procs   map[procKey]*Process

	kmu      sync.Mutex
	kernel   *kallsyms
	kernTime time.Time
}

type statKey struct {
	dev, ino   uint64
	mtime      int64
	size       int64
	pathSuffix string
}

// New returns a Symbolizer.
func New(o Options) *Symbolizer {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = 256
	}
	return &Symbolizer{root: o.ProcRoot, maxFiles: o.MaxFiles, byStat: map[statKey]*symtab{}, byBuild: map[string]*symtab{},
		procs: map[procKey]*Process{}}
}

// mapping is one executable line of /proc/pid/maps.
type mapping struct {
	start, end, off uint64
	dev, ino        uint64
	path            string
}

// Process holds one process's executable mappings and the symbol tables
// of their files. It is safe for concurrent use.
type Process struct {
	s   *Symbolizer
	pid uint32

	mu   sync.Mutex
	maps []mapping
	tabs map[int]*symtab // by index in maps
	err  error
	read time.Time    // when maps was read
	used atomic.Int64 // last Symbolize, unix ns (cache eviction, read without mu)
}

// Process reads /proc/<pid>/maps now. A process that is gone yields a
// Process whose frames are all "[unknown]+0x…"; Err says why.
func (s *Symbolizer) Process(pid uint32) *Process {
	p := &Process{s: s, pid: pid}
	p.readMaps()
	return p
}

// procKey names a process: a pid and its start time (field 22 of
// /proc/pid/stat), so a reused pid is another process.
type procKey struct {
	pid   uint32
	start uint64
}

// maxProcs bounds the cached processes.
const maxProcs = 4096

// CachedProcess is Process kept between calls for the process with this
// pid and start time (start 0: not cached). Its mappings are read again
// when an address is in none of them (a library loaded since, JIT code),
// at most once a second. Reading /proc/pid/maps and opening the mapped
// files every round is what the cache saves.
func (s *Symbolizer) CachedProcess(pid uint32, start uint64) *Process {
	if start == 0 {
		return s.Process(pid)
	}
	k := procKey{pid, start}
	s.mu.Lock()
	p, ok := s.procs[k]
	s.mu.Unlock()
	if ok {
		return p
	}
	p = s.Process(pid)
	p.used.Store(time.Now().UnixNano())
	s.mu.Lock()
	if len(s.procs) >= maxProcs {
		// Forget the processes not used for the longest half of the time
		// since the oldest use: bounded and cheap.
		now := time.Now().UnixNano()
		oldest := now
		for _, q := range s.procs {
			oldest = min(oldest, q.used.Load())
		}
		cut := oldest + (now-oldest)/2
		for kk, q := range s.procs {
			if q.used.Load() <= cut {
				delete(s.procs, kk)
			}
		}
	}
	s.procs[k] = p
	s.mu.Unlock()
	return p
}

// Forget drops the cached processes of pid (it exited).
func (s *Symbolizer) Forget(pid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.procs {
		if k.pid == pid {
			delete(s.procs, k)
		}
	}
}

// CachedProcesses is the number of processes in the cache.
func (s *Symbolizer) CachedProcesses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.procs)
}

func (p *Process) readMaps() {
	p.read = time.Now()
	p.tabs = map[int]*symtab{}
	f, err := os.Open(filepath.Join(p.s.root, strconv.FormatUint(uint64(p.pid), 10), "maps"))
	if err != nil {
		p.maps, p.err = nil, err
		return
	}
	defer f.Close()
	p.maps, p.err = parseMaps(f)
}

// Err is the error reading the process's mappings, if any.
func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func parseMaps(r io.Reader) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// 7f..-7f.. r-xp 00001000 fd:01 1234   /usr/lib/libc.so.6
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || len(fields[1]) < 3 || fields[1][2] != 'x' {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		var m mapping
		var err1, err2, err3 error
		m.start, err1 = strconv.ParseUint(lo, 16, 64)
		m.end, err2 = strconv.ParseUint(hi, 16, 64)
		m.off, err3 = strconv.ParseUint(fields[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if maj, min, ok := strings.Cut(fields[3], ":"); ok {
			a, _ := strconv.ParseUint(maj, 16, 32)
			b, _ := strconv.ParseUint(min, 16, 32)
			m.dev = a<<32 | b
		}
		m.ino, _ = strconv.ParseUint(fields[4], 10, 64)
		if len(fields) >= 6 {
			m.path = strings.Join(fields[5:], " ")
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out, sc.Err()
}

// Symbolize resolves one user-space address. For return addresses (every
// frame but the innermost), pass the address minus one so that a call at
// the very end of a function is attributed to it.
func (p *Process) Symbolize(addr uint64) Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used.Store(time.Now().UnixNano())
	i, ok := p.mappingOf(addr)
	if !ok && p.err == nil && time.Since(p.read) > time.Second {
		p.readMaps() // mapped since we read the maps
		i, ok = p.mappingOf(addr)
	}
	if !ok {
		return Frame{Module: "[unknown]", Offset: addr}
	}
	m := &p.maps[i]
	fileOff := addr - m.start + m.off
	switch {
	case m.path == "":
		return Frame{Module: "[anon]", Offset: addr - m.start}
	case strings.HasPrefix(m.path, "["):
		return Frame{Module: m.path, Offset: addr - m.start}
	}
	mod := filepath.Base(strings.TrimSuffix(m.path, " (deleted)"))
	tab, ok := p.tabs[i]
	if !ok {
		tab = p.s.fileFor(p.pid, m)
		p.tabs[i] = tab
	}
	if tab == nil {
		return Frame{Module: mod, Offset: fileOff}
	}
	vaddr, ok := tab.fileOffToVaddr(fileOff)
	if !ok {
		return Frame{Module: mod, Offset: fileOff}
	}
	return Frame{Function: tab.lookup(vaddr), Module: mod, Offset: vaddr}
}

func (p *Process) mappingOf(addr uint64) (int, bool) {
	i := sort.Search(len(p.maps), func(i int) bool { return p.maps[i].end > addr })
	return i, i < len(p.maps) && p.maps[i].start <= addr
}

// fileFor returns the symbol table of a mapping's file, from the cache or
// parsed now (nil when the file cannot be read).
func (s *Symbolizer) fileFor(pid uint32, m *mapping) *symtab {
	path := strings.TrimSuffix(m.path, " (deleted)")
	// The process's own view of its files (containers: another mount
	// namespace); map_files works even for deleted files.
	candidates := []string{
		filepath.Join(s.root, strconv.FormatUint(uint64(pid), 10), "root", path),
		filepath.Join(s.root, strconv.FormatUint(uint64(pid), 10), "map_files",
			strconv.FormatUint(m.start, 16)+"-"+strconv.FormatUint(m.end, 16)),
		path,
	}
	for _, c := range candidates {
		f, err := os.Open(c)
		if err != nil {
			continue
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		key := statKey{size: st.Size(), mtime: st.ModTime().UnixNano(), pathSuffix: filepath.Base(path)}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			key.dev, key.ino = uint64(sys.Dev), sys.Ino
		}
		s.mu.Lock()
		tab, hit := s.byStat[key]
		s.mu.Unlock()
		if hit {
			f.Close()
			return tab
		}
		tab, err = parseELF(f)
		f.Close()
		if err != nil {
			tab = nil // remember the failure too: not an ELF file, etc.
		}
		s.mu.Lock()
		if tab != nil && tab.buildID != "" {
			if old, ok := s.byBuild[tab.buildID]; ok {
				tab = old
			} else {
				s.byBuild[tab.buildID] = tab
			}
		}
		if len(s.byStat) >= s.maxFiles {
			s.evictLocked()
		}
		s.byStat[key] = tab
		s.mu.Unlock()
		return tab
	}
	return nil
}

// evictLocked drops an arbitrary half of the cache: bounded and cheap;
// entries are parsed again on demand.
func (s *Symbolizer) evictLocked() {
	n := 0
	for k, t := range s.byStat {
		delete(s.byStat, k)
		if t != nil && t.buildID != "" {
			delete(s.byBuild, t.buildID)
		}
		if n++; n >= s.maxFiles/2 {
			break
		}
	}
}

// CachedFiles is the number of parsed files in the cache.
func (s *Symbolizer) CachedFiles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byStat)
}

// Kernel resolves a kernel address from /proc/kallsyms (read on first use,
// and again at most once a minute when an address is not found, e.g. after
// a module was loaded).
func (s *Symbolizer) Kernel(addr uint64) Frame {
	s.kmu.Lock()
	defer s.kmu.Unlock()
	if s.kernel == nil || (!s.kernel.covers(addr) && time.Since(s.kernTime) > time.Minute) {
		if k, err := readKallsyms(filepath.Join(s.root, "kallsyms")); err == nil {
			s.kernel = k
		} else if s.kernel == nil {
			s.kernel = &kallsyms{}
		}
		s.kernTime = time.Now()
	}
	return s.kernel.lookup(addr)
}

// kallsyms is the sorted text symbols of the kernel and its modules.
type kallsyms struct {
	syms *symList
}

func (k *kallsyms) covers(addr uint64) bool {
	if k.syms == nil || k.syms.len() == 0 {
		return false
	}
	return addr >= k.syms.addrs[0] && addr <= k.syms.addrs[k.syms.len()-1]+1<<20
}

func (k *kallsyms) lookup(addr uint64) Frame {
	if !k.covers(addr) {
		return Frame{Module: "[kernel]", Offset: addr}
	}
	i, ok := k.syms.find(addr)
	if !ok {
		return Frame{Module: "[kernel]", Offset: addr}
	}
	return Frame{Function: k.syms.name(i), Module: k.syms.mod(i), Offset: addr - k.syms.addrs[i]}
}

func readKallsyms(path string) (*kallsyms, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKallsyms(b)
}

func parseKallsyms(b []byte) (*kallsyms, error) {
	var syms []rawSym
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		// ffffffff81000000 T _stext [module]
		f := bytes.Fields(line)
		if len(f) < 3 || len(f[1]) != 1 {
			continue
		}
		switch f[1][0] {
		case 't', 'T', 'w', 'W':
		default:
			continue
		}
		a, err := strconv.ParseUint(string(f[0]), 16, 64)
		if err != nil || a == 0 {
			continue
		}
		mod := "[kernel]"
		if len(f) >= 4 {
			mod = strings.Trim(string(f[3]), "[]")
		}
		syms = append(syms, rawSym{addr: a, name: string(f[2]), mod: mod})
	}
	if len(syms) == 0 {
		return nil, fmt.Errorf("no readable kernel symbols (kernel.kptr_restrict? needs root or CAP_SYSLOG)")
	}
	return &kallsyms{syms: newSymList(syms, true)}, nil
}

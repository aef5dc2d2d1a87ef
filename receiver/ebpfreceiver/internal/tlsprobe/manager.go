package tlsprobe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"go.uber.org/zap"
)

// Programs are the BPF programs to attach (tracer.TLSPrograms; owned by the
// tracer, never closed here).
type Programs struct {
	SSLWrite, SSLRead, SSLWriteEx, SSLReadEx, SSLReturn *ebpf.Program
	GoWrite, GoRead, GoReturn                           *ebpf.Program
}

// Defaults for Config.
const (
	DefaultRescanInterval = 10 * time.Second
	// maxNegative bounds the cache of files found to have nothing to probe.
	maxNegative = 16384
)

// Config configures a Manager.
type Config struct {
	// ProcRoot is the proc filesystem (default /proc).
	ProcRoot string
	// RescanInterval: how often every process is looked at again (for
	// libraries loaded with dlopen and processes missed). Default 10s.
	RescanInterval time.Duration
	// SelfPID is never scanned (default os.Getpid()).
	SelfPID int
}

// fileKey identifies a mapped file: device and inode, as /proc/pid/maps
// shows them.
type fileKey struct {
	dev string
	ino uint64
}

// binary is a probed (or rejected) file.
type binary struct {
	key    fileKey
	path   string // as the first process that mapped it names it
	target Target
	links  []link.Link
	err    error // attach failed or untraceable
	pids   map[uint32]struct{}
	// emptyAt is 1 + Manager.scanGen when pids became empty (0 while it
	// has users): the file is detached by the first full scan that starts
	// after that and finds no user either (see unuse).
	emptyAt uint64
}

// BinaryStatus describes a file the Manager probes or could not probe.
type BinaryStatus struct {
	Path      string
	Kind      Kind
	GoVersion string
	Attached  bool
	Probes    int   // uprobes attached
	PIDs      int   // processes mapping it at the last scan
	Err       error // why it is not attached
}

// Manager finds and probes TLS code. Its methods are safe for concurrent
// use.
type Manager struct {
	cfg   Config
	progs Programs
	log   *zap.Logger
	// noQuery: the kernel has no PROCMAP_QUERY; mappings are read as text.
	noQuery atomic.Bool

	mu       sync.Mutex
	bins     map[fileKey]*binary
	negative map[fileKey]struct{} // files with nothing to probe
	pidBins  map[uint32][]fileKey
	warned   map[fileKey]struct{} // files whose failure was logged
	started  bool
	closed   bool

	execs   chan uint32
	exits   chan uint32
	stop    chan struct{}
	done    chan struct{}
	scans   uint64 // full scans done (for tests)
	scanGen uint64 // full scans started (see binary.emptyAt)
	cond    *sync.Cond
}

// New returns a Manager; Start begins probing.
func New(cfg Config, progs Programs, logger *zap.Logger) (*Manager, error) {
	for _, p := range []*ebpf.Program{progs.SSLWrite, progs.SSLRead, progs.SSLWriteEx, progs.SSLReadEx,
		progs.SSLReturn, progs.GoWrite, progs.GoRead, progs.GoReturn} {
		if p == nil {
			return nil, errors.New("tlsprobe: missing BPF program")
		}
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.RescanInterval <= 0 {
		cfg.RescanInterval = DefaultRescanInterval
	}
	if cfg.SelfPID == 0 {
		cfg.SelfPID = os.Getpid()
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	m := &Manager{
		cfg:      cfg,
		progs:    progs,
		log:      logger,
		bins:     make(map[fileKey]*binary),
		negative: make(map[fileKey]struct{}),
		pidBins:  make(map[uint32][]fileKey),
		warned:   make(map[fileKey]struct{}),
		execs:    make(chan uint32, 1024),
		exits:    make(chan uint32, 1024),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	m.cond = sync.NewCond(&m.mu)
	return m, nil
}

// Start scans every process once (synchronously, so that what runs now is
// probed when Start returns) and starts the goroutine that follows execs,
// exits and rescans.
func (m *Manager) Start() {
	m.scanAll()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.started {
		return
	}
	m.started = true
	go m.run()
}

// ProcessExec implements tracer.ProcessHook: pid replaced its image. Never
// blocks (when the queue is full, the periodic rescan catches up).
func (m *Manager) ProcessExec(pid uint32) {
	select {
	case m.execs <- pid:
	default:
	}
}

// ProcessExited implements tracer.ProcessHook.
func (m *Manager) ProcessExited(pid uint32) {
	select {
	case m.exits <- pid:
	default:
	}
}

// Close detaches every probe. Idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	started := m.started
	m.mu.Unlock()
	close(m.stop)
	if started {
		<-m.done
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, b := range m.bins {
		errs = append(errs, closeAll(b.links))
		b.links = nil
	}
	m.bins = map[fileKey]*binary{}
	m.cond.Broadcast()
	return errors.Join(errs...)
}

// Binaries returns the files probed or found untraceable, sorted by path.
func (m *Manager) Binaries() []BinaryStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]BinaryStatus, 0, len(m.bins))
	for _, b := range m.bins {
		out = append(out, BinaryStatus{
			Path: b.path, Kind: b.target.Kind, GoVersion: b.target.GoVersion,
			Attached: len(b.links) > 0, Probes: len(b.links), PIDs: len(b.pids), Err: b.err,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Scans returns the number of full /proc scans done so far.
func (m *Manager) Scans() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scans
}

// pendingScan is a process to look at again (an exec'd process maps its
// libraries after the exec, through the dynamic loader).
type pendingScan struct {
	pid     uint32
	at      time.Time
	attempt int
}

// execRescans: when an exec'd process is looked at, relative to the exec.
var execRescans = []time.Duration{0, 50 * time.Millisecond, 500 * time.Millisecond, 3 * time.Second}

// pendingTick is how often the rescans due after execs are looked at.
const pendingTick = 25 * time.Millisecond

func (m *Manager) run() {
	defer close(m.done)
	rescan := time.NewTicker(m.cfg.RescanInterval)
	defer rescan.Stop()
	// The rescans after an exec are looked at every pendingTick, and only
	// while some are pending: a ticker running all the time woke the
	// collector 40 times a second on an idle node.
	tick := time.NewTimer(pendingTick)
	tick.Stop()
	defer tick.Stop()
	var tickC <-chan time.Time // nil while no rescan is pending
	var pending []pendingScan
	for {
		select {
		case <-m.stop:
			return
		case pid := <-m.execs:
			now := time.Now()
			m.forget(pid) // the old image's files
			m.scanPID(pid)
			pending = append(pending, pendingScan{pid: pid, at: now.Add(execRescans[1]), attempt: 1})
			if tickC == nil {
				tick.Reset(pendingTick)
				tickC = tick.C
			}
		case pid := <-m.exits:
			m.forget(pid)
		case now := <-tickC:
			tickC = nil
			kept := pending[:0]
			for _, p := range pending {
				if now.Before(p.at) {
					kept = append(kept, p)
					continue
				}
				m.scanPID(p.pid)
				if p.attempt+1 < len(execRescans) {
					p.at = p.at.Add(execRescans[p.attempt+1] - execRescans[p.attempt])
					p.attempt++
					kept = append(kept, p)
				}
			}
			pending = kept
			if len(pending) > 0 {
				tick.Reset(pendingTick)
				tickC = tick.C
			}
		case <-rescan.C:
			m.scanAll()
		}
	}
}

// scanAll looks at every process and detaches files no process maps.
func (m *Manager) scanAll() {
	m.mu.Lock()
	m.scanGen++
	gen := m.scanGen
	m.mu.Unlock()
	ents, err := os.ReadDir(m.cfg.ProcRoot)
	if err != nil {
		m.log.Warn("tlsprobe: cannot list processes", zap.Error(err))
		return
	}
	seen := make(map[uint32]bool, len(ents))
	for _, e := range ents {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil || int(pid) == m.cfg.SelfPID {
			continue
		}
		seen[uint32(pid)] = true
		m.scanPID(uint32(pid))
	}
	m.mu.Lock()
	var gone []uint32
	for pid := range m.pidBins {
		if !seen[pid] {
			gone = append(gone, pid)
		}
	}
	m.mu.Unlock()
	for _, pid := range gone {
		m.forget(pid)
	}
	m.mu.Lock()
	// Files that had no user before this scan began and found none in it.
	for k, b := range m.bins {
		if len(b.pids) == 0 && b.emptyAt != 0 && b.emptyAt <= gen {
			m.detach(k, b)
		}
	}
	m.scans++
	m.cond.Broadcast()
	m.mu.Unlock()
}

// mapping is one file mapped executable by a process.
type mapping struct {
	key  fileKey
	path string
	rng  string // address range, the name in /proc/pid/map_files
}

// mappedFiles lists the files pid maps with execute permission.
func (m *Manager) mappedFiles(pid uint32) ([]mapping, error) {
	f, err := os.Open(filepath.Join(m.cfg.ProcRoot, strconv.FormatUint(uint64(pid), 10), "maps"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !m.noQuery.Load() {
		out, err := queryMappedFiles(f)
		if !errors.Is(err, errNoProcmapQuery) {
			return out, err
		}
		m.noQuery.Store(true) // an older kernel: read the text from now on
	}
	return parseMaps(f)
}

// mapFilesName turns a maps address range ("%08lx-%08lx") into its name in
// /proc/pid/map_files ("%lx-%lx": the kernel refuses leading zeros, which
// non-PIE binaries such as Go's, mapped at 0x400000, have).
func mapFilesName(rng string) string {
	lo, hi, ok := strings.Cut(rng, "-")
	if !ok {
		return rng
	}
	trim := func(s string) string {
		s = strings.TrimLeft(s, "0")
		if s == "" {
			return "0"
		}
		return s
	}
	return trim(lo) + "-" + trim(hi)
}

// parseMaps lists the files mapped with execute permission in the text of
// /proc/pid/maps (kernels without PROCMAP_QUERY).
func parseMaps(f io.Reader) ([]mapping, error) {
	var out []mapping
	seen := map[fileKey]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.Contains(fields[1], "x") || !strings.HasPrefix(fields[5], "/") {
			continue
		}
		if len(fields) > 6 { // "(deleted)" or a path with spaces
			if fields[len(fields)-1] == "(deleted)" {
				continue
			}
			fields[5] = strings.Join(fields[5:], " ")
		}
		ino, err := strconv.ParseUint(fields[4], 10, 64)
		if err != nil || ino == 0 {
			continue
		}
		k := fileKey{dev: fields[3], ino: ino}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, mapping{key: k, path: fields[5], rng: mapFilesName(fields[0])})
	}
	return out, sc.Err()
}

// scanPID inspects and probes the files pid maps.
func (m *Manager) scanPID(pid uint32) {
	maps, err := m.mappedFiles(pid)
	if err != nil {
		m.forget(pid) // gone
		return
	}
	var keys []fileKey
	for _, mp := range maps {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		_, neg := m.negative[mp.key]
		b := m.bins[mp.key]
		m.mu.Unlock()
		if neg {
			continue
		}
		if b == nil {
			b = m.probe(pid, mp)
			if b == nil {
				continue
			}
		}
		keys = append(keys, mp.key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if b := m.bins[k]; b != nil {
			b.pids[pid] = struct{}{}
			b.emptyAt = 0
		}
	}
	old := m.pidBins[pid]
	m.pidBins[pid] = keys
	for _, k := range old {
		if !slices.Contains(keys, k) {
			m.unuse(pid, k) // unmapped (or the process is exiting)
		}
	}
}

// probe inspects a newly seen file and attaches to it. It returns nil when
// the file has nothing to probe.
func (m *Manager) probe(pid uint32, mp mapping) *binary {
	// Through the process's root, so files in containers are found; when
	// the name leads nowhere (replaced, other mount namespace), through the
	// mapping itself.
	proc := filepath.Join(m.cfg.ProcRoot, strconv.FormatUint(uint64(pid), 10))
	path := filepath.Join(proc, "root", mp.path)
	if fi, err := os.Stat(path); err != nil || !sameInode(fi, mp.key.ino) {
		path = filepath.Join(proc, "map_files", mp.rng)
	}
	var t Target
	var err error
	// The collector's own binary (when another process runs it too) is not
	// probed: its calls would trap into BPF for nothing (it is never traced).
	if !isSelf(path) {
		t, err = Inspect(path)
	}
	if err == nil && t.Kind == KindNone {
		m.mu.Lock()
		if len(m.negative) >= maxNegative {
			m.negative = make(map[fileKey]struct{})
		}
		m.negative[mp.key] = struct{}{}
		m.mu.Unlock()
		return nil
	}
	b := &binary{key: mp.key, path: mp.path, target: t, pids: map[uint32]struct{}{}}
	if err == nil {
		b.links, b.err = m.attach(path, t)
	}
	if (err != nil || b.err != nil) && (!exists(proc) || errors.Is(err, syscall.ESRCH) || errors.Is(b.err, syscall.ESRCH)) {
		// The process exited while we looked (ESRCH: it is a zombie,
		// its /proc entry still there but its mappings gone): nothing
		// to say, the next process or rescan that maps the file tries
		// again. Recording the failure kept a live server's libssl
		// unprobed when a short-lived client that also mapped it was
		// looked at first.
		_ = closeAll(b.links)
		return nil
	}
	if err != nil {
		if !errors.Is(err, ErrUntraceable) {
			// Unreadable or not ELF: not worth a warning unless it looks
			// like a TLS library.
			if !isSSLName(mp.path) {
				m.mu.Lock()
				m.negative[mp.key] = struct{}{}
				m.mu.Unlock()
				return nil
			}
		}
		b.err = err
		if m.warnOnce(mp.key) {
			m.log.Warn("tlsprobe: cannot trace the TLS traffic of this binary",
				zap.String("path", mp.path), zap.Uint32("pid", pid), zap.Error(err))
		}
	} else {
		if b.err != nil {
			if m.warnOnce(mp.key) {
				m.log.Warn("tlsprobe: attaching TLS uprobes failed; its TLS traffic is not traced",
					zap.String("path", mp.path), zap.Stringer("kind", t.Kind), zap.Uint32("pid", pid), zap.Error(b.err))
			}
		} else {
			m.log.Info("tlsprobe: TLS uprobes attached",
				zap.String("path", mp.path), zap.Stringer("kind", t.Kind), zap.String("go_version", t.GoVersion),
				zap.Int("probes", len(b.links)), zap.Uint32("pid", pid))
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		_ = closeAll(b.links)
		return nil
	}
	if old := m.bins[mp.key]; old != nil { // raced with another scan
		_ = closeAll(b.links)
		return old
	}
	m.bins[mp.key] = b
	return b
}

// warnOnce tells whether a failure for this file is to be logged (the
// first time only).
func (m *Manager) warnOnce(k fileKey) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.warned[k]; ok {
		return false
	}
	if len(m.warned) >= maxNegative {
		m.warned = make(map[fileKey]struct{})
	}
	m.warned[k] = struct{}{}
	return true
}

// attach attaches the probes of one file; on any failure it detaches what
// it attached and returns the error.
func (m *Manager) attach(path string, t Target) (links []link.Link, err error) {
	ex, err := link.OpenExecutable(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = closeAll(links)
			links = nil
		}
	}()
	up := func(name string, p *ebpf.Program, off uint64, ret bool) error {
		opts := &link.UprobeOptions{Address: off}
		var l link.Link
		var err error
		if ret {
			l, err = ex.Uretprobe(name, p, opts)
		} else {
			l, err = ex.Uprobe(name, p, opts)
		}
		if err != nil {
			return fmt.Errorf("%s at %#x: %w", name, off, err)
		}
		links = append(links, l)
		return nil
	}
	switch t.Kind {
	case KindOpenSSL:
		entry := map[string]*ebpf.Program{
			"SSL_write": m.progs.SSLWrite, "SSL_read": m.progs.SSLRead,
			"SSL_write_ex": m.progs.SSLWriteEx, "SSL_read_ex": m.progs.SSLReadEx,
		}
		for _, name := range sslFuncs {
			off, ok := t.SSL[name]
			if !ok {
				continue
			}
			// Return probe first: an entry must never lack its return.
			if err := up(name, m.progs.SSLReturn, off, true); err != nil {
				return nil, err
			}
			if err := up(name, entry[name], off, false); err != nil {
				return nil, err
			}
		}
	case KindGo:
		for _, fn := range []struct {
			name  string
			f     GoFunc
			entry *ebpf.Program
		}{{"go_tls_write", t.GoWrite, m.progs.GoWrite}, {"go_tls_read", t.GoRead, m.progs.GoRead}} {
			for _, r := range fn.f.Rets {
				if err := up(fn.name+"_ret", m.progs.GoReturn, r, false); err != nil {
					return nil, err
				}
			}
			if err := up(fn.name, fn.entry, fn.f.Entry, false); err != nil {
				return nil, err
			}
		}
	}
	return links, nil
}

// forget removes pid from the files it mapped and detaches the files no
// process maps anymore.
func (m *Manager) forget(pid uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := m.pidBins[pid]
	delete(m.pidBins, pid)
	for _, k := range keys {
		m.unuse(pid, k)
	}
}

// unuse removes pid from the users of file k and detaches the file when it
// has none left. Called with m.mu held.
func (m *Manager) unuse(pid uint32, k fileKey) {
	b := m.bins[k]
	if b == nil {
		return
	}
	delete(b.pids, pid)
	if len(b.pids) > 0 || b.emptyAt != 0 {
		return
	}
	// Not detached now: the bookkeeping of which process maps what lags
	// behind exec and exit records, and detaching a file that a live
	// process (one not looked at again yet) still uses would lose its TLS
	// traffic until the next scan. The next full scan that finds no user
	// detaches it.
	b.emptyAt = m.scanGen + 1
}

// detach removes the probes of file k. Called with m.mu held.
func (m *Manager) detach(k fileKey, b *binary) {
	if len(b.links) > 0 {
		m.log.Info("tlsprobe: TLS uprobes detached (no process maps the file)", zap.String("path", b.path))
	}
	if err := closeAll(b.links); err != nil {
		m.log.Debug("tlsprobe: detaching", zap.String("path", b.path), zap.Error(err))
	}
	// Forgotten: a later process mapping it is probed (or warned about)
	// again.
	delete(m.bins, k)
}

// isSelf tells whether path is the running executable.
func isSelf(path string) bool {
	a, err1 := os.Stat(path)
	b, err2 := os.Stat("/proc/self/exe")
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// sameInode tells whether fi is the file with inode ino.
func sameInode(fi os.FileInfo, ino uint64) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Ino == ino
}

func closeAll(links []link.Link) error {
	var errs []error
	for _, l := range links {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

// Package profiler is the kernel side of the continuous CPU profiler: it
// loads the BPF program built from bpf/profile.c, opens a CPU-clock perf
// event on every online CPU at a fixed frequency, attaches the program to
// each of them, and drains the counted stacks on request.
//
// The BPF program counts identical (process, user stack, kernel stack)
// triples in a hash map; stacks are unwound by the kernel with frame
// pointers (bpf_get_stackid). There are two sets of maps: Drain flips the
// set the program writes, waits for programs in flight, then reads and
// empties the other set, so sampling never stops and no sample is lost to
// the drain. Addresses are returned raw: symbolization is the caller's
// (package symbolize).
//
// The calling process (the collector) and the idle task are never sampled.
// PIDs are those of the initial PID namespace.
//
// Kernel: 5.15 or newer (BPF links for perf events), perf events allowed
// (kernel.perf_event_paranoid, CAP_PERFMON), root or CAP_BPF.
package profiler

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

const (
	// DefaultFrequencyHz is the default sampling frequency per CPU. 97 (a
	// prime) keeps the ticks from running in lockstep with periodic work.
	DefaultFrequencyHz = 97
	// MaxFrequencyHz bounds FrequencyHz.
	MaxFrequencyHz = 1000
	// DefaultStackEntries is the default capacity of each stack map and
	// each counts map (per buffer: there are two of each). A stack map is a
	// hash table without chaining: a new stack whose bucket is taken is
	// lost (counted, shown as "[lost user stack]"), so it should be well
	// above the distinct stacks of one report interval. Each stack map
	// preallocates about 1 KiB per entry: 2 × 16 MiB in all.
	DefaultStackEntries = 16384
	// MaxStackDepth is the deepest stack the kernel unwinds (frames beyond
	// it are cut).
	MaxStackDepth = 127

	// settle is how long Drain waits after flipping the buffers for
	// programs that read the old selector to finish (they run for
	// microseconds, in interrupt context).
	settle = 2 * time.Millisecond
)

// Config configures a Profiler. The zero value is valid.
type Config struct {
	// FrequencyHz is the sampling frequency per CPU (1..MaxFrequencyHz; 0
	// means DefaultFrequencyHz).
	FrequencyHz int
	// StackEntries is the capacity of each stack and counts map (0 means
	// DefaultStackEntries). A stack map preallocates StackEntries ×
	// 1 KiB of kernel memory; there are two.
	StackEntries int
	// SelfPID is never sampled; 0 means the calling process.
	SelfPID uint32
}

// Sample is one distinct stack of one process and how often it was seen
// since the previous Drain.
type Sample struct {
	PID uint32
	// User and Kernel hold return addresses, innermost frame first. Either
	// may be empty (a kernel thread has no user stack; a stack the kernel
	// could not store is reported in Stats).
	User, Kernel []uint64
	Count        uint64
	// UserLost / KernelLost: the stack id was recorded but its frames were
	// gone when read (a hash collision in the stack map, or a late sample).
	UserLost, KernelLost bool
}

// Stats are the BPF counters since Start, summed over CPUs.
type Stats struct {
	Samples        uint64 // ticks counted
	SelfTicks      uint64 // ticks in the collector
	SkippedIdle    uint64 // ticks in the idle task
	UserStackErr   uint64 // user stack could not be stored (map full, collision)
	KernelStackErr uint64 // kernel stack could not be stored
	CountsFull     uint64 // counts map full: samples lost
	// Drains and the stacks they returned (user space).
	Drains, Drained uint64
}

// Profiler owns the BPF objects and the perf events. Drain, Stats and Close
// may be called from any goroutine.
type Profiler struct {
	cfg Config

	mu     sync.Mutex
	objs   *objects
	events []int // perf event fds
	links  []link.Link
	active uint32 // the set BPF writes: 0 = A, 1 = B
	drains uint64
	stacks uint64
	closed bool
	// Kernel features found missing at the first drain.
	noBatch, noLookupDelete bool
}

// objects are the loaded programs and maps. Not profileObjects: its
// Variables keep the .rodata map memory-mapped until the garbage collector
// runs, so the map would outlive Close.
type objects struct {
	profilePrograms
	profileMaps
}

func (o *objects) Close() error {
	return errors.Join(o.profilePrograms.Close(), o.profileMaps.Close())
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.FrequencyHz < 0 || c.FrequencyHz > MaxFrequencyHz {
		return fmt.Errorf("frequency %d Hz must be between 1 and %d (0: default %d)", c.FrequencyHz, MaxFrequencyHz, DefaultFrequencyHz)
	}
	if c.StackEntries < 0 || c.StackEntries > 1<<20 {
		return fmt.Errorf("stack entries %d must be between 1 and %d (0: default %d)", c.StackEntries, 1<<20, DefaultStackEntries)
	}
	return nil
}

// New loads the BPF program and attaches it to a CPU-clock perf event on
// every online CPU. Sampling starts immediately; Close stops it and frees
// everything.
func New(cfg Config) (*Profiler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("profiler: %w", err)
	}
	if cfg.FrequencyHz == 0 {
		cfg.FrequencyHz = DefaultFrequencyHz
	}
	if cfg.StackEntries == 0 {
		cfg.StackEntries = DefaultStackEntries
	}
	if cfg.SelfPID == 0 {
		cfg.SelfPID = uint32(os.Getpid())
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("profiler: removing the memlock limit: %w", err)
	}
	spec, err := loadProfile()
	if err != nil {
		return nil, fmt.Errorf("profiler: reading the BPF object: %w", err)
	}
	for _, name := range []string{profileMapStacksA, profileMapStacksB, profileMapCountsA, profileMapCountsB} {
		spec.Maps[name].MaxEntries = uint32(cfg.StackEntries)
	}
	if err := spec.Variables[profileVarSelfTgid].Set(cfg.SelfPID); err != nil {
		return nil, fmt.Errorf("profiler: setting self_tgid: %w", err)
	}
	p := &Profiler{cfg: cfg, objs: &objects{}}
	if err := spec.LoadAndAssign(p.objs, nil); err != nil {
		return nil, fmt.Errorf("profiler: loading the BPF program: %w%s", err, permHint(err))
	}
	if err := p.attach(); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Profiler) attach() error {
	cpus, err := onlineCPUs()
	if err != nil {
		return fmt.Errorf("profiler: %w", err)
	}
	for _, cpu := range cpus {
		attr := unix.PerfEventAttr{
			Type:   unix.PERF_TYPE_SOFTWARE,
			Config: unix.PERF_COUNT_SW_CPU_CLOCK,
			Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
			Sample: uint64(p.cfg.FrequencyHz),
			Bits:   unix.PerfBitFreq,
		}
		fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) {
				continue // CPU went offline in between
			}
			return fmt.Errorf("profiler: perf_event_open on CPU %d: %w%s", cpu, err, permHint(err))
		}
		p.events = append(p.events, fd)
		l, err := link.AttachRawLink(link.RawLinkOptions{
			Target:  fd,
			Program: p.objs.ProfileSample,
			Attach:  ebpf.AttachPerfEvent,
		})
		if err != nil {
			return fmt.Errorf("profiler: attaching to the perf event of CPU %d: %w%s", cpu, err, permHint(err))
		}
		p.links = append(p.links, l)
	}
	if len(p.links) == 0 {
		return errors.New("profiler: no online CPU")
	}
	return nil
}

// CPUs is the number of CPUs sampled.
func (p *Profiler) CPUs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// FrequencyHz is the sampling frequency in use.
func (p *Profiler) FrequencyHz() int { return p.cfg.FrequencyHz }

// ProgramID is the kernel ID of the sampling program (0 when unknown), for
// kernel.bpf_stats_enabled run times.
func (p *Profiler) ProgramID() ebpf.ProgramID {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objs == nil || p.objs.ProfileSample == nil {
		return 0
	}
	info, err := p.objs.ProfileSample.Info()
	if err != nil {
		return 0
	}
	id, _ := info.ID()
	return id
}

// Drain flips the buffers and returns what was counted in the set that was
// being written, emptying it. Counts of the same stack are merged.
func (p *Profiler) Drain() ([]Sample, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("profiler: closed")
	}
	old := p.active
	next := old ^ 1
	if err := p.objs.Control.Put(uint32(0), next); err != nil {
		return nil, fmt.Errorf("profiler: switching buffers: %w", err)
	}
	p.active = next
	time.Sleep(settle)

	counts, stacks := p.objs.CountsA, p.objs.StacksA
	if old == 1 {
		counts, stacks = p.objs.CountsB, p.objs.StacksB
	}
	keys, vals, err := p.takeCounts(counts)
	if err != nil {
		return nil, err
	}

	frames := map[int32][]uint64{}
	lookup := func(id int32) ([]uint64, bool) {
		if id < 0 {
			// -EFAULT: there is no such stack (a kernel thread has no
			// user stack, a tick in user mode no kernel stack). Any other
			// error (a bucket taken by another stack, -EEXIST) lost it.
			return nil, id == -int32(unix.EFAULT)
		}
		if f, ok := frames[id]; ok {
			return f, f != nil
		}
		var st profileStackTrace
		if err := p.takeStack(stacks, uint32(id), &st); err != nil {
			frames[id] = nil
			return nil, false
		}
		var f []uint64
		for _, ip := range st.Ip {
			if ip == 0 {
				break
			}
			f = append(f, ip)
		}
		frames[id] = f
		return f, true
	}
	type sk struct {
		pid    uint32
		u, k   int32
		ul, kl bool
	}
	merged := map[sk]int{}
	var out []Sample
	for i, k := range keys {
		u, uok := lookup(k.UserStackId)
		kf, kok := lookup(k.KernelStackId)
		id := sk{k.Tgid, k.UserStackId, k.KernelStackId, !uok, !kok}
		if j, ok := merged[id]; ok {
			out[j].Count += vals[i]
			continue
		}
		merged[id] = len(out)
		out = append(out, Sample{PID: k.Tgid, User: u, Kernel: kf, Count: vals[i], UserLost: !uok, KernelLost: !kok})
	}
	// Empty the stack map of stacks no count refers to (their count
	// update failed): usually none, one syscall.
	var sid, nk uint32
	var ids []uint32
	for err := stacks.NextKey(nil, &nk); err == nil; err = stacks.NextKey(sid, &nk) {
		sid = nk
		ids = append(ids, sid)
	}
	for _, id := range ids {
		_ = stacks.Delete(id)
	}
	p.drains++
	p.stacks += uint64(len(out))
	return out, nil
}

// batchSize is how many counts one batch syscall moves.
const batchSize = 512

// takeCounts reads and deletes every entry of a counts map: in batches
// (one syscall per batchSize entries) where the kernel supports it, else
// entry by entry. A sample that read the old selector just before the flip
// and lands after the read stays for the next drain of this set: it is not
// lost.
func (p *Profiler) takeCounts(counts *ebpf.Map) ([]profileStackKey, []uint64, error) {
	var keys []profileStackKey
	var vals []uint64
	if !p.noBatch {
		var cursor ebpf.MapBatchCursor
		kb := make([]profileStackKey, batchSize)
		vb := make([]uint64, batchSize)
		for {
			n, err := counts.BatchLookupAndDelete(&cursor, kb, vb, nil)
			keys = append(keys, kb[:n]...)
			vals = append(vals, vb[:n]...)
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				return keys, vals, nil
			}
			if err != nil {
				if len(keys) == 0 && errors.Is(err, ebpf.ErrNotSupported) {
					p.noBatch = true
					break
				}
				return nil, nil, fmt.Errorf("profiler: reading counts: %w", err)
			}
		}
	}
	var (
		key profileStackKey
		n   uint64
	)
	it := counts.Iterate()
	for it.Next(&key, &n) {
		keys = append(keys, key)
		vals = append(vals, n)
	}
	if err := it.Err(); err != nil {
		return nil, nil, fmt.Errorf("profiler: reading counts: %w", err)
	}
	for i := range keys {
		if err := counts.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil, nil, fmt.Errorf("profiler: clearing counts: %w", err)
		}
	}
	return keys, vals, nil
}

// takeStack reads and deletes one stack (one syscall where the kernel
// supports lookup-and-delete on stack maps).
func (p *Profiler) takeStack(stacks *ebpf.Map, id uint32, st *profileStackTrace) error {
	if !p.noLookupDelete {
		err := stacks.LookupAndDelete(id, st)
		if err == nil || !errors.Is(err, ebpf.ErrNotSupported) {
			return err
		}
		p.noLookupDelete = true
	}
	if err := stacks.Lookup(id, st); err != nil {
		return err
	}
	_ = stacks.Delete(id)
	return nil
}

// Stats returns the counters since New.
func (p *Profiler) Stats() (Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return Stats{}, errors.New("profiler: closed")
	}
	var per []profileStats
	if err := p.objs.Counters.Lookup(uint32(0), &per); err != nil {
		return Stats{}, fmt.Errorf("profiler: reading counters: %w", err)
	}
	var s Stats
	for _, c := range per {
		s.Samples += c.V[0]
		s.SelfTicks += c.V[1]
		s.SkippedIdle += c.V[2]
		s.UserStackErr += c.V[3]
		s.KernelStackErr += c.V[4]
		s.CountsFull += c.V[5]
	}
	s.Drains, s.Drained = p.drains, p.stacks
	return s, nil
}

// Close detaches the program from every perf event, closes the events and
// frees the maps and the program. It is safe to call more than once.
func (p *Profiler) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	for _, l := range p.links {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.links = nil
	for _, fd := range p.events {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, err)
		}
	}
	p.events = nil
	if p.objs != nil {
		if err := p.objs.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// onlineCPUs parses /sys/devices/system/cpu/online ("0-3,5,7-8").
func onlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("reading online CPUs: %w", err)
	}
	return parseCPUList(strings.TrimSpace(string(b)))
}

func parseCPUList(s string) ([]int, error) {
	var out []int
	if s == "" {
		return nil, errors.New("empty CPU list")
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad CPU list %q", s)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}

func permHint(err error) string {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return " (needs root, or CAP_BPF + CAP_PERFMON; check kernel.perf_event_paranoid and kernel.unprivileged_bpf_disabled)"
	}
	return ""
}

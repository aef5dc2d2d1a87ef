// Package tracer is the kernel side of the eBPF socket tracer: it loads the
// BPF programs built from bpf/socket_trace.c, attaches them to the syscall
// tracepoints of the socket syscalls (exit of read, write, readv, writev,
// recvfrom, sendto, recvmsg, sendmsg, recvmmsg, sendmmsg, sendfile64,
// connect, accept and accept4, whose arguments are read from the saved user
// registers at exit; enter of close) and to sched/sched_process_exit, and
// turns the records the programs write into a ring buffer into
// sockevent.Open, sockevent.Data and sockevent.Close calls on a
// sockevent.Handler.
//
// Only AF_INET and AF_INET6 sockets are traced (TCP and UDP alike). The
// calling process (the collector) is never traced; Config.IncludePIDs and
// Config.ExcludePIDs narrow the traced processes further. PIDs are those of
// the initial PID namespace (run the collector with hostPID).
//
// Guarantees: for each connection, Open comes before any Data and Close
// (when an Open is dropped because the ring is full, BPF resends it before
// the connection's next Data, and drops that Data until it succeeds). Data.Pos
// advances even for lost or capped chunks, so gaps are visible. A process
// that exits with connections open gets a Close for each of them.
//
// The Handler is called from a single goroutine, in ring-buffer order. The
// *Data passed to OnData is reused for the next record, and its Payload is
// a read-only view into the ring buffer, given back to the kernel when
// OnData returns: handlers must copy what they keep and never write to it.
// *Open and *Close are fresh values. The
// Handler may call Stats, Programs and ProgramIDs, never Start or Close.
//
// Records are delivered within 200 ms of the syscall, sooner as their rate
// grows (a drain finds about drainRecords records or an eighth of the ring,
// see nextPoll): the BPF side wakes the reader only for what must not wait
// (a new process's first connection, an exec with TLS on, a ring a quarter
// full); otherwise the reader polls on a timer (see run).
// See the design notes at the top of bpf/socket_trace.c.
//
// Data.TimeNs is taken at the syscall's exit. Open.Comm is the task's comm
// read in BPF when the Open is made.
//
// TLS: the object also holds uprobe programs for OpenSSL/BoringSSL and Go
// crypto/tls (TLSPrograms), which the tlsprobe package attaches per binary;
// their plaintext arrives as Data with TLS set. Execs and exits of traced
// processes go to a ProcessHook (SetProcessHook): what was read of a
// process in /proc is stale after its exec, and new binaries get probed.
//
// Kernel: 5.15 or newer with BTF (ring buffer, bpf_task_pt_regs,
// bpf_get_current_task_btf, BPF atomics), x86-64 (arguments from pt_regs
// di/si/dx); on 6.2+ the socket check uses bpf_rdonly_cast instead of probe
// reads.
//
// StartFloor attaches a counting-only program to the same tracepoints; it is
// the "floor" the benchmarks compare the tracer with (see PERFORMANCE.md).
package tracer

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

const (
	// DefaultMaxChunkBytes is the default payload cap per Data event.
	DefaultMaxChunkBytes = 30720
	// MaxChunkBytesLimit is the largest MaxChunkBytes the BPF side supports
	// (MAX_CHUNK in bpf/socket_trace.c).
	MaxChunkBytesLimit = 30720
	// DefaultRingBufferBytes is the default ring buffer size.
	DefaultRingBufferBytes = 8 << 20
	// MinRingBufferBytes and MaxRingBufferBytes bound RingBufferBytes.
	MinRingBufferBytes = 64 << 10
	MaxRingBufferBytes = 1 << 30
	// DefaultTracefsPath is where tracefs is looked for (and mounted).
	DefaultTracefsPath = "/sys/kernel/tracing"
	// MaxPIDFilter is the capacity of the BPF include/exclude PID maps.
	MaxPIDFilter = 1024

	// pollInterval bounds how long records wait in the ring before the
	// reader looks at it while records keep coming; after empty polls the
	// interval doubles up to maxPollInterval (an idle node costs 5
	// wakeups a second), and the first record resets it. At higher record
	// rates it shortens down to fastPollInterval (nextPoll). Every wakeup
	// of the reader has a fixed cost in the Go runtime (timers, waking and
	// parking threads) that a few hundred records do not amortise: at 1k
	// HTTP requests/s (both ends traced, 4k records/s), polling every
	// 200 ms instead of 50 ms took the collector from 1.29-1.33% to
	// 0.91-0.93% of a core, at 2k from 0.90-0.92% to 0.73%. Spans wait
	// longer for it (the flush interval after the drain): nothing else
	// does, since what must not wait kicks the reader (see "Wakeups" in
	// bpf/socket_trace.c: Opens of new processes, execs, a ring a quarter
	// full).
	pollInterval = 200 * time.Millisecond
	// drainRecords bounds the records a drain should find while records
	// keep coming (nextPoll), down to busyPollInterval: a bigger burst is
	// a longer stretch of work that a traced server waking on the same CPU
	// may wait behind. At 5k requests/s (20k records/s), 200 ms polls
	// measured the server's p99 at 1.15-1.18x untraced against 0.98-1.02x
	// with 50 ms ones. Above that rate only the ring's room shortens the
	// sleep: at saturation (200k records/s) drains of 1000 records (every
	// 5 ms) took the traced nginx+wrk from 0.89-0.94x to 0.82-0.86x of
	// the floor's throughput with the kernel side alone.
	drainRecords     = 1000
	busyPollInterval = 50 * time.Millisecond
	// yieldEvery is how many records a drain handles between two
	// sched_yield calls. A drain handles what accumulated over up to
	// pollInterval: at 5k HTTP requests/s (both ends traced), a few
	// milliseconds of work in one go. The scheduler does not always
	// preempt it when the traced server wakes on this CPU, so requests
	// that arrived then waited for the whole burst: ebpfbench measured the
	// server's p99 latency at 1.45-2.0x untraced. Yielding every 32
	// records (~50-100 us of work; a yield with nobody waiting costs well
	// under a microsecond) brought it to 1.09-1.31x at 5k and 1.01-1.07x
	// at 2k, with no measurable change in CPU. It does not change the
	// collector's fair share of the CPU, only who runs first... as long as
	// the ring keeps up: with both cores saturated, yielding let the ring
	// fill and drop 16-47% of the records. So a drain yields only while
	// less than yieldBelow bytes wait in the ring (1/16 of the default
	// 8 MiB ring; a fixed size, so a bigger ring yields as seldom).
	yieldEvery       = 32
	yieldBelow       = 512 << 10
	maxPollInterval  = 200 * time.Millisecond
	fastPollInterval = time.Millisecond
)

// Config configures a Tracer. The zero value is valid: every field has a
// default.
type Config struct {
	// MaxChunkBytes caps the payload copied per Data event (the event's Size
	// still counts every byte). 1..MaxChunkBytesLimit; 0 means default.
	MaxChunkBytes uint32
	// RingBufferBytes is the size of the BPF ring buffer: a power of two in
	// MinRingBufferBytes..MaxRingBufferBytes; 0 means default (8 MiB).
	RingBufferBytes int
	// ExcludePIDs are not traced. The collector's own pid is always
	// excluded, in addition.
	ExcludePIDs []uint32
	// IncludePIDs, when not empty, are the only processes traced.
	IncludePIDs []uint32
	// TracefsPath is where tracefs is mounted (mounted there when missing).
	TracefsPath string
	// TLS makes an exec wake the reader at once, so that the ProcessHook
	// (see tls.go) probes the new image while the process still runs; the
	// TLS uprobes themselves are attached by the tlsprobe package.
	TLS bool
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.MaxChunkBytes == 0 {
		out.MaxChunkBytes = DefaultMaxChunkBytes
	}
	if out.RingBufferBytes == 0 {
		out.RingBufferBytes = DefaultRingBufferBytes
	}
	if out.TracefsPath == "" {
		out.TracefsPath = DefaultTracefsPath
	}
	return out
}

// Validate checks the configuration (after defaults are applied).
func (c *Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	if d.MaxChunkBytes > MaxChunkBytesLimit {
		errs = append(errs, fmt.Errorf("max chunk bytes %d is above the BPF limit of %d (use 1..%d, or 0 for the default %d)",
			d.MaxChunkBytes, MaxChunkBytesLimit, MaxChunkBytesLimit, DefaultMaxChunkBytes))
	}
	rb := d.RingBufferBytes
	if rb < MinRingBufferBytes || rb > MaxRingBufferBytes || rb&(rb-1) != 0 {
		errs = append(errs, fmt.Errorf("ring buffer bytes %d must be a power of two between %d (64 KiB) and %d (1 GiB), e.g. %d",
			rb, MinRingBufferBytes, MaxRingBufferBytes, DefaultRingBufferBytes))
	}
	if len(d.IncludePIDs) > MaxPIDFilter {
		errs = append(errs, fmt.Errorf("%d include pids: at most %d are supported", len(d.IncludePIDs), MaxPIDFilter))
	}
	if len(d.ExcludePIDs) > MaxPIDFilter {
		errs = append(errs, fmt.Errorf("%d exclude pids: at most %d are supported", len(d.ExcludePIDs), MaxPIDFilter))
	}
	for _, p := range append(append([]uint32(nil), d.IncludePIDs...), d.ExcludePIDs...) {
		if p == 0 {
			errs = append(errs, errors.New("pid 0 in include/exclude pids is not a process"))
			break
		}
	}
	if !strings.HasPrefix(d.TracefsPath, "/") {
		errs = append(errs, fmt.Errorf("tracefs path %q must be absolute", d.TracefsPath))
	}
	return errors.Join(errs...)
}

// ProgramStatus describes one BPF program and its tracepoint, for a start-up
// log.
type ProgramStatus struct {
	Name       string // BPF program name, e.g. "exit_read"
	Tracepoint string // "syscalls/sys_exit_read"
	Attached   bool
	Err        error // why it is not attached
}

// Stats are the tracer's counters since Start. Kernel counters are summed
// over CPUs; user-space counters count what reached the Handler.
type Stats struct {
	// Records is the number of ring records read (all kinds).
	Records uint64
	// Delivered to the Handler.
	Events       uint64 // all handler calls
	OpenEvents   uint64
	DataEvents   uint64
	CloseEvents  uint64
	DataBytes    uint64 // sum of Data.Size
	PayloadBytes uint64 // sum of len(Data.Payload)
	// ExitClosed counts the Close events reported because the process
	// exited or exec'd with the connection open (included in CloseEvents).
	ExitClosed uint64
	// Swept counts the Close events reported by a sweep after Close
	// records were dropped: the kernel side no longer had the connection
	// (included in CloseEvents).
	Swept uint64
	// Malformed counts ring records user space could not decode.
	Malformed uint64

	// Written to the ring by BPF.
	KernelOpenEvents   uint64
	KernelDataEvents   uint64
	KernelCloseEvents  uint64
	KernelDataBytes    uint64
	KernelPayloadBytes uint64
	KernelExitEvents   uint64 // traced processes that exited

	// Dropped in BPF, per reason.
	DropRingbufOpen  uint64 // ring full: Open lost
	DropRingbufData  uint64 // ring full: Data lost (Pos shows the gap)
	DropRingbufClose uint64 // ring full: Close lost
	DropRingbufExit  uint64 // ring full: process exit lost (its connections stay open)
	DropDataBytes    uint64 // Size of the lost Data records
	DropArgsMapFull  uint64 // always 0: the syscall args are read at exit, no per-thread map
	DropConnMapFull  uint64 // connection map update failed: call not traced
	DropNoScratch    uint64 // no scratch buffer (should never happen)

	// Partial captures (the record is still emitted).
	CappedChunks   uint64 // payload cut at MaxChunkBytes
	IovecTruncated uint64 // more iovecs than the BPF loop copies
	MmsgTruncated  uint64 // more messages than the BPF loop reports
	ReadFailed     uint64 // bpf_probe_read_user failed: payload short
	StaleConns     uint64 // connections dropped because the process exec'd

	// TLS (Config.TLS and the tlsprobe uprobes).
	TLSDataEvents       uint64 // plaintext Data delivered (included in DataEvents)
	KernelTLSDataEvents uint64 // plaintext Data written by BPF (included in KernelDataEvents)
	TLSNoFD             uint64 // TLS calls whose socket was not known: plaintext not reported
	TLSCipherBytes      uint64 // ciphertext bytes of TLS connections, not reported as Data
	KernelExecEvents    uint64 // exec records written
	DropRingbufExec     uint64 // ring full: exec record lost

	// Muted connections (see Mute).
	Muted      uint64 // connections Mute was asked for
	MutedBytes uint64 // Size of Data records BPF sent without payload, muted

	// Kicks counts the immediate wakeups of the reader by an Open or exec
	// (at most one per 5 ms; see "Wakeups" in bpf/socket_trace.c).
	Kicks uint64
}

// KernelRecords is the number of records BPF wrote to the ring; once the
// reader caught up it equals Records.
func (s Stats) KernelRecords() uint64 {
	return s.KernelOpenEvents + s.KernelDataEvents + s.KernelCloseEvents + s.KernelExitEvents +
		s.KernelExecEvents
}

// Drops is the number of records lost in the kernel.
func (s Stats) Drops() uint64 {
	return s.DropRingbufOpen + s.DropRingbufData + s.DropRingbufClose + s.DropRingbufExit +
		s.DropRingbufExec + s.DropArgsMapFull + s.DropConnMapFull + s.DropNoScratch
}

// Tracer traces socket syscalls and reports them to a sockevent.Handler.
type Tracer struct {
	cfg    Config
	h      sockevent.Handler
	logger *zap.Logger

	// lifeMu serializes Start and Close and guards started, closed,
	// links, reader and done. It is held while Close waits for the reader
	// goroutine, so the Handler must not call Start or Close.
	lifeMu  sync.Mutex
	started bool
	closed  bool
	links   []link.Link
	reader  *ring         // the data ring, read in place by run
	kicker  *kickWaiter   // the kick ring: wakes run at once (Opens, execs)
	kicked  chan struct{} // closed when the kick goroutine is done

	// mu guards coll, progs, progIDs and lastKernel; held only briefly,
	// so the Handler may call Stats, Programs and ProgramIDs.
	mu      sync.Mutex
	coll    *ebpf.Collection
	progs   []ProgramStatus
	progIDs []ebpf.ProgramID

	done     chan struct{}
	wake     chan struct{} // teardown wakes the reader to drain and stop
	stopping atomic.Bool

	clockOffset int64 // Unix ns - monotonic ns

	// user-space counters (written by the reader goroutine)
	nRecords, nEvents, nOpen, nData, nClose, nDataBytes, nPayload, nMalformed, nExitClosed atomic.Uint64
	nTLSData, nMuted, nKicks, nSwept                                                       atomic.Uint64
	pend                                                                                   pendingCounts // see publish; owned by the reader goroutine

	hook      atomic.Pointer[ProcessHook] // see SetProcessHook
	drainHook func(next time.Duration)    // see SetDrainHook

	// sweptDrops: the Close and exit drops counted at the last sweep
	// (events.go; reader goroutine).
	sweptDrops uint64

	// Owned by the reader goroutine: open connections per pid, closed by
	// a process-exit record, and the BPF conns map to read their totals.
	live     map[uint32]map[int32]uint64
	connsMap *ebpf.Map
	mutedMap *ebpf.Map
	// known holds the processes put in the known_procs map (reader
	// goroutine only): their Opens no longer kick (see markKnown).
	known      map[uint32]struct{}
	knownProcs *ebpf.Map

	lastKernel [socketTraceCounterCNT_MAX]uint64

	data sockevent.Data // reused for every Data record
}

// New validates cfg and returns a Tracer that is not started yet.
func New(cfg Config, h sockevent.Handler, logger *zap.Logger) (*Tracer, error) {
	if h == nil {
		return nil, errors.New("tracer: nil handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tracer config: %w", err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Tracer{cfg: cfg.withDefaults(), h: h, logger: logger}, nil
}

// Start mounts tracefs if needed, loads the BPF programs, attaches them and
// starts the goroutine that reads the ring buffer.
func (t *Tracer) Start() (err error) {
	t.lifeMu.Lock()
	defer t.lifeMu.Unlock()
	if t.closed {
		return errors.New("tracer: Start after Close (create a new Tracer)")
	}
	if t.started {
		return errors.New("tracer: already started")
	}
	t.started = true
	defer func() {
		if err != nil {
			t.teardown()
		}
	}()

	if err := MountTracefs(t.cfg.TracefsPath); err != nil {
		return fmt.Errorf("socket tracer: %w", err)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		// Kernels >= 5.11 account BPF memory to the cgroup; only older
		// ones need RLIMIT_MEMLOCK raised.
		t.logger.Debug("could not raise RLIMIT_MEMLOCK", zap.Error(err))
	}

	spec, err := loadSocketTrace()
	if err != nil {
		return fmt.Errorf("socket tracer: %w", err)
	}
	if err := t.configureSpec(spec); err != nil {
		return fmt.Errorf("socket tracer: %w", err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return fmt.Errorf("socket tracer: loading BPF programs: %w", explainLoadError(err))
	}
	t.mu.Lock()
	t.coll = coll
	t.mu.Unlock()
	if err := t.fillPIDMaps(coll); err != nil {
		return fmt.Errorf("socket tracer: %w", err)
	}

	if err := t.attach(spec, coll); err != nil {
		return err
	}

	t.reader, err = newRing(coll.Maps[socketTraceMapEvents])
	if err != nil {
		return fmt.Errorf("socket tracer: opening the ring buffer reader: %w", err)
	}
	t.kicker, err = newKickWaiter(coll.Maps[socketTraceMapKickRing])
	if err != nil {
		return fmt.Errorf("socket tracer: opening the kick ring: %w", err)
	}
	t.connsMap = coll.Maps[socketTraceMapConns]
	t.mutedMap = coll.Maps[socketTraceMapMuted]
	t.knownProcs = coll.Maps[socketTraceMapKnownProcs]
	t.known = make(map[uint32]struct{})
	t.clockOffset = monoToUnixOffset()
	t.done = make(chan struct{})
	t.wake = make(chan struct{}, 1)
	t.kicked = make(chan struct{})
	go t.run()
	go t.kicks()
	t.logger.Info("socket tracer started",
		zap.Int("programs_attached", len(t.links)),
		zap.Uint32("max_chunk_bytes", t.cfg.MaxChunkBytes),
		zap.Int("ring_buffer_bytes", t.cfg.RingBufferBytes))
	return nil
}

func (t *Tracer) configureSpec(spec *ebpf.CollectionSpec) error {
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return fmt.Errorf("counting possible CPUs: %w", err)
	}
	spec.Maps[socketTraceMapScratchMap].MaxEntries = uint32(ncpu)
	spec.Maps[socketTraceMapTlsScratchMap].MaxEntries = uint32(ncpu)
	spec.Maps[socketTraceMapEvents].MaxEntries = uint32(t.cfg.RingBufferBytes)

	vars := map[string]any{
		socketTraceVarSelfTgid:      uint32(os.Getpid()),
		socketTraceVarMaxChunk:      t.cfg.MaxChunkBytes,
		socketTraceVarFilterInclude: boolByte(len(t.cfg.IncludePIDs) > 0),
		socketTraceVarFilterExclude: boolByte(len(t.cfg.ExcludePIDs) > 0),
		socketTraceVarExecKick:      boolByte(t.cfg.TLS),
		socketTraceVarKickFill:      uint64(t.cfg.RingBufferBytes / 4),
	}
	for name, v := range vars {
		vs, ok := spec.Variables[name]
		if !ok {
			return fmt.Errorf("BPF object has no variable %q (stale generated files? run go generate)", name)
		}
		if err := vs.Set(v); err != nil {
			return fmt.Errorf("setting %s: %w", name, err)
		}
	}
	return nil
}

func (t *Tracer) fillPIDMaps(coll *ebpf.Collection) error {
	one := uint8(1)
	for _, p := range t.cfg.IncludePIDs {
		if err := coll.Maps[socketTraceMapIncludePids].Put(p, one); err != nil {
			return fmt.Errorf("filling include_pids: %w", err)
		}
	}
	for _, p := range t.cfg.ExcludePIDs {
		if err := coll.Maps[socketTraceMapExcludePids].Put(p, one); err != nil {
			return fmt.Errorf("filling exclude_pids: %w", err)
		}
	}
	return nil
}

// attach attaches every program to its tracepoint, exit programs first, in
// a stable order. A tracepoint missing from this kernel is reported in Programs() and skipped;
// any other failure fails Start.
func (t *Tracer) attach(spec *ebpf.CollectionSpec, coll *ebpf.Collection) error {
	var progs []ProgramStatus
	var ids []ebpf.ProgramID
	defer func() {
		t.mu.Lock()
		t.progs, t.progIDs = progs, ids
		t.mu.Unlock()
	}()
	type tp struct{ name, group, event string }
	var tps []tp
	for name, ps := range spec.Programs {
		if skipProgram(ps) {
			// uprobes: attached per binary by tlsprobe; their IDs are
			// listed for bpf_stats when TLS is on.
			if t.cfg.TLS && ps.Type == ebpf.Kprobe {
				if info, err := coll.Programs[name].Info(); err == nil {
					if id, ok := info.ID(); ok {
						ids = append(ids, id)
					}
				}
			}
			continue
		}
		group, event, ok := tracepointOf(ps.SectionName)
		if !ok {
			return fmt.Errorf("socket tracer: program %s has unexpected section %q", name, ps.SectionName)
		}
		tps = append(tps, tp{name, group, event})
	}
	sort.Slice(tps, func(i, j int) bool {
		ei, ej := strings.Contains(tps[i].event, "_exit_"), strings.Contains(tps[j].event, "_exit_")
		if ei != ej {
			return ei
		}
		return tps[i].event < tps[j].event
	})
	for _, p := range tps {
		prog := coll.Programs[p.name]
		st := ProgramStatus{Name: p.name, Tracepoint: p.group + "/" + p.event}
		if info, err := prog.Info(); err == nil {
			if id, ok := info.ID(); ok {
				ids = append(ids, id)
			}
		}
		l, err := link.Tracepoint(p.group, p.event, prog, nil)
		if err != nil {
			st.Err = err
			progs = append(progs, st)
			if errors.Is(err, os.ErrNotExist) {
				t.logger.Warn("tracepoint not available on this kernel; skipped",
					zap.String("program", p.name), zap.String("tracepoint", st.Tracepoint), zap.Error(err))
				continue
			}
			return fmt.Errorf("socket tracer: attaching %s to tracepoint %s: %w%s",
				p.name, st.Tracepoint, err, permHint(err))
		}
		st.Attached = true
		progs = append(progs, st)
		t.links = append(t.links, l)
	}
	if len(t.links) == 0 {
		return fmt.Errorf("socket tracer: no syscall tracepoint could be attached (is %s/events/syscalls present? the kernel needs CONFIG_FTRACE_SYSCALLS)", t.cfg.TracefsPath)
	}
	return nil
}

func tracepointOf(section string) (group, event string, ok bool) {
	parts := strings.Split(section, "/")
	if len(parts) != 3 || parts[0] != "tracepoint" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

func explainLoadError(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("the kernel verifier rejected a program (kernel too old or BPF bug): %w", err)
	}
	return fmt.Errorf("%w%s", err, permHint(err))
}

func permHint(err error) string {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return " (needs root, or CAP_BPF + CAP_PERFMON (+ CAP_SYS_RESOURCE on kernels before 5.11); check kernel.unprivileged_bpf_disabled / lockdown)"
	}
	return ""
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Programs reports, for each BPF program, its tracepoint and whether it is
// attached. Empty before Start.
func (t *Tracer) Programs() []ProgramStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]ProgramStatus(nil), t.progs...)
}

// ProgramIDs returns the kernel IDs of the loaded programs (for reading
// bpf_stats run_time_ns / run_cnt). Empty before Start.
func (t *Tracer) ProgramIDs() []ebpf.ProgramID {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]ebpf.ProgramID(nil), t.progIDs...)
}

// Stats returns the counters. Kernel counters are zero before Start and keep
// their final values after Close.
func (t *Tracer) Stats() Stats {
	s := Stats{
		Records:      t.nRecords.Load(),
		Events:       t.nEvents.Load(),
		OpenEvents:   t.nOpen.Load(),
		DataEvents:   t.nData.Load(),
		CloseEvents:  t.nClose.Load(),
		DataBytes:    t.nDataBytes.Load(),
		PayloadBytes: t.nPayload.Load(),
		Malformed:    t.nMalformed.Load(),
		ExitClosed:   t.nExitClosed.Load(),
		Swept:        t.nSwept.Load(),
	}
	t.mu.Lock()
	c := t.kernelCounters()
	t.mu.Unlock()
	s.KernelOpenEvents = c[socketTraceCounterCNT_OPEN_EVENTS]
	s.KernelDataEvents = c[socketTraceCounterCNT_DATA_EVENTS]
	s.KernelCloseEvents = c[socketTraceCounterCNT_CLOSE_EVENTS]
	s.KernelDataBytes = c[socketTraceCounterCNT_DATA_BYTES]
	s.KernelPayloadBytes = c[socketTraceCounterCNT_PAYLOAD_BYTES]
	s.DropRingbufOpen = c[socketTraceCounterCNT_DROP_RB_OPEN]
	s.DropRingbufData = c[socketTraceCounterCNT_DROP_RB_DATA]
	s.DropRingbufClose = c[socketTraceCounterCNT_DROP_RB_CLOSE]
	s.DropDataBytes = c[socketTraceCounterCNT_DROP_DATA_BYTES]
	s.DropArgsMapFull = c[socketTraceCounterCNT_DROP_ARGS_FULL]
	s.DropConnMapFull = c[socketTraceCounterCNT_DROP_CONN_FULL]
	s.DropNoScratch = c[socketTraceCounterCNT_DROP_NO_SCRATCH]
	s.IovecTruncated = c[socketTraceCounterCNT_IOV_TRUNCATED]
	s.MmsgTruncated = c[socketTraceCounterCNT_MMSG_TRUNCATED]
	s.ReadFailed = c[socketTraceCounterCNT_READ_FAILED]
	s.CappedChunks = c[socketTraceCounterCNT_CAPPED]
	s.StaleConns = c[socketTraceCounterCNT_STALE_CONN]
	s.KernelExitEvents = c[socketTraceCounterCNT_EXIT_EVENTS]
	s.DropRingbufExit = c[socketTraceCounterCNT_DROP_RB_EXIT]
	s.KernelTLSDataEvents = c[socketTraceCounterCNT_TLS_DATA_EVENTS]
	s.TLSNoFD = c[socketTraceCounterCNT_TLS_NO_FD]
	s.TLSCipherBytes = c[socketTraceCounterCNT_TLS_CIPHER_BYTES]
	s.KernelExecEvents = c[socketTraceCounterCNT_EXEC_EVENTS]
	s.DropRingbufExec = c[socketTraceCounterCNT_DROP_RB_EXEC]
	s.MutedBytes = c[socketTraceCounterCNT_MUTED_BYTES]
	s.Muted = t.nMuted.Load()
	s.Kicks = t.nKicks.Load()
	s.TLSDataEvents = t.nTLSData.Load()
	return s
}

// kernelCounters sums the BPF per-CPU counters (the last values read, once
// the maps are gone). Called with t.mu held.
func (t *Tracer) kernelCounters() [socketTraceCounterCNT_MAX]uint64 {
	if t.coll == nil {
		return t.lastKernel
	}
	var k []socketTraceCounters
	var zero uint32
	if err := t.coll.Maps[socketTraceMapCountersMap].Lookup(&zero, &k); err != nil {
		t.logger.Debug("reading BPF counters", zap.Error(err))
		return t.lastKernel
	}
	var c [socketTraceCounterCNT_MAX]uint64
	for _, cpu := range k {
		for i := range c {
			c[i] += cpu.C[i]
		}
	}
	t.lastKernel = c
	return c
}

// Close detaches every program, delivers the records already in the ring,
// stops the reader and frees every map and program. It is idempotent. It
// waits for the Handler to return and must not be called from it.
func (t *Tracer) Close() error {
	t.lifeMu.Lock()
	defer t.lifeMu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	return t.teardown()
}

// teardown releases everything Start acquired. Called with t.lifeMu held.
func (t *Tracer) teardown() error {
	var errs []error
	if err := closeLinks(t.links); err != nil {
		errs = append(errs, fmt.Errorf("detaching: %w", err))
	}
	t.links = nil
	if t.kicker != nil {
		_ = t.kicker.interrupt() // unblocks kicks
		if t.kicked != nil {
			<-t.kicked
		}
		if err := t.kicker.close(); err != nil {
			errs = append(errs, fmt.Errorf("unmapping the kick ring: %w", err))
		}
		t.kicker = nil
	}
	if t.reader != nil {
		if t.done != nil {
			// Deliver what is still in the ring, then stop.
			t.stopping.Store(true)
			select {
			case t.wake <- struct{}{}:
			default:
			}
			select {
			case <-t.done:
			case <-time.After(2 * time.Second):
				t.logger.Warn("socket tracer: handler did not drain the ring in 2s; still waiting")
				<-t.done // the ring is read in place: unmap it only after
			}
		}
		if err := t.reader.close(); err != nil {
			errs = append(errs, fmt.Errorf("closing ring reader: %w", err))
		}
		t.reader = nil
	}
	t.mu.Lock()
	for i := range t.progs {
		t.progs[i].Attached = false
	}
	if t.coll != nil {
		t.kernelCounters() // keep the final values for Stats()
		t.coll.Close()
		t.coll = nil
	}
	t.mu.Unlock()
	return errors.Join(errs...)
}

// closeLinks detaches links concurrently: each detach of a syscall
// tracepoint waits for an RCU grace period (tens of ms), and waiting for them
// one after the other would make Close take seconds.
func closeLinks(links []link.Link) error {
	errs := make([]error, len(links))
	var wg sync.WaitGroup
	for i, l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// run is the reader goroutine. It never blocks in the ring's epoll: a
// thread parked in epoll_wait holds its P in a syscall, and the Go runtime's
// sysmon then runs at its fastest rate (a wake-up every 20 µs) and hands the
// P off on every wait, which cost more CPU at a few thousand records a second
// than reading them. Instead it sleeps on a Go timer and drains the ring
// without blocking (AvailableBytes reads the ring's positions from shared
// memory: no syscall when it is empty). The BPF side submits with
// BPF_RB_NO_WAKEUP for the same reason. A drain that found more than an
// eighth of the ring shortens the next sleep, so bursts do not fill it.
func (t *Tracer) run() {
	defer close(t.done)
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	interval := pollInterval
	size := t.reader.size()
	last := time.Now()
	lastSweep := last
	for {
		stopping := t.stopping.Load()
		now := time.Now()
		n, recs := t.drain()
		t.publish()
		if stopping {
			return
		}
		interval = nextPoll(interval, n, recs, size, now.Sub(last))
		last = now
		if t.drainHook != nil {
			t.drainHook(interval)
		}
		if now.Sub(lastSweep) >= sweepEvery {
			lastSweep = now
			t.maybeSweep()
		}
		timer.Reset(interval)
		select {
		case <-timer.C:
		case <-t.wake:
		}
	}
}

// kicks waits on the kick ring (see "Wakeups" in bpf/socket_trace.c) and
// wakes run whenever records came: a new connection or process is looked
// at in /proc and for TLS libraries while it still exists. It waits in the
// Go poller (kickWaiter), not a poll: it costs nothing idle.
func (t *Tracer) kicks() {
	defer close(t.kicked)
	for {
		n, err := t.kicker.wait()
		if err != nil {
			if t.kicker.closed.Load() {
				return
			}
			t.logger.Error("socket tracer: reading the kick ring", zap.Error(err))
			if n == 0 {
				time.Sleep(pollInterval)
				continue
			}
		}
		t.nKicks.Add(uint64(n))
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// SetDrainHook sets f, which the reader goroutine calls after every drain
// with the sleep it is about to take (nextPoll; a kick may end it sooner,
// and it is never longer than 200 ms). Work that must follow the records,
// such as handing finished spans on, is done there rather than on a timer
// of its own: the reader wakes anyway, and every other wakeup of the
// process costs the Go runtime a thread wakeup or two. f must be set before
// Start and must not block: the ring fills meanwhile.
func (t *Tracer) SetDrainHook(f func(next time.Duration)) {
	t.drainHook = f
}

// drain dispatches every record in the ring and returns their bytes and
// number.
func (t *Tracer) drain() (n, recs int) {
	for ; ; recs++ {
		sample, ok, err := t.reader.next()
		if err != nil {
			// Only a kernel bug could get here; skip what is there
			// rather than fail on it forever.
			t.logger.Error("socket tracer: reading the ring buffer; skipping its contents", zap.Error(err))
			t.nMalformed.Add(1)
			t.reader.skipAll()
			return n, recs
		}
		if !ok {
			return n, recs
		}
		t.dispatch(sample)
		t.reader.release(sample)
		n += len(sample) + ringHdrSize
		if (recs+1)%yieldEvery == 0 && t.reader.available() < yieldBelow {
			// Let a task woken on this CPU run now rather than after
			// the whole burst (see yieldEvery). RawSyscall: a
			// Syscall would tell the Go runtime that this thread may
			// block, and the first one after the process was idle
			// wakes sysmon and resets its poll to 20 µs (see
			// rawSyscalls).
			_, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
}

// nextPoll is the sleep before the next drain, given the last sleep, the
// bytes and records the drain read from a ring of size bytes and the time
// since the drain before (the span they arrived in): back off while idle;
// else sleep as long as it takes records at that rate to fill an eighth of
// the ring or (but not less than busyPollInterval) to number drainRecords,
// whichever comes first, within [fastPollInterval, pollInterval]. At
// 100 MB/s of records (an 8 MiB ring, both ends of 45k HTTP requests/s)
// that is ~10 ms (the ring keeps seven eighths of its room for bursts and
// for the drain itself), at 20k records/s and more 50 ms, at 4k records/s
// the full pollInterval.
func nextPoll(last time.Duration, n, recs, size int, since time.Duration) time.Duration {
	if n == 0 {
		return min(2*last, maxPollInterval)
	}
	if since <= 0 {
		return fastPollInterval
	}
	// size/8 bytes at n bytes per since.
	d := time.Duration(float64(since) * float64(size/8) / float64(n))
	// drainRecords at recs per since, not below busyPollInterval.
	if recs > 0 {
		d = min(d, max(time.Duration(float64(since)*drainRecords/float64(recs)), busyPollInterval))
	}
	return min(max(d, fastPollInterval), pollInterval)
}

// maxKnown bounds the known set (the BPF map is an LRU of that size).
const maxKnown = 16384

// markKnown tells the kernel side that the handler has seen an Open of pid
// (and so looked at its /proc entry): its next Opens need not wake the
// reader at once (see "Wakeups" in bpf/socket_trace.c). Once per process;
// its exit record forgets it. unknown (the Open's b3) says the kernel side does not have it: an exit
// or exec record dropped on a full ring (the kernel forgets the pid before
// writing it) or an LRU eviction; it is marked again whatever known says.
func (t *Tracer) markKnown(pid uint32, unknown bool) {
	if t.knownProcs == nil {
		return
	}
	if _, ok := t.known[pid]; ok && !unknown {
		return
	}
	if len(t.known) >= maxKnown {
		clear(t.known) // re-marked on their next Open
	}
	one := uint8(1)
	if err := t.knownProcs.Update(&pid, &one, ebpf.UpdateAny); err != nil {
		t.logger.Debug("socket tracer: marking a process known", zap.Error(err))
		return
	}
	t.known[pid] = struct{}{}
}

// Mute tells the kernel side that nobody parses the payload of connection
// id (no protocol was recognised in it): its Data records keep their Size
// and Pos, so byte counts stay exact, but carry no payload from then on,
// which saves the copy in BPF and the ring space. It takes effect within a
// few of the connection's syscalls (see "Muted connections" in
// bpf/socket_trace.c). Safe to call from the Handler; a no-op once closed.
func (t *Tracer) Mute(id sockevent.ConnID) {
	m := t.mutedMap
	if m == nil || id.FD < 0 {
		return
	}
	key := connsKey(id.PID, id.FD)
	gen := id.Gen
	if err := m.Update(&key, &gen, ebpf.UpdateAny); err != nil {
		t.logger.Debug("socket tracer: muting a connection", zap.Error(err))
		return
	}
	t.nMuted.Add(1)
}

// monoToUnixOffset returns CLOCK_REALTIME - CLOCK_MONOTONIC in ns (the
// clock bpf_ktime_get_ns reads), from the tightest of a few samples.
func monoToUnixOffset() int64 {
	best := int64(1<<63 - 1)
	var off int64
	for range 5 {
		var m1, r, m2 unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &m1)
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &r)
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &m2)
		if d := m2.Nano() - m1.Nano(); d < best {
			best = d
			off = r.Nano() - (m1.Nano() + d/2)
		}
	}
	return off
}

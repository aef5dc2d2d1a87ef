// Command ebpfbench measures what the ebpf receiver costs, as ratios taken in
// one run (see ../shared/PERFORMANCE.md): nginx on loopback under wrk with
// nothing attached ("none"), with counting-only programs on the same
// tracepoints ("floor"), and with the full receiver ("ours"), alternating the
// variants round by round and quoting medians. It also measures the capture
// ratio (sequence-numbered requests seen in spans) at fixed rates.
//
// Run as root: `make bench` (or go run ./receiver/ebpfreceiver/internal/ebpfbench).
// It needs nginx and wrk (Debian packages nginx-light, wrk).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tracer"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "loadgen" {
		if err := runLoadgen(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "workserver" {
		if err := runWorkServer(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "workserver:", err)
			os.Exit(1)
		}
		return
	}
	rounds := flag.Int("rounds", 4, "rounds of none/floor/ours")
	dur := flag.Duration("duration", 5*time.Second, "wrk duration per variant per round")
	conns := flag.Int("conns", 16, "wrk connections")
	rates := flag.String("rates", "1000,2000,5000", "fixed rates for the capture-ratio runs")
	perRate := flag.Duration("capture-seconds", 4*time.Second, "length of each capture-ratio run")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	withMetrics = flag.Bool("metrics", false, "also run the receiver's metrics and logs outputs (RED, conn_stats, process_stats), as the default config does")
	progStats = flag.Bool("progstats", false, "print each BPF program's runs and ns per request")
	captureHeaders := flag.Bool("capture-headers", false, "capture-ratio runs with http.capture_headers on")
	latRounds = flag.Int("rate-rounds", 3, "none/ours alternations per fixed rate (medians of CPU and latency)")
	idle := flag.Duration("idle", 3*time.Second, "measure the receiver's CPU with no benchmark traffic for this long (0: skip)")
	newConnRates := flag.String("new-conn-rates", "1000", "fixed rates run again with a new connection per request (Connection: close); empty: skip")
	allTraffic := flag.Bool("all-traffic", false, "parse every connection on the node, not only the benchmark's")
	work := flag.Duration("work", 100*time.Microsecond, "the fixed-rate runs go to a Go server doing this much CPU work per request (0: to nginx)")
	withKernel = flag.Bool("kernel", false, "add a variant with only the socket tracer (records read and dropped, nothing parsed)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "ebpfbench loads eBPF programs: run it as root")
		os.Exit(1)
	}
	if err := run(*rounds, *dur, *conns, *rates, *newConnRates, *perRate, *allTraffic, *captureHeaders, *idle, *work); err != nil {
		fmt.Fprintln(os.Stderr, "ebpfbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// progStats selects the per-program breakdown of BPF time; withMetrics
// puts the receiver in metrics and logs pipelines too.
var progStats, withMetrics, withKernel *bool

// latRounds is how many none/ours pairs each fixed rate runs.
var latRounds *int

// variant is one thing attached (or nothing) during a wrk run.
type variant interface {
	name() string
	start() error
	programIDs() []ebpf.ProgramID
	stop() error
}

type noneVariant struct{}

func (noneVariant) name() string                 { return "none" }
func (noneVariant) start() error                 { return nil }
func (noneVariant) programIDs() []ebpf.ProgramID { return nil }
func (noneVariant) stop() error                  { return nil }

type floorVariant struct{ f *tracer.Floor }

func (v *floorVariant) name() string { return "floor" }
func (v *floorVariant) start() (err error) {
	v.f, err = tracer.StartFloor("/sys/kernel/tracing")
	return err
}
func (v *floorVariant) programIDs() []ebpf.ProgramID { return v.f.ProgramIDs() }
func (v *floorVariant) stop() error                  { return v.f.Close() }

// kernelVariant runs the socket tracer alone, with a handler that drops
// every record: the kernel side and the ring's reader, without parsing or
// spans. Set against floor and ours, it splits our cost into the part paid
// in the traced programs' syscalls and the part paid in user space.
type kernelVariant struct{ t *tracer.Tracer }

type dropHandler struct{}

func (dropHandler) OnOpen(*sockevent.Open)   {}
func (dropHandler) OnData(*sockevent.Data)   {}
func (dropHandler) OnClose(*sockevent.Close) {}

func (v *kernelVariant) name() string { return "kernel" }
func (v *kernelVariant) start() (err error) {
	v.t, err = tracer.New(tracer.Config{}, dropHandler{}, zap.NewNop())
	if err != nil {
		return err
	}
	if err = v.t.Start(); err != nil {
		v.t = nil
	}
	return err
}
func (v *kernelVariant) programIDs() []ebpf.ProgramID { return v.t.ProgramIDs() }
func (v *kernelVariant) stop() error {
	if v.t == nil {
		return nil
	}
	err := v.t.Close()
	v.t = nil
	return err
}

// oursVariant runs the real receiver with a consumer that counts spans and
// remembers the X-Seq header values it sees.
type oursVariant struct {
	rcv     receiver.Traces
	headers bool
	port    uint16 // when set, only connections to/from this port are parsed
	mu      sync.Mutex
	spans   int
	seqs    [2]seqSet // server, client
}

// seqSet is the set of sequence numbers seen, as a bitmap: the consumer
// runs in the collector's process, and a map insert per span was a tenth
// of the CPU this benchmark charges to the receiver at 2k requests/s.
type seqSet struct {
	bits []uint64
	n    int
}

func (s *seqSet) add(seq int) {
	if seq < 0 || seq > 1<<28 {
		return
	}
	w := seq / 64
	if w >= len(s.bits) {
		s.bits = append(s.bits, make([]uint64, 2*(w+1)-len(s.bits))...)
	}
	if s.bits[w]&(1<<(seq%64)) == 0 {
		s.bits[w] |= 1 << (seq % 64)
		s.n++
	}
}

func (v *oursVariant) name() string { return "ours" }

func (v *oursVariant) start() error {
	v.seqs = [2]seqSet{}
	v.spans = 0
	f := ebpfreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*ebpfreceiver.Config)
	cfg.HTTP.CaptureHeaders = v.headers
	if v.port != 0 {
		cfg.Filter.IncludePorts = []uint16{v.port}
	}
	next, _ := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		// This check stands in for a pipeline's exporter but costs more
		// (an attribute lookup and an Atoi per span: 5% of what the
		// process spent at 2k requests/s), so its own CPU is taken out of
		// the collector's figures (cpuTime).
		v.mu.Lock()
		defer v.mu.Unlock()
		// Locked to its thread, so both readings are of the same thread.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0 := threadCPU()
		defer func() { consumerCPU.Add(int64(threadCPU() - t0)) }()
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					v.spans++
					s := spans.At(k)
					// The loadgen puts the sequence number in the
					// query (seq=N) and in an X-Seq header.
					seq := ""
					if q, ok := s.Attributes().Get("url.query"); ok {
						seq = strings.TrimPrefix(q.Str(), "seq=")
					} else if h, ok := s.Attributes().Get("http.request.header.x-seq"); ok && h.Slice().Len() > 0 {
						seq = h.Slice().At(0).AsString()
					}
					if n, err := strconv.Atoi(seq); err == nil {
						kind := 0
						if s.Kind() == ptrace.SpanKindClient {
							kind = 1
						}
						v.seqs[kind].add(n)
					}
				}
			}
		}
		return nil
	})
	rcv, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
	if err != nil {
		return err
	}
	if *withMetrics {
		// The default config's metrics and logs pipelines: the same
		// receiver instance also derives RED, connection and process
		// metrics and conn_stats events (into nop consumers).
		cfg.Metrics.Interval = 10 * time.Second
		if _, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop()); err != nil {
			return err
		}
		if _, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop()); err != nil {
			return err
		}
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return err
	}
	v.rcv = rcv
	return nil
}

func (v *oursVariant) programIDs() []ebpf.ProgramID {
	return ebpfreceiver.ProgramIDs(v.rcv)
}

func (v *oursVariant) stop() error {
	if v.rcv == nil {
		return nil
	}
	err := v.rcv.Shutdown(context.Background())
	v.rcv = nil
	return err
}

// cpuDuring starts the receiver, lets it settle, and returns this
// process's CPU and the Go runtime's estimate of its GC's CPU (% of one
// core) while f runs. The caller stops it.
func (v *oursVariant) cpuDuring(f func() error) (cpu, gc float64, err error) {
	if err := v.start(); err != nil {
		return 0, 0, err
	}
	time.Sleep(300 * time.Millisecond)
	cpu0, gc0 := cpuTime(), gcTime()
	t0 := time.Now()
	err = f()
	wall := time.Since(t0).Seconds()
	return (cpuTime() - cpu0).Seconds() / wall * 100, (gcTime() - gc0).Seconds() / wall * 100, err
}

// spansAfterStop stops the receiver (delivering what it still holds) and
// returns the spans it produced.
func (v *oursVariant) spansAfterStop() int {
	if st, ok := ebpfreceiver.TracerStats(v.rcv); ok && st.Drops() > 0 {
		fmt.Printf("    ours: %d of %d records dropped in the kernel (ring buffer full: data %d, open %d, close %d)\n",
			st.Drops(), st.KernelRecords()+st.Drops(), st.DropRingbufData, st.DropRingbufOpen, st.DropRingbufClose)
	}
	_ = v.stop()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.spans
}

type sample struct {
	rps      float64
	requests float64
	cpuPct   float64 // this process's CPU over the run, % of one core
	gcPct    float64 // of which the Go GC's (the runtime's estimate)
	bpfNs    float64 // BPF run time per request
	spans    float64 // spans per request (2: client and server), -1 when not counted
}

// benchPort is nginx's port, unless every connection on the node is to be
// parsed: other work on a shared machine would otherwise count as ours.
func benchPort(addr string, all bool) uint16 {
	if all {
		return 0
	}
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return uint16(n)
}

func run(rounds int, dur time.Duration, conns int, rates, newConnRates string, perRate time.Duration, allTraffic bool,
	captureHeaders bool, idle, work time.Duration) error {
	for _, bin := range []string{"nginx", "wrk"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found: apt-get install nginx-light wrk", bin)
		}
	}
	addr, stopNginx, err := startNginx()
	if err != nil {
		return err
	}
	defer stopNginx()
	restore := enableBPFStats()
	defer restore()

	fmt.Printf("ebpfbench: nginx (800 B file) on %s, wrk -t1 -c%d -d%s, %d rounds, variants alternated\n", addr, conns, dur, rounds)
	port := benchPort(addr, allTraffic)
	if port != 0 {
		fmt.Printf("ebpfbench: the receiver parses only connections on port %d (filter.include_ports); -all-traffic parses everything on the node\n", port)
	}
	variants := []variant{noneVariant{}, &floorVariant{}, &oursVariant{port: port}}
	if *withKernel {
		variants = slices.Insert(variants, 2, variant(&kernelVariant{}))
	}
	results := map[string][]sample{}
	for r := 0; r < rounds; r++ {
		for _, v := range variants {
			s, err := measure(v, addr, dur, conns)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, v.name(), err)
			}
			results[v.name()] = append(results[v.name()], s)
			fmt.Printf("  round %d %-5s %8.0f req/s  cpu %5.1f%%  bpf %6.0f ns/req", r+1, v.name(), s.rps, s.cpuPct, s.bpfNs)
			if s.spans >= 0 {
				fmt.Printf("  spans %.3f/req", s.spans)
			}
			fmt.Println()
		}
	}
	none := median(results["none"], func(s sample) float64 { return s.rps })
	floor := median(results["floor"], func(s sample) float64 { return s.rps })
	fmt.Println()
	fmt.Println("collector CPU: this process's CPU less the benchmark's own span consumer (its sequence-number check);")
	fmt.Println("GC: the Go runtime's estimate of the CPU its garbage collector used (runtime/metrics), part of the collector's")
	fmt.Println("| variant | req/s (median) | ratio to none | ratio to floor | collector CPU % | of which GC % | CPU % per 1k req/s | BPF ns/request | spans/request |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, v := range variants {
		ss := results[v.name()]
		rps := median(ss, func(s sample) float64 { return s.rps })
		cpu := median(ss, func(s sample) float64 { return s.cpuPct })
		spans := "–"
		if sp := median(ss, func(s sample) float64 { return s.spans }); sp >= 0 {
			spans = fmt.Sprintf("%.3f", sp)
		}
		fmt.Printf("| %s | %.0f | %.3f | %.3f | %.1f | %.1f | %.2f | %.0f | %s |\n", v.name(), rps, rps/none, rps/floor,
			cpu, median(ss, func(s sample) float64 { return s.gcPct }), cpu/(rps/1000),
			median(ss, func(s sample) float64 { return s.bpfNs }), spans)
	}

	fmt.Println()
	if idle > 0 {
		ours := &oursVariant{headers: captureHeaders, port: port}
		cpu, _, err := ours.cpuDuring(func() error { time.Sleep(idle); return nil })
		_ = ours.stop()
		if err != nil {
			return err
		}
		fmt.Printf("idle (receiver running, no benchmark traffic, %v): collector CPU %.2f%%\n", idle, cpu)
	}
	if strings.TrimSpace(rates+newConnRates) == "" {
		return nil
	}
	// The fixed rates: a server doing some work per request (see
	// workserver.go), or nginx with -work 0.
	target := "nginx serving 800 B"
	if work > 0 {
		waddr, stop, err := startWorkServer(work)
		if err != nil {
			return err
		}
		defer stop()
		addr, port = waddr, benchPort(waddr, allTraffic)
		target = fmt.Sprintf("a Go net/http server doing %v of CPU work per request, 800 B", work)
	}
	fmt.Printf("fixed rates: the server is %s\n", target)
	if err := fixedRates(addr, port, rates, perRate, captureHeaders, false); err != nil {
		return err
	}
	if strings.TrimSpace(newConnRates) != "" {
		fmt.Println()
		return fixedRates(addr, port, newConnRates, perRate, captureHeaders, true)
	}
	return nil
}

// fixedRates runs the loadgen at each of rates (comma-separated), untraced
// and traced alternately, and prints the capture ratio, the collector's CPU
// and the latencies; closeEach opens a connection per request.
func fixedRates(addr string, port uint16, rates string, perRate time.Duration, captureHeaders, closeEach bool) error {
	if strings.TrimSpace(rates) == "" {
		return nil
	}
	connMode := "keep-alive"
	if closeEach {
		connMode = "a new connection per request"
	}
	fmt.Printf("capture ratio: sequence-numbered requests (?seq=N) from a separate loadgen process, %s, fixed rate, header capture %v\n", connMode, captureHeaders)
	fmt.Printf("fixed rates: %d rounds of none/ours alternated per rate; CPU and latencies are medians, spans are summed\n", *latRounds)
	fmt.Println("| rate req/s | sent ok | server spans with seq | client spans with seq | server ratio | client ratio | collector CPU % | of which GC % | CPU % per 1k req/s | p50 µs none | p50 µs ours | p99 µs none | p99 µs ours | p99 ours/none |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, rs := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil {
			return fmt.Errorf("bad rate %q", rs)
		}
		n := rate * int(perRate.Seconds())
		var base, traced []loadResult
		var cpus, gcs []float64
		ok, srv, cli := 0, 0, 0
		for range max(*latRounds, 1) {
			b, err := loadgen(addr, rate, n, closeEach)
			if err != nil {
				return err
			}
			base = append(base, b)
			ours := &oursVariant{headers: captureHeaders, port: port}
			var res loadResult
			cpu, gc, err := ours.cpuDuring(func() (err error) { res, err = loadgen(addr, rate, n, closeEach); return err })
			cpus, gcs = append(cpus, cpu), append(gcs, gc)
			time.Sleep(500 * time.Millisecond)
			_ = ours.stop()
			if err != nil {
				return err
			}
			traced = append(traced, res)
			ours.mu.Lock()
			ok += res.OK
			srv += ours.seqs[0].n
			cli += ours.seqs[1].n
			ours.mu.Unlock()
		}
		cpu := medianOf(cpus)
		p50n, p50o := medianOf(field(base, p50)), medianOf(field(traced, p50))
		p99n, p99o := medianOf(field(base, p99)), medianOf(field(traced, p99))
		fmt.Printf("| %d | %d | %d | %d | %.4f | %.4f | %.1f | %.1f | %.2f | %.0f | %.0f | %.0f | %.0f | %.2f |\n", rate, ok, srv, cli,
			float64(srv)/float64(ok), float64(cli)/float64(ok), cpu, medianOf(gcs), cpu/(float64(rate)/1000), p50n, p50o, p99n, p99o, p99o/p99n)
	}
	return nil
}

func p50(r loadResult) float64 { return r.P50Micro }
func p99(r loadResult) float64 { return r.P99Micro }

func field(rs []loadResult, f func(loadResult) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func loadgen(addr string, rate, n int, closeEach bool) (loadResult, error) {
	self, err := os.Executable()
	if err != nil {
		return loadResult{}, err
	}
	args := []string{"loadgen", "-addr", addr, "-rate", strconv.Itoa(rate), "-n", strconv.Itoa(n)}
	if closeEach {
		args = append(args, "-close")
	}
	out, err := exec.Command(self, args...).Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("loadgen: %w", err)
	}
	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("loadgen output %q: %w", out, err)
	}
	return res, nil
}

func measure(v variant, addr string, dur time.Duration, conns int) (sample, error) {
	if err := v.start(); err != nil {
		return sample{}, err
	}
	defer v.stop()
	time.Sleep(300 * time.Millisecond)
	ids := v.programIDs()
	rt0, _ := bpfRuntime(ids)
	ps0 := bpfProgStats(ids)
	cpu0, gc0 := cpuTime(), gcTime()
	t0 := time.Now()
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+dur.String(), "http://"+addr+"/index.html").CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	wall := time.Since(t0)
	cpu := cpuTime() - cpu0
	rt1, _ := bpfRuntime(ids)
	s := sample{cpuPct: cpu.Seconds() / wall.Seconds() * 100, gcPct: (gcTime() - gc0).Seconds() / wall.Seconds() * 100}
	if m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out); m != nil {
		s.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	} else {
		return s, fmt.Errorf("no Requests/sec in wrk output: %s", out)
	}
	if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindSubmatch(out); m != nil {
		return s, fmt.Errorf("nginx answered errors (%s non-2xx): the benchmark would not measure 800 B responses", m[1])
	}
	if m := regexp.MustCompile(`(\d+) requests in`).FindSubmatch(out); m != nil {
		s.requests, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if s.requests > 0 {
		s.bpfNs = float64(rt1-rt0) / s.requests
		if *progStats {
			printProgStats(v.name(), ps0, bpfProgStats(ids), s.requests)
		}
	}
	// Spans per request at saturation: 2 when both ends were captured in
	// full (wrk's in-flight requests at the end can add a few unanswered).
	s.spans = -1
	if sc, ok := v.(interface{ spansAfterStop() int }); ok && s.requests > 0 {
		s.spans = float64(sc.spansAfterStop()) / s.requests
	}
	return s, nil
}

func bpfRuntime(ids []ebpf.ProgramID) (time.Duration, error) {
	var total time.Duration
	for _, id := range ids {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			return total, err
		}
		st, err := p.Stats()
		p.Close()
		if err != nil {
			return total, err
		}
		total += st.Runtime
	}
	return total, nil
}

// progStat is one program's run time and run count.
type progStat struct {
	runtime time.Duration
	runs    uint64
}

// bpfProgStats reads each program's stats, keyed by program name.
func bpfProgStats(ids []ebpf.ProgramID) map[string]progStat {
	out := map[string]progStat{}
	for _, id := range ids {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		st, err := p.Stats()
		info, ierr := p.Info()
		p.Close()
		if err != nil || ierr != nil {
			continue
		}
		out[info.Name] = progStat{runtime: st.Runtime, runs: st.RunCount}
	}
	return out
}

// printProgStats prints, per program, runs per request and ns per run
// between two snapshots.
func printProgStats(v string, before, after map[string]progStat, requests float64) {
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := after[n].runtime - before[n].runtime
		r := after[n].runs - before[n].runs
		if r == 0 {
			continue
		}
		fmt.Printf("    %-5s %-16s %6.2f runs/req %6.0f ns/run %6.0f ns/req\n", v, n,
			float64(r)/requests, float64(d.Nanoseconds())/float64(r), float64(d.Nanoseconds())/requests)
	}
}

// enableBPFStats turns on kernel.bpf_stats_enabled for as long as the
// returned closer is open.
func enableBPFStats() func() {
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ebpfbench: bpf stats unavailable, BPF ns/request will read 0:", err)
		return func() {}
	}
	return func() { _ = c.Close() }
}

// consumerCPU is the thread CPU time spent in the benchmark's own span
// consumer (the sequence-number check), which is not the receiver's cost.
var consumerCPU atomic.Int64

// cpuTime is this process's CPU time (user + system) less the time spent
// in the benchmark's span consumer.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) - time.Duration(consumerCPU.Load())
}

// gcTime is the Go runtime's estimate of the CPU time its garbage collector
// has used in this process (mark workers, assists, pauses).
func gcTime() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return time.Duration(s[0].Value.Float64() * float64(time.Second))
}

// threadCPU is the calling thread's CPU time (the caller locks its
// goroutine to the thread between two readings).
func threadCPU() time.Duration {
	// RawSyscall, as the tracer's yield: a Syscall after an idle moment
	// would wake the runtime's sysmon and charge the collector for it.
	var ts unix.Timespec
	_, _, _ = unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_THREAD_CPUTIME_ID, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

func median(ss []sample, f func(sample) float64) float64 {
	if len(ss) == 0 {
		return 0
	}
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// startNginx runs Debian's nginx (one worker) on a free loopback port,
// serving an 800-byte file.
func startNginx() (string, func(), error) {
	dir, err := os.MkdirTemp("", "ebpfbench-nginx")
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	// MkdirTemp makes 0700; nginx's workers run as nobody and must read the file.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", nil, err
	}
	www := filepath.Join(dir, "www")
	_ = os.MkdirAll(www, 0o755)
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte(strings.Repeat("x", 799)+"\n"), 0o644); err != nil {
		return "", nil, err
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  server {
    listen %[2]s;
    root %[3]s;
    location / { }
  }
}
`, dir, addr, www)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command("nginx", "-c", cf, "-p", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
		os.RemoveAll(dir)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("nginx did not start on %s", addr)
}

// Command profbench measures what the continuous CPU profiler costs (see
// ../../../../../../shared/PERFORMANCE.md): CPU-bound programs run on every
// core, alternately without and with the ebpf receiver's profiles pipeline
// (the real receiver: sampling, drains, symbolization, pprofile building),
// in the same run; it prints the programs' throughput ratio and the
// collector-side CPU (this process) per variant, medians over the rounds.
// Run it as root: go run ./receiver/ebpfreceiver/internal/profiler/profbench
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/receiver/xreceiver"
	"golang.org/x/sys/unix"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
)

func main() {
	rounds := flag.Int("rounds", 4, "rounds of none/ours")
	dur := flag.Duration("duration", 10*time.Second, "length of each variant per round")
	freq := flag.Int("frequency", 97, "sampling frequency (Hz)")
	interval := flag.Duration("report-interval", 10*time.Second, "profiling.report_interval")
	procs := flag.Int("procs", runtime.NumCPU(), "CPU-bound processes")
	cpuProfile := flag.String("cpuprofile", "", "write a Go CPU profile of the steady-state window to this file")
	steady := flag.Duration("steady", 30*time.Second, "then measure the collector's steady-state CPU for this long, after one report interval of warm-up (0: skip)")
	flag.Parse()
	burner := buildBurner()
	defer os.RemoveAll(filepath.Dir(burner))

	var none, ours, nonePerCPU, oursPerCPU, cpuNone, cpuOurs []float64
	var samples int
	for r := 0; r < *rounds; r++ {
		for _, withProf := range []bool{false, true} {
			var rcv xreceiver.Profiles
			var mu sync.Mutex
			if withProf {
				f := ebpfreceiver.NewFactory().(xreceiver.Factory)
				cfg := f.CreateDefaultConfig().(*ebpfreceiver.Config)
				cfg.Profiling.FrequencyHz = *freq
				cfg.Profiling.ReportInterval = *interval
				next, _ := xconsumer.NewProfiles(func(_ context.Context, pd pprofile.Profiles) error {
					mu.Lock()
					samples += pd.SampleCount()
					mu.Unlock()
					return nil
				})
				var err error
				rcv, err = f.CreateProfiles(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
				must(err)
				must(rcv.Start(context.Background(), nil))
			}
			before := rusage()
			start := time.Now()
			total, burnCPU := runBurners(burner, *procs, *dur)
			if rcv != nil {
				must(rcv.Shutdown(context.Background())) // includes the last drain
			}
			cpu := (rusage() - before).Seconds() / time.Since(start).Seconds()
			if withProf {
				ours = append(ours, total)
				oursPerCPU = append(oursPerCPU, total/burnCPU)
				cpuOurs = append(cpuOurs, cpu)
			} else {
				none = append(none, total)
				nonePerCPU = append(nonePerCPU, total/burnCPU)
				cpuNone = append(cpuNone, cpu)
			}
			fmt.Printf("round %d %-5s iterations %.0f  per burner CPU-second %.1f  collector CPU %.3f%% of a core\n",
				r+1, variant(withProf), total, total/burnCPU, 100*cpu)
		}
	}
	fmt.Printf("\n%d CPU-bound processes on %d CPUs, %s per variant, %d rounds, %d Hz, report_interval %s\n",
		*procs, runtime.NumCPU(), *dur, *rounds, *freq, *interval)
	fmt.Printf("throughput ours/none (median of per-round ratios): %.4f per wall second, %.4f per CPU-second the burners got\n",
		median(ratios(ours, none)), median(ratios(oursPerCPU, nonePerCPU)))
	fmt.Printf("collector CPU, %% of one core (median): none %.3f%%, ours %.3f%% (incl. start/stop of the profiler each round)\n",
		100*median(cpuNone), 100*median(cpuOurs))
	fmt.Printf("samples delivered: %d\n", samples)
	if *steady > 0 {
		steadyCPU(burner, *procs, *freq, *interval, *steady, *cpuProfile)
	}
}

// steadyCPU keeps the profiler on while the burners run and measures this
// process's CPU after the first report (binaries and kallsyms parsed,
// caches warm): the recurring cost of sampling, draining, symbolizing and
// building profiles.
func steadyCPU(burner string, procs, freq int, interval, window time.Duration, cpuProfile string) {
	f := ebpfreceiver.NewFactory().(xreceiver.Factory)
	cfg := f.CreateDefaultConfig().(*ebpfreceiver.Config)
	cfg.Profiling.FrequencyHz = freq
	cfg.Profiling.ReportInterval = interval
	var mu sync.Mutex
	reports, samples := 0, 0
	next, _ := xconsumer.NewProfiles(func(_ context.Context, pd pprofile.Profiles) error {
		mu.Lock()
		reports++
		samples += pd.SampleCount()
		mu.Unlock()
		return nil
	})
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	must(err)
	defer stats.Close()
	rcv, err := f.CreateProfiles(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
	must(err)
	must(rcv.Start(context.Background(), nil))
	prog := findProgram("profile_sample")
	began := time.Now()
	warm := interval + time.Second
	done := make(chan struct{})
	go func() {
		_, _ = runBurners(burner, procs, warm+window)
		close(done)
	}()
	time.Sleep(warm)
	if cpuProfile != "" {
		pf, err := os.Create(cpuProfile)
		must(err)
		must(pprof.StartCPUProfile(pf))
	}
	before, start := rusage(), time.Now()
	<-done
	if cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	cpu := (rusage() - before).Seconds() / time.Since(start).Seconds()
	var bpfLine string
	if prog != nil {
		if st, err := prog.Stats(); err == nil && st.RunCount > 0 {
			elapsed := time.Since(began)
			bpfLine = fmt.Sprintf("BPF sampling program: %d runs, %.0f ns per run, %.4f%% of the CPUs' time (%d CPUs, kernel.bpf_stats)",
				st.RunCount, float64(st.Runtime.Nanoseconds())/float64(st.RunCount),
				100*st.Runtime.Seconds()/(elapsed.Seconds()*float64(runtime.NumCPU())), runtime.NumCPU())
		}
		prog.Close()
	}
	must(rcv.Shutdown(context.Background()))
	if bpfLine != "" {
		fmt.Println(bpfLine)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("steady state: collector CPU %.3f%% of one core over %s (%d reports, %d distinct stacks)\n",
		100*cpu, window, reports, samples)
}

// findProgram opens the newest loaded BPF program with this name.
func findProgram(name string) *ebpf.Program {
	var found *ebpf.Program
	for id, err := ebpf.ProgramGetNextID(0); err == nil; id, err = ebpf.ProgramGetNextID(id) {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		info, err := p.Info()
		if err != nil || info.Name != name {
			p.Close()
			continue
		}
		if found != nil {
			found.Close()
		}
		found = p
	}
	return found
}

func variant(p bool) string {
	if p {
		return "ours"
	}
	return "none"
}

// buildBurner builds the symbolizer's Go test program (a small binary, as
// most traced programs are smaller than this benchmark).
func buildBurner() string {
	_, file, _, _ := runtime.Caller(0)
	dir, err := os.MkdirTemp("", "profbench")
	must(err)
	out := filepath.Join(dir, "goburn")
	c := exec.Command("go", "build", "-o", out, ".")
	c.Dir = filepath.Join(filepath.Dir(file), "..", "..", "symbolize", "testdata", "goburn")
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if b, err := c.CombinedOutput(); err != nil {
		must(fmt.Errorf("building goburn: %v\n%s", err, b))
	}
	return out
}

// runBurners runs n copies of the burner for d and sums how many times
// their hot function ran.
//
// It also returns the CPU seconds the burners got: iterations per CPU
// second is much less sensitive to other load on the machine than
// iterations per wall second.
func runBurners(bin string, n int, d time.Duration) (iterations, cpuSeconds float64) {
	var cmds []*exec.Cmd
	var outs []*bufio.Reader
	for i := 0; i < n; i++ {
		c := exec.Command(bin, "count", d.String())
		out, err := c.StdoutPipe()
		must(err)
		must(c.Start())
		cmds = append(cmds, c)
		outs = append(outs, bufio.NewReader(out))
	}
	var total, cpu float64
	for i, c := range cmds {
		line, _ := outs[i].ReadString('\n')
		v, _ := strconv.ParseFloat(strings.TrimSpace(line), 64)
		total += v
		_ = c.Wait()
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			cpu += float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		}
	}
	return total, cpu
}

func rusage() time.Duration {
	var ru syscall.Rusage
	must(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ratios(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] / b[i]
	}
	return out
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "profbench:", err)
		os.Exit(1)
	}
}

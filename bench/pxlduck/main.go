// Command pxlduck compares the PxL engine (internal/pxl over
// internal/tablestore) with DuckDB on the same http_events rows, in the same
// run: filter resp_status >= 500, group by service, mean and p99 of latency.
// See README.md.
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/pxl"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// pxlScript is the benchmark query in PxL. px.quantiles returns Pixie's
// JSON {p01,…,p99}; p99 is plucked from it as Pixie's scripts do.
const pxlScript = `import px
df = px.DataFrame('http_events')
df = df[df.resp_status >= 500]
df = df.groupby('service').agg(
    n=('latency', px.count),
    mean=('latency', px.mean),
    q=('latency', px.quantiles),
)
df.p99 = px.pluck_float64(df.q, 'p99')
px.display(df[['service', 'n', 'mean', 'p99']], 'errors')
`

// duckSQL is the same query in DuckDB's SQL (%s: the table).
const duckSQL = `SELECT service, count(*), avg(latency), quantile_cont(latency, 0.99)
FROM %s WHERE resp_status >= 500 GROUP BY service`

// DuckDB tables: the same rows compressed by a checkpoint (DuckDB's own
// storage format) and as the appender left them (uncompressed).
const (
	duckCompressed   = "http_events"
	duckUncompressed = "http_events_raw"
)

func main() {
	rows := flag.Int("rows", 10_000_000, "rows of http_events")
	rounds := flag.Int("rounds", 5, "rounds; each round runs every engine once, alternating")
	compileRuns := flag.Int("compile-runs", 50, "compilations of each bundled script")
	cpuprofile := flag.String("cpuprofile", "", "after the comparison, profile -profile-runs more runs of the PxL engine into this file")
	profileRuns := flag.Int("profile-runs", 20, "PxL runs profiled with -cpuprofile")
	seed := flag.Uint64("seed", 1, "data seed")
	withDuck := flag.Bool("duck", true, "run DuckDB too (false: only the PxL engine)")
	flag.Parse()
	if err := run(*rows, *rounds, *compileRuns, *cpuprofile, *profileRuns, *seed, *withDuck); err != nil {
		fmt.Fprintln(os.Stderr, "pxlduck:", err)
		os.Exit(1)
	}
}

// result is one group of the query's answer.
type result struct {
	n         int64
	mean, p99 float64
}

type variant struct {
	name  string
	cores string
	run   func() (map[string]result, error)
	wall  []time.Duration
	cpu   []time.Duration
}

func run(nrows, rounds, compileRuns int, cpuprofile string, profileRuns int, seed uint64, withDuck bool) error {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	fmt.Printf("pxlduck: %s %s/%s, GOMAXPROCS=%d, NumCPU=%d\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU())

	d := generate(nrows, now, seed)
	fmt.Printf("generated %d rows in %v: %d services, %d paths, %d rows with status >= 500 (%.2f%%)\n",
		d.n, d.genTime.Round(time.Millisecond), len(d.services), len(d.paths), d.errRows, 100*float64(d.errRows)/float64(d.n))

	store, err := loadStore(d, clock)
	if err != nil {
		return err
	}
	defer func() { _ = store.Close() }()

	eng := pxl.New(store, pxl.Options{Now: clock, MaxRows: 1000})
	vs := []*variant{
		{name: "PxL (ours)", cores: "1", run: func() (map[string]result, error) { return runPxL(ctx, eng) }},
	}
	if w := runtime.GOMAXPROCS(0); w > 1 {
		// The same engine with the scan's batches decoded by w goroutines
		// (Options.ScanWorkers; the operators still run on one).
		engPar := pxl.New(store, pxl.Options{Now: clock, MaxRows: 1000, ScanWorkers: w})
		vs = append(vs, &variant{name: fmt.Sprintf("PxL (ours), %d scan workers", w), cores: fmt.Sprint(w),
			run: func() (map[string]result, error) { return runPxL(ctx, engPar) }})
	}
	if withDuck {
		db, conn, threads, err := loadDuck(ctx, d)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(); _ = db.Close() }()
		setThreads := func(n int) error {
			_, err := conn.ExecContext(ctx, fmt.Sprintf("SET threads = %d", n))
			return err
		}
		for _, th := range []int{1, threads} {
			for _, tab := range []string{duckCompressed, duckUncompressed} {
				name := fmt.Sprintf("DuckDB %d thread", th)
				if th > 1 {
					name += "s (default)"
				}
				if tab == duckCompressed {
					name += ", compressed"
				} else {
					name += ", uncompressed"
				}
				vs = append(vs, &variant{name: name, cores: fmt.Sprint(th), run: func() (map[string]result, error) {
					if err := setThreads(th); err != nil {
						return nil, err
					}
					return runDuck(ctx, conn, tab)
				}})
			}
		}
	}
	compileTimes(ctx, eng, compileRuns)

	// Warm-up (not timed) and correctness: every engine against the exact
	// answer computed while generating, and DuckDB against us.
	answers := make([]map[string]result, len(vs))
	for i, v := range vs {
		if answers[i], err = v.run(); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		if err := checkTruth(v.name, answers[i], d.truth); err != nil {
			return err
		}
	}
	for i := 1; i < len(vs); i++ {
		if err := compare(answers[0], answers[i], vs[i].name); err != nil {
			return err
		}
	}
	fmt.Printf("check: %d groups; counts equal, means within 1e-9 relative, p99 within 2%% in groups of >= %d rows (PxL vs %s)\n",
		len(answers[0]), minP99Rows, strings.Join(append(names(vs[1:]), "the exact answer"), ", "))
	for i, v := range vs { // ours vs the first DuckDB variant
		if strings.HasPrefix(v.name, "DuckDB") {
			printP99(answers[0], answers[i])
			break
		}
	}

	fmt.Printf("\n%d rounds, alternating %s:\n", rounds, strings.Join(names(vs), ", "))
	for r := range rounds {
		for _, v := range vs {
			runtime.GC()
			c0 := cpuTime()
			t0 := time.Now()
			ans, err := v.run()
			wall := time.Since(t0)
			cpu := cpuTime() - c0
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			if err := compare(answers[0], ans, v.name); err != nil {
				return fmt.Errorf("round %d: %w", r+1, err)
			}
			v.wall = append(v.wall, wall)
			v.cpu = append(v.cpu, cpu)
		}
	}

	fmt.Printf("\nfilter resp_status >= 500 + group by service + count/mean/p99(latency) over %d rows (%d pass the filter)\n", d.n, d.errRows)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "engine\tthreads\tmedian ms\tmin–max ms\tmedian CPU ms\tMrows/s\tMrows/s/core\tPxL ÷ this\t")
	ours := float64(d.n) / median(vs[0].cpu).Seconds() / 1e6
	for _, v := range vs {
		w, c := median(v.wall), median(v.cpu)
		perCore := float64(d.n) / c.Seconds() / 1e6
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f–%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t\n", v.name, v.cores, ms(w), ms(minD(v.wall)), ms(maxD(v.wall)), ms(c),
			float64(d.n)/w.Seconds()/1e6, perCore, ours/perCore)
	}
	_ = tw.Flush()
	fmt.Println("Mrows/s/core = rows scanned / process CPU time (user+sys, all threads, GC included) of the query;")
	fmt.Println("PxL ÷ this = PxL's Mrows/s/core ÷ this engine's (below 1: PxL does less per core).")

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		for range profileRuns {
			if _, err := runPxL(ctx, eng); err != nil {
				return err
			}
		}
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Printf("\nCPU profile of %d PxL runs: %s (go tool pprof -top %s)\n", profileRuns, cpuprofile, cpuprofile)
	}
	return nil
}

// loadStore appends the rows to a store the way the exporter does (typed
// batches, Table.Append) and flushes, so every row is in a sealed,
// compressed (zstd) batch as in production.
func loadStore(d *dataset, clock func() time.Time) (*tablestore.Store, error) {
	t0 := time.Now()
	s, err := tablestore.New(tablestore.Config{
		MaxBytes:            16 << 30,
		Shares:              map[string]float64{tablestore.TableHTTPEvents: 97},
		Now:                 clock,
		MaintenanceInterval: -1, // the clock is frozen: Flush seals instead
		CompactInline:       true,
	})
	if err != nil {
		return nil, err
	}
	t := s.Table(tablestore.TableHTTPEvents)
	ids := rand.New(rand.NewPCG(d.traceSeed1, d.traceSeed2))
	var id [16]byte
	randID := func(w int) []byte {
		for i := 0; i < w; i += 8 {
			v := ids.Uint64()
			for k := range 8 {
				id[i+k] = byte(v >> (8 * k))
			}
		}
		return id[:w]
	}
	const chunk = 8192
	b := t.NewBatch(chunk)
	var dropped int64
	for lo := 0; lo < d.n; lo += chunk {
		b.Reset()
		for i := lo; i < min(d.n, lo+chunk); i++ {
			sv, pd := int(d.svc[i]), int(d.pod[i])
			method := int(d.method[i])
			b.AppendTime(tablestore.HTTPTime, d.start+int64(i)*d.step)
			b.AppendString(tablestore.HTTPUPID, d.upids[pd])
			b.AppendString(tablestore.HTTPRemoteAddr, d.remoteAddrs[d.raddr[i]])
			b.AppendInt(tablestore.HTTPRemotePort, int64(d.rport[i]))
			b.AppendString(tablestore.HTTPLocalAddr, d.podIPs[pd])
			b.AppendInt(tablestore.HTTPLocalPort, 8080)
			b.AppendInt(tablestore.HTTPTraceRole, 2)
			b.AppendBool(tablestore.HTTPEncrypted, false)
			b.AppendInt(tablestore.HTTPMajorVersion, 1)
			b.AppendInt(tablestore.HTTPMinorVersion, 1)
			b.AppendInt(tablestore.HTTPContentType, 1)
			b.AppendString(tablestore.HTTPReqHeaders, d.reqHeaders[sv])
			b.AppendString(tablestore.HTTPReqMethod, d.methods[method])
			b.AppendString(tablestore.HTTPReqPath, d.paths[d.path[i]])
			body := ""
			if d.reqSize[i] > 0 {
				body = d.reqBodies[1+method%3]
			}
			b.AppendString(tablestore.HTTPReqBody, body)
			b.AppendInt(tablestore.HTTPReqBodySize, int64(d.reqSize[i]))
			b.AppendString(tablestore.HTTPRespHeaders, d.respHeaders[sv])
			b.AppendInt(tablestore.HTTPRespStatus, int64(d.status[i]))
			b.AppendString(tablestore.HTTPRespMessage, d.statusMessage[d.status[i]])
			b.AppendString(tablestore.HTTPRespBody, "")
			b.AppendInt(tablestore.HTTPRespBodySize, int64(d.rspSize[i]))
			b.AppendInt(tablestore.HTTPLatency, d.latency[i])
			b.AppendID(tablestore.HTTPTraceID, randID(16))
			b.AppendID(tablestore.HTTPSpanID, randID(8))
			b.AppendString(tablestore.HTTPService, d.services[sv])
			b.AppendString(tablestore.HTTPPod, d.pods[pd])
			b.AppendString(tablestore.HTTPNamespace, d.namespaces[sv])
			b.AppendString(tablestore.HTTPContainerID, d.contIDs[pd])
			b.AppendInt(tablestore.HTTPPID, d.pids[pd])
			b.AppendString(tablestore.HTTPExe, d.exes[sv])
			b.EndRow()
		}
		if b.Errors() != 0 {
			return nil, fmt.Errorf("batch at row %d: %d bad values", lo, b.Errors())
		}
		res, err := t.Append(b)
		if err != nil {
			return nil, err
		}
		dropped += int64(res.Late + res.Future)
	}
	s.Flush()
	st := t.Stats()
	if dropped != 0 || st.Rows != int64(d.n) || st.HotRows != 0 || st.ColdBatches != st.Batches {
		return nil, fmt.Errorf("store: %d rows dropped, %d rows held (want %d), %d hot, %d of %d batches compacted",
			dropped, st.Rows, d.n, st.HotRows, st.ColdBatches, st.Batches)
	}
	el := time.Since(t0)
	fmt.Printf("store: %d rows (30 columns) appended, sealed and zstd-compacted in %v (%.2f Mrows/s, one goroutine): %d batches, %.1f bytes/row held\n",
		d.n, el.Round(time.Millisecond), float64(d.n)/el.Seconds()/1e6, st.Batches, float64(st.Bytes)/float64(d.n))
	return s, nil
}

// loadDuck loads the columns the comparison could touch (the same values)
// into an in-memory DuckDB table with the appender. It returns the one
// connection the benchmark uses and DuckDB's default thread count.
func loadDuck(ctx context.Context, d *dataset) (*sql.DB, *sql.Conn, int, error) {
	t0 := time.Now()
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	var version string
	var threads int
	if err := conn.QueryRowContext(ctx, "SELECT version(), current_setting('threads')").Scan(&version, &threads); err != nil {
		return nil, nil, 0, err
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE http_events (
		time_ BIGINT, upid VARCHAR, remote_addr VARCHAR, req_method VARCHAR, req_path VARCHAR,
		resp_status BIGINT, latency BIGINT, service VARCHAR, pod VARCHAR, namespace VARCHAR,
		req_body_size BIGINT, resp_body_size BIGINT)`); err != nil {
		return nil, nil, 0, err
	}
	err = conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "http_events")
		if err != nil {
			return err
		}
		for i := range d.n {
			sv, pd := int(d.svc[i]), int(d.pod[i])
			if err := a.AppendRow(d.start+int64(i)*d.step, d.upids[pd], d.remoteAddrs[d.raddr[i]], d.methods[d.method[i]],
				d.paths[d.path[i]], int64(d.status[i]), d.latency[i], d.services[sv], d.pods[pd], d.namespaces[sv],
				int64(d.reqSize[i]), int64(d.rspSize[i])); err != nil {
				_ = a.Close()
				return err
			}
		}
		return a.Close()
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("duckdb appender: %w", err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM http_events").Scan(&n); err != nil {
		return nil, nil, 0, err
	}
	if n != d.n {
		return nil, nil, 0, fmt.Errorf("duckdb holds %d rows, want %d", n, d.n)
	}
	fmt.Printf("duckdb %s (duckdb-go v2.10506.0): %d rows (12 columns) appended in %v, in-memory, default threads %d\n",
		version, n, time.Since(t0).Round(time.Millisecond), threads)
	// A checkpoint compresses the loaded table; the copy made after it stays
	// as inserted (an in-memory database checkpoints only when asked).
	t1 := time.Now()
	if _, err := conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return nil, nil, 0, err
	}
	ckpt := time.Since(t1)
	if _, err := conn.ExecContext(ctx, "CREATE TABLE "+duckUncompressed+" AS SELECT * FROM "+duckCompressed); err != nil {
		return nil, nil, 0, err
	}
	var comp string
	if err := conn.QueryRowContext(ctx, `SELECT string_agg(t || '.' || c || ' ' || k, '; ' ORDER BY t, c) FROM (
		SELECT t, column_name AS c, string_agg(DISTINCT compression, '+') AS k
		FROM (SELECT 'http_events' AS t, * FROM pragma_storage_info('http_events')
		      UNION ALL SELECT 'http_events_raw' AS t, * FROM pragma_storage_info('http_events_raw'))
		WHERE column_name IN ('resp_status', 'latency', 'service') AND segment_type <> 'VALIDITY'
		GROUP BY t, column_name)`).Scan(&comp); err != nil {
		return nil, nil, 0, fmt.Errorf("duckdb storage_info: %w", err)
	}
	if !strings.Contains(comp, "http_events_raw.latency Uncompressed") || strings.Contains(comp, "http_events.latency Uncompressed") {
		return nil, nil, 0, fmt.Errorf("duckdb storage is not as expected: %s", comp)
	}
	fmt.Printf("duckdb: CHECKPOINT (compression) took %v; storage of the columns read: %s\n", ckpt.Round(time.Millisecond), comp)
	return db, conn, threads, nil
}

func runPxL(ctx context.Context, e *pxl.Engine) (map[string]result, error) {
	res, err := e.Run(ctx, pxl.Query{Script: pxlScript, Filename: "bench.pxl"})
	if err != nil {
		return nil, err
	}
	if len(res.Tables) != 1 {
		return nil, fmt.Errorf("pxl: %d tables", len(res.Tables))
	}
	t := res.Tables[0]
	if t.Truncated {
		return nil, errors.New("pxl: output truncated")
	}
	col := map[string]int{}
	for i, c := range t.Columns {
		col[c.Name] = i
	}
	out := make(map[string]result, len(t.Rows))
	for _, r := range t.Rows {
		s, _ := r[col["service"]].(string)
		n, _ := r[col["n"]].(int64)
		mean, _ := r[col["mean"]].(float64)
		p99, _ := r[col["p99"]].(float64)
		out[s] = result{n: n, mean: mean, p99: p99}
	}
	return out, nil
}

func runDuck(ctx context.Context, conn *sql.Conn, table string) (map[string]result, error) {
	rs, err := conn.QueryContext(ctx, fmt.Sprintf(duckSQL, table))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rs.Close() }()
	out := map[string]result{}
	for rs.Next() {
		var s string
		var r result
		if err := rs.Scan(&s, &r.n, &r.mean, &r.p99); err != nil {
			return nil, err
		}
		out[s] = r
	}
	return out, rs.Err()
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// minP99Rows: groups this small are not held to the 2% p99 bound: there,
// nearest rank (ours) and interpolation (DuckDB) can fall on order
// statistics more than 2% apart. At 10M rows every group is larger.
const minP99Rows = 10000

// compare checks that got (from engine name) has the same groups and counts
// as want, means within 1e-9 relative and p99 within 2% (groups of at least
// minP99Rows rows).
func compare(want, got map[string]result, name string) error {
	if len(want) != len(got) {
		return fmt.Errorf("%s: %d groups, PxL has %d", name, len(got), len(want))
	}
	for s, w := range want {
		g, ok := got[s]
		switch {
		case !ok:
			return fmt.Errorf("%s: no group %q", name, s)
		case g.n != w.n:
			return fmt.Errorf("%s: %s: count %d, PxL %d", name, s, g.n, w.n)
		case relDiff(g.mean, w.mean) > 1e-9:
			return fmt.Errorf("%s: %s: mean %v, PxL %v", name, s, g.mean, w.mean)
		case w.n >= minP99Rows && relDiff(g.p99, w.p99) > 0.02:
			return fmt.Errorf("%s: %s: p99 %v, PxL %v (%.2f%% apart)", name, s, g.p99, w.p99, 100*relDiff(g.p99, w.p99))
		}
	}
	return nil
}

func checkTruth(name string, got map[string]result, truth map[string]truthAgg) error {
	if len(got) != len(truth) {
		return fmt.Errorf("%s: %d groups, want %d", name, len(got), len(truth))
	}
	for s, t := range truth {
		g := got[s]
		if g.n != t.n || relDiff(g.mean, t.sum/float64(t.n)) > 1e-9 {
			return fmt.Errorf("%s: %s: count %d mean %v, want %d %v", name, s, g.n, g.mean, t.n, t.sum/float64(t.n))
		}
	}
	return nil
}

// printP99 shows how far PxL's p99 (DDSketch, nearest rank) is from DuckDB's
// (exact, interpolated).
func printP99(ours, duck map[string]result) {
	worst, sum := 0.0, 0.0
	for s, o := range ours {
		d := relDiff(o.p99, duck[s].p99)
		sum += d
		worst = max(worst, d)
	}
	fmt.Printf("p99: PxL's DDSketch vs DuckDB's quantile_cont: mean %.3f%%, worst %.3f%% apart\n",
		100*sum/float64(len(ours)), 100*worst)
}

// compileTimes compiles each bundled script (parse, Starlark, plan; no
// execution) compileRuns times and prints the first and median times.
func compileTimes(ctx context.Context, e *pxl.Engine, runs int) {
	fmt.Printf("\ncompile time (Engine.Check: preprocess, parse, run the Starlark, build and type-check plans), %d runs each, goal < 5 ms:\n", runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "script\tfirst ms\tmedian ms\tmax ms\t")
	type q struct {
		name string
		q    pxl.Query
	}
	var qs []q
	for _, s := range pxl.Scripts() {
		qs = append(qs, q{s.Name, pxl.Query{Name: s.Name}})
	}
	qs = append(qs, q{"(this benchmark's script)", pxl.Query{Script: pxlScript}})
	worst := time.Duration(0)
	for _, x := range qs {
		var ts []time.Duration
		for range max(1, runs) {
			t0 := time.Now()
			if err := e.Check(ctx, x.q); err != nil {
				fmt.Fprintf(tw, "%s\terror: %v\t\t\t\n", x.name, err)
				ts = nil
				break
			}
			ts = append(ts, time.Since(t0))
		}
		if ts == nil {
			continue
		}
		first := ts[0]
		m := median(ts)
		worst = max(worst, m)
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t\n", x.name, ms(first), ms(m), ms(maxD(ts)))
	}
	_ = tw.Flush()
	verdict := "met"
	if worst >= 5*time.Millisecond {
		verdict = "NOT met"
	}
	fmt.Printf("slowest median %.3f ms: goal %s\n", ms(worst), verdict)
}

// cpuTime is the process's user+system CPU time (every thread, DuckDB's
// included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minD(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}

func maxD(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func names(vs []*variant) []string {
	var s []string
	for _, v := range vs {
		s = append(s, v.name)
	}
	return s
}

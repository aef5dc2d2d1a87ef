package distribution

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// featureGates is what `make run` passes: the default config has a
// profiles pipeline, which the collector accepts only with this gate.
const featureGates = "--feature-gates=service.profilesSupport"

// binary is the collector under test: $OTELCOL_EBPF_BIN, or the one `make
// build` produces (ocb caches through the Go build cache, so a rebuild with
// no change takes seconds).
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func collectorBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("OTELCOL_EBPF_BIN"); p != "" {
			binPath = p
			return
		}
		root := repoRoot(t)
		cmd := exec.Command("make", "-C", root, "build")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("make build: %v\n%s", err, out)
			return
		}
		binPath = filepath.Join(root, "bin", "otelcol-ebpf")
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// requireRoot: the default config loads eBPF programs. Without root the
// test is skipped, unless CI is set: then it fails.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the default config loads eBPF programs and CI is set: run the tests as root")
		}
		t.Skip("the default config loads eBPF programs: needs root (skipped because CI is unset)")
	}
}

func defaultConfig(t *testing.T) string {
	return filepath.Join(repoRoot(t), "distributions", "otelcol-ebpf", "config.yaml")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// otlpSink is an OTLP/HTTP traces endpoint run by the test.
type otlpSink struct {
	mu     sync.Mutex
	traces []ptrace.Traces
	srv    *http.Server
	addr   string
}

func startSink(t *testing.T) *otlpSink {
	t.Helper()
	s := &otlpSink{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.traces = append(s.traces, req.Traces())
		s.mu.Unlock()
		resp, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	})
	s.srv = &http.Server{Handler: mux}
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

func (s *otlpSink) spanNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, td := range s.traces {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			ss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < ss.Len(); j++ {
				spans := ss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					names = append(names, spans.At(k).Name())
				}
			}
		}
	}
	return names
}

// collector is a running otelcol-ebpf process.
type collector struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func startCollector(t *testing.T, args ...string) *collector {
	t.Helper()
	c := &collector{out: &syncBuffer{}, done: make(chan error, 1)}
	c.cmd = exec.Command(collectorBinary(t), append([]string{featureGates}, args...)...)
	c.cmd.Stdout = c.out
	c.cmd.Stderr = c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Signal(syscall.SIGQUIT) // goroutine dump into the output
			select {
			case <-c.done:
			case <-time.After(2 * time.Second):
				_ = c.cmd.Process.Kill()
				<-c.done
			}
			t.Errorf("collector did not stop within 20s of SIGINT:\n%s", c.out.String())
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", c.out.String())
		}
	})
	return c
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateDefaultConfig(t *testing.T) {
	out, err := exec.Command(collectorBinary(t), "validate", featureGates, "--config", defaultConfig(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("validate failed: %v\n%s", err, out)
	}
}

// TestComponentsMatchManifest checks that every component of
// builder-config.yaml is compiled in, and nothing else.
func TestComponentsMatchManifest(t *testing.T) {
	manifest, err := os.ReadFile(filepath.Join(repoRoot(t), "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{} // kind -> module paths (with version)
	kind := ""
	kindRe := regexp.MustCompile(`^(receivers|processors|exporters|extensions|connectors|providers):`)
	gomodRe := regexp.MustCompile(`^\s*- gomod:\s*(\S+)\s+(\S+)`)
	sc := bufio.NewScanner(bytes.NewReader(manifest))
	for sc.Scan() {
		line := sc.Text()
		if m := kindRe.FindStringSubmatch(line); m != nil {
			kind = m[1]
			continue
		}
		if len(line) > 0 && line[0] != ' ' && line[0] != '#' {
			kind = ""
		}
		if m := gomodRe.FindStringSubmatch(line); m != nil && kind != "" && kind != "providers" {
			want[kind] = append(want[kind], m[1]+" "+m[2])
		}
	}
	if len(want["receivers"]) == 0 || len(want["exporters"]) == 0 {
		t.Fatalf("could not read components from builder-config.yaml: %v", want)
	}

	out, err := exec.Command(collectorBinary(t), "components").CombinedOutput()
	if err != nil {
		t.Fatalf("components failed: %v\n%s", err, out)
	}
	got := map[string][]string{}
	kind = ""
	modRe := regexp.MustCompile(`^\s+module:\s*(.+)$`)
	sc = bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := kindRe.FindStringSubmatch(line); m != nil {
			kind = m[1]
			continue
		}
		if len(line) > 0 && line[0] != ' ' {
			kind = ""
		}
		if m := modRe.FindStringSubmatch(line); m != nil && kind != "" && kind != "providers" {
			got[kind] = append(got[kind], strings.TrimSpace(m[1]))
		}
	}
	for k, mods := range want {
		for _, m := range mods {
			found := false
			for _, g := range got[k] {
				if g == m {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: %q from builder-config.yaml missing from `components`:\n%s", k, m, out)
			}
		}
		if len(got[k]) != len(mods) {
			t.Errorf("%s: manifest has %d components, binary lists %d: %v", k, len(mods), len(got[k]), got[k])
		}
	}
}

// TestRunDefaultConfigExportsOTLP starts the binary with the default config
// (ports moved to free ones), waits for health_check, sends one trace over
// OTLP/HTTP and waits for it at an OTLP/HTTP endpoint the test runs.
func TestRunDefaultConfigExportsOTLP(t *testing.T) {
	requireRoot(t)
	sink := startSink(t)
	health, grpcPort, httpPort, storePort := freePort(t), freePort(t), freePort(t), freePort(t)
	overlay := writeFile(t, "overlay.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
  table_store:
    http:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
exporters:
  otlp_http/test:
    endpoint: http://%s
    compression: none
service:
  pipelines:
    traces:
      exporters: [table_store, debug, otlp_http/test]
  telemetry:
    metrics:
      level: none
`, health, storePort, grpcPort, httpPort, sink.addr))
	c := startCollector(t, "--config", defaultConfig(t), "--config", overlay)

	waitHealthy(t, c, health)

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "dist-test")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("dist-test-span")
	span.SetTraceID(pcommon.TraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
	span.SetSpanID(pcommon.SpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8}))
	now := time.Now()
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", httpPort), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP/HTTP export answered %s", resp.Status)
	}

	// The OTLP span arrives, and so does the ebpf receiver's client span of
	// this test's own POST /v1/traces (this process is traced; the
	// collector's is not).
	want := map[string]bool{"dist-test-span": false, "POST /v1/traces": false}
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, n := range sink.spanNames() {
			if _, ok := want[n]; ok {
				want[n] = true
			}
		}
		if want["dist-test-span"] && want["POST /v1/traces"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans never reached the OTLP sink (%v); got %v\n%s", want, sink.spanNames(), c.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The same spans are in the table store: the ebpf span in http_events,
	// both in the generic spans table.
	storeURL := fmt.Sprintf("http://127.0.0.1:%d/v1/tables", storePort)
	deadline = time.Now().Add(30 * time.Second)
	for {
		rows := tableRows(t, storeURL)
		if rows["http_events"] >= 1 && rows["spans"] >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rows never reached the table store: %v\n%s", rows, c.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// And PxL finds the traced request through the pxl CLI: the ebpf
	// receiver's CLIENT span of this test's POST /v1/traces, in http_events.
	pxl := filepath.Join(filepath.Dir(collectorBinary(t)), "pxl")
	script := `import px
df = px.DataFrame('http_events', start_time='-5m')
df = df[df.req_path == '/v1/traces']
df = df.groupby(['req_method', 'req_path', 'trace_role']).agg(n=('latency', px.count))
px.display(df, 'otlp_posts')`
	out, err := exec.Command(pxl, "run", "--endpoint", fmt.Sprintf("http://127.0.0.1:%d", storePort), "-o", "csv", "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("pxl run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "POST,/v1/traces,1,") {
		t.Fatalf("pxl did not show the traced POST /v1/traces client request:\n%s", out)
	}
	// The bundled px/http_data script shows it too.
	out, err = exec.Command(pxl, "run", "--endpoint", fmt.Sprintf("http://127.0.0.1:%d", storePort), "-o", "csv", "px/http_data", "--", "--start_time=-5m").CombinedOutput()
	if err != nil {
		t.Fatalf("pxl run px/http_data: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), ",POST,/v1/traces,200,") {
		t.Fatalf("px/http_data did not show the traced POST /v1/traces:\n%s", out)
	}
}

// tableRows reads the row count of every table from the table_store
// extension's /v1/tables endpoint.
func tableRows(t *testing.T, url string) map[string]int64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Tables []struct {
			Name string `json:"name"`
			Rows int64  `json:"rows"`
		} `json:"tables"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding %s: %v", url, err)
	}
	out := map[string]int64{}
	for _, tb := range body.Tables {
		out[tb.Name] = tb.Rows
	}
	return out
}

// runToExit runs the binary and returns its combined output; it fails the
// test if the process does not exit within the timeout.
func runToExit(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, collectorBinary(t), args...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("collector did not exit within %s:\n%s", timeout, out)
	}
	return string(out), err
}

func TestBadConfigUnknownComponent(t *testing.T) {
	cfg := writeFile(t, "bad.yaml", `
receivers:
  no_such_receiver: {}
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [no_such_receiver]
      exporters: [debug]
`)
	for _, args := range [][]string{{"validate", "--config", cfg}, {"--config", cfg}} {
		out, err := runToExit(t, 30*time.Second, args...)
		if err == nil {
			t.Fatalf("%v: exit 0 for an unknown component:\n%s", args, out)
		}
		if !strings.Contains(out, "no_such_receiver") || !strings.Contains(out, "unknown type") {
			t.Errorf("%v: error does not name the unknown component:\n%s", args, out)
		}
	}
}

func TestBadConfigBadPort(t *testing.T) {
	cfg := writeFile(t, "badport.yaml", `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:99999
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
  telemetry:
    metrics:
      level: none
`)
	out, err := runToExit(t, 30*time.Second, "--config", cfg)
	if err == nil {
		t.Fatalf("exit 0 with port 99999:\n%s", out)
	}
	if !strings.Contains(out, "99999") {
		t.Errorf("error does not name the bad port:\n%s", out)
	}
}

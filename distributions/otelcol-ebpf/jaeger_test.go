package distribution

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jaegerBinary is a Jaeger v2 binary: $JAEGER_BIN, else `jaeger` on PATH.
// Jaeger v2 is cmd/jaeger of the Go module github.com/jaegertracing/jaeger
// (each release is tagged v1.x and v2.x; the module proxy serves the v1.x
// tags). Its go.mod has a replace directive, so `go install …@v1.76.0`
// refuses it; build it from the module's source (≈ 8 min on 2 cores):
//
//	d=$(go mod download -json github.com/jaegertracing/jaeger@v1.76.0 | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
//	cp -r "$d" /tmp/jaeger-src && chmod -R u+w /tmp/jaeger-src
//	(cd /tmp/jaeger-src && go build -o /usr/local/bin/jaeger ./cmd/jaeger)
func jaegerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("JAEGER_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("jaeger"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set and no Jaeger v2 binary: set JAEGER_BIN or put jaeger on PATH")
	}
	t.Skip("no Jaeger v2 binary (set JAEGER_BIN): skipped because CI is unset")
	return ""
}

// jaegerTrace is the part of Jaeger's /api/traces answer the test reads.
type jaegerTrace struct {
	Spans []struct {
		OperationName string `json:"operationName"`
		ProcessID     string `json:"processID"`
		Tags          []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// TestExportToJaeger runs a real Jaeger v2 (in-memory storage, loopback)
// and the collector with examples/jaeger.yaml (ports moved): real HTTP
// traffic of this test process, traced by the ebpf receiver, is found
// through Jaeger's query API with its service, operation and attributes.
func TestExportToJaeger(t *testing.T) {
	requireRoot(t)
	jaeger := jaegerBinary(t)
	jOTLP, jQuery, jQueryGRPC := freePort(t), freePort(t), freePort(t)
	jcfg := writeFile(t, "jaeger.yaml", fmt.Sprintf(`
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
extensions:
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  batch: {}
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`, jQuery, jQueryGRPC, jOTLP))
	jout := &syncBuffer{}
	jcmd := exec.Command(jaeger, "--config", jcfg)
	jcmd.Stdout, jcmd.Stderr = jout, jout
	if err := jcmd.Start(); err != nil {
		t.Fatal(err)
	}
	jdone := make(chan struct{})
	go func() { _ = jcmd.Wait(); close(jdone) }()
	t.Cleanup(func() {
		_ = jcmd.Process.Signal(os.Interrupt)
		select {
		case <-jdone:
		case <-time.After(10 * time.Second):
			_ = jcmd.Process.Kill()
			<-jdone
		}
		if t.Failed() {
			t.Logf("jaeger output:\n%s", jout.String())
		}
	})
	queryURL := fmt.Sprintf("http://127.0.0.1:%d", jQuery)
	waitUp := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(queryURL + "/api/services"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(waitUp) {
			t.Fatalf("Jaeger query API not up after 60s:\n%s", jout.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The collector with the Jaeger example, ports moved to free ones.
	example := filepath.Join(repoRoot(t), "distributions", "otelcol-ebpf", "examples", "jaeger.yaml")
	ports, overlay := portsOverlay(t)
	t.Setenv("JAEGER_OTLP_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", jOTLP))
	c := startCollector(t, "--config", example, "--config", overlay)
	waitHealthy(t, c, ports.health)

	// Real HTTP traffic of this process: a server and a client.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":42}`)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	exe, _ := os.Executable()
	service := filepath.Base(exe)
	target := fmt.Sprintf("http://%s/jaeger-e2e/items/42?x=1", l.Addr())

	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		if resp, err := cl.Get(target); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		time.Sleep(500 * time.Millisecond)
		resp, err := http.Get(queryURL + "/api/traces?service=" + service + "&limit=100&lookback=1h")
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		last = string(b)
		var ans struct {
			Data []jaegerTrace `json:"data"`
		}
		if json.Unmarshal(b, &ans) != nil {
			continue
		}
		for _, tr := range ans.Data {
			for _, sp := range tr.Spans {
				tags := map[string]string{}
				for _, tg := range sp.Tags {
					tags[tg.Key] = fmt.Sprint(tg.Value)
				}
				if tags["url.path"] != "/jaeger-e2e/items/42" || tags["span.kind"] != "server" {
					continue
				}
				if got := tr.Processes[sp.ProcessID].ServiceName; got != service {
					t.Errorf("service %q, want %q", got, service)
				}
				if !strings.HasPrefix(sp.OperationName, "GET /jaeger-e2e/") {
					t.Errorf("operation %q, want GET /jaeger-e2e/…", sp.OperationName)
				}
				for k, want := range map[string]string{"http.request.method": "GET", "http.response.status_code": "200", "url.query": "x=1"} {
					if tags[k] != want {
						t.Errorf("tag %s = %q, want %q (tags %v)", k, tags[k], want, tags)
					}
				}
				t.Logf("Jaeger has %s span %q of service %q with %d tags", tags["span.kind"], sp.OperationName, service, len(tags))
				return
			}
		}
	}
	t.Fatalf("no SERVER span of %s for /jaeger-e2e/items/42 in Jaeger after 60s; last answer: %.2000s\ncollector:\n%s", service, last, c.out.String())
}

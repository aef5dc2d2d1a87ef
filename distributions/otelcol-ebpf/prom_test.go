package distribution

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// localPorts are the loopback ports of a collector under test.
type localPorts struct{ health, store, grpc, http, prom int }

// portsOverlay writes a config overlay that moves every port of the default
// config to a free one; tests pass it after the default config and before
// their own overlay (the collector merges --config files in order).
func portsOverlay(t *testing.T) (localPorts, string) {
	t.Helper()
	p := localPorts{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)}
	return p, writeFile(t, "ports.yaml", fmt.Sprintf(`
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
  prometheus:
    endpoint: 127.0.0.1:%d
service:
  telemetry:
    metrics:
      level: none
`, p.health, p.store, p.grpc, p.http, p.prom))
}

// waitHealthy waits for the collector's health_check to answer 200.
func waitHealthy(t *testing.T, c *collector, port int) {
	t.Helper()
	u := fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-c.done:
			c.done <- err // for the cleanup, which waits for the exit too
			t.Fatalf("collector exited before becoming healthy: %v\n%s", err, c.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("health_check never answered 200 at %s\n%s", u, c.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startBackground starts a long-running program, stopped at cleanup.
func startBackground(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v (is it installed? .ci/run installs it)", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return cmd
}

// TestPrometheusScrapesREDMetrics: the default config's prometheus exporter
// serves the RED metrics the ebpf receiver derives from traced requests; a
// real Prometheus (Debian package) scrapes it and its HTTP API counts
// exactly the requests curl sent to a traced Python server. The process
// and connection tables of the store fill too.
func TestPrometheusScrapesREDMetrics(t *testing.T) {
	requireRoot(t)
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed (Debian package prometheus; .ci/run installs it)")
	}
	p, ports := portsOverlay(t)
	promWeb, appPort := freePort(t), freePort(t)
	overlay := writeFile(t, "overlay.yaml", `
receivers:
  ebpf:
    metrics:
      interval: 1s
`)
	c := startCollector(t, "--config", defaultConfig(t), "--config", ports, "--config", overlay)
	waitHealthy(t, c, p.health)

	// The traced server: Python's http.server, in its own process.
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<p>hello</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startBackground(t, web, "python3", "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(appPort))

	promDir := t.TempDir()
	promCfg := filepath.Join(promDir, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: otelcol-ebpf
    static_configs:
      - targets: ['127.0.0.1:%d']
`, p.prom)), 0o644); err != nil {
		t.Fatal(err)
	}
	startBackground(t, promDir, promBin, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(promDir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(promWeb))

	appURL := fmt.Sprintf("http://127.0.0.1:%d/index.html", appPort)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if exec.Command("curl", "-sf", "-o", "/dev/null", appURL).Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("python http.server never answered at %s", appURL)
		}
		time.Sleep(200 * time.Millisecond)
	}
	const n = 7 // plus the one that found the server up
	for i := 0; i < n; i++ {
		if out, err := exec.Command("curl", "-sS", "-o", "/dev/null", appURL).CombinedOutput(); err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
	}

	query := fmt.Sprintf(`sum({__name__=~"http_server_request_duration(_seconds)?_count",server_port="%d"})`, appPort)
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=%s", promWeb, url.QueryEscape(query))
	var last string
	deadline = time.Now().Add(90 * time.Second)
	for {
		if v, ok := promValue(api); ok {
			last = v
			if v == strconv.Itoa(n+1) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never counted %d requests for server_port=%d (last value %q)\n%s", n+1, appPort, last, c.out.String())
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The store's process_stats and conn_stats tables fill from the same
	// receiver.
	storeURL := fmt.Sprintf("http://127.0.0.1:%d/v1/tables", p.store)
	deadline = time.Now().Add(30 * time.Second)
	for {
		rows := tableRows(t, storeURL)
		if rows["process_stats"] > 0 && rows["conn_stats"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process_stats / conn_stats never filled: %v", rows)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// promValue runs an instant query and returns the single sample's value.
func promValue(api string) (string, bool) {
	resp, err := http.Get(api)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil || out.Status != "success" || len(out.Data.Result) != 1 {
		return "", false
	}
	s, ok := out.Data.Result[0].Value[1].(string)
	return s, ok
}

package distribution

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// TestNewRelicExampleExport runs examples/newrelic.yaml against a fake New
// Relic OTLP endpoint: every request carries the api-key header from
// NEW_RELIC_LICENSE_KEY, and the ebpf receiver's cumulative sums arrive as
// deltas (cumulative_to_delta), while the local pipeline stays cumulative.
func TestNewRelicExampleExport(t *testing.T) {
	requireRoot(t)
	const key = "0123456789abcdef0123456789abcdefNRAL"
	var (
		mu          sync.Mutex
		badKeys     []string
		temporality = map[string]pmetric.AggregationTemporality{} // sum metric → temporality seen
	)
	nr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if got := r.Header.Get("api-key"); got != key {
			badKeys = append(badKeys, r.URL.Path+": "+got)
		}
		mu.Unlock()
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/v1/metrics" {
			req := pmetricotlp.NewExportRequest()
			if err := req.UnmarshalProto(b); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			md := req.Metrics()
			mu.Lock()
			for i := 0; i < md.ResourceMetrics().Len(); i++ {
				sms := md.ResourceMetrics().At(i).ScopeMetrics()
				for j := 0; j < sms.Len(); j++ {
					ms := sms.At(j).Metrics()
					for k := 0; k < ms.Len(); k++ {
						if m := ms.At(k); m.Type() == pmetric.MetricTypeSum && m.Sum().IsMonotonic() {
							temporality[m.Name()] = m.Sum().AggregationTemporality()
						}
					}
				}
			}
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(nr.Close)

	example := filepath.Join(repoRoot(t), "distributions", "otelcol-ebpf", "examples", "newrelic.yaml")
	ports, portsFile := portsOverlay(t)
	overlay := writeFile(t, "overlay.yaml", `
receivers:
  ebpf:
    metrics:
      interval: 1s
`)
	t.Setenv("NEW_RELIC_LICENSE_KEY", key)
	t.Setenv("NEW_RELIC_OTLP_ENDPOINT", nr.URL)
	c := startCollector(t, "--config", example, "--config", portsFile, "--config", overlay)
	waitHealthy(t, c, ports.health)

	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		mu.Lock()
		tcpu, ok := temporality["process.cpu.time"]
		n := len(temporality)
		mu.Unlock()
		if !ok {
			continue
		}
		mu.Lock()
		defer mu.Unlock()
		if len(badKeys) > 0 {
			t.Errorf("requests without the api-key header: %v", badKeys)
		}
		if tcpu != pmetric.AggregationTemporalityDelta {
			t.Errorf("process.cpu.time arrived %s, want Delta", tcpu)
		}
		for name, tm := range temporality {
			if tm != pmetric.AggregationTemporalityDelta {
				t.Errorf("%s arrived %s, want Delta", name, tm)
			}
		}
		t.Logf("%d monotonic sums, all delta", n)
		return
	}
	t.Fatalf("no process.cpu.time at the fake New Relic endpoint after 45s:\n%s", c.out.String())
}

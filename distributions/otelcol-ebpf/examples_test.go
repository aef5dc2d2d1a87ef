package distribution

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// exampleEnv is what the example configs read from the environment.
var exampleEnv = []string{
	"NEW_RELIC_LICENSE_KEY=0123456789abcdef0123456789abcdefNRAL",
	"MY_POD_IP=127.0.0.1", "KUBE_NODE_NAME=test-node",
}

func validateConfig(t *testing.T, files ...string) {
	t.Helper()
	args := []string{"validate"}
	for _, f := range files {
		args = append(args, "--config", f)
	}
	cmd := exec.Command(collectorBinary(t), args...)
	cmd.Env = append(os.Environ(), exampleEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("otelcol-ebpf validate %v: %v\n%s", files, err, out)
	}
}

// TestExamplesValidate: every config in examples/ is one the binary accepts.
func TestExamplesValidate(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "distributions", "otelcol-ebpf", "examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"jaeger.yaml", "newrelic.yaml", "prometheus-remote-write.yaml", "tempo.yaml"}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("examples/ holds %v, want %v", names, want)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			validateConfig(t, f)
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg := string(b)
			// What each example is for must be in it, not only valid YAML.
			musts := map[string][]string{
				"jaeger.yaml": {"otlp_grpc/jaeger:", "exporters: [table_store, otlp_grpc/jaeger]"},
				"tempo.yaml":  {"otlp_grpc/tempo:", "exporters: [table_store, otlp_grpc/tempo]"},
				"newrelic.yaml": {"otlp_http/newrelic:", "api-key: ${env:NEW_RELIC_LICENSE_KEY}", "https://otlp.nr-data.net",
					"processors: [memory_limiter, pii_redaction, cumulative_to_delta, batch]"},
				"prometheus-remote-write.yaml": {"prometheus_remote_write:", "exporters: [table_store, prometheus_remote_write]"},
			}[filepath.Base(f)]
			for _, m := range musts {
				if !strings.Contains(cfg, m) {
					t.Errorf("lacks %q", m)
				}
			}
		})
	}
}

// chartConfig returns the collector config held by the ConfigMap of the
// committed Kubernetes manifests (kubernetes/manifests/otelcol-ebpf.yaml,
// rendered from the Helm chart; the chart's own tests live in the
// kubernetes/ module).
func chartConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "distributions", "otelcol-ebpf", "kubernetes", "manifests", "otelcol-ebpf.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const key = "  config.yaml: |\n"
	i := strings.Index(string(b), key)
	if i < 0 {
		t.Fatal("no config.yaml in the ConfigMap")
	}
	var cfg strings.Builder
	for _, line := range strings.Split(string(b)[i+len(key):], "\n") {
		if line != "" && !strings.HasPrefix(line, "    ") {
			break
		}
		cfg.WriteString(strings.TrimPrefix(line, "    ") + "\n")
	}
	return cfg.String()
}

// TestKubernetesConfigValidates: the DaemonSet's collector config (pod-IP
// endpoints, k8s_attributes, the receiver's pod filter) is valid.
func TestKubernetesConfigValidates(t *testing.T) {
	cfg := chartConfig(t)
	for _, want := range []string{"k8s_attributes:", "${env:MY_POD_IP}:4317", "pods_dir: /var/log/pods"} {
		if !strings.Contains(cfg, want) {
			t.Fatalf("chart config lacks %q:\n%s", want, cfg)
		}
	}
	validateConfig(t, writeFile(t, "k8s.yaml", cfg))
}

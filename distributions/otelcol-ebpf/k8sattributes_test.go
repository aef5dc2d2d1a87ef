package distribution

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// fakeAPIServer speaks the part of the Kubernetes API that k8s_attributes'
// pod informer uses: list and watch of /api/v1/pods (a watch sends the
// initial pods when asked to, then stays open). Other paths are 404 and
// recorded.
type fakeAPIServer struct {
	*httptest.Server
	pods []map[string]any

	mu      sync.Mutex
	unknown []string
	lists   int
}

func fakePod(ns, name, uid, containerID string) map[string]any {
	return map[string]any{
		"kind": "Pod", "apiVersion": "v1",
		"metadata": map[string]any{"name": name, "namespace": ns, "uid": uid, "resourceVersion": "7",
			"creationTimestamp": "2026-01-01T00:00:00Z"},
		"spec": map[string]any{"nodeName": "test-node", "containers": []any{map[string]any{"name": "app", "image": "example/app:1"}}},
		"status": map[string]any{"phase": "Running", "podIP": "10.1.2.3", "startTime": "2026-01-01T00:00:01Z",
			"containerStatuses": []any{map[string]any{"name": "app", "ready": true, "restartCount": 0, "image": "example/app:1",
				"imageID": "", "containerID": "containerd://" + containerID}}},
	}
}

func startFakeAPIServer(t *testing.T, pods ...map[string]any) *fakeAPIServer {
	f := &fakeAPIServer{pods: pods}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPIServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/pods" {
		f.mu.Lock()
		f.unknown = append(f.unknown, r.Method+" "+r.URL.String())
		f.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	if q.Get("watch") != "true" && q.Get("watch") != "1" {
		f.mu.Lock()
		f.lists++
		f.mu.Unlock()
		items := make([]any, len(f.pods))
		for i, p := range f.pods {
			items[i] = p
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "PodList", "apiVersion": "v1",
			"metadata": map[string]any{"resourceVersion": "7"}, "items": items})
		return
	}
	enc := json.NewEncoder(w)
	if q.Get("sendInitialEvents") == "true" { // client-go's streaming list
		for _, p := range f.pods {
			_ = enc.Encode(map[string]any{"type": "ADDED", "object": p})
		}
		_ = enc.Encode(map[string]any{"type": "BOOKMARK", "object": map[string]any{"kind": "Pod", "apiVersion": "v1",
			"metadata": map[string]any{"resourceVersion": "7", "annotations": map[string]any{"k8s.io/initial-events-end": "true"}}}})
	}
	w.(http.Flusher).Flush()
	select { // nothing changes: hold the watch until the client or the test goes
	case <-r.Context().Done():
	case <-time.After(30 * time.Second):
	}
}

// TestK8sAttributesAndPxLCtx runs the binary with k8s_attributes against a
// fake API server. Spans shaped like the ebpf receiver's (resource
// k8s.pod.uid and container.id from the cgroup, process.*) come in over
// OTLP; k8s_attributes adds the pod names the API server supplies (by pod
// uid for one, by container id for the other), and PxL's ctx['pod'],
// ctx['namespace'], ctx['service'] and ctx['node'] read them back from the
// table store in Pixie's namespace/name form.
func TestK8sAttributesAndPxLCtx(t *testing.T) {
	webUID, dbUID := "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "6a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d"
	dbContainer := strings.Repeat("d0", 32)
	api := startFakeAPIServer(t,
		fakePod("shop", "web-7d9f8b6c5-x2k4q", webUID, strings.Repeat("a1", 32)),
		fakePod("shop", "postgres-0", dbUID, dbContainer))

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: %s
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
current-context: fake
users:
- name: fake
  user:
    token: not-checked
`, api.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	otlpPort, storePort, healthPort := freePort(t), freePort(t), freePort(t)
	cfg := writeFile(t, "k8s.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
  table_store:
    http:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
processors:
  k8s_attributes:
    auth_type: kubeConfig
    wait_for_metadata: true
    wait_for_metadata_timeout: 20s
    filter:
      node_from_env_var: KUBE_NODE_NAME
    extract:
      metadata: [k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.node.name, k8s.container.name]
    pod_association:
      - sources: [{from: resource_attribute, name: k8s.pod.uid}]
      - sources: [{from: resource_attribute, name: container.id}]
exporters:
  table_store:
    extension: table_store
service:
  extensions: [health_check, table_store]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [k8s_attributes]
      exporters: [table_store]
  telemetry:
    metrics:
      level: none
`, healthPort, storePort, otlpPort))
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("KUBE_NODE_NAME", "test-node")
	c := startCollector(t, "--config", cfg)
	waitHealthy(t, c, healthPort)

	// Three processes as the ebpf receiver describes them: one known by its
	// pod uid, one by its container id only, one outside Kubernetes.
	td := ptrace.NewTraces()
	addSpan := func(exe string, pid int64, res map[string]string) {
		rs := td.ResourceSpans().AppendEmpty()
		a := rs.Resource().Attributes()
		a.PutStr("service.name", exe)
		a.PutStr("process.executable.name", exe)
		a.PutInt("process.pid", pid)
		for k, v := range res {
			a.PutStr(k, v)
		}
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver")
		sp := ss.Spans().AppendEmpty()
		sp.SetName("GET /")
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetTraceID(pcommon.TraceID{1, byte(pid)})
		sp.SetSpanID(pcommon.SpanID{2, byte(pid)})
		now := time.Now()
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		sp.Attributes().PutStr("http.request.method", "GET")
		sp.Attributes().PutStr("url.path", "/")
		sp.Attributes().PutInt("http.response.status_code", 200)
	}
	addSpan("nginx", 101, map[string]string{"k8s.pod.uid": webUID, "container.id": strings.Repeat("a1", 32)})
	addSpan("postgres", 102, map[string]string{"container.id": dbContainer})
	addSpan("sshd", 103, nil)
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/traces", otlpPort), "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP export: %s", resp.Status)
	}

	script := `import px
df = px.DataFrame('http_events', start_time='-5m')
df.pod = df.ctx['pod']
df.namespace = df.ctx['namespace']
df.service = df.ctx['service']
df.node = df.ctx['node']
df = df[['pid', 'pod', 'namespace', 'service', 'node']]
px.display(df, 'k8s')`
	want := [][]any{
		{float64(101), "shop/web-7d9f8b6c5-x2k4q", "shop", "shop/nginx", "test-node"},
		{float64(102), "shop/postgres-0", "shop", "shop/postgres", "test-node"},
		{float64(103), "", "", "sshd", "test-node"},
	}
	var got [][]any
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		got = pxlRows(t, storePort, script)
		sort.Slice(got, func(i, j int) bool { return fmt.Sprint(got[i][0]) < fmt.Sprint(got[j][0]) })
		if len(got) >= len(want) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		api.mu.Lock()
		t.Fatalf("PxL ctx rows\n got %v\nwant %v\n(API server: %d lists, unknown requests %v)", got, want, api.lists, api.unknown)
	}
}

// pxlRows runs a PxL script on the table store's endpoint and returns the
// rows of its single table.
func pxlRows(t *testing.T, port int, script string) [][]any {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"script": script})
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/query", port), "application/json", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query: %s: %s", resp.Status, b)
	}
	var out struct {
		Tables []struct {
			Rows [][]any `json:"rows"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("query answer: %v: %s", err, b)
	}
	if len(out.Tables) != 1 {
		t.Fatalf("query answered %d tables: %s", len(out.Tables), b)
	}
	return out.Tables[0].Rows
}

package distribution

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestRedactionEndToEnd: real HTTP traffic carrying an email, a card number
// and a bearer token, traced by the default config (headers and bodies on,
// pii_redaction in categories mode): the OTLP export and the table store
// show only tokens.
func TestRedactionEndToEnd(t *testing.T) {
	requireRoot(t)
	sink := startSink(t)
	p, ports := portsOverlay(t)
	appPort := freePort(t)
	overlay := writeFile(t, "overlay.yaml", fmt.Sprintf(`
receivers:
  ebpf:
    filter:
      include_ports: [%d]
exporters:
  otlp_http/test:
    endpoint: http://%s
    compression: none
service:
  pipelines:
    traces:
      exporters: [table_store, debug, otlp_http/test]
`, appPort, sink.addr))
	c := startCollector(t, "--config", defaultConfig(t), "--config", ports, "--config", overlay)
	waitHealthy(t, c, p.health)

	startBackground(t, t.TempDir(), "python3", "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(appPort))
	appURL := fmt.Sprintf("http://127.0.0.1:%d/", appPort)
	deadline := time.Now().Add(30 * time.Second)
	for exec.Command("curl", "-sf", "-o", "/dev/null", appURL).Run() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("python http.server never answered at %s", appURL)
		}
		time.Sleep(200 * time.Millisecond)
	}

	const email, card, token = "jane.doe@example.com", "4111 1111 1111 1111", "s3cr3tT0kenValue123456"
	body := `{"email":"` + email + `","card":"` + card + `"}`
	out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "-X", "POST", "-H", "Content-Type: application/json",
		"-H", "Authorization: Bearer "+token, "--data", body, appURL+"submit").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}

	// The OTLP export: curl's CLIENT span of POST /submit.
	var reqBody, authz string
	var dump string
	deadline = time.Now().Add(30 * time.Second)
	for {
		sink.mu.Lock()
		for _, td := range sink.traces {
			for i := 0; i < td.ResourceSpans().Len(); i++ {
				ss := td.ResourceSpans().At(i).ScopeSpans()
				for j := 0; j < ss.Len(); j++ {
					spans := ss.At(j).Spans()
					for k := 0; k < spans.Len(); k++ {
						a := spans.At(k).Attributes()
						if p, _ := a.Get("url.path"); p.Str() != "/submit" {
							continue
						}
						dump += fmt.Sprint(a.AsRaw())
						if v, ok := a.Get("http.request.body"); ok {
							reqBody = v.Str()
						}
						if v, ok := a.Get("http.request.header.authorization"); ok {
							authz = v.AsString()
							if v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() > 0 {
								authz = v.Slice().At(0).AsString()
							}
						}
					}
				}
			}
		}
		sink.mu.Unlock()
		if reqBody != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no span of POST /submit with a request body reached the OTLP sink; names %v\n%s", sink.spanNames(), c.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, secret := range []string{email, card, token, "jane.doe"} {
		if strings.Contains(dump, secret) {
			t.Errorf("the OTLP export contains %q: %s", secret, dump)
		}
	}
	if !strings.Contains(reqBody, "<REDACTED_EMAIL>") || !strings.Contains(reqBody, "<REDACTED_CC_NUMBER>") {
		t.Errorf("request body in the OTLP export = %q, want the email and card tokens", reqBody)
	}
	if authz == "" || strings.Contains(authz, token) {
		t.Errorf("Authorization header in the OTLP export = %q, want it redacted", authz)
	}

	// The table store, through PxL.
	pxl := filepath.Join(filepath.Dir(collectorBinary(t)), "pxl")
	script := `import px
df = px.DataFrame('http_events', start_time='-5m')
df = df[df.req_path == '/submit']
px.display(df[['req_method', 'req_path', 'req_headers', 'req_body']], 'submit')`
	var got string
	deadline = time.Now().Add(30 * time.Second)
	for {
		o, err := exec.Command(pxl, "run", "--endpoint", fmt.Sprintf("http://127.0.0.1:%d", p.store), "-o", "csv", "-e", script).CombinedOutput()
		if err != nil {
			t.Fatalf("pxl run: %v\n%s", err, o)
		}
		got = string(o)
		if strings.Contains(got, "/submit") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST /submit never reached http_events:\n%s", got)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, secret := range []string{email, card, token} {
		if strings.Contains(got, secret) {
			t.Errorf("the table store shows %q:\n%s", secret, got)
		}
	}
	if !strings.Contains(got, "REDACTED_EMAIL") || !strings.Contains(got, "REDACTED_CC_NUMBER") {
		t.Errorf("the table store's req_body lacks the tokens:\n%s", got)
	}
}

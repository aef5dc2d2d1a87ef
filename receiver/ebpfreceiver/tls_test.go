package ebpfreceiver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
)

// TestLoadTLSConfig: tls.enabled from the config file; off by default.
func TestLoadTLSConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	assert.False(t, cfg.TLS.Enabled)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "tls").String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	assert.True(t, cfg.TLS.Enabled)
	require.NoError(t, cfg.Validate())
}

// waitTLSProbed waits until the receiver's TLS probes are on a file whose
// path ends with suffix.
func waitTLSProbed(t *testing.T, rcv receiver.Traces, suffix string) {
	t.Helper()
	var r *tracesReceiver
	switch v := rcv.(type) {
	case *tracesReceiver:
		r = v
	case *sharedReceiver:
		r = v.tracesReceiver
	}
	require.NotNil(t, r)
	require.NotNil(t, r.tls, "TLS probes not started")
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, b := range r.tls.Binaries() {
			if strings.HasSuffix(b.Path, suffix) && b.Attached {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TLS probes on %s: %+v", suffix, r.tls.Binaries())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTLSNginxCurlSpans: with tls.enabled, curl against nginx over HTTPS
// (HTTP/1.1 and HTTP/2, self-signed certificate) gives server and client
// spans with the exact paths and tls.protocol.name / url.scheme=https.
func TestTLSNginxCurlSpans(t *testing.T) {
	nginx := needBin(t, "nginx")
	needBin(t, "curl")
	openssl := needBin(t, "openssl")
	rcv, sink := startReceiver(t, func(c *Config) { c.TLS.Enabled = true })

	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	runCmd(t, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")
	port := freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`
daemon off;
user root;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s;
	proxy_temp_path %[1]s;
	fastcgi_temp_path %[1]s;
	uwsgi_temp_path %[1]s;
	scgi_temp_path %[1]s;
	server {
		listen 127.0.0.1:%[2]d ssl http2;
		ssl_certificate %[3]s;
		ssl_certificate_key %[4]s;
		location / { return 200 "ok\n"; }
	}
}
`, dir, port, cert, key)), 0o644))
	cmd := exec.Command(nginx, "-c", conf, "-p", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // master and worker
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr)
	waitTLSProbed(t, rcv, "libssl.so.3")

	tok := fmt.Sprintf("tls%d", time.Now().UnixNano())
	runCmd(t, "curl", "-sS", "-k", "--http1.1", "https://"+addr+"/"+tok+"/h1")
	runCmd(t, "curl", "-sS", "-k", "--http2", "https://"+addr+"/"+tok+"/h2")

	for _, tc := range []struct{ path, version string }{{"/h1", "1.1"}, {"/h2", "2"}} {
		path := "/" + tok + tc.path
		for _, kind := range []ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindClient} {
			got := waitSpans(t, sink, 1, func(s gotSpan) bool {
				return s.span.Kind() == kind && strAttr(s.span, "url.path") == path
			})
			s := got[0].span
			assert.Equal(t, "tls", strAttr(s, "tls.protocol.name"), "%s %s", kind, path)
			assert.Equal(t, "https", strAttr(s, "url.scheme"), "%s %s", kind, path)
			assert.Equal(t, tc.version, strAttr(s, "network.protocol.version"), "%s %s", kind, path)
			assert.EqualValues(t, 200, intAttr(s, "http.response.status_code"), "%s %s", kind, path)
			exe, _ := got[0].res.Attributes().Get("process.executable.name")
			want := "curl"
			if kind == ptrace.SpanKindServer {
				want = "nginx"
			}
			assert.Equal(t, want, exe.Str(), "%s %s", kind, path)
		}
	}
}

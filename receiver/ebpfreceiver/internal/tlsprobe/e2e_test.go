package tlsprobe

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// byRole returns the records of one role with their paths, in order.
func paths(recs []record, role sockevent.Role) []string {
	var out []string
	for _, r := range recs {
		if r.role == role {
			out = append(out, r.method+" "+r.path+fmt.Sprintf(" %d tls=%v", r.status, r.tls))
		}
	}
	return out
}

func hasBoth(n int) func([]record) bool {
	return func(rs []record) bool {
		return len(paths(rs, sockevent.RoleServer)) >= n && len(paths(rs, sockevent.RoleClient)) >= n
	}
}

// TestNginxCurl: curl (OpenSSL, libssl.so.3) against nginx (OpenSSL) over
// HTTPS/1.1 on loopback; both sides' exchanges are read from the TLS
// plaintext, with the exact paths.
func TestNginxCurl(t *testing.T) {
	s := startStack(t)
	nginx := requireTool(t, "nginx")
	curl := requireTool(t, "curl")
	cert, key := selfSignedCert(t)
	tok := token()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, tok), 0o755))
	for _, f := range []string{"a", "b"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, tok, f), []byte("file "+f+"\n"), 0o644))
	}
	port := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`
daemon off;
master_process on;
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
		listen 127.0.0.1:%[2]d ssl;
		ssl_certificate %[3]s;
		ssl_certificate_key %[4]s;
		root %[5]s;
	}
}
`, dir, port, cert, key, root)), 0o644))
	cmd := exec.Command(nginx, "-c", conf, "-p", dir)
	cmd.Stderr = os.Stderr
	startCmd(t, cmd)
	waitListening(t, port)
	s.waitAttached(t, "libssl.so.3")

	base := fmt.Sprintf("https://127.0.0.1:%d/%s/", port, tok)
	out, err := exec.Command(curl, "-sS", "-k", "--http1.1", base+"a", base+"b?x=1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "file a\nfile b\n", string(out))

	recs := s.waitRecords(t, 0, "/"+tok+"/", hasBoth(2))
	want := []string{"GET /" + tok + "/a 200 tls=true", "GET /" + tok + "/b 200 tls=true"}
	assert.Equal(t, want, paths(recs, sockevent.RoleServer), "nginx")
	assert.Equal(t, want, paths(recs, sockevent.RoleClient), "curl")
}

// TestPythonHTTPServer: Python's http.server wrapped in ssl (OpenSSL
// through the _ssl module, SSL_read_ex/SSL_write_ex) and curl.
func TestPythonHTTPServer(t *testing.T) {
	s := startStack(t)
	py := requireTool(t, "python3")
	curl := requireTool(t, "curl")
	cert, key := selfSignedCert(t)
	port := freePort(t)
	script := fmt.Sprintf(`
import http.server, ssl
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("py " + self.path + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", %d), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(%q, %q)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
`, port, cert, key)
	cmd := exec.Command(py, "-c", script)
	cmd.Stderr = os.Stderr
	startCmd(t, cmd)
	waitListening(t, port)
	s.waitAttached(t, "libssl.so.3")

	tok := token()
	base := fmt.Sprintf("https://127.0.0.1:%d/%s/", port, tok)
	out, err := exec.Command(curl, "-sS", "-k", "--http1.1", base+"one", base+"two").CombinedOutput()
	require.NoError(t, err, "%s", out)

	recs := s.waitRecords(t, 0, "/"+tok+"/", hasBoth(2))
	want := []string{"GET /" + tok + "/one 200 tls=true", "GET /" + tok + "/two 200 tls=true"}
	assert.Equal(t, want, paths(recs, sockevent.RoleServer), "python")
	assert.Equal(t, want, paths(recs, sockevent.RoleClient), "curl")
	for _, r := range recs {
		if r.role == sockevent.RoleServer {
			assert.Equal(t, cmd.Process.Pid, int(r.pid))
		}
	}
}

// TestGoServerClient: a Go HTTPS server and client (crypto/tls, probed at
// entry and at every RET) built by the test, with symbols and stripped
// (-ldflags="-s -w": found through the pclntab). The binaries are built and
// started after the tracer, so this is also the "process started after the
// receiver" case: the exec is seen and the new binary probed.
func TestGoServerClient(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"symbols", nil},
		{"stripped", []string{"-ldflags=-s -w"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStack(t)
			bin := buildGo(t, "gotls-"+tc.name, tc.flags...)
			pid, port := goServer(t, bin)
			st := s.waitAttached(t, filepath.Base(bin))
			assert.Equal(t, KindGo, st.Kind)

			tok := token()
			url := fmt.Sprintf("https://127.0.0.1:%d/%s/go", port, tok)
			cl := exec.Command(bin, "client", url, "3")
			out, err := cl.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Equal(t, strings.Repeat("status 200\n", 3), string(out))

			recs := s.waitRecords(t, 0, "/"+tok+"/", hasBoth(3))
			want := []string{}
			for range 3 {
				want = append(want, "GET /"+tok+"/go 200 tls=true")
			}
			assert.Equal(t, want, paths(recs, sockevent.RoleServer), "go server")
			assert.Equal(t, want, paths(recs, sockevent.RoleClient), "go client; its events:\n%s", s.eventsOf(cl.Process.Pid))
			for _, r := range recs {
				if r.role == sockevent.RoleServer {
					assert.Equal(t, pid, int(r.pid))
				} else {
					assert.Equal(t, cl.Process.Pid, int(r.pid))
				}
			}
		})
	}
}

// TestDetachWhenUnused: the probes of a binary are removed once no process
// maps it (the process exit is seen), and attached again for a new process.
func TestDetachWhenUnused(t *testing.T) {
	s := startStack(t)
	bin := buildGo(t, "gotls-detach")
	cmd := exec.Command(bin, "server")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	startCmd(t, cmd)
	st := s.waitAttached(t, "gotls-detach")
	assert.Equal(t, 1, st.PIDs)
	require.NoError(t, stdin.Close()) // the server exits
	_ = cmd.Wait()
	s.waitGone(t, "gotls-detach")

	goServer(t, bin)
	s.waitAttached(t, "gotls-detach")
}

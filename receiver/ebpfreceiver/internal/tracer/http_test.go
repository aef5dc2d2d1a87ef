package tracer

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

func TestHTTPOverIPv4(t *testing.T) { testHTTP(t, "127.0.0.1") }

func TestHTTPOverIPv6(t *testing.T) { testHTTP(t, "::1") }

// testHTTP runs python's http.server and curl (separate processes) and
// checks both ends of the connection: roles, addresses, exact bytes, Pos,
// Close totals and counters.
func testHTTP(t *testing.T, host string) {
	tr, rec := startTracer(t, Config{})

	dir := t.TempDir()
	body := []byte(strings.Repeat("hello from the socket tracer\n", 100))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hello.txt"), body, 0o644))
	port := freePort(t, host)
	server := startPy(t, "-m", "http.server", "--bind", host, "--directory", dir, fmt.Sprint(port))
	server.expect(t, "Serving HTTP")

	before := time.Now().UnixNano()
	out := filepath.Join(dir, "out")
	curl := exec.Command("curl", "-sS", "--max-time", "5", "-o", out, hostURL(host, port, "/hello.txt"))
	curl.Stderr = &testWriter{t: t, prefix: "curl: "}
	require.NoError(t, curl.Run())
	after := time.Now().UnixNano()
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, body, got)

	addr := netip.MustParseAddr(host)
	serverAddr := netip.AddrPortFrom(addr, uint16(port))

	// Client side: connect() → RoleClient.
	var client sockevent.Open
	require.Eventually(t, func() bool {
		for _, o := range rec.opensOf(curl.Process.Pid) {
			if o.Remote == serverAddr {
				client = o
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "no Open for curl's connection")
	assert.Equal(t, sockevent.RoleClient, client.Role)
	assert.False(t, client.Existing)
	assert.Equal(t, addr.Is6(), client.IPv6)
	assert.Equal(t, addr, client.Local.Addr())
	assert.NotZero(t, client.Local.Port())
	// The comm is taken in BPF: curl is gone before /proc could be read.
	assert.Equal(t, "curl", client.Comm)

	// Server side: accept4() → RoleServer, addresses mirrored.
	var server0 sockevent.Open
	require.Eventually(t, func() bool {
		for _, o := range rec.opensOf(server.cmd.Process.Pid) {
			if o.Remote == client.Local {
				server0 = o
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "no Open for the server's accepted connection")
	assert.Equal(t, sockevent.RoleServer, server0.Role)
	assert.False(t, server0.Existing)
	assert.Equal(t, serverAddr, server0.Local)
	assert.Equal(t, addr.Is6(), server0.IPv6)
	assert.True(t, strings.HasPrefix(server0.Comm, "python"), "server comm %q", server0.Comm)

	rec.waitClosed(t, client.ID, server0.ID)

	cd := rec.dataOf(client.ID)
	sd := rec.dataOf(server0.ID)
	request := stream(t, cd, sockevent.Egress)
	response := stream(t, cd, sockevent.Ingress)
	assert.Equal(t, request, stream(t, sd, sockevent.Ingress), "server read what curl wrote")
	assert.Equal(t, response, stream(t, sd, sockevent.Egress), "curl read what the server wrote")

	wantReq := fmt.Sprintf("GET /hello.txt HTTP/1.1\r\nHost: %s\r\n", strings.TrimPrefix(hostURL(host, port, ""), "http://"))
	assert.True(t, bytes.HasPrefix(request, []byte(wantReq)), "request %q", request)
	assert.True(t, bytes.HasSuffix(request, []byte("\r\n\r\n")), "request %q", request)
	assert.True(t, bytes.HasPrefix(response, []byte("HTTP/1.0 200 OK\r\n")), "response %q", response)
	assert.True(t, bytes.HasSuffix(response, body), "response ends with the file")

	for _, d := range append(cd, sd...) {
		assert.GreaterOrEqual(t, d.TimeNs, before-int64(time.Second), "TimeNs is wall clock")
		assert.LessOrEqual(t, d.TimeNs, after+int64(time.Second), "TimeNs is wall clock")
		assert.Equal(t, int(d.Size), len(d.Payload))
	}

	cc, _ := rec.closeOf(client.ID)
	assert.Equal(t, uint64(len(request)), cc.BytesSent)
	assert.Equal(t, uint64(len(response)), cc.BytesRecv)
	sc, _ := rec.closeOf(server0.ID)
	assert.Equal(t, uint64(len(response)), sc.BytesSent)
	assert.Equal(t, uint64(len(request)), sc.BytesRecv)
	assert.GreaterOrEqual(t, sc.TimeNs, server0.TimeNs)

	st := tr.Stats()
	t.Logf("stats: %+v", st)
	assert.Equal(t, st.Events, st.OpenEvents+st.DataEvents+st.CloseEvents)
	assert.LessOrEqual(t, st.Records, st.KernelRecords())
	assert.GreaterOrEqual(t, st.OpenEvents, uint64(2))
	assert.GreaterOrEqual(t, st.DataEvents, uint64(len(cd)+len(sd)))
	assert.GreaterOrEqual(t, st.CloseEvents, uint64(2))
	assert.GreaterOrEqual(t, st.DataBytes, uint64(2*(len(request)+len(response))))
	assert.GreaterOrEqual(t, st.KernelDataEvents, st.DataEvents)
	assert.Zero(t, st.Malformed)
	assert.Zero(t, st.Drops())
}

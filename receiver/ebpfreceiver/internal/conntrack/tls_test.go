package conntrack

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// TestTLSPlaintextAfterHandshake: the handshake's ciphertext is seen as
// plain Data first; the first TLS Data starts the connection afresh on the
// plaintext stream (offsets from 0), records say TLS, and ciphertext that
// still comes afterwards is ignored.
func TestTLSPlaintextAfterHandshake(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(5, 1)
	h.open(c, sockevent.RoleServer, false, 1)
	// ClientHello / ServerHello ciphertext.
	h.tr.OnData(&sockevent.Data{ID: c, Dir: in, TimeNs: 2, Pos: 0, Size: 6, Payload: []byte{0x16, 3, 1, 0, 1, 1}})
	h.tr.OnData(&sockevent.Data{ID: c, Dir: out, TimeNs: 3, Pos: 0, Size: 6, Payload: []byte{0x16, 3, 3, 0, 1, 2}})

	req := "GET /secret HTTP/1.1\r\nHost: x\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	h.tr.OnData(&sockevent.Data{ID: c, Dir: in, TimeNs: 4, Pos: 0, Size: uint32(len(req)), Payload: []byte(req), TLS: true})
	h.tr.OnData(&sockevent.Data{ID: c, Dir: out, TimeNs: 5, Pos: 6, Size: 30, Payload: []byte{0x17, 3, 3}}) // late ciphertext
	h.tr.OnData(&sockevent.Data{ID: c, Dir: out, TimeNs: 6, Pos: 0, Size: uint32(len(resp)), Payload: []byte(resp), TLS: true})

	require.Len(t, h.recs, 1)
	r := h.recs[0]
	assert.True(t, r.Conn.TLS)
	assert.Equal(t, "http1", r.Conn.Protocol)
	assert.Equal(t, "/secret", r.Req.Path)
	require.NotNil(t, r.Resp)
	assert.Equal(t, 200, r.Resp.StatusCode)
	st := h.tr.Stats()
	assert.Equal(t, uint64(1), st.ConnsTLS)
	assert.Zero(t, st.Gaps, "plaintext offsets are a stream of their own")
	assert.GreaterOrEqual(t, st.IgnoredBytes, uint64(30), "the late ciphertext")
}

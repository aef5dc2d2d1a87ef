package conntrack

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

const (
	in  = sockevent.Ingress
	out = sockevent.Egress
)

// rec is a detached copy of a Record.
type rec struct {
	Conn       ConnInfo
	Req, Resp  *http1.Message
	Unanswered Unanswered
}

func (r rec) String() string {
	s := fmt.Sprintf("%s %s %s", r.Conn.Role, r.Req.Method, r.Req.Target)
	if r.Resp != nil {
		s += fmt.Sprintf(" -> %d body=%d", r.Resp.StatusCode, r.Resp.BodySize)
	} else {
		s += " -> none(" + r.Unanswered.String() + ")"
	}
	return s
}

type harness struct {
	t    *testing.T
	tr   *Tracker
	recs []rec
	pos  map[sockevent.ConnID]*[2]uint64
}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, pos: map[sockevent.ConnID]*[2]uint64{}}
	h.tr = New(cfg, func(r *Record) {
		c := rec{Conn: r.Conn, Req: r.Req.Clone(), Unanswered: r.Unanswered}
		if r.Resp != nil {
			c.Resp = r.Resp.Clone()
		}
		require.NotNil(t, r.Req)
		require.Equal(t, r.Resp == nil, r.Unanswered != Answered)
		h.recs = append(h.recs, c)
	})
	return h
}

var (
	srvAddr = netip.MustParseAddrPort("10.0.0.1:8080")
	cliAddr = netip.MustParseAddrPort("10.0.0.2:40000")
)

func id(fd int32, gen uint64) sockevent.ConnID { return sockevent.ConnID{PID: 100, FD: fd, Gen: gen} }

func (h *harness) open(cid sockevent.ConnID, role sockevent.Role, existing bool, ts int64) {
	local, remote := srvAddr, cliAddr
	if role == sockevent.RoleClient {
		local, remote = cliAddr, srvAddr
	}
	h.tr.OnOpen(&sockevent.Open{ID: cid, TimeNs: ts, Role: role, Local: local, Remote: remote, Existing: existing})
}

// data sends one chunk at the next position of its direction.
func (h *harness) data(cid sockevent.ConnID, dir sockevent.Direction, s string, ts int64) {
	h.chunk(cid, dir, []byte(s), uint32(len(s)), ts)
}

// chunk sends a chunk whose payload may be shorter than size.
func (h *harness) chunk(cid sockevent.ConnID, dir sockevent.Direction, payload []byte, size uint32, ts int64) {
	p := h.pos[cid]
	if p == nil {
		p = new([2]uint64)
		h.pos[cid] = p
	}
	buf := append([]byte(nil), payload...)
	h.tr.OnData(&sockevent.Data{ID: cid, Dir: dir, TimeNs: ts, Pos: p[dir], Size: size, Payload: buf})
	// The tracer reuses its buffers: scribble over the payload.
	for i := range buf {
		buf[i] = 'X'
	}
	p[dir] += uint64(size)
}

// lose advances a direction's position as if chunks were lost.
func (h *harness) lose(cid sockevent.ConnID, dir sockevent.Direction, n uint64) {
	p := h.pos[cid]
	if p == nil {
		p = new([2]uint64)
		h.pos[cid] = p
	}
	p[dir] += n
}

func (h *harness) close(cid sockevent.ConnID, ts int64) {
	h.tr.OnClose(&sockevent.Close{ID: cid, TimeNs: ts})
}

func (h *harness) strings() []string {
	out := make([]string, len(h.recs))
	for i, r := range h.recs {
		out[i] = r.String()
	}
	return out
}

const (
	getReq    = "GET /users/123/orders/9f86d081884c7d659a2feaa0c55ad015?expand=1 HTTP/1.1\r\nHost: api\r\nAccept: */*\r\n\r\n"
	okResp    = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"
	postReq   = "POST /items HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\nhello"
	createdRs = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
	headReq   = "HEAD /items/7 HTTP/1.1\r\nHost: api\r\n\r\n"
	headResp  = "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"
)

func TestServerRole(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(5, 1)
	h.open(c, sockevent.RoleServer, false, 1000)
	h.data(c, in, getReq, 2000)
	h.data(c, out, okResp[:20], 3000)
	h.data(c, out, okResp[20:], 4000)
	require.Len(t, h.recs, 1)
	r := h.recs[0]
	assert.Equal(t, sockevent.RoleServer, r.Conn.Role)
	assert.False(t, r.Conn.RoleInferred)
	assert.Equal(t, srvAddr, r.Conn.Local)
	assert.Equal(t, cliAddr, r.Conn.Remote)
	assert.Equal(t, c, r.Conn.ID)
	assert.Equal(t, "http1", r.Conn.Protocol)
	assert.Equal(t, "GET", r.Req.Method)
	assert.Equal(t, "/users/123/orders/9f86d081884c7d659a2feaa0c55ad015", r.Req.Path)
	assert.Equal(t, "expand=1", r.Req.Query)
	assert.Equal(t, "/users/{id}/orders/{id}", r.Req.Route())
	assert.Equal(t, "1.1", r.Req.Version)
	assert.Equal(t, "api", r.Req.Get("host"))
	assert.Equal(t, 200, r.Resp.StatusCode)
	assert.Equal(t, "OK", r.Resp.Reason)
	assert.Equal(t, "GET", r.Resp.Method)
	assert.Equal(t, "application/json", r.Resp.Get("Content-Type"))
	assert.Equal(t, int64(11), r.Resp.BodySize)
	assert.Equal(t, `{"ok":true}`, r.Resp.Body)
	assert.Equal(t, int64(2000), r.Req.StartNs)
	assert.Equal(t, int64(4000), r.Resp.EndNs)
	assert.Equal(t, int64(3000), r.Resp.StartNs)

	st := h.tr.Stats()
	assert.Equal(t, uint64(1), st.Records)
	assert.Equal(t, uint64(1), st.ConnsHTTP)
	assert.Equal(t, 1, st.Conns)
	h.close(c, 5000)
	assert.Equal(t, 0, h.tr.Len())
	assert.Len(t, h.recs, 1)
}

func TestRecordHelpers(t *testing.T) {
	var got time.Duration
	var start, end int64
	tr := New(Config{}, func(r *Record) { got, start, end = r.Duration(), r.StartNs(), r.EndNs() })
	c := id(1, 1)
	tr.OnOpen(&sockevent.Open{ID: c, Role: sockevent.RoleServer})
	tr.OnData(&sockevent.Data{ID: c, Dir: in, TimeNs: 100, Pos: 0, Size: uint32(len(headReq)), Payload: []byte(headReq)})
	tr.OnData(&sockevent.Data{ID: c, Dir: out, TimeNs: 350, Pos: 0, Size: uint32(len(createdRs)), Payload: []byte(createdRs)})
	assert.Equal(t, 250*time.Nanosecond, got)
	assert.Equal(t, int64(100), start)
	assert.Equal(t, int64(350), end)
}

func TestClientRolePipelined(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(7, 1)
	h.open(c, sockevent.RoleClient, false, 1)
	h.data(c, out, getReq+headReq+postReq, 10)
	resps := okResp + headResp + createdRs
	// Responses arrive in odd pieces.
	for i := 0; i < len(resps); i += 17 {
		j := min(i+17, len(resps))
		h.data(c, in, resps[i:j], int64(20+i))
	}
	assert.Equal(t, []string{
		"client GET /users/123/orders/9f86d081884c7d659a2feaa0c55ad015?expand=1 -> 200 body=11",
		"client HEAD /items/7 -> 200 body=0",
		"client POST /items -> 201 body=0",
	}, h.strings())
	assert.Equal(t, int64(5), h.recs[2].Req.BodySize)
	assert.Equal(t, "hello", h.recs[2].Req.Body)
	assert.Equal(t, "HEAD", h.recs[1].Resp.Method)
}

func TestUnknownRoleInferred(t *testing.T) {
	for _, tc := range []struct {
		name           string
		reqDir         sockevent.Direction
		want           sockevent.Role
		respFirst      bool
		openWithUnkown bool
	}{
		{"server, no open seen", in, sockevent.RoleServer, false, false},
		{"client, no open seen", out, sockevent.RoleClient, false, false},
		{"server, response seen first", in, sockevent.RoleServer, true, false},
		{"client, existing open", out, sockevent.RoleClient, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := id(9, 77)
			if tc.openWithUnkown {
				h.open(c, sockevent.RoleUnknown, true, 1)
			}
			respDir := 1 - tc.reqDir
			// Mid-stream: the tail of an earlier response body first.
			h.data(c, respDir, "...tail of an earlier body\r\n", 5)
			if tc.respFirst {
				// The response of a request we never saw: dropped.
				h.data(c, respDir, createdRs, 6)
			}
			h.data(c, tc.reqDir, getReq, 10)
			h.data(c, respDir, okResp, 20)
			h.data(c, tc.reqDir, postReq, 30)
			h.data(c, respDir, createdRs, 40)
			require.Len(t, h.recs, 2, h.strings())
			assert.Equal(t, tc.want, h.recs[0].Conn.Role)
			assert.True(t, h.recs[0].Conn.RoleInferred)
			assert.True(t, h.recs[0].Conn.Existing)
			assert.Equal(t, 200, h.recs[0].Resp.StatusCode)
			assert.Equal(t, 201, h.recs[1].Resp.StatusCode)
			st := h.tr.Stats()
			assert.Equal(t, uint64(1), st.RolesInferred)
			assert.Equal(t, uint64(1), st.ConnsMidStream)
			if tc.respFirst {
				assert.Equal(t, uint64(1), st.Orphans)
			}
		})
	}
}

func TestUnansweredAtClose(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(3, 1)
	h.open(c, sockevent.RoleServer, false, 1)
	h.data(c, in, getReq+postReq, 10)
	h.data(c, out, okResp, 20)
	h.close(c, 30)
	assert.Equal(t, []string{
		"server GET /users/123/orders/9f86d081884c7d659a2feaa0c55ad015?expand=1 -> 200 body=11",
		"server POST /items -> none(closed)",
	}, h.strings())
	st := h.tr.Stats()
	assert.Equal(t, uint64(1), st.Unanswered)
	assert.Equal(t, uint64(2), st.Records)
}

func TestReusedFDIsNewConnection(t *testing.T) {
	h := newHarness(t, Config{})
	old, cur := id(4, 1), id(4, 2)
	h.open(old, sockevent.RoleServer, false, 1)
	h.data(old, in, getReq, 2)
	// The close of gen 1 was lost; the fd is reused by gen 2.
	h.open(cur, sockevent.RoleClient, false, 3)
	require.Len(t, h.recs, 1)
	assert.Equal(t, ConnClosed, h.recs[0].Unanswered)
	assert.Equal(t, old, h.recs[0].Conn.ID)

	// A late event of gen 1 is ignored.
	h.data(old, out, okResp, 4)
	h.data(cur, out, postReq, 5)
	h.data(cur, in, createdRs, 6)
	h.close(old, 7) // stale close: ignored
	require.Len(t, h.recs, 2)
	assert.Equal(t, cur, h.recs[1].Conn.ID)
	assert.Equal(t, sockevent.RoleClient, h.recs[1].Conn.Role)
	st := h.tr.Stats()
	assert.Equal(t, uint64(1), st.Reused)
	assert.Equal(t, uint64(2), st.Stale)
	assert.Equal(t, 1, st.Conns)

	// Data of a newer generation without an open replaces it too.
	newer := id(4, 3)
	h.data(newer, in, headReq, 8)
	h.data(newer, out, headResp, 9)
	require.Len(t, h.recs, 3)
	assert.Equal(t, newer, h.recs[2].Conn.ID)
	assert.Equal(t, sockevent.RoleServer, h.recs[2].Conn.Role)
}

func TestOrphanResponse(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(2, 1)
	h.open(c, sockevent.RoleServer, false, 1)
	h.data(c, out, okResp, 2)
	h.data(c, in, headReq, 3)
	h.data(c, out, headResp, 4)
	assert.Equal(t, []string{"server HEAD /items/7 -> 200 body=0"}, h.strings())
	assert.Equal(t, uint64(1), h.tr.Stats().Orphans)
}

func TestTimeoutsAndIdle(t *testing.T) {
	h := newHarness(t, Config{ResponseTimeout: time.Second, IdleTimeout: 10 * time.Second})
	a, b := id(1, 1), id(2, 1)
	base := int64(1_000_000_000_000)
	h.open(a, sockevent.RoleServer, false, base)
	h.data(a, in, getReq, base)
	h.open(b, sockevent.RoleServer, false, base+int64(5*time.Second))
	h.data(b, in, postReq, base+int64(5*time.Second))

	h.tr.Tick(time.Unix(0, base+int64(500*time.Millisecond)))
	assert.Empty(t, h.recs)
	h.tr.Tick(time.Unix(0, base+int64(2*time.Second)))
	require.Equal(t, []string{"server GET /users/123/orders/9f86d081884c7d659a2feaa0c55ad015?expand=1 -> none(timeout)"}, h.strings())
	assert.Equal(t, 2, h.tr.Len())

	// A late response to the timed-out request is an orphan.
	h.data(a, out, okResp, base+int64(3*time.Second))
	assert.Equal(t, uint64(1), h.tr.Stats().Orphans)

	h.tr.Tick(time.Unix(0, base+int64(14*time.Second)))
	assert.Equal(t, 1, h.tr.Len(), "a expired")
	require.Len(t, h.recs, 2)
	assert.Equal(t, TimedOut, h.recs[1].Unanswered, "b's request timed out before b expired")
	st := h.tr.Stats()
	assert.Equal(t, uint64(1), st.Expired)
	assert.Equal(t, uint64(2), st.TimedOut)

	h.tr.Flush(time.Unix(0, base+int64(15*time.Second)))
	assert.Equal(t, 0, h.tr.Len())
}

func TestMaxConnsEvictsLeastRecent(t *testing.T) {
	h := newHarness(t, Config{MaxConns: 2})
	a, b, c := id(1, 1), id(2, 1), id(3, 1)
	h.open(a, sockevent.RoleServer, false, 1)
	h.data(a, in, getReq, 2)
	h.open(b, sockevent.RoleServer, false, 3)
	h.data(a, in, headReq, 4) // a is now more recent than b
	h.open(c, sockevent.RoleServer, false, 5)
	assert.Equal(t, 2, h.tr.Len())
	assert.Equal(t, uint64(1), h.tr.Stats().Evicted)
	assert.Empty(t, h.recs, "b had nothing pending")
	h.open(id(4, 1), sockevent.RoleServer, false, 6) // evicts a
	assert.Equal(t, []string{
		"server GET /users/123/orders/9f86d081884c7d659a2feaa0c55ad015?expand=1 -> none(evicted)",
		"server HEAD /items/7 -> none(evicted)",
	}, h.strings())
}

func TestNonHTTPIgnored(t *testing.T) {
	var ignored []sockevent.ConnID
	h := newHarness(t, Config{OnIgnore: func(id sockevent.ConnID) { ignored = append(ignored, id) }})
	tls := id(1, 1)
	h.open(tls, sockevent.RoleClient, false, 1)
	h.data(tls, out, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 2)
	h.data(tls, out, getReq, 3) // would parse, but the connection is not HTTP
	h.data(tls, in, okResp, 4)
	assert.Empty(t, h.recs)
	st := h.tr.Stats()
	assert.Equal(t, uint64(1), st.ConnsUnknown)
	assert.Equal(t, uint64(len(getReq)+len(okResp)), st.IgnoredBytes-11)
	assert.Equal(t, []sockevent.ConnID{tls}, ignored, "OnIgnore once, when detection gave up")

	// A mid-stream connection gives up after 4×DetectChunks chunks.
	h = newHarness(t, Config{DetectChunks: 2})
	c := id(2, 1)
	for i := 0; i < 8; i++ {
		h.data(c, in, "binary stuff that is not http", int64(i))
	}
	h.data(c, in, getReq, 10)
	h.data(c, out, okResp, 11)
	assert.Empty(t, h.recs)
	assert.Equal(t, uint64(1), h.tr.Stats().ConnsUnknown)
}

func TestShortFirstChunks(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(1, 1)
	h.open(c, sockevent.RoleClient, false, 1)
	h.data(c, out, "GE", 2)
	h.data(c, out, "T", 3)
	h.data(c, out, getReq[3:], 4)
	h.data(c, in, "HTTP/1", 5)
	h.data(c, in, okResp[6:], 6)
	require.Len(t, h.recs, 1)
	assert.Equal(t, int64(2), h.recs[0].Req.StartNs)
	assert.Equal(t, int64(5), h.recs[0].Resp.StartNs)
}

func TestGapsAndTruncation(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(1, 1)
	h.open(c, sockevent.RoleServer, false, 1)
	// A large response whose payload was capped at 64 bytes.
	big := "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("a", 100000)
	h.data(c, in, getReq, 2)
	h.chunk(c, out, []byte(big[:64]), uint32(len(big)), 3)
	// sendfile: a header write, then a body without payload.
	h.data(c, in, postReq, 4)
	h.data(c, out, "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n", 5)
	h.chunk(c, out, nil, 4096, 6)
	require.Len(t, h.recs, 2)
	assert.Equal(t, int64(100000), h.recs[0].Resp.BodySize)
	assert.Equal(t, int64(100000-21), h.recs[0].Resp.LostBytes)
	assert.Equal(t, int64(3), h.recs[0].Resp.EndNs)
	assert.Equal(t, int64(4096), h.recs[1].Resp.LostBytes)
	assert.Equal(t, int64(6), h.recs[1].Resp.EndNs)

	// Two exchanges; the first response is lost in a gap.
	h.data(c, in, headReq, 10)
	h.lose(c, out, uint64(len(headResp)))
	h.data(c, in, getReq, 12)
	h.data(c, out, okResp, 13)
	assert.Equal(t, []string{
		"server HEAD /items/7 -> none(lost)",
		"server GET /users/123/orders/9f86d081884c7d659a2feaa0c55ad015?expand=1 -> 200 body=11",
	}, h.strings()[2:])

	// A request lost in a gap: its response is dropped, not mispaired.
	h.lose(c, in, uint64(len(postReq)))
	h.data(c, out, createdRs, 20)
	h.data(c, in, headReq, 21)
	h.data(c, out, headResp, 22)
	assert.Equal(t, []string{"server HEAD /items/7 -> 200 body=0"}, h.strings()[4:])
	st := h.tr.Stats()
	assert.Equal(t, uint64(1), st.Orphans)
	assert.Equal(t, uint64(2), st.Gaps)
	assert.Equal(t, uint64(2), st.Truncated)
}

func TestContinueAndEarlyResponse(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(1, 1)
	h.open(c, sockevent.RoleServer, false, 1)
	h.data(c, in, "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", 2)
	h.data(c, out, "HTTP/1.1 100 Continue\r\n\r\n", 3)
	h.data(c, in, "data", 4)
	h.data(c, out, createdRs, 5)
	require.Len(t, h.recs, 1)
	r := h.recs[0]
	assert.True(t, r.Req.Expect100)
	assert.Equal(t, 201, r.Resp.StatusCode)
	assert.Equal(t, 1, r.Resp.Interim)
	assert.Equal(t, int64(5), r.Resp.StartNs)

	// The server refuses before reading the body; the client sends it anyway.
	h.data(c, in, "PUT /g HTTP/1.1\r\nContent-Length: 4\r\n\r\nda", 6)
	h.data(c, out, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n", 7)
	assert.Len(t, h.recs, 1, "held until the request completes")
	h.data(c, in, "ta", 8)
	require.Len(t, h.recs, 2)
	assert.Equal(t, 413, h.recs[1].Resp.StatusCode)
	assert.Equal(t, "/g", h.recs[1].Req.Path)
	assert.Equal(t, int64(8), h.recs[1].Req.EndNs)
}

func TestUpgradeTunnel(t *testing.T) {
	var ignored []sockevent.ConnID
	h := newHarness(t, Config{OnIgnore: func(id sockevent.ConnID) { ignored = append(ignored, id) }})
	c := id(1, 1)
	h.open(c, sockevent.RoleClient, false, 1)
	h.data(c, out, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 2)
	h.data(c, in, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi", 3)
	h.data(c, out, "\x81\x82abcdXX", 4)
	h.data(c, in, okResp, 5)
	require.Len(t, h.recs, 1)
	assert.True(t, h.recs[0].Resp.Tunnel)
	st := h.tr.Stats()
	assert.Equal(t, uint64(1), st.Tunnels)
	assert.Zero(t, st.HTTP.ParseErrors)
	assert.Equal(t, uint64(8+len(okResp)), st.IgnoredBytes)
	assert.Equal(t, []sockevent.ConnID{c}, ignored, "a tunnel is muted once switched")
}

func TestCloseDelimitedResponse(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(1, 1)
	h.open(c, sockevent.RoleClient, false, 1)
	h.data(c, out, "GET /old HTTP/1.0\r\n\r\n", 2)
	h.data(c, in, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome", 3)
	h.data(c, in, " text", 4)
	assert.Empty(t, h.recs)
	h.close(c, 9)
	require.Len(t, h.recs, 1)
	assert.True(t, h.recs[0].Resp.CloseDelimited)
	assert.Equal(t, "some text", h.recs[0].Resp.Body)
	assert.Equal(t, int64(4), h.recs[0].Resp.EndNs)
	assert.Equal(t, Answered, h.recs[0].Unanswered)
}

func TestPendingBounded(t *testing.T) {
	h := newHarness(t, Config{MaxPending: 3})
	c := id(1, 1)
	h.open(c, sockevent.RoleServer, false, 1)
	for i := 0; i < 5; i++ {
		h.data(c, in, headReq, int64(2+i))
	}
	assert.Equal(t, []string{"server HEAD /items/7 -> none(overflow)", "server HEAD /items/7 -> none(overflow)"}, h.strings())
	assert.Equal(t, uint64(2), h.tr.Stats().Overflow)

	// Byte bound: big heads.
	h = newHarness(t, Config{MaxConnBuffer: 40 << 10})
	big := "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("b", 15000) + "\r\n\r\n"
	for i := 0; i < 4; i++ {
		h.data(c, in, big, int64(i))
	}
	assert.Len(t, h.recs, 2)
	assert.LessOrEqual(t, h.tr.Buffered(), 40<<10)
}

// otherProto recognises a made-up protocol whose streams start with "PING".
type otherProto struct {
	sessions []*otherSession
}

type otherSession struct {
	bytes  [2]int
	skips  uint64
	closed bool
}

func (o *otherProto) Name() string { return "ping" }
func (o *otherProto) Detect(_ *ConnInfo, _ sockevent.Direction, b []byte, _ bool) Verdict {
	if strings.HasPrefix(string(b), "PING") {
		return Yes
	}
	return No
}
func (o *otherProto) NewSession(*ConnInfo) Session {
	s := &otherSession{}
	o.sessions = append(o.sessions, s)
	return s
}
func (s *otherSession) Data(d sockevent.Direction, b []byte, _ int64) { s.bytes[d] += len(b) }
func (s *otherSession) Skip(_ sockevent.Direction, n uint64, _ int64) { s.skips += n }
func (s *otherSession) Expire(int64)                                  {}
func (s *otherSession) Close(int64, Unanswered)                       { s.closed = true }
func (s *otherSession) Buffered() int                                 { return 0 }
func (s *otherSession) Done() bool                                    { return false }

func TestRegisteredProtocol(t *testing.T) {
	h := newHarness(t, Config{})
	o := &otherProto{}
	h.tr.Register(o)
	c := id(1, 1)
	h.open(c, sockevent.RoleClient, false, 1)
	h.data(c, out, "PING 1\r\n", 2)
	h.data(c, in, "PONG 1\r\n", 3)
	h.close(c, 4)
	require.Len(t, o.sessions, 1)
	assert.Equal(t, [2]int{8, 8}, o.sessions[0].bytes)
	assert.True(t, o.sessions[0].closed)
	assert.Equal(t, uint64(1), h.tr.Stats().ConnsOther)
}

func TestOverlappingChunk(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(1, 1)
	h.open(c, sockevent.RoleServer, false, 1)
	h.tr.OnData(&sockevent.Data{ID: c, Dir: in, TimeNs: 2, Pos: 0, Size: 20, Payload: []byte(getReq[:20])})
	// Repeats 10 bytes, then continues.
	h.tr.OnData(&sockevent.Data{ID: c, Dir: in, TimeNs: 3, Pos: 10, Size: uint32(len(getReq) - 10), Payload: []byte(getReq[10:])})
	h.tr.OnData(&sockevent.Data{ID: c, Dir: out, TimeNs: 4, Pos: 0, Size: uint32(len(okResp)), Payload: []byte(okResp)})
	require.Len(t, h.recs, 1)
	assert.Equal(t, uint64(1), h.tr.Stats().Overlaps)
}

func TestPipelinedSplitEverywhere(t *testing.T) {
	reqs := getReq + headReq + postReq + "GET /chunked HTTP/1.1\r\n\r\n"
	resps := "HTTP/1.1 100 Continue\r\n\r\n" + okResp + headResp + createdRs +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
	run := func(split func(h *harness, c sockevent.ConnID)) []string {
		h := newHarness(t, Config{})
		c := id(1, 1)
		h.open(c, sockevent.RoleServer, false, 1)
		split(h, c)
		h.close(c, 100)
		return h.strings()
	}
	want := run(func(h *harness, c sockevent.ConnID) {
		h.data(c, in, reqs, 2)
		h.data(c, out, resps, 3)
	})
	require.Len(t, want, 4)
	for _, r := range want {
		require.NotContains(t, r, "none")
	}
	for i := 1; i < len(resps); i++ {
		got := run(func(h *harness, c sockevent.ConnID) {
			h.data(c, in, reqs[:i%len(reqs)], 2)
			h.data(c, in, reqs[i%len(reqs):], 2)
			h.data(c, out, resps[:i], 3)
			h.data(c, out, resps[i:], 4)
		})
		require.Equal(t, want, got, "split at %d", i)
	}
}

func TestExistingKnownRole(t *testing.T) {
	h := newHarness(t, Config{})
	c := id(1, 1)
	h.open(c, sockevent.RoleServer, true, 1)
	h.data(c, out, "ing of an earlier response body", 2) // mid-stream
	h.data(c, in, "er request body\r\n"+postReq, 3)
	h.data(c, out, createdRs, 4)
	assert.Equal(t, []string{"server POST /items -> 201 body=0"}, h.strings())
	assert.False(t, h.recs[0].Conn.RoleInferred)
	assert.True(t, h.recs[0].Conn.Existing)
}

// TestManyResponsesLost: 40 pipelined requests whose responses were all lost
// in one gap but the last; each earlier request is reported without
// response, the last one answered (the pending queue is compacted while the
// lost ones are popped: this used to index past its end and panic).
func TestManyResponsesLost(t *testing.T) {
	h := newHarness(t, Config{MaxPending: 100})
	c := id(1, 1)
	h.open(c, sockevent.RoleServer, false, 1)
	for i := range 40 {
		h.data(c, in, headReq, int64(10+i))
	}
	h.lose(c, out, 39*uint64(len(headResp)))
	h.data(c, out, headResp, 100)
	s := h.strings()
	require.Len(t, s, 40)
	for i := range 39 {
		assert.Equal(t, "server HEAD /items/7 -> none(lost)", s[i], "request %d", i)
	}
	assert.Equal(t, "server HEAD /items/7 -> 200 body=0", s[39])
}

// A large chunk written in one writev (size line, data, CRLF) arrives
// capped at max_chunk_bytes: the rest of the chunk and its CRLF are a gap.
// The response still pairs with its request (the lost bytes counted), and
// the next exchange on the connection is parsed.
func TestCappedChunk(t *testing.T) {
	h := newHarness(t, Config{})
	c := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
	in, out := sockevent.Ingress, sockevent.Egress
	h.open(c, sockevent.RoleServer, false, 1)
	h.data(c, in, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n", 2)
	w := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9c40\r\n" + strings.Repeat("x", 40000) + "\r\n"
	h.chunk(c, out, []byte(w[:30720]), uint32(len(w)), 3)
	h.data(c, out, "0\r\n\r\n", 4)
	h.data(c, in, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n", 5)
	h.data(c, out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 6)
	require.Len(t, h.recs, 2, "%v", h.strings())
	assert.Equal(t, "/big", h.recs[0].Req.Path)
	require.NotNil(t, h.recs[0].Resp)
	assert.Equal(t, 200, h.recs[0].Resp.StatusCode)
	assert.EqualValues(t, 40000, h.recs[0].Resp.BodySize)
	assert.Positive(t, h.recs[0].Resp.LostBytes)
	assert.Equal(t, "/next", h.recs[1].Req.Path)
	assert.Equal(t, 404, h.recs[1].Resp.StatusCode)
}

// A connection open before the receiver started that switches to
// websocket: the 101's request was never seen, yet the connection is a
// tunnel from then on (ignored), and its frames are not parsed as HTTP.
func TestOrphanUpgrade(t *testing.T) {
	var ignored []sockevent.ConnID
	h := newHarness(t, Config{OnIgnore: func(id sockevent.ConnID) { ignored = append(ignored, id) }})
	c := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
	in, out := sockevent.Ingress, sockevent.Egress
	h.open(c, sockevent.RoleServer, true, 1)
	h.lose(c, in, 50)
	h.lose(c, out, 50)
	h.data(c, out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 2)
	for i := range 5 {
		h.data(c, in, "\x81\x8aabcdGET /x HTTP/1.1\r\n\r\n", int64(3+i))
	}
	assert.Empty(t, h.recs, "%v", h.strings())
	assert.Equal(t, []sockevent.ConnID{c}, ignored)
	st := h.tr.Stats()
	assert.EqualValues(t, 1, st.Tunnels)
	assert.Zero(t, st.HTTP.ParseErrors)
}

// A server refuses an "Expect: 100-continue" upload and closes: the
// request's body never comes, yet the exchange is reported (the request
// with the body bytes seen, none here).
func TestExpectRefusedThenClose(t *testing.T) {
	h := newHarness(t, Config{})
	c := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
	in, out := sockevent.Ingress, sockevent.Egress
	h.open(c, sockevent.RoleServer, false, 1)
	h.data(c, in, "PUT /big HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n", 2)
	h.data(c, out, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 3)
	h.close(c, 4)
	require.Len(t, h.recs, 1, "%v", h.strings())
	r := h.recs[0]
	assert.Equal(t, "PUT", r.Req.Method)
	assert.Zero(t, r.Req.BodySize)
	require.NotNil(t, r.Resp)
	assert.Equal(t, 401, r.Resp.StatusCode)
	assert.Zero(t, h.tr.Stats().Orphans)
}

// A request written a byte at a time is recognised whatever the length of
// its method: the bytes gathered while the beginning is too short to tell
// do not use up DetectChunks.
func TestByteAtATimeLongMethod(t *testing.T) {
	h := newHarness(t, Config{})
	c := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
	h.open(c, sockevent.RoleServer, false, 1)
	req := "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"
	for i := range len(req) {
		h.data(c, sockevent.Ingress, req[i:i+1], int64(2+i))
	}
	h.data(c, sockevent.Egress, "HTTP/1.1 204 No Content\r\n\r\n", 100)
	require.Len(t, h.recs, 1, "%v", h.strings())
	assert.Equal(t, "OPTIONS", h.recs[0].Req.Method)
	assert.Equal(t, 204, h.recs[0].Resp.StatusCode)
	assert.Zero(t, h.tr.Stats().ConnsUnknown)
}

// A 417 answers an "Expect: 100-continue" request on a kept-alive
// connection and the client retries without the expectation: the first
// request (no body sent) pairs with the 417, and the retry is a request of
// its own, not the first one's body.
func TestExpectFailedRetry(t *testing.T) {
	h := newHarness(t, Config{})
	c := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
	in, out := sockevent.Ingress, sockevent.Egress
	h.open(c, sockevent.RoleServer, false, 1)
	h.data(c, in, "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", 2)
	h.data(c, out, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n", 3)
	h.data(c, in, "PUT /f HTTP/1.1\r\nContent-Length: 4\r\n\r\ndata", 4)
	h.data(c, out, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 5)
	h.data(c, in, "GET /g HTTP/1.1\r\n\r\n", 6)
	h.data(c, out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 7)
	require.Len(t, h.recs, 3, "%v", h.strings())
	for i, want := range []struct {
		method string
		status int
		body   int64
	}{{"PUT", 417, 0}, {"PUT", 201, 4}, {"GET", 200, 0}} {
		r := h.recs[i]
		assert.Equal(t, want.method, r.Req.Method, i)
		assert.Equal(t, want.body, r.Req.BodySize, i)
		require.NotNil(t, r.Resp, i)
		assert.Equal(t, want.status, r.Resp.StatusCode, i)
	}
	assert.Zero(t, h.tr.Stats().Orphans)
}

// The client sends the body after all, after a final status to its
// "Expect: 100-continue" request: the parser resyncs over it and finds the
// next request.
func TestExpectRefusedBodySentAnyway(t *testing.T) {
	h := newHarness(t, Config{})
	c := sockevent.ConnID{PID: 1, FD: 3, Gen: 1}
	in, out := sockevent.Ingress, sockevent.Egress
	h.open(c, sockevent.RoleServer, false, 1)
	h.data(c, in, "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", 2)
	h.data(c, out, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", 3)
	h.data(c, in, "data", 4)
	h.data(c, in, "GET /g HTTP/1.1\r\n\r\n", 5)
	h.data(c, out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 6)
	require.Len(t, h.recs, 2, "%v", h.strings())
	assert.Equal(t, 401, h.recs[0].Resp.StatusCode)
	assert.Equal(t, "/g", h.recs[1].Req.Path)
	require.NotNil(t, h.recs[1].Resp)
	assert.Equal(t, 200, h.recs[1].Resp.StatusCode)
}

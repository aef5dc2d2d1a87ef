package http2

import (
	"bytes"
	"strings"
	"testing"

	xhttp2 "golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// peer writes one side's frames with x/net/http2's Framer and an HPACK
// encoder that keeps its dynamic table across blocks, as real peers do.
type peer struct {
	out bytes.Buffer
	fr  *xhttp2.Framer
	hb  bytes.Buffer
	enc *hpack.Encoder
}

func newPeer() *peer {
	p := &peer{}
	p.fr = xhttp2.NewFramer(&p.out, nil)
	p.enc = hpack.NewEncoder(&p.hb)
	return p
}

func (p *peer) headers(id uint32, end bool, kv ...string) {
	p.hb.Reset()
	for i := 0; i < len(kv); i += 2 {
		_ = p.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	_ = p.fr.WriteHeaders(xhttp2.HeadersFrameParam{StreamID: id, BlockFragment: p.hb.Bytes(), EndStream: end, EndHeaders: true})
}

// take returns what was written since the last call.
func (p *peer) take() []byte {
	b := append([]byte(nil), p.out.Bytes()...)
	p.out.Reset()
	return b
}

func grpcRequest(cl *peer, id uint32, method string) {
	cl.headers(id, false, ":method", "POST", ":scheme", "http", ":path", method, ":authority", "svc:50051",
		"content-type", "application/grpc", "user-agent", "grpc-go/1.85.0", "te", "trailers")
	_ = cl.fr.WriteData(id, true, []byte("\x00\x00\x00\x00\x02\x0a\x00"))
}

func grpcResponse(sv *peer, id uint32, status, msg string) {
	sv.headers(id, false, ":status", "200", "content-type", "application/grpc")
	if status == "0" {
		_ = sv.fr.WriteData(id, false, []byte("\x00\x00\x00\x00\x02\x08\x01"))
	}
	sv.headers(id, true, "grpc-status", status, "grpc-message", msg)
}

func mk(e protocols.Emit) conntrack.Protocol { return New(e) }

type chunks []prototest.Chunk

func (c *chunks) add(client bool, b []byte) { *c = append(*c, prototest.Chunk{Client: client, B: b}) }

// conversation: preface and settings, a gRPC call that succeeds, one that
// fails (trailers), interleaved with a plain HTTP/2 GET; header fields
// repeat so that later blocks use the dynamic table.
func conversation() chunks {
	cl, sv := newPeer(), newPeer()
	var c chunks
	cl.out.WriteString(Preface)
	_ = cl.fr.WriteSettings(xhttp2.Setting{ID: xhttp2.SettingHeaderTableSize, Val: 4096})
	c.add(true, cl.take())
	_ = sv.fr.WriteSettings(xhttp2.Setting{ID: xhttp2.SettingMaxConcurrentStreams, Val: 100})
	_ = sv.fr.WriteSettingsAck()
	c.add(false, sv.take())
	grpcRequest(cl, 1, "/grpc.health.v1.Health/Check")
	c.add(true, cl.take())
	grpcRequest(cl, 3, "/shop.Orders/Get")
	cl.headers(5, true, ":method", "GET", ":scheme", "http", ":path", "/users/42?x=1", ":authority", "svc:50051", "user-agent", "curl/7.88.1")
	c.add(true, cl.take())
	grpcResponse(sv, 1, "0", "")
	c.add(false, sv.take())
	sv.headers(5, false, ":status", "404", "content-type", "text/plain")
	_ = sv.fr.WriteData(5, true, []byte("not found"))
	grpcResponse(sv, 3, "5", "no such order")
	c.add(false, sv.take())
	// Later calls reuse the dynamic table entries.
	grpcRequest(cl, 7, "/shop.Orders/Get")
	c.add(true, cl.take())
	grpcResponse(sv, 7, "13", "boom")
	c.add(false, sv.take())
	return c
}

func TestGRPCAndHTTP2(t *testing.T) {
	want := map[sockevent.Role][]string{
		sockevent.RoleClient: {
			"grpc.health.v1.Health/Check http.request.body.size=7 http.request.method=POST http.response.body.size=7 http.response.status_code=200 http.route=/grpc.health.v1.Health/Check network.protocol.name=http network.protocol.version=2 rpc.grpc.status_code=0 rpc.method=Check rpc.service=grpc.health.v1.Health rpc.system=grpc server.address=svc url.path=/grpc.health.v1.Health/Check url.scheme=http user_agent.original=grpc-go/1.85.0",
			"GET /users/{id} ERROR(404) http.request.body.size=0 http.request.method=GET http.response.body.size=9 http.response.status_code=404 http.route=/users/{id} network.protocol.name=http network.protocol.version=2 server.address=svc url.path=/users/42 url.query=x=1 url.scheme=http user_agent.original=curl/7.88.1",
			"shop.Orders/Get ERROR(NOT_FOUND) http.request.body.size=7 http.request.method=POST http.response.body.size=0 http.response.status_code=200 http.route=/shop.Orders/Get network.protocol.name=http network.protocol.version=2 rpc.grpc.status_code=5 rpc.method=Get rpc.service=shop.Orders rpc.system=grpc server.address=svc url.path=/shop.Orders/Get url.scheme=http user_agent.original=grpc-go/1.85.0",
			"shop.Orders/Get ERROR(INTERNAL) http.request.body.size=7 http.request.method=POST http.response.body.size=0 http.response.status_code=200 http.route=/shop.Orders/Get network.protocol.name=http network.protocol.version=2 rpc.grpc.status_code=13 rpc.method=Get rpc.service=shop.Orders rpc.system=grpc server.address=svc url.path=/shop.Orders/Get url.scheme=http user_agent.original=grpc-go/1.85.0",
		},
	}
	for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleServer, sockevent.RoleUnknown} {
		h := prototest.New(mk)
		h.Open(role, false)
		h.Replay(role, conversation())
		h.Close()
		got := h.Lines()
		if role == sockevent.RoleClient {
			if strings.Join(got, "\n") != strings.Join(want[role], "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want[role], "\n"))
			}
			continue
		}
		// Server side: no server.address from :authority, NOT_FOUND is not
		// a server error, 404 neither; INTERNAL is.
		var names []string
		for _, g := range h.Got {
			names = append(names, g.Name+" "+g.ErrorType)
		}
		if w := "grpc.health.v1.Health/Check |GET /users/{id} |shop.Orders/Get |shop.Orders/Get INTERNAL"; strings.Join(names, "|") != w {
			t.Errorf("role %v: %q", role, names)
		}
	}
}

// Caught mid-stream: the first blocks of the capture refer to table
// entries never seen; their streams are reported partial, later ones
// whole once the decoder has seen the entries.
func TestMidStream(t *testing.T) {
	conv := conversation()
	h := prototest.New(mk)
	h.Replay(sockevent.RoleUnknown, conv[4:]) // from the server's answers to 1, 3 and 5
	h.Close()
	for _, g := range h.Got {
		if g.A["http2.partial_headers"] != "true" && g.Name == "" {
			t.Errorf("%s", g)
		}
	}
	if len(h.Got) == 0 {
		t.Fatal("nothing reported")
	}
	// Mid-stream with the requests: everything decodes from the static
	// table and the literals the capture holds.
	h = prototest.New(mk)
	h.Replay(sockevent.RoleUnknown, conv[2:])
	h.Close()
	if len(h.Got) != 4 || h.Got[0].Name != "grpc.health.v1.Health/Check" || h.Got[0].Conn.Role != sockevent.RoleServer {
		t.Errorf("%q", h.Lines())
	}
}

func TestDetect(t *testing.T) {
	conv := conversation()
	p := New(nil)
	for _, tc := range []struct {
		b     []byte
		start bool
		want  conntrack.Verdict
	}{
		{conv[0].B, true, conntrack.Yes},
		{[]byte("PRI * HTTP/2"), true, conntrack.Maybe},
		{conv[1].B, true, conntrack.Yes},
		{conv[2].B, false, conntrack.Yes},
		{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), true, conntrack.No},
		{[]byte("*1\r\n$4\r\nPING\r\n"), true, conntrack.No},
	} {
		if got := p.Detect(&conntrack.ConnInfo{}, 0, tc.b, tc.start); got != tc.want {
			t.Errorf("Detect(%q) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

func FuzzHTTP2(f *testing.F) {
	conv := conversation()
	for i := 0; i+1 < len(conv); i += 2 {
		f.Add(conv[i].B, conv[i+1].B, uint8(0))
	}
	f.Fuzz(func(t *testing.T, a, b []byte, mode uint8) {
		h := prototest.New(mk)
		h.Open(sockevent.Role(mode%3), mode&4 != 0)
		d := sockevent.Direction(mode >> 3 & 1)
		h.Write(d, a)
		cut := len(b) / 2
		h.Write(1-d, b[:cut])
		if mode&0x10 != 0 {
			h.Gap(1-d, 3)
		}
		h.Write(1-d, b[cut:])
		h.Write(d, b)
		h.T.Tick(h.TimeAfter(3600))
		h.Close()
	})
}

// A large response body split over many reads: sizes counted, the stream
// ends with its last byte.
func TestLargeData(t *testing.T) {
	cl, sv := newPeer(), newPeer()
	cl.out.WriteString(Preface)
	cl.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/big", ":authority", "a")
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	h.Write(sockevent.Egress, cl.take())
	sv.headers(1, false, ":status", "200")
	body := bytes.Repeat([]byte("x"), 16000)
	_ = sv.fr.WriteData(1, false, body)
	_ = sv.fr.WriteData(1, true, body)
	resp := sv.take()
	for len(resp) > 0 {
		n := min(len(resp), 1000)
		h.Write(sockevent.Ingress, resp[:n])
		resp = resp[n:]
	}
	if len(h.Got) != 1 || h.Got[0].A["http.response.body.size"] != "32000" || h.Got[0].EndNs != h.Now {
		t.Fatalf("%q end %d now %d", h.Lines(), h.Got[0].EndNs, h.Now)
	}
}

package conntrack

import (
	"strings"
	"testing"
	"time"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// FuzzConntrack feeds a request stream and a response stream to the tracker
// over two connections, chunked, interleaved, with lost chunks, capped
// payloads, fd reuse, ticks and evictions as plan says. The tracker must not
// panic, must report well-formed records and must stay within its bounds.
func FuzzConntrack(f *testing.F) {
	f.Add([]byte(getReq+postReq+headReq), []byte(okResp+createdRs+headResp), []byte{0x21, 0x45, 0x20, 0x81, 0x11}, uint8(0))
	f.Add([]byte(getReq+getReq), []byte("HTTP/1.1 100 Continue\r\n\r\n"+okResp+okResp), []byte{0x0c, 0x0d, 0xfe, 0xff}, uint8(1))
	f.Add([]byte("junk\r\n"+postReq+headReq), []byte(createdRs+headResp), []byte{0x02, 0x10, 0x31, 0x07}, uint8(2))
	f.Add([]byte("PUT /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		[]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX: y\r\n\r\n"), []byte{0x40, 0x41, 0x43, 0x47}, uint8(3))
	f.Add([]byte("GET /ws HTTP/1.1\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\nframes"),
		[]byte("HTTP/1.1 101 Switching Protocols\r\n\r\nframes"), []byte{}, uint8(4))
	f.Add([]byte("\x16\x03\x01\x00\x10hello"), []byte("\x16\x03\x03\x00\x02ok"), []byte{0x05}, uint8(5))
	f.Add([]byte(getReq), []byte("HTTP/1.0 200 OK\r\n\r\nuntil close"), []byte{0x03, 0x13, 0x23}, uint8(6))
	// 40 pipelined HEADs, responses lost but the last (TestManyResponsesLost).
	f.Add([]byte(strings.Repeat(headReq, 40)), []byte(strings.Repeat(headResp, 40)), []byte{0xff, 0x80, 0x81}, uint8(16))

	f.Fuzz(func(t *testing.T, reqs, resps, plan []byte, mode uint8) {
		pending := 4
		if mode&16 != 0 {
			pending = 64 // long pipelines: the pending queue compacts
		}
		cfg := Config{
			MaxConns:        2 - int(mode>>7), // 1 or 2: evictions
			MaxConnBuffer:   1024,
			MaxPending:      pending,
			IdleTimeout:     time.Second,
			ResponseTimeout: 100 * time.Millisecond,
			DetectChunks:    3,
			HTTP:            http1.Config{MaxHeaderBytes: 256, MaxBodyCapture: 16},
		}
		records := 0
		tr := New(cfg, func(r *Record) {
			records++
			switch {
			case r.Req == nil || r.Req.Kind != http1.KindRequest:
				t.Fatalf("bad request in record: %+v", r.Req)
			case (r.Resp == nil) != (r.Unanswered != Answered):
				t.Fatalf("response %v with unanswered %v", r.Resp != nil, r.Unanswered)
			case r.Resp != nil && r.Resp.Kind != http1.KindResponse:
				t.Fatalf("bad response in record: %+v", r.Resp)
			case r.Conn.Protocol != "http1":
				t.Fatalf("record from protocol %q", r.Conn.Protocol)
			}
			_ = r.Req.Route()
			_ = r.Duration()
		})
		// Bound per connection: two parsers, pending requests and one held
		// response.
		parser := 2*256 + 16
		perConn := 2*parser + cfg.MaxConnBuffer + parser
		bound := cfg.MaxConns * perConn

		role := []sockevent.Role{sockevent.RoleServer, sockevent.RoleClient, sockevent.RoleUnknown, sockevent.RoleUnknown}[mode&3]
		existing := mode&3 == 3
		reqDir := sockevent.Ingress
		if role == sockevent.RoleClient || (role == sockevent.RoleUnknown && mode&4 != 0) {
			reqDir = sockevent.Egress
		}
		type stream struct {
			data []byte
			pos  uint64
		}
		type cstate struct {
			id  sockevent.ConnID
			dir [2]stream // by direction
		}
		var conns [2]cstate
		now := int64(1_000_000_000)
		for i := range conns {
			c := &conns[i]
			c.id = sockevent.ConnID{PID: 7, FD: int32(3 + i), Gen: 1}
			c.dir[reqDir].data = reqs
			c.dir[1-reqDir].data = resps
			if mode&8 == 0 || i == 0 {
				tr.OnOpen(&sockevent.Open{ID: c.id, TimeNs: now, Role: role, Existing: existing})
			}
		}
		scratch := make([]byte, 0, 256)
		send := func(c *cstate, d sockevent.Direction, n int, keep int, lose bool) {
			s := &c.dir[d]
			if n > len(s.data) {
				n = len(s.data)
			}
			if n == 0 {
				return
			}
			if !lose {
				if keep > n {
					keep = n
				}
				scratch = append(scratch[:0], s.data[:keep]...)
				tr.OnData(&sockevent.Data{ID: c.id, Dir: d, TimeNs: now, Pos: s.pos, Size: uint32(n), Payload: scratch})
				for i := range scratch {
					scratch[i] = 0xAA // the tracer reuses its buffers
				}
			}
			s.pos += uint64(n)
			s.data = s.data[n:]
		}
		steps := len(plan)
		if steps == 0 {
			steps = 1
		}
		for i := 0; i < 4*steps+4; i++ {
			op := byte(0)
			if len(plan) > 0 {
				op = plan[i%len(plan)]
			}
			c := &conns[(i/len(conns)+int(op>>7))%len(conns)]
			n := int(op>>2&0x1f) + 1
			now += int64(op&0x3) * int64(time.Millisecond) * 40
			switch op & 3 {
			case 0:
				send(c, reqDir, n, n, false)
			case 1:
				send(c, 1-reqDir, n, n, false)
			case 2:
				// A lost chunk or a capped one.
				d := sockevent.Direction((op >> 4) & 1)
				send(c, d, n*8, int(op>>5), op&0x40 != 0)
			case 3:
				switch op >> 5 {
				case 0:
					tr.Tick(time.Unix(0, now))
				case 1:
					tr.OnClose(&sockevent.Close{ID: c.id, TimeNs: now})
				case 2:
					c.id.Gen++ // fd reused
					tr.OnOpen(&sockevent.Open{ID: c.id, TimeNs: now, Role: role})
					c.dir[0].pos, c.dir[1].pos = 0, 0
				default:
					send(c, sockevent.Direction(op>>4&1), 1, 1, false)
				}
			}
			if b := tr.Buffered(); b > bound {
				t.Fatalf("tracker buffers %d bytes > %d", b, bound)
			}
			if tr.Len() > cfg.MaxConns {
				t.Fatalf("%d connections > %d", tr.Len(), cfg.MaxConns)
			}
		}
		// Whatever is left, in big chunks.
		for i := range conns {
			send(&conns[i], reqDir, 1<<20, 1<<20, false)
			send(&conns[i], 1-reqDir, 1<<20, 1<<20, false)
		}
		tr.Flush(time.Unix(0, now))
		st := tr.Stats()
		if tr.Len() != 0 || tr.Buffered() != 0 {
			t.Fatalf("after Flush: %d connections, %d bytes", tr.Len(), tr.Buffered())
		}
		if uint64(records) != st.Records || st.Records > st.HTTP.Messages {
			t.Fatalf("records %d, stats %d, messages %d", records, st.Records, st.HTTP.Messages)
		}
	})
}

package http1

import (
	"testing"
)

// fuzzSink checks every message it gets and records a summary.
type fuzzSink struct {
	t       *testing.T
	pool    *Pool
	cfg     Config
	out     []string
	lost    int
	calls   int
	mseed   uint8
	summary bool
}

var fuzzMethods = []string{"GET", "HEAD", "POST", "CONNECT", "", "GET", "PUT"}

func (s *fuzzSink) Message(p *Parser, m *Message) {
	maxHead, maxBody := s.cfg.limits()
	switch {
	case m.Kind != KindRequest && m.Kind != KindResponse:
		s.t.Fatalf("message without kind: %+v", m)
	case m.Kind == KindRequest && m.Method == "":
		s.t.Fatalf("request without method: %+v", m)
	case m.Kind == KindResponse && (m.StatusCode < 100 || m.StatusCode > 999):
		s.t.Fatalf("bad status %d", m.StatusCode)
	case len(m.Body) > maxBody:
		s.t.Fatalf("body capture %d > %d", len(m.Body), maxBody)
	case m.BodySize < int64(len(m.Body)) || m.LostBytes < 0 || m.LostBytes > m.BodySize:
		s.t.Fatalf("sizes: body %d captured %d lost %d", m.BodySize, len(m.Body), m.LostBytes)
	case m.HeaderSize > maxHead || m.HeaderSize <= 0:
		s.t.Fatalf("header size %d", m.HeaderSize)
	case m.EndNs < m.StartNs:
		s.t.Fatalf("times %d > %d", m.StartNs, m.EndNs)
	case m.Kind != p.Kind():
		s.t.Fatalf("message kind %v from a %v parser", m.Kind, p.Kind())
	}
	_ = m.Route()
	if s.summary {
		s.out = append(s.out, summary(m))
	}
	s.pool.Put(m)
}

func (s *fuzzSink) Lost(*Parser) { s.lost++ }

func (s *fuzzSink) RequestMethod(*Parser) string {
	s.calls++
	return fuzzMethods[(int(s.mseed)+s.calls)%len(fuzzMethods)]
}

// runChunked feeds data to a parser in chunks whose sizes come from cuts. A
// cut byte with the high bit set (when gaps is true) makes the next
// (cut&0x3f)+1 bytes go missing instead. It returns the sink.
func runChunked(t *testing.T, kind Kind, cfg Config, data, cuts []byte, gaps bool, mseed uint8, mid bool) *fuzzSink {
	s := &fuzzSink{t: t, pool: &Pool{}, cfg: cfg, mseed: mseed, summary: true}
	p := NewParser(kind, cfg, s, s.pool, nil)
	if mid {
		p.MidStream()
	}
	maxHead, maxBody := cfg.limits()
	bound := 2*maxHead + maxBody
	ts := int64(1)
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		gap := false
		if len(cuts) > 0 {
			c := cuts[i%len(cuts)]
			if gaps && c&0x80 != 0 {
				gap = true
				n = int(c&0x3f) + 1
			} else {
				n = int(c&0x7f) + 1
			}
			if n > len(data) {
				n = len(data)
			}
		}
		if gap {
			p.Skip(uint64(n), ts)
		} else {
			p.Write(data[:n], ts)
		}
		data = data[n:]
		if gaps {
			ts++ // with gaps, check times too
		}
		if p.Buffered() > bound {
			t.Fatalf("parser buffers %d bytes > %d", p.Buffered(), bound)
		}
	}
	p.Close(ts)
	if p.Buffered() != 0 || !p.Idle() {
		t.Fatalf("parser not reset after Close: %d bytes", p.Buffered())
	}
	return s
}

func fuzzParser(f *testing.F, kind Kind, seeds []string) {
	for i, s := range seeds {
		f.Add([]byte(s), []byte{byte(i * 7), 3, 200, 17}, uint8(i), false)
		f.Add([]byte(s), []byte{}, uint8(i), true)
	}
	f.Fuzz(func(t *testing.T, data, cuts []byte, mseed uint8, small bool) {
		cfg := Config{}
		if small {
			// Small limits, and responses without their heads.
			cfg = Config{MaxHeaderBytes: 80, MaxBodyCapture: 7, HeadlessResponses: true}
		}
		// Whole, then chunked: same messages, same losses.
		whole := runChunked(t, kind, cfg, data, nil, false, mseed, false)
		chunked := runChunked(t, kind, cfg, data, cuts, false, mseed, false)
		if len(whole.out) != len(chunked.out) || whole.lost != chunked.lost {
			t.Fatalf("chunking changed the result:\nwhole   %d lost %d %q\nchunked %d lost %d %q",
				len(whole.out), whole.lost, whole.out, len(chunked.out), chunked.lost, chunked.out)
		}
		for i := range whole.out {
			if whole.out[i] != chunked.out[i] {
				t.Fatalf("message %d differs:\nwhole   %s\nchunked %s", i, whole.out[i], chunked.out[i])
			}
		}
		// With gaps and mid-stream starts: only the invariants.
		runChunked(t, kind, cfg, data, cuts, true, mseed, false)
		runChunked(t, kind, cfg, data, cuts, true, mseed, true)
		runChunked(t, KindUnknown, cfg, data, cuts, true, mseed, true)
	})
}

var requestSeeds = []string{
	reqGet + reqPost + reqHead,
	"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n",
	"PUT /x HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\nA\n0123456789\n0\n\n",
	"GET /a HTTP/1.1\r\nX-Long: a\r\n  b\r\n\r\nxxGET /b HTTP/1.0\r\n\r\n",
	"POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
	"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x85abcde",
	"\x00\x01junk\nGET / HTTP/1.1\r\n\r\n",
}

var responseSeeds = []string{
	resp200 + resp404,
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\nExpires: never\r\n\r\n",
	"HTTP/1.0 200 OK\r\n\r\nuntil close",
	"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
	"junk HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA",
}

func FuzzRequestParser(f *testing.F) { fuzzParser(f, KindRequest, requestSeeds) }

func FuzzResponseParser(f *testing.F) { fuzzParser(f, KindResponse, responseSeeds) }

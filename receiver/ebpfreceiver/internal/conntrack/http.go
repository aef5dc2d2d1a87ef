package conntrack

import (
	"bytes"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// httpProto is the built-in HTTP/1 protocol.
type httpProto struct {
	t     *Tracker
	pool  http1.Pool
	stats http1.Stats
	free  []*httpSession
}

func newHTTPProto(t *Tracker) *httpProto { return &httpProto{t: t} }

func (h *httpProto) Name() string { return "http1" }

// detectScan bounds how far into a mid-stream chunk Detect looks for a
// message start.
const detectScan = 8 << 10

func (h *httpProto) Detect(c *ConnInfo, dir sockevent.Direction, b []byte, start bool) Verdict {
	k, more := http1.Sniff(b)
	switch {
	case k != http1.KindUnknown:
		return Yes
	case more:
		return Maybe
	case start:
		return No
	}
	// Mid-stream: a message may start after the end of the previous one,
	// at the beginning of a line.
	if len(b) > detectScan {
		b = b[:detectScan]
	}
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return Maybe
		}
		b = b[i+1:]
		if k, _ := http1.Sniff(b); k != http1.KindUnknown {
			return Yes
		}
	}
}

func (h *httpProto) NewSession(c *ConnInfo) Session {
	var s *httpSession
	if n := len(h.free); n > 0 {
		s = h.free[n-1]
		h.free[n-1] = nil
		h.free = h.free[:n-1]
	} else {
		s = &httpSession{h: h}
	}
	s.start(c)
	return s
}

// httpSession parses both directions of one HTTP/1 connection and pairs
// requests with responses.
type httpSession struct {
	h *httpProto
	c *ConnInfo
	p [2]http1.Parser // by sockevent.Direction

	// Requests awaiting a response, oldest first: pending[head:].
	pending      []*http1.Message
	head         int
	pendingBytes int
	// A response that completed while its request was still being read
	// (the server answered early); paired when the request completes.
	held *http1.Message

	reqLost  bool // requests may be missing before the next one
	respLost bool // responses may be missing before the next one
	done     bool
}

func (s *httpSession) start(c *ConnInfo) {
	s.c = c
	cfg := s.h.t.cfg.HTTP
	var kin, keg http1.Kind
	switch c.Role {
	case sockevent.RoleServer:
		kin, keg = http1.KindRequest, http1.KindResponse
	case sockevent.RoleClient:
		kin, keg = http1.KindResponse, http1.KindRequest
	}
	s.p[sockevent.Ingress].Init(kin, cfg, s, &s.h.pool, &s.h.stats)
	s.p[sockevent.Egress].Init(keg, cfg, s, &s.h.pool, &s.h.stats)
	if c.Existing {
		s.p[0].MidStream()
		s.p[1].MidStream()
		s.reqLost, s.respLost = true, true
	}
}

func (s *httpSession) Data(dir sockevent.Direction, b []byte, ts int64) {
	p := &s.p[dir&1]
	p.Write(b, ts)
	if s.c.Role == sockevent.RoleUnknown && p.Kind() != http1.KindUnknown {
		s.learnRole(dir&1, p.Kind())
	}
}

func (s *httpSession) Skip(dir sockevent.Direction, n uint64, ts int64) {
	s.p[dir&1].Skip(n, ts)
}

func (s *httpSession) Buffered() int {
	n := s.p[0].Buffered() + s.p[1].Buffered() + s.pendingBytes
	if s.held != nil {
		n += s.held.RetainedBytes()
	}
	return n
}

func (s *httpSession) Done() bool { return s.done }

func (s *httpSession) Expire(deadline int64) {
	for s.head < len(s.pending) && s.pending[s.head].EndNs < deadline {
		s.s().emit(s.c, s.pop(), nil, TimedOut)
	}
}

func (s *httpSession) Close(ts int64, why Unanswered) {
	if s.held != nil {
		// A response came before the request's body, which never will
		// (a refused "Expect: 100-continue"): the request ends with
		// what was sent, and onRequest pairs it with the response.
		if rp := s.reqParser(); rp != nil && rp.InBody() {
			rp.Truncate()
		}
	}
	// A close-delimited response completes now; partial messages drop.
	s.p[0].Close(ts)
	s.p[1].Close(ts)
	if s.held != nil {
		s.h.t.stats.Orphans++
		s.h.pool.Put(s.held)
		s.held = nil
	}
	for s.head < len(s.pending) {
		s.s().emit(s.c, s.pop(), nil, why)
	}
	s.release()
}

func (s *httpSession) release() {
	for i := range s.pending {
		s.pending[i] = nil
	}
	s.pending, s.head, s.pendingBytes = s.pending[:0], 0, 0
	if cap(s.pending) > 64 {
		s.pending = nil
	}
	s.c, s.reqLost, s.respLost, s.done = nil, false, false, false
	s.p[0].Init(http1.KindUnknown, http1.Config{}, nil, nil, nil)
	s.p[1].Init(http1.KindUnknown, http1.Config{}, nil, nil, nil)
	if len(s.h.free) < 256 {
		s.h.free = append(s.h.free, s)
	}
}

func (s *httpSession) s() *Tracker { return s.h.t }

func (s *httpSession) dirOf(p *http1.Parser) sockevent.Direction {
	if p == &s.p[sockevent.Ingress] {
		return sockevent.Ingress
	}
	return sockevent.Egress
}

// reqParser is the parser of the request direction (nil while unknown).
func (s *httpSession) reqParser() *http1.Parser {
	switch s.c.Role {
	case sockevent.RoleServer:
		return &s.p[sockevent.Ingress]
	case sockevent.RoleClient:
		return &s.p[sockevent.Egress]
	}
	return nil
}

// learnRole infers the role of a connection of unknown role from the
// direction where a message of kind k was recognised.
func (s *httpSession) learnRole(dir sockevent.Direction, k http1.Kind) {
	reqDir := dir
	if k == http1.KindResponse {
		reqDir = 1 - dir
	}
	if reqDir == sockevent.Ingress {
		s.c.Role = sockevent.RoleServer
	} else {
		s.c.Role = sockevent.RoleClient
	}
	s.c.RoleInferred = true
	s.s().stats.RolesInferred++
	s.p[reqDir].SetKind(http1.KindRequest)
	s.p[1-reqDir].SetKind(http1.KindResponse)
}

// Message implements http1.Sink.
func (s *httpSession) Message(p *http1.Parser, m *http1.Message) {
	if s.c.Role == sockevent.RoleUnknown {
		s.learnRole(s.dirOf(p), m.Kind)
	}
	if m.Kind == http1.KindRequest {
		s.onRequest(m)
	} else {
		s.onResponse(m)
	}
}

// Lost implements http1.Sink.
func (s *httpSession) Lost(p *http1.Parser) {
	switch p.Kind() {
	case http1.KindRequest:
		s.reqLost = true
	case http1.KindResponse:
		s.respLost = true
	default:
		s.reqLost, s.respLost = true, true
	}
}

// RequestMethod implements http1.Sink.
func (s *httpSession) RequestMethod(p *http1.Parser) string {
	if s.head < len(s.pending) {
		i := s.head
		if s.respLost {
			if start, ok := p.PendingStart(); ok {
				i = s.latestBefore(start)
			}
		}
		return s.pending[i].Method
	}
	if rp := s.reqParser(); rp != nil {
		return rp.PendingMethod()
	}
	return ""
}

// latestBefore returns the index of the latest pending request that
// started no later than ts (the oldest one if none did).
func (s *httpSession) latestBefore(ts int64) int {
	best := s.head
	for i := s.head; i < len(s.pending); i++ {
		if s.pending[i].StartNs <= ts {
			best = i
		}
	}
	return best
}

func (s *httpSession) onRequest(m *http1.Message) {
	if s.held != nil {
		resp := s.held
		s.held = nil
		s.answer(m, resp)
		return
	}
	if s.head > 0 && s.head == len(s.pending) {
		s.pending, s.head = s.pending[:0], 0
	}
	s.pending = append(s.pending, m)
	s.pendingBytes += m.RetainedBytes()
	limit := s.s().cfg.MaxConnBuffer
	if rp := s.reqParser(); rp != nil {
		limit -= rp.Buffered()
	}
	for n := len(s.pending) - s.head; n > 0 && (n > s.s().cfg.MaxPending || s.pendingBytes > limit); n-- {
		s.s().emit(s.c, s.pop(), nil, Overflow)
	}
}

func (s *httpSession) pop() *http1.Message {
	m := s.pending[s.head]
	s.pending[s.head] = nil
	s.head++
	s.pendingBytes -= m.RetainedBytes()
	if s.head == len(s.pending) {
		s.pending, s.head = s.pending[:0], 0
	} else if s.head >= 32 && s.head*2 >= len(s.pending) {
		n := copy(s.pending, s.pending[s.head:])
		clear(s.pending[n:])
		s.pending, s.head = s.pending[:n], 0
	}
	return m
}

func (s *httpSession) onResponse(m *http1.Message) {
	t := s.s()
	if s.respLost {
		// Responses went missing: this one answers the latest request sent
		// before it; the earlier ones lost their responses.
		// Count first: pop moves head and may compact the queue.
		for n := s.latestBefore(m.StartNs) - s.head; n > 0; n-- {
			t.emit(s.c, s.pop(), nil, ResponseLost)
		}
		s.respLost = false
	}
	if s.head == len(s.pending) {
		if rp := s.reqParser(); rp != nil && s.held == nil && rp.InBody() {
			s.held = m // early response: wait for the request to complete
			if m.StatusCode >= 200 && rp.AwaitingContinue() {
				// A final status instead of 100 Continue: the client
				// does not send the body (it retries, as after a 417,
				// or closes). The request ends now and onRequest
				// pairs it; the next bytes are the next request.
				rp.Truncate()
			}
			return
		}
		s.orphan(m)
		return
	}
	req := s.pending[s.head]
	if s.reqLost && req.StartNs > m.StartNs {
		// The request this answers was lost.
		s.orphan(m)
		return
	}
	s.reqLost = false
	s.answer(s.pop(), m)
}

// orphan drops a response whose request was not seen. A 101 still ends
// HTTP on the connection (websocket frames follow, as on a connection
// open before the receiver started): both parsers stop, as for an
// answered one, rather than parse the frames as HTTP.
func (s *httpSession) orphan(m *http1.Message) {
	s.s().stats.Orphans++
	if m.Tunnel {
		s.p[0].Stop()
		s.p[1].Stop()
		s.done = true
	}
	s.h.pool.Put(m)
}

func (s *httpSession) answer(req, resp *http1.Message) {
	tunnel := resp.Tunnel
	s.s().emit(s.c, req, resp, Answered)
	if tunnel {
		s.p[0].Stop()
		s.p[1].Stop()
		s.done = true
	}
}

package http1

import (
	"bytes"
	"strings"
)

// Defaults for Config.
const (
	DefaultMaxHeaderBytes = 16 << 10
	DefaultMaxBodyCapture = 512
)

// maxChunkExt bounds a chunk-size line's extensions.
const maxChunkExt = 1024

// MaxHeaderFields bounds the header (and, separately, trailer) fields of a
// message; more is treated like an oversized head.
const MaxHeaderFields = 256

// maxBodyLen bounds Content-Length and chunk sizes (1 PiB): larger values
// are treated as garbage.
const maxBodyLen = 1 << 50

// Config sets a Parser's limits. The zero value gives the defaults.
type Config struct {
	// MaxHeaderBytes bounds the start line plus headers of a message (and,
	// separately, its trailers). A larger head drops the message. Default
	// 16 KiB.
	MaxHeaderBytes int
	// MaxBodyCapture is how many bytes of each body are kept in
	// Message.Body. 0 means the default (512); negative captures nothing.
	MaxBodyCapture int
	// HeadlessResponses leaves a response's Reason, Headers and Trailers
	// empty (its status, sizes, framing and captured body are still
	// there): when nobody reads them, copying the head out of the parser's
	// buffer is a third of the bytes an exchange allocates.
	HeadlessResponses bool
}

func (c Config) limits() (head, body int) {
	head, body = c.MaxHeaderBytes, c.MaxBodyCapture
	if head <= 0 {
		head = DefaultMaxHeaderBytes
	}
	if head < 64 {
		head = 64
	}
	switch {
	case body == 0:
		body = DefaultMaxBodyCapture
	case body < 0:
		body = 0
	}
	return head, body
}

// Stats counts what parsers saw. Several parsers may share one Stats (from
// one goroutine).
type Stats struct {
	Messages     uint64 // complete messages reported
	Interim      uint64 // 1xx interim responses skipped
	ParseErrors  uint64 // malformed start lines, headers or chunk framing, garbage at a message boundary
	Oversized    uint64 // heads or trailers over MaxHeaderBytes
	Dropped      uint64 // partial messages discarded (errors, gaps, oversize, close mid-message)
	Resyncs      uint64 // message starts found again after losing the place
	Gaps         uint64 // runs of missing bytes (Skip calls)
	GapBytes     uint64 // bytes missing
	SkippedBytes uint64 // bytes discarded while resynchronising or after a tunnel started
}

// Add adds o's counters to s.
func (s *Stats) Add(o *Stats) {
	s.Messages += o.Messages
	s.Interim += o.Interim
	s.ParseErrors += o.ParseErrors
	s.Oversized += o.Oversized
	s.Dropped += o.Dropped
	s.Resyncs += o.Resyncs
	s.Gaps += o.Gaps
	s.GapBytes += o.GapBytes
	s.SkippedBytes += o.SkippedBytes
}

// Sink receives what a Parser finds. Its methods are called synchronously
// from Write, Skip and Close; they may call the Parser's SetKind and Stop
// but not Write, Skip or Close.
type Sink interface {
	// Message reports a complete message; the Sink owns m from now on.
	Message(p *Parser, m *Message)
	// Lost reports that the parser lost its place in the stream (dropped a
	// partial message, or bytes went missing where no message length was
	// known), so whole messages may be missing before the next one.
	Lost(p *Parser)
	// RequestMethod is asked by a response parser once a final response's
	// head is complete: the method of the request it answers, or "" when
	// unknown (then the response is read as if it answered a GET).
	RequestMethod(p *Parser) string
}

type state uint8

const (
	stStart     state = iota // at a message boundary
	stHead                   // in the start line or headers
	stBody                   // in a Content-Length body
	stChunkSize              // in a chunk-size line
	stChunkData              // in chunk data
	stChunkEnd               // in the CRLF after chunk data
	stTrailer                // in the trailer section
	stBodyClose              // in a body that ends at connection close
	stResync                 // lost: looking for a message start
	stTunnel                 // no longer HTTP/1: ignore everything
)

// chunk-size line sub-states
const (
	csSize = iota
	csExt
	csLF
)

type span struct{ ns, ne, vs, ve int32 }

// Parser is an incremental HTTP/1.x parser for one direction of one
// connection. Feed it with Write (bytes present) and Skip (bytes missing),
// in stream order, then Close. The zero Parser is not usable: call Init.
type Parser struct {
	kind     Kind
	maxHead  int
	maxBody  int
	headless bool // Config.HeadlessResponses, for a response parser
	sink     Sink
	pool     *Pool
	stats    *Stats
	own      Stats

	st    state
	quiet bool // after an upgrade request: garbage is expected, not an error
	m     *Message
	buf   []byte // head, then captured body, then trailers; partial line while resyncing

	startTs int64 // ts of the message's first byte
	lastTs  int64 // ts of the last byte consumed for the message
	lineTs  int64 // resync: ts of the first byte in buf

	// head
	lineStart int
	nlines    int
	hdr       []span
	trl       []span
	mEnd      int // method end (start at 0)
	tStart    int
	tEnd      int
	rStart    int // reason start
	rEnd      int
	headEnd   int

	// body
	contentLength int64
	hasCL         bool
	hasTE         bool
	chunked       bool
	connClose     bool
	connKeep      bool
	connUpgrade   bool
	hasUpgrade    bool
	expect100     bool
	rem           int64
	capture       bool
	bodyEnd       int // end of captured body in buf (start of trailers)
	cs            uint8
	csDigit       bool
	csCR          bool
	extLen        int
	interim       int
}

// NewParser returns a parser of the given kind (KindUnknown accepts either
// kind and keeps the first it sees). pool and stats may be nil.
func NewParser(kind Kind, cfg Config, sink Sink, pool *Pool, stats *Stats) *Parser {
	p := &Parser{}
	p.Init(kind, cfg, sink, pool, stats)
	return p
}

// Init (re)initialises p, keeping its buffers. A nil stats makes p count
// into its own Stats.
func (p *Parser) Init(kind Kind, cfg Config, sink Sink, pool *Pool, stats *Stats) {
	p.dropSilently()
	buf, hdr, trl := p.buf[:0], p.hdr[:0], p.trl[:0]
	if cap(buf) > 4096 {
		buf = nil
	}
	if cap(hdr) > 64 {
		hdr = nil
	}
	if cap(trl) > 16 {
		trl = nil
	}
	*p = Parser{buf: buf, hdr: hdr, trl: trl}
	p.kind = kind
	p.maxHead, p.maxBody = cfg.limits()
	p.headless = kind == KindResponse && cfg.HeadlessResponses
	p.sink, p.pool = sink, pool
	p.stats = stats
	if stats == nil {
		p.stats = &p.own
	}
}

// Kind is the kind of messages p parses (KindUnknown until it has seen one
// if it was created that way).
func (p *Parser) Kind() Kind { return p.kind }

// Stats returns the counters p updates.
func (p *Parser) Stats() *Stats { return p.stats }

// MidStream tells p that the stream does not start at a message boundary
// (the connection was open before tracing started): p looks for the next
// message start.
func (p *Parser) MidStream() {
	p.dropSilently()
	p.buf = p.buf[:0]
	p.st = stResync
}

// SetKind fixes the kind of messages p parses. If p was parsing a message
// of the other kind, that message is dropped and p resynchronises.
func (p *Parser) SetKind(k Kind) {
	if p.kind == k {
		return
	}
	p.kind = k
	switch p.st {
	case stStart, stResync, stTunnel:
		return
	}
	p.drop()
	p.st = stResync
	p.buf = p.buf[:0]
}

// Stop makes p ignore the rest of the stream (the connection switched to
// another protocol). A message in progress is dropped.
func (p *Parser) Stop() {
	if p.m != nil {
		p.stats.Dropped++
	}
	p.dropSilently()
	p.buf = p.buf[:0]
	p.st = stTunnel
}

// Stopped reports whether p ignores the stream (see Stop).
func (p *Parser) Stopped() bool { return p.st == stTunnel }

// Buffered is the number of bytes p holds (head, body prefix, trailers or a
// partial line).
func (p *Parser) Buffered() int { return len(p.buf) }

// Idle reports whether p is between messages.
func (p *Parser) Idle() bool { return p.m == nil }

// PendingMethod returns the method of the request whose head p has parsed
// and whose body it is still reading, or "".
func (p *Parser) PendingMethod() string {
	if p.m == nil || p.st == stHead || p.kind != KindRequest {
		return ""
	}
	return p.m.Method
}

// InBody reports whether p has parsed a message's head and is reading its
// body (or trailers).
func (p *Parser) InBody() bool { return p.m != nil && p.st != stHead }

// PendingStart returns the StartNs of the message in progress and whether
// there is one.
func (p *Parser) PendingStart() (int64, bool) {
	if p.m == nil {
		return 0, false
	}
	return p.startTs, true
}

// Write feeds the next bytes of the stream; ts is the time of the chunk
// they came in. b is not retained.
func (p *Parser) Write(b []byte, ts int64) {
	for len(b) > 0 {
		switch p.st {
		case stStart:
			i := 0
			for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
				i++
			}
			b = b[i:]
			if len(b) == 0 {
				return
			}
			if !p.plausibleFirst(b[0]) {
				p.garbage()
				continue
			}
			p.buf = p.buf[:0]
			p.begin(ts)
		case stHead, stTrailer:
			b = p.headBytes(b, ts)
		case stBody:
			n := int64(len(b))
			if n > p.rem {
				n = p.rem
			}
			p.captureBody(b[:n])
			p.m.BodySize += n
			p.rem -= n
			p.lastTs = ts
			b = b[n:]
			if p.rem == 0 {
				p.complete(ts)
			}
		case stChunkSize:
			b = p.chunkSize(b, ts)
		case stChunkData:
			n := int64(len(b))
			if n > p.rem {
				n = p.rem
			}
			p.captureBody(b[:n])
			p.m.BodySize += n
			p.rem -= n
			p.lastTs = ts
			b = b[n:]
			if p.rem == 0 {
				p.st = stChunkEnd
				p.csCR = false
			}
		case stChunkEnd:
			c := b[0]
			switch {
			case c == '\r' && !p.csCR:
				p.csCR = true
				b = b[1:]
			case c == '\n':
				b = b[1:]
				p.st = stChunkSize
				p.cs, p.csDigit, p.extLen = csSize, false, 0
				p.rem = 0
			default:
				p.framingError()
			}
		case stBodyClose:
			p.captureBody(b)
			p.m.BodySize += int64(len(b))
			p.lastTs = ts
			return
		case stResync:
			b = p.resync(b, ts)
		case stTunnel:
			p.stats.SkippedBytes += uint64(len(b))
			return
		}
	}
}

// Skip tells p that n bytes of the stream are missing at this point; ts is
// the time of the chunk they belonged to.
func (p *Parser) Skip(n uint64, ts int64) {
	if n == 0 {
		return
	}
	p.stats.Gaps++
	p.stats.GapBytes += n
	switch p.st {
	case stStart:
		p.st = stResync
		p.buf = p.buf[:0]
		p.lose()
	case stHead:
		p.st = stResync
		p.buf = p.buf[:0]
		p.drop()
	case stChunkEnd:
		// Only the CRLF after the chunk data (or its LF) is lost?
		need := uint64(2)
		if p.csCR {
			need = 1
		}
		if n <= need {
			p.lastTs = ts
			if n == need {
				p.startChunks()
			} else {
				p.csCR = true
			}
			return
		}
		p.cutChunked(n, ts)
	case stChunkSize:
		p.cutChunked(n, ts)
	case stBody, stChunkData:
		if n < uint64(p.rem) || (n == uint64(p.rem) && p.st == stChunkData) {
			k := int64(n)
			p.rem -= k
			p.m.BodySize += k
			p.m.LostBytes += k
			p.capture = false
			p.lastTs = ts
			if p.rem == 0 {
				p.st = stChunkEnd
				p.csCR = false
			}
			return
		}
		if p.st == stChunkData {
			// The gap runs past the chunk's data: a chunk written in
			// one writev (size line, data, CRLF) and capped by
			// max_chunk_bytes loses its tail and its CRLF.
			k := uint64(p.rem)
			p.m.BodySize += p.rem
			p.m.LostBytes += p.rem
			p.capture = false
			p.rem = 0
			p.lastTs = ts
			switch n - k {
			case 1: // and the CR
				p.st = stChunkEnd
				p.csCR = true
			case 2: // and the CRLF: the next chunk-size line follows
				p.startChunks()
			default:
				p.cutChunked(n-k-2, ts)
			}
			return
		}
		k := p.rem
		p.m.BodySize += k
		p.m.LostBytes += k
		p.capture = false
		p.rem = 0
		p.complete(ts)
		if n > uint64(k) && p.st == stStart {
			p.lose()
			p.st = stResync
		}
	case stTrailer:
		// The body is complete; only trailers (or the final CRLF) are lost.
		p.buf = p.buf[:p.bodyEnd]
		p.trl = p.trl[:0]
		p.complete(ts)
		if p.st == stStart {
			p.lose()
			p.st = stResync
		}
	case stBodyClose:
		p.m.BodySize += int64(n)
		p.m.LostBytes += int64(n)
		p.capture = false
		p.lastTs = ts
	case stResync:
		p.buf = p.buf[:0]
	case stTunnel:
	}
}

// cutChunked ends the chunked message in progress after a gap of n bytes
// that swallowed its framing (a chunk-size line): the rest of the body
// cannot be followed. The message completes with what was seen, the gap
// counted as lost body bytes (an estimate: it holds some framing), and p
// resynchronises on the next message. Dropping it instead lost the whole
// exchange, typically a large response whose chunks were capped.
func (p *Parser) cutChunked(n uint64, ts int64) {
	p.m.BodySize += int64(n)
	p.m.LostBytes += int64(n)
	p.capture = false
	p.rem = 0
	p.complete(ts)
	if p.st == stStart {
		p.lose()
		p.st = stResync
	}
}

// Truncate completes the message whose body p is reading with the body
// seen so far (BodySize counts only what came; the rest was never sent),
// ending at its last byte seen: the peer answered before the body was sent,
// as when a server refuses an "Expect: 100-continue" request. Should the
// body come after all, p resyncs over it. It reports whether a message
// completed (false when p is not in a body).
func (p *Parser) Truncate() bool {
	switch p.st {
	case stBody, stChunkSize, stChunkData, stChunkEnd:
	case stTrailer:
		p.buf = p.buf[:p.bodyEnd]
		p.trl = p.trl[:0]
	default:
		return false
	}
	p.capture = false
	p.rem = 0
	p.complete(p.lastTs)
	return true
}

// AwaitingContinue reports whether p has read the head of an "Expect:
// 100-continue" request and none of its body.
func (p *Parser) AwaitingContinue() bool {
	return p.m != nil && p.kind == KindRequest && p.st != stHead && p.m.Expect100 && p.m.BodySize == 0
}

// Close tells p the stream ended. A close-delimited body completes; any
// other partial message is dropped. p is then ready for a new stream.
func (p *Parser) Close(ts int64) {
	switch p.st {
	case stBodyClose:
		p.complete(p.lastTs)
	case stTrailer:
		p.buf = p.buf[:p.bodyEnd]
		p.trl = p.trl[:0]
		p.complete(p.lastTs)
	case stStart, stResync, stTunnel:
	default:
		p.drop()
	}
	p.dropSilently()
	p.buf = p.buf[:0]
	p.st = stStart
	p.quiet = false
}

func (p *Parser) plausibleFirst(c byte) bool {
	switch p.kind {
	case KindRequest:
		return isMethodChar(c)
	case KindResponse:
		return c == 'H'
	default:
		return isMethodChar(c)
	}
}

// garbage handles bytes at a message boundary that cannot start a message.
func (p *Parser) garbage() {
	if !p.quiet {
		p.stats.ParseErrors++
		p.lose()
	}
	p.buf = p.buf[:0]
	p.st = stResync
}

func (p *Parser) begin(ts int64) {
	p.m = p.pool.Get()
	p.startTs, p.lastTs = ts, ts
	p.st = stHead
	p.lineStart, p.nlines = 0, 0
	p.hdr, p.trl = p.hdr[:0], p.trl[:0]
	p.contentLength, p.hasCL, p.hasTE, p.chunked = -1, false, false, false
	p.connClose, p.connKeep, p.connUpgrade, p.hasUpgrade, p.expect100 = false, false, false, false, false
	p.rem, p.capture, p.bodyEnd = 0, false, 0
	p.rStart, p.rEnd = 0, 0
}

// lose notifies the sink that messages may be missing.
func (p *Parser) lose() {
	if p.sink != nil {
		p.sink.Lost(p)
	}
}

// drop discards the message in progress, counting it, and notifies the sink.
func (p *Parser) drop() {
	if p.m != nil {
		p.stats.Dropped++
	}
	p.dropSilently()
	p.lose()
}

func (p *Parser) dropSilently() {
	if p.m != nil {
		p.pool.Put(p.m)
		p.m = nil
	}
	p.interim = 0
}

func (p *Parser) framingError() {
	p.stats.ParseErrors++
	p.st = stResync
	p.buf = p.buf[:0]
	p.drop()
}

// headBytes consumes head or trailer bytes line by line.
func (p *Parser) headBytes(b []byte, ts int64) []byte {
	for len(b) > 0 {
		limit := p.maxHead
		if p.st == stTrailer {
			limit = p.bodyEnd + p.maxHead
		}
		i := bytes.IndexByte(b, '\n')
		n := len(b)
		if i >= 0 {
			n = i + 1
		}
		if len(p.buf)+n > limit {
			// Drop the message; resynchronise from the start of the
			// current line (kept in buf) whatever the chunking was.
			p.stats.Oversized++
			ls, ts0 := p.lineStart, p.lastTs
			p.st = stResync
			p.drop()
			k := copy(p.buf, p.buf[ls:])
			p.buf = p.buf[:k]
			p.lineTs = ts0
			return b
		}
		p.buf = append(p.buf, b[:n]...)
		p.lastTs = ts
		b = b[n:]
		if i < 0 {
			return b
		}
		st := p.st
		p.line(ts)
		if p.st != st {
			return b
		}
	}
	return b
}

// line processes the complete line at buf[lineStart:].
func (p *Parser) line(ts int64) {
	start := p.lineStart
	end := len(p.buf) - 1
	if end > start && p.buf[end-1] == '\r' {
		end--
	}
	p.lineStart = len(p.buf)
	if p.st == stTrailer {
		switch {
		case start == end:
			p.complete(ts)
		case p.buf[start] == ' ' || p.buf[start] == '\t':
			if len(p.trl) == 0 {
				p.headError(start)
				return
			}
			p.trl[len(p.trl)-1].ve = int32(end)
		default:
			sp, ok := p.fieldLine(start, end)
			if !ok {
				p.headError(start)
				return
			}
			if len(p.trl) >= MaxHeaderFields {
				p.tooManyFields()
				return
			}
			p.trl = append(p.trl, sp)
		}
		return
	}
	p.nlines++
	if p.nlines == 1 {
		if !p.startLine(p.buf[start:end]) {
			p.headError(start)
		}
		return
	}
	if start == end {
		p.endHead(ts)
		return
	}
	if c := p.buf[start]; c == ' ' || c == '\t' {
		// obs-fold: continue the previous field's value.
		if len(p.hdr) == 0 {
			p.headError(start)
			return
		}
		h := &p.hdr[len(p.hdr)-1]
		for end > start && (p.buf[end-1] == ' ' || p.buf[end-1] == '\t') {
			end--
		}
		if int(h.vs) == int(h.ve) {
			for start < end && (p.buf[start] == ' ' || p.buf[start] == '\t') {
				start++
			}
			h.vs = int32(start)
		}
		h.ve = int32(end)
		return
	}
	sp, ok := p.fieldLine(start, end)
	if !ok {
		p.headError(start)
		return
	}
	if len(p.hdr) >= MaxHeaderFields {
		p.tooManyFields()
		return
	}
	p.hdr = append(p.hdr, sp)
	p.interpret(sp)
}

func (p *Parser) tooManyFields() {
	p.stats.Oversized++
	p.st = stResync
	p.buf = p.buf[:0]
	p.drop()
}

// fieldLine splits "name: value" at buf[start:end].
func (p *Parser) fieldLine(start, end int) (span, bool) {
	l := p.buf[start:end]
	c := bytes.IndexByte(l, ':')
	if c <= 0 {
		return span{}, false
	}
	for _, ch := range l[:c] {
		if !tchar[ch] {
			return span{}, false
		}
	}
	vs, ve := start+c+1, end
	for vs < ve && (p.buf[vs] == ' ' || p.buf[vs] == '\t') {
		vs++
	}
	for ve > vs && (p.buf[ve-1] == ' ' || p.buf[ve-1] == '\t') {
		ve--
	}
	return span{int32(start), int32(start + c), int32(vs), int32(ve)}, true
}

// headError drops the message on a malformed head line and resynchronises,
// starting with the offending line (it may start the next message).
func (p *Parser) headError(lineStart int) {
	// After an upgrade request, a first line that is not HTTP/1 is the new
	// protocol (e.g. the HTTP/2 preface), not an error.
	quiet := p.quiet && p.nlines <= 1
	ts := p.lastTs
	p.st = stResync
	if quiet {
		p.dropSilently()
	} else {
		p.stats.ParseErrors++
		p.drop()
	}
	n := copy(p.buf, p.buf[lineStart:])
	p.buf = p.buf[:n]
	p.lineTs = ts
	if p.st == stResync && n > 0 && p.buf[n-1] == '\n' {
		p.tryStart(p.buf, true, n, ts, ts)
	}
}

// startLine parses the first line of a message.
func (p *Parser) startLine(l []byte) bool {
	kind := p.kind
	if kind == KindUnknown {
		kind = KindRequest
		if bytes.HasPrefix(l, []byte("HTTP/")) {
			kind = KindResponse
		}
	}
	m := p.m
	if kind == KindRequest {
		mEnd, tStart, tEnd, minor, ok := parseRequestLine(l, false)
		if !ok {
			return false
		}
		m.Method = lookupMethod(l[:mEnd])
		m.Version = versions[minor]
		p.mEnd, p.tStart, p.tEnd = mEnd, tStart, tEnd
	} else {
		code, rs, minor, ok := parseStatusLine(l)
		if !ok {
			return false
		}
		m.StatusCode = code
		m.Version = versions[minor]
		p.rStart, p.rEnd = rs, len(l)
	}
	m.Kind = kind
	p.kind = kind
	p.quiet = false
	return true
}

// interpret looks at the header fields that frame the message.
func (p *Parser) interpret(sp span) {
	name := p.buf[sp.ns:sp.ne]
	val := p.buf[sp.vs:sp.ve]
	switch len(name) {
	case 14:
		if equalFoldBytes(name, "content-length") {
			n, ok := parseContentLength(val)
			if !ok || (p.hasCL && n != p.contentLength) {
				p.contentLength = -2 // invalid
			} else if p.contentLength != -2 {
				p.contentLength = n
			}
			p.hasCL = true
		}
	case 17:
		if equalFoldBytes(name, "transfer-encoding") {
			p.hasTE = true
			// The last coding decides; later fields append to earlier ones.
			if last := lastToken(val); len(last) > 0 {
				p.chunked = equalFoldBytes(last, "chunked")
			}
		}
	case 10:
		if equalFoldBytes(name, "connection") {
			forTokens(val, func(t []byte) {
				switch {
				case equalFoldBytes(t, "close"):
					p.connClose = true
				case equalFoldBytes(t, "keep-alive"):
					p.connKeep = true
				case equalFoldBytes(t, "upgrade"):
					p.connUpgrade = true
				}
			})
		}
	case 7:
		if equalFoldBytes(name, "upgrade") {
			p.hasUpgrade = true
		}
	case 6:
		if equalFoldBytes(name, "expect") && equalFoldBytes(val, "100-continue") {
			p.expect100 = true
		}
	}
}

func parseContentLength(v []byte) (int64, bool) {
	// Allow "n, n" lists of identical values (RFC 9110 8.6).
	var out int64 = -1
	ok := true
	forTokens(v, func(t []byte) {
		if len(t) == 0 || len(t) > 16 {
			ok = false
			return
		}
		var n int64
		for _, c := range t {
			if !isDigit(c) {
				ok = false
				return
			}
			n = n*10 + int64(c-'0')
		}
		if n > maxBodyLen || (out >= 0 && n != out) {
			ok = false
			return
		}
		out = n
	})
	return out, ok && out >= 0
}

// forTokens calls f with each comma-separated, trimmed element of v.
func forTokens(v []byte, f func([]byte)) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		var t []byte
		if i < 0 {
			t, v = v, nil
		} else {
			t, v = v[:i], v[i+1:]
		}
		f(bytes.TrimSpace(t))
	}
}

func lastToken(v []byte) []byte {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return bytes.TrimSpace(v)
}

// endHead decides how the body is framed.
func (p *Parser) endHead(ts int64) {
	m := p.m
	p.headEnd = len(p.buf)
	m.HeaderSize = p.headEnd
	if p.contentLength == -2 {
		p.headError(p.headEnd) // nothing to rescan
		return
	}
	m.ContentLength = p.contentLength
	m.Expect100 = p.expect100
	http11 := m.Version != "1.0"
	m.KeepAlive = !p.connClose && (http11 || p.connKeep)
	p.bodyEnd = p.headEnd
	p.capture = p.maxBody > 0
	p.rem = 0

	if m.Kind == KindRequest {
		m.Upgrade = m.Method == "CONNECT" || (p.hasUpgrade && p.connUpgrade)
		switch {
		case p.hasTE && !p.chunked:
			p.headError(p.headEnd) // a request body of unknown length
			return
		case p.chunked:
			m.Chunked = true
			p.startChunks()
		case p.contentLength > 0:
			p.rem = p.contentLength
			p.st = stBody
		default:
			p.complete(ts)
		}
		return
	}

	code := m.StatusCode
	if code < 200 && code != 101 {
		// Interim response: skip it; the final response follows.
		p.stats.Interim++
		p.interim++
		p.pool.Put(m)
		p.m = nil
		p.st = stStart
		p.buf = p.buf[:0]
		return
	}
	m.Interim = p.interim
	if p.sink != nil {
		m.Method = p.sink.RequestMethod(p)
	}
	switch {
	case code == 101 || (m.Method == "CONNECT" && code/100 == 2):
		m.Tunnel = true
		m.KeepAlive = false
		p.complete(ts)
	case m.Method == "HEAD" || code == 204 || code == 304:
		p.complete(ts)
	case p.hasTE && p.chunked:
		m.Chunked = true
		p.startChunks()
	case p.hasTE:
		m.CloseDelimited = true
		m.KeepAlive = false
		p.st = stBodyClose
	case p.contentLength >= 0:
		if p.contentLength == 0 {
			p.complete(ts)
			return
		}
		p.rem = p.contentLength
		p.st = stBody
	default:
		m.CloseDelimited = true
		m.KeepAlive = false
		p.st = stBodyClose
	}
}

func (p *Parser) startChunks() {
	p.st = stChunkSize
	p.cs, p.csDigit, p.extLen, p.rem = csSize, false, 0, 0
}

func (p *Parser) captureBody(b []byte) {
	if !p.capture || len(b) == 0 {
		return
	}
	room := p.maxBody - (len(p.buf) - p.headEnd)
	if room <= 0 {
		p.capture = false
		return
	}
	if len(b) > room {
		b = b[:room]
	}
	p.buf = append(p.buf, b...)
	p.bodyEnd = len(p.buf)
}

// chunkSize parses a chunk-size line byte by byte.
func (p *Parser) chunkSize(b []byte, ts int64) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		done := false
		switch p.cs {
		case csSize:
			var v byte
			switch {
			case '0' <= c && c <= '9':
				v = c - '0'
			case 'a' <= c && c <= 'f':
				v = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				v = c - 'A' + 10
			case (c == ';' || c == ' ' || c == '\t') && p.csDigit:
				p.cs = csExt
				continue
			case c == '\r' && p.csDigit:
				p.cs = csLF
				continue
			case c == '\n' && p.csDigit:
				done = true
			default:
				p.framingError()
				return b[i:]
			}
			if !done {
				if p.rem > maxBodyLen>>4 {
					p.framingError()
					return b[i:]
				}
				p.rem = p.rem<<4 | int64(v)
				p.csDigit = true
			}
		case csExt:
			switch c {
			case '\n':
				done = true
			case '\r':
				p.cs = csLF
			default:
				p.extLen++
				if p.extLen > maxChunkExt || c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
					p.framingError()
					return b[i:]
				}
			}
		case csLF:
			if c != '\n' {
				p.framingError()
				return b[i:]
			}
			done = true
		}
		if done {
			p.lastTs = ts
			if p.rem == 0 {
				p.st = stTrailer
				p.bodyEnd = len(p.buf)
				p.lineStart = len(p.buf)
			} else {
				p.st = stChunkData
			}
			return b[i+1:]
		}
	}
	p.lastTs = ts
	return nil
}

// complete materialises the message and hands it to the sink.
func (p *Parser) complete(ts int64) {
	m := p.m
	p.m = nil
	p.interim = 0
	p.stats.Messages++
	m.StartNs, m.EndNs = p.startTs, ts
	p.materialize(m)
	upgrade := m.Kind == KindRequest && m.Upgrade
	if m.Tunnel {
		p.st = stTunnel
	} else {
		p.st = stStart
	}
	p.quiet = upgrade
	p.buf = p.buf[:0]
	if cap(p.buf) > 4096 {
		p.buf = nil // do not keep a large head's buffer per connection
	}
	if cap(p.hdr) > 64 {
		p.hdr = nil
	}
	if cap(p.trl) > 16 {
		p.trl = nil
	}
	if p.sink != nil {
		p.sink.Message(p, m)
	} else {
		p.pool.Put(m)
	}
}

func (p *Parser) materialize(m *Message) {
	if p.headless {
		if p.bodyEnd > p.headEnd {
			m.raw = string(p.buf[p.headEnd:p.bodyEnd])
			m.Body = m.raw
		}
		m.BodyTruncated = int64(len(m.Body)) < m.BodySize
		return
	}
	s := string(p.buf)
	m.raw = s
	if m.Kind == KindRequest {
		if m.Method == "" {
			m.Method = s[:p.mEnd]
		}
		m.Target = s[p.tStart:p.tEnd]
		m.Path, m.Query = splitTarget(m.Target, m.Method)
	} else {
		m.Reason = s[p.rStart:p.rEnd]
	}
	for _, h := range p.hdr {
		m.Headers = append(m.Headers, Header{s[h.ns:h.ne], s[h.vs:h.ve]})
	}
	for _, h := range p.trl {
		m.Trailers = append(m.Trailers, Header{s[h.ns:h.ne], s[h.vs:h.ve]})
	}
	if p.bodyEnd > p.headEnd {
		m.Body = s[p.headEnd:p.bodyEnd]
	}
	m.BodyTruncated = int64(len(m.Body)) < m.BodySize
}

// splitTarget returns the path and query of a request-target.
func splitTarget(t, method string) (path, query string) {
	if method == "CONNECT" {
		return "", ""
	}
	if len(t) > 0 && t[0] != '/' && t != "*" {
		// absolute-form: scheme "://" authority path
		if i := strings.Index(t, "://"); i > 0 {
			rest := t[i+3:]
			j := 0
			for j < len(rest) && rest[j] != '/' && rest[j] != '?' && rest[j] != '#' {
				j++
			}
			t = rest[j:]
			if len(t) == 0 || t[0] != '/' {
				q := t
				t = "/"
				if len(q) > 0 && q[0] == '?' {
					query = q[1:]
					if k := strings.IndexByte(query, '#'); k >= 0 {
						query = query[:k]
					}
				}
				return t, query
			}
		}
	}
	path = t
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	return path, query
}

// resync scans for the next message start, line by line.
func (p *Parser) resync(b []byte, ts int64) []byte {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.appendPartial(b, ts)
			return nil
		}
		rest := b[i+1:]
		if len(p.buf) == 0 {
			p.tryStart(b[:i+1], false, 0, ts, ts)
		} else {
			lineTs := p.lineTs
			p.appendPartial(b[:i+1], ts)
			oldKept := len(p.buf) - (i + 1)
			if oldKept < 0 {
				oldKept = 0
			}
			p.tryStart(p.buf, true, oldKept, lineTs, ts)
		}
		if p.st != stResync {
			return rest
		}
		b = rest
	}
	return nil
}

// tryStart looks for a message start in one complete line; when found the
// parser continues in the head of that message. inBuf tells that line is
// p.buf. The first oldKept bytes of line came at time oldTs, the rest at ts.
func (p *Parser) tryStart(line []byte, inBuf bool, oldKept int, oldTs, ts int64) {
	// Only the tail of a long line is searched, the part appendPartial
	// always keeps, so that the outcome does not depend on the chunking.
	base := 0
	if w := p.maxHead / 2; len(line) > w {
		base = len(line) - w
	}
	off, kind := findStart(line[base:], p.kind)
	if off >= 0 {
		off += base
	}
	if off < 0 {
		p.stats.SkippedBytes += uint64(len(line))
		if inBuf {
			p.buf = p.buf[:0]
		}
		return
	}
	p.stats.SkippedBytes += uint64(off)
	p.stats.Resyncs++
	if p.kind == KindUnknown {
		p.kind = kind
	}
	if inBuf {
		n := copy(p.buf, p.buf[off:])
		p.buf = p.buf[:n]
	} else {
		p.buf = append(p.buf[:0], line[off:]...)
	}
	startTs := ts
	if off < oldKept {
		startTs = oldTs
	}
	p.begin(startTs)
	p.lastTs = ts
	p.line(ts)
}

// appendPartial keeps the partial line being scanned, bounded: only its
// last MaxHeaderBytes/2 bytes are searched for a start line (tryStart).
func (p *Parser) appendPartial(b []byte, ts int64) {
	if len(p.buf) == 0 {
		p.lineTs = ts
	}
	if len(p.buf)+len(b) <= p.maxHead {
		p.buf = append(p.buf, b...)
		return
	}
	keep := p.maxHead / 2
	if len(b) >= keep {
		p.stats.SkippedBytes += uint64(len(p.buf) + len(b) - keep)
		p.buf = append(p.buf[:0], b[len(b)-keep:]...)
		p.lineTs = ts
		return
	}
	drop := len(p.buf) + len(b) - keep
	p.stats.SkippedBytes += uint64(drop)
	n := copy(p.buf, p.buf[drop:])
	p.buf = append(p.buf[:n], b...)
}

// Package http1 parses HTTP/1.x request and response streams incrementally,
// as the socket tracer delivers them: chunk by chunk, with messages split
// across chunks or many in one chunk (pipelining), with bytes missing (gaps,
// capped payloads) and starting in the middle of a stream.
//
// A Parser handles one direction of one connection. It reports each complete
// message to a Sink. A response parser asks its Sink for the method of the
// request each response answers (HEAD responses carry no body).
//
// Everything here is single-goroutine: a Parser, its Pool and its Stats must
// be used by one goroutine at a time.
package http1

// Kind tells requests from responses.
type Kind uint8

const (
	// KindUnknown: a parser that has not seen a message start yet accepts
	// either and takes the kind of the first one it recognises.
	KindUnknown Kind = 0
	// KindRequest: "METHOD SP target SP HTTP/1.x".
	KindRequest Kind = 1
	// KindResponse: "HTTP/1.x SP NNN SP reason".
	KindResponse Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindResponse:
		return "response"
	default:
		return "unknown"
	}
}

// Header is one header (or trailer) field as sent: the name keeps its case,
// the value has surrounding whitespace removed.
type Header struct {
	Name  string
	Value string
}

// Message is one parsed HTTP/1.x request or response.
//
// Ownership: a Parser hands each Message to its Sink, which then owns it and
// should give it back with Pool.Put once done. After Put the Message is
// reused: its Headers and Trailers slices are overwritten. The strings in a
// Message are immutable and may be kept; they share one backing allocation
// per message (the head, the captured body prefix and the trailers), so use
// strings.Clone to keep a small piece for long. Clone detaches a whole
// Message.
type Message struct {
	Kind Kind

	// Method is the request method. On a response it is the method of the
	// request the response answers, when the Sink knew it ("" otherwise).
	Method string
	// Target is the request-target exactly as sent (requests only).
	Target string
	// Path is the path part of Target ("/a/b"; "*" for OPTIONS *; the path
	// of an absolute-form target; "" for CONNECT's authority-form).
	Path string
	// Query is the part of Target after '?', without the '?' and without
	// any fragment.
	Query string
	// Version is the protocol version, "1.1" or "1.0" (other minors kept).
	Version string

	// StatusCode and Reason are the response's status (responses only).
	StatusCode int
	Reason     string

	// Headers in the order they were sent. Use Get for a case-insensitive
	// lookup. Obsolete line folding is kept in the value as sent.
	Headers []Header
	// Trailers holds the trailer fields of a chunked body.
	Trailers []Header

	// HeaderSize is the number of bytes of the start line and the header
	// section, up to and including the empty line.
	HeaderSize int
	// BodySize is the body length: for a Content-Length or close-delimited
	// body, the bytes on the wire (missing bytes included, see LostBytes);
	// for a chunked body, the decoded length (sum of the chunk sizes).
	BodySize int64
	// Body is the first bytes of the body (dechunked), at most the
	// configured capture size. A gap stops the capture.
	Body string
	// BodyTruncated reports that Body holds fewer than BodySize bytes.
	BodyTruncated bool
	// LostBytes counts body bytes that were never seen (gaps, capped or
	// empty payloads such as sendfile). They are included in BodySize.
	LostBytes int64

	// Chunked: the body used Transfer-Encoding: chunked.
	Chunked bool
	// CloseDelimited: a response body that ran until the connection closed.
	CloseDelimited bool
	// ContentLength is the Content-Length header's value, -1 when absent.
	ContentLength int64
	// KeepAlive reports whether the connection stays open after this
	// message according to its version and Connection header.
	KeepAlive bool
	// Expect100 is set on requests with "Expect: 100-continue".
	Expect100 bool
	// Upgrade is set on requests that ask to switch protocols (an Upgrade
	// header with "Connection: upgrade") and on CONNECT requests.
	Upgrade bool
	// Tunnel is set on a response after which the connection no longer
	// carries HTTP/1 (101 Switching Protocols, 2xx to CONNECT).
	Tunnel bool
	// Interim counts the 1xx interim responses (100 Continue, 103 Early
	// Hints...) that preceded this response; they are not reported alone.
	Interim int

	// StartNs is the time of the chunk holding the message's first byte and
	// EndNs of the chunk holding its last byte (Unix ns, as delivered).
	StartNs int64
	EndNs   int64

	raw   string // backing string of the strings above
	route string
	rdone bool
}

// Get returns the value of the first header whose name matches name
// case-insensitively (ASCII), or "".
func (m *Message) Get(name string) string {
	v, _ := m.Lookup(name)
	return v
}

// Lookup is Get that also reports whether the header was present.
func (m *Message) Lookup(name string) (string, bool) {
	for i := range m.Headers {
		if equalFold(m.Headers[i].Name, name) {
			return m.Headers[i].Value, true
		}
	}
	return "", false
}

// Route returns Path with its identifier segments replaced by "{id}" (see
// the package function Route). The result is computed once and cached.
func (m *Message) Route() string {
	if !m.rdone {
		m.route = Route(m.Path)
		m.rdone = true
	}
	return m.route
}

// SetRoute sets what Route returns, for a caller that built the same
// template itself (see AppendRoute) and interned it.
func (m *Message) SetRoute(route string) {
	m.route, m.rdone = route, true
}

// RetainedBytes is the memory held by the message's strings: head, captured
// body prefix and trailers.
func (m *Message) RetainedBytes() int { return len(m.raw) }

// Clone returns a deep copy that shares nothing mutable with m, for keeping
// a message after giving m back to its Pool.
func (m *Message) Clone() *Message {
	c := *m
	c.Headers = append([]Header(nil), m.Headers...)
	c.Trailers = append([]Header(nil), m.Trailers...)
	return &c
}

// Reset clears m for reuse, keeping the capacity of its slices.
func (m *Message) Reset() {
	h, t := m.Headers, m.Trailers
	clear(h)
	clear(t)
	if cap(h) > 64 {
		h = nil
	}
	if cap(t) > 32 {
		t = nil
	}
	*m = Message{Headers: h[:0], Trailers: t[:0], ContentLength: -1}
}

// Pool recycles Messages. The zero value is ready; a nil *Pool allocates.
// Like Parser, it is not safe for concurrent use.
type Pool struct {
	free []*Message
	// Max bounds the number of idle messages kept (default 1024).
	Max int
}

// Get returns a reset Message.
func (p *Pool) Get() *Message {
	if p != nil {
		if n := len(p.free); n > 0 {
			m := p.free[n-1]
			p.free[n-1] = nil
			p.free = p.free[:n-1]
			return m
		}
	}
	return &Message{ContentLength: -1}
}

// Put resets m and keeps it for a later Get.
func (p *Pool) Put(m *Message) {
	if m == nil {
		return
	}
	m.Reset()
	if p == nil {
		return
	}
	limit := p.Max
	if limit <= 0 {
		limit = 1024
	}
	if len(p.free) < limit {
		p.free = append(p.free, m)
	}
}

// equalFold compares ASCII strings case-insensitively.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}

// equalFoldBytes compares b with the lower-case ASCII string lower.
func equalFoldBytes(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c |= 0x20
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Package protocols holds what the non-HTTP/1 protocol parsers share: the
// Exchange they report (one request and its response, or an unsolicited
// server message), a bounded per-direction byte buffer that survives gaps,
// a bounded FIFO of requests awaiting their response, and SQL
// normalisation. Each protocol lives in its own sub-package (dns, pgsql,
// mysql, redis, kafka, http2) and implements conntrack.Protocol and
// conntrack.Session; the receiver registers them on its Tracker and turns
// Exchanges into spans.
package protocols

import (
	"strings"
	"unicode/utf8"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// Protocol names, as copied into conntrack.ConnInfo.Protocol and
// Exchange.Protocol.
const (
	DNS   = "dns"
	PGSQL = "pgsql"
	MySQL = "mysql"
	Redis = "redis"
	Kafka = "kafka"
	HTTP2 = "http2"
)

// MaxText caps the query texts, commands and rendered responses an Exchange
// carries (bytes; cut on a UTF-8 boundary).
const MaxText = 1024

// Attr is one span attribute: a string, or an int when IsInt.
type Attr struct {
	Key   string
	Str   string
	Int   int64
	IsInt bool
}

// Exchange is one request with its response (Unanswered says why there is
// none), or, when Push is set, a message the server sent unasked (Redis
// pub/sub). It is only valid during the Emit callback.
type Exchange struct {
	Conn     conntrack.ConnInfo
	Protocol string // one of the names above
	StartNs  int64  // first byte of the request (of the message for Push)
	EndNs    int64  // last byte of the response (of the request when none)
	// Name is the span name (e.g. "SELECT users", "GET", "send orders").
	Name string
	// Attrs are the semantic-convention attributes of the exchange.
	Attrs []Attr
	// Error marks a failed exchange; ErrorType is error.type (SQLSTATE,
	// Redis error prefix, DNS rcode, gRPC status...), ErrorMessage the
	// span status message.
	Error        bool
	ErrorType    string
	ErrorMessage string
	Unanswered   conntrack.Unanswered
	Push         bool

	// Pixie's table columns that have no semantic convention: the command
	// (pgsql "Query"/"Execute", mysql/kafka command code as decimal,
	// redis command), the request and the response as Pixie renders them.
	ReqCmd string
	Req    string
	Resp   string
	// DNS only: the query's and the response's headers, JSON.
	ReqHeader, RespHeader string
}

// Str appends a string attribute (skipped when v is empty).
func (e *Exchange) Str(k, v string) {
	if v != "" {
		e.Attrs = append(e.Attrs, Attr{Key: k, Str: v})
	}
}

// Int appends an int attribute.
func (e *Exchange) Int(k string, v int64) {
	e.Attrs = append(e.Attrs, Attr{Key: k, Int: v, IsInt: true})
}

// Get returns the string value of attribute k ("" when absent).
func (e *Exchange) Get(k string) string {
	for i := range e.Attrs {
		if e.Attrs[i].Key == k {
			return e.Attrs[i].Str
		}
	}
	return ""
}

// GetInt returns the int value of attribute k.
func (e *Exchange) GetInt(k string) (int64, bool) {
	for i := range e.Attrs {
		if e.Attrs[i].Key == k && e.Attrs[i].IsInt {
			return e.Attrs[i].Int, true
		}
	}
	return 0, false
}

// Reset clears e for reuse, keeping the Attrs array.
func (e *Exchange) Reset() {
	a := e.Attrs[:0]
	*e = Exchange{Attrs: a}
}

// Emit receives exchanges, synchronously, on the tracker's goroutine. The
// Exchange is only valid during the call.
type Emit func(*Exchange)

// ReqDir is the direction requests travel for a connection where the
// traced process plays role (Egress for clients, Ingress for servers and
// unknown roles until inferred).
func ReqDir(role sockevent.Role) sockevent.Direction {
	if role == sockevent.RoleClient {
		return sockevent.Egress
	}
	return sockevent.Ingress
}

// LearnRole sets c.Role from the direction a request was seen travelling in,
// when the role is unknown.
func LearnRole(c *conntrack.ConnInfo, reqDir sockevent.Direction) {
	if c.Role != sockevent.RoleUnknown {
		return
	}
	c.RoleInferred = true
	if reqDir == sockevent.Egress {
		c.Role = sockevent.RoleClient
	} else {
		c.Role = sockevent.RoleServer
	}
}

// Text returns b as a valid UTF-8 string of at most MaxText bytes.
func Text(b []byte) string { return Cap(string(b), MaxText) }

// Cap cuts s to at most n bytes on a rune boundary and replaces invalid
// UTF-8.
func Cap(s string, n int) string {
	if len(s) > n {
		i := n
		for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

package http1

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testSink collects messages (detached copies) and answers RequestMethod
// from a queue of methods.
type testSink struct {
	pool    *Pool
	msgs    []*Message
	lost    int
	methods []string
}

func (s *testSink) Message(_ *Parser, m *Message) {
	s.msgs = append(s.msgs, m.Clone())
	s.pool.Put(m)
}

func (s *testSink) Lost(*Parser) { s.lost++ }

func (s *testSink) RequestMethod(*Parser) string {
	if len(s.methods) == 0 {
		return ""
	}
	m := s.methods[0]
	s.methods = s.methods[1:]
	return m
}

// step is one input to a parser: bytes (with a time) or a gap.
type step struct {
	data string
	gap  uint64
	ts   int64
}

func feed(p *Parser, steps []step, closeTs int64) {
	for _, s := range steps {
		if s.gap > 0 {
			p.Skip(s.gap, s.ts)
		} else {
			p.Write([]byte(s.data), s.ts)
		}
	}
	if closeTs >= 0 {
		p.Close(closeTs)
	}
}

func newTest(kind Kind, cfg Config, methods ...string) (*Parser, *testSink) {
	s := &testSink{pool: &Pool{}, methods: methods}
	return NewParser(kind, cfg, s, s.pool, nil), s
}

// summary is a compact, comparable view of a message.
func summary(m *Message) string {
	var b strings.Builder
	if m.Kind == KindRequest {
		fmt.Fprintf(&b, "%s %s path=%q q=%q HTTP/%s", m.Method, m.Target, m.Path, m.Query, m.Version)
	} else {
		fmt.Fprintf(&b, "HTTP/%s %d %q method=%s", m.Version, m.StatusCode, m.Reason, m.Method)
	}
	fmt.Fprintf(&b, " hdrs=%d body=%d lost=%d cap=%q", len(m.Headers), m.BodySize, m.LostBytes, m.Body)
	if m.Chunked {
		b.WriteString(" chunked")
	}
	if m.CloseDelimited {
		b.WriteString(" close-delimited")
	}
	if m.Tunnel {
		b.WriteString(" tunnel")
	}
	if m.Interim > 0 {
		fmt.Fprintf(&b, " interim=%d", m.Interim)
	}
	if len(m.Trailers) > 0 {
		fmt.Fprintf(&b, " trailers=%v", m.Trailers)
	}
	fmt.Fprintf(&b, " t=%d..%d", m.StartNs, m.EndNs)
	return b.String()
}

func summaries(ms []*Message) []string {
	if len(ms) == 0 {
		return nil
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = summary(m)
	}
	return out
}

const (
	reqGet  = "GET /users/123?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n"
	reqPost = "POST /orders HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"item\":\"ab\"}"
	reqHead = "HEAD /file HTTP/1.1\r\nHost: example.com\r\n\r\n"
	resp200 = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
	resp404 = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
)

func TestRequestParser(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		steps   []step
		want    []string
		lost    int
		stats   Stats // only non-zero fields are checked
		headers map[string]string
	}{
		{
			name:    "simple GET",
			steps:   []step{{data: reqGet, ts: 10}},
			want:    []string{`GET /users/123?x=1&y=2 path="/users/123" q="x=1&y=2" HTTP/1.1 hdrs=2 body=0 lost=0 cap="" t=10..10`},
			headers: map[string]string{"host": "example.com", "USER-AGENT": "t", "missing": ""},
		},
		{
			name:  "pipelined in one chunk",
			steps: []step{{data: reqGet + reqPost + reqHead, ts: 5}},
			want: []string{
				`GET /users/123?x=1&y=2 path="/users/123" q="x=1&y=2" HTTP/1.1 hdrs=2 body=0 lost=0 cap="" t=5..5`,
				`POST /orders path="/orders" q="" HTTP/1.1 hdrs=3 body=13 lost=0 cap="{\"item\":\"ab\"}" t=5..5`,
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=5..5`,
			},
		},
		{
			name: "body split over chunks keeps first and last times",
			steps: []step{
				{data: "POST /a HTTP/1.1\r\nContent-Length: 10\r\n", ts: 1},
				{data: "\r\n01234", ts: 2},
				{data: "56789", ts: 3},
			},
			want: []string{`POST /a path="/a" q="" HTTP/1.1 hdrs=1 body=10 lost=0 cap="0123456789" t=1..3`},
		},
		{
			name: "chunked with extensions and trailers",
			steps: []step{{data: "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
				"5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: abc\r\nX-Other:  1 \r\n\r\n", ts: 7}},
			want: []string{`POST /up path="/up" q="" HTTP/1.1 hdrs=2 body=11 lost=0 cap="hello world" chunked trailers=[{X-Sum abc} {X-Other 1}] t=7..7`},
		},
		{
			name:  "chunked, LF only, upper-case hex",
			steps: []step{{data: "PUT /x HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\nA\n0123456789\n0\n\n", ts: 1}},
			want:  []string{`PUT /x path="/x" q="" HTTP/1.1 hdrs=1 body=10 lost=0 cap="0123456789" chunked t=1..1`},
		},
		{
			name:  "leading empty lines are ignored",
			steps: []step{{data: "\r\n\r\n" + reqHead + "\r\n" + reqHead, ts: 1}},
			want: []string{
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`,
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`,
			},
		},
		{
			name:  "absolute-form, OPTIONS *, unknown method at a boundary",
			steps: []step{{data: "GET http://h:8080/p/q?a=b#f HTTP/1.1\r\n\r\nOPTIONS * HTTP/1.1\r\n\r\nFOO /z HTTP/1.0\r\n\r\nCONNECT db:5432 HTTP/1.1\r\n\r\n", ts: 1}},
			want: []string{
				`GET http://h:8080/p/q?a=b#f path="/p/q" q="a=b" HTTP/1.1 hdrs=0 body=0 lost=0 cap="" t=1..1`,
				`OPTIONS * path="*" q="" HTTP/1.1 hdrs=0 body=0 lost=0 cap="" t=1..1`,
				`FOO /z path="/z" q="" HTTP/1.0 hdrs=0 body=0 lost=0 cap="" t=1..1`,
				`CONNECT db:5432 path="" q="" HTTP/1.1 hdrs=0 body=0 lost=0 cap="" t=1..1`,
			},
		},
		{
			name:    "obs-fold continues a header",
			steps:   []step{{data: "GET / HTTP/1.1\r\nX-Long: a\r\n  b\r\nHost: h\r\n\r\n", ts: 1}},
			want:    []string{`GET / path="/" q="" HTTP/1.1 hdrs=2 body=0 lost=0 cap="" t=1..1`},
			headers: map[string]string{"x-long": "a\r\n  b", "host": "h"},
		},
		{
			name:  "body capture is bounded",
			cfg:   Config{MaxBodyCapture: 4},
			steps: []step{{data: reqPost, ts: 1}},
			want:  []string{`POST /orders path="/orders" q="" HTTP/1.1 hdrs=3 body=13 lost=0 cap="{\"it" t=1..1`},
		},
		{
			name:  "capture disabled",
			cfg:   Config{MaxBodyCapture: -1},
			steps: []step{{data: reqPost, ts: 1}},
			want:  []string{`POST /orders path="/orders" q="" HTTP/1.1 hdrs=3 body=13 lost=0 cap="" t=1..1`},
		},
		{
			name: "gap inside a Content-Length body is skipped",
			steps: []step{
				{data: "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n012", ts: 1},
				{gap: 4, ts: 2},
				{data: "789" + reqHead, ts: 3},
			},
			want: []string{
				`POST /a path="/a" q="" HTTP/1.1 hdrs=1 body=10 lost=4 cap="012" t=1..3`,
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=3..3`,
			},
			stats: Stats{Gaps: 1, GapBytes: 4},
		},
		{
			name: "gap ending exactly at the body's end",
			steps: []step{
				{data: "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n012", ts: 1},
				{gap: 7, ts: 2},
				{data: reqHead, ts: 3},
			},
			want: []string{
				`POST /a path="/a" q="" HTTP/1.1 hdrs=1 body=10 lost=7 cap="012" t=1..2`,
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=3..3`,
			},
		},
		{
			name: "gap past the body's end: complete, then resync",
			steps: []step{
				{data: "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n012", ts: 1},
				{gap: 20, ts: 2},
				{data: "ost: x\r\n\r\n" + reqHead, ts: 3},
			},
			want: []string{
				`POST /a path="/a" q="" HTTP/1.1 hdrs=1 body=10 lost=7 cap="012" t=1..2`,
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=3..3`,
			},
			lost:  1,
			stats: Stats{Resyncs: 1},
		},
		{
			name: "gap in headers drops the message",
			steps: []step{
				{data: "GET /a HTTP/1.1\r\nHost: x\r\n", ts: 1},
				{gap: 10, ts: 2},
				{data: "\r\n" + reqGet, ts: 3},
			},
			want:  []string{`GET /users/123?x=1&y=2 path="/users/123" q="x=1&y=2" HTTP/1.1 hdrs=2 body=0 lost=0 cap="" t=3..3`},
			lost:  1,
			stats: Stats{Dropped: 1, Resyncs: 1},
		},
		{
			name: "gap inside one chunk is skipped",
			steps: []step{
				{data: "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01", ts: 1},
				{gap: 8, ts: 2},
				{data: "\r\n0\r\n\r\n", ts: 3},
			},
			want: []string{`POST /c path="/c" q="" HTTP/1.1 hdrs=1 body=10 lost=8 cap="01" chunked t=1..3`},
		},
		{
			// The gap swallowed the next chunk-size line: the body
			// cannot be followed, so the message ends there (the gap
			// past the chunk's CRLF counted as lost body) and the
			// parser resyncs. It used to be dropped whole.
			name: "gap past a chunk and its CRLF ends the message and resyncs",
			steps: []step{
				{data: "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01", ts: 1},
				{gap: 30, ts: 2},
				{data: "abc\r\n0\r\n\r\n" + reqHead, ts: 3},
			},
			want: []string{
				`POST /c path="/c" q="" HTTP/1.1 hdrs=1 body=30 lost=28 cap="01" chunked t=1..2`,
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=3..3`,
			},
			lost: 1,
		},
		{
			// A chunk written as one writev (size line, data, CRLF)
			// and capped: the gap is the data's tail and the CRLF.
			name: "gap of a chunk's tail and its CRLF keeps the message",
			steps: []step{
				{data: "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01", ts: 1},
				{gap: 10, ts: 2},
				{data: "3\r\nxyz\r\n0\r\n\r\n" + reqHead, ts: 3},
			},
			want: []string{
				`POST /c path="/c" q="" HTTP/1.1 hdrs=1 body=13 lost=8 cap="01" chunked t=1..3`,
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=3..3`,
			},
		},
		{
			name: "gap of a chunk's tail and its CR",
			steps: []step{
				{data: "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01", ts: 1},
				{gap: 9, ts: 2},
				{data: "\n0\r\n\r\n", ts: 3},
			},
			want: []string{`POST /c path="/c" q="" HTTP/1.1 hdrs=1 body=10 lost=8 cap="01" chunked t=1..3`},
		},
		{
			name: "gap of the CRLF after a chunk",
			steps: []step{
				{data: "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n01", ts: 1},
				{gap: 2, ts: 2},
				{data: "0\r\n\r\n", ts: 3},
			},
			want: []string{`POST /c path="/c" q="" HTTP/1.1 hdrs=1 body=2 lost=0 cap="01" chunked t=1..3`},
		},
		{
			name: "gap in a chunk-size line ends the message",
			steps: []step{
				{data: "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n01\r\n1", ts: 1},
				{gap: 40, ts: 2},
				{data: "abc\r\n0\r\n\r\n" + reqHead, ts: 3},
			},
			want: []string{
				`POST /c path="/c" q="" HTTP/1.1 hdrs=1 body=42 lost=40 cap="01" chunked t=1..2`,
				`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=3..3`,
			},
			lost: 1,
		},
		{
			name:  "garbage then a request",
			steps: []step{{data: "\x00\x01binary junk\nmore junk GET no\r\nxyzGET /ok HTTP/1.1\r\nHost: h\r\n\r\n", ts: 4}},
			want:  []string{`GET /ok path="/ok" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=4..4`},
			lost:  1,
			stats: Stats{ParseErrors: 1, Resyncs: 1},
		},
		{
			name: "oversized head is dropped, next request parsed",
			cfg:  Config{MaxHeaderBytes: 100},
			steps: []step{
				{data: "GET /big HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 200) + "\r\n\r\n", ts: 1},
				{data: reqHead, ts: 2},
			},
			want:  []string{`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=2..2`},
			lost:  1,
			stats: Stats{Oversized: 1, Dropped: 1},
		},
		{
			name:  "too many header fields",
			steps: []step{{data: "GET /a HTTP/1.1\r\n" + strings.Repeat("a:\n", MaxHeaderFields+1) + "\r\n" + reqHead, ts: 1}},
			want:  []string{`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`},
			lost:  1,
			stats: Stats{Oversized: 1, Dropped: 1},
		},
		{
			name:  "invalid Content-Length",
			steps: []step{{data: "POST /a HTTP/1.1\r\nContent-Length: 1x\r\n\r\n" + reqHead, ts: 1}},
			want:  []string{`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`},
			lost:  1,
			stats: Stats{ParseErrors: 1, Dropped: 1},
		},
		{
			name:  "conflicting Content-Length",
			steps: []step{{data: "POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx" + reqHead, ts: 1}},
			want:  []string{`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`},
			lost:  1,
		},
		{
			name:  "repeated identical Content-Length",
			steps: []step{{data: "POST /a HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nxy", ts: 1}},
			want:  []string{`POST /a path="/a" q="" HTTP/1.1 hdrs=1 body=2 lost=0 cap="xy" t=1..1`},
		},
		{
			name:  "bad header line: message dropped, next one parsed",
			steps: []step{{data: "GET /a HTTP/1.1\r\nbad header\r\n\r\n" + reqHead, ts: 1}},
			want:  []string{`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`},
			lost:  1,
		},
		{
			name:  "request line where a header was expected starts a new message",
			steps: []step{{data: "GET /a HTTP/1.1\r\nHost: x\r\n" + reqHead, ts: 1}},
			want:  []string{`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`},
			lost:  1,
		},
		{
			name:  "request with non-chunked Transfer-Encoding is rejected",
			steps: []step{{data: "POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nzzzz\r\n" + reqHead, ts: 1}},
			want:  []string{`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`},
			lost:  1,
		},
		{
			name:  "bad chunk size",
			steps: []step{{data: "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + reqHead, ts: 1}},
			want:  []string{`HEAD /file path="/file" q="" HTTP/1.1 hdrs=1 body=0 lost=0 cap="" t=1..1`},
			lost:  1,
		},
		{
			name:  "HTTP/2 preface is not HTTP/1",
			steps: []step{{data: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ts: 1}},
			want:  nil,
			lost:  1,
		},
		{
			name:  "partial message at close is dropped",
			steps: []step{{data: "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n01", ts: 1}},
			want:  nil,
			lost:  1,
			stats: Stats{Dropped: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, s := newTest(KindRequest, tc.cfg)
			feed(p, tc.steps, 100)
			assert.Equal(t, tc.want, summaries(s.msgs))
			assert.Equal(t, tc.lost, s.lost, "lost notifications")
			checkStats(t, tc.stats, *p.Stats())
			if tc.headers != nil {
				require.NotEmpty(t, s.msgs)
				for k, v := range tc.headers {
					assert.Equal(t, v, s.msgs[0].Get(k), k)
				}
			}
			// Whatever the stream, the parser must be reusable.
			assert.Equal(t, 0, p.Buffered())
		})
	}
}

func checkStats(t *testing.T, want, got Stats) {
	t.Helper()
	check := func(name string, w, g uint64) {
		if w != 0 {
			assert.Equal(t, w, g, name)
		}
	}
	check("Messages", want.Messages, got.Messages)
	check("Interim", want.Interim, got.Interim)
	check("ParseErrors", want.ParseErrors, got.ParseErrors)
	check("Oversized", want.Oversized, got.Oversized)
	check("Dropped", want.Dropped, got.Dropped)
	check("Resyncs", want.Resyncs, got.Resyncs)
	check("Gaps", want.Gaps, got.Gaps)
	check("GapBytes", want.GapBytes, got.GapBytes)
}

func TestResponseParser(t *testing.T) {
	tests := []struct {
		name    string
		methods []string // methods of the requests answered, in order
		steps   []step
		noClose bool
		want    []string
		lost    int
		stats   Stats
	}{
		{
			name:    "content-length and empty body",
			methods: []string{"GET", "GET"},
			steps:   []step{{data: resp200 + resp404, ts: 3}},
			want: []string{
				`HTTP/1.1 200 "OK" method=GET hdrs=2 body=5 lost=0 cap="hello" t=3..3`,
				`HTTP/1.1 404 "Not Found" method=GET hdrs=1 body=0 lost=0 cap="" t=3..3`,
			},
		},
		{
			name:    "HEAD response has no body despite Content-Length",
			methods: []string{"HEAD", "GET"},
			steps:   []step{{data: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n" + resp200, ts: 1}},
			want: []string{
				`HTTP/1.1 200 "OK" method=HEAD hdrs=1 body=0 lost=0 cap="" t=1..1`,
				`HTTP/1.1 200 "OK" method=GET hdrs=2 body=5 lost=0 cap="hello" t=1..1`,
			},
		},
		{
			name:    "204 and 304 have no body",
			methods: []string{"DELETE", "GET", "GET"},
			steps: []step{{data: "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n" +
				"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n" + resp200, ts: 1}},
			want: []string{
				`HTTP/1.1 204 "No Content" method=DELETE hdrs=1 body=0 lost=0 cap="" t=1..1`,
				`HTTP/1.1 304 "Not Modified" method=GET hdrs=2 body=0 lost=0 cap="" t=1..1`,
				`HTTP/1.1 200 "OK" method=GET hdrs=2 body=5 lost=0 cap="hello" t=1..1`,
			},
		},
		{
			name:    "100-continue interim response is skipped",
			methods: []string{"POST"},
			steps: []step{
				{data: "HTTP/1.1 100 Continue\r\n\r\n", ts: 1},
				{data: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", ts: 2},
				{data: "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", ts: 3},
			},
			want:  []string{`HTTP/1.1 201 "Created" method=POST hdrs=1 body=2 lost=0 cap="ok" interim=2 t=3..3`},
			stats: Stats{Interim: 2, Messages: 1},
		},
		{
			name:    "chunked with trailers",
			methods: []string{"GET"},
			steps: []step{
				{data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n", ts: 1},
				{data: "5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n", ts: 2},
				{data: "0\r\nExpires: never\r\n\r\n", ts: 3},
			},
			want: []string{`HTTP/1.1 200 "OK" method=GET hdrs=1 body=23 lost=0 cap="Wikipedia in\r\n\r\nchunks." chunked trailers=[{Expires never}] t=1..3`},
		},
		{
			name:    "HTTP/1.0 body delimited by close",
			methods: []string{"GET"},
			steps: []step{
				{data: "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", ts: 1},
				{data: "...</html>", ts: 2},
			},
			want: []string{`HTTP/1.0 200 "OK" method=GET hdrs=1 body=16 lost=0 cap="<html>...</html>" close-delimited t=1..2`},
		},
		{
			name:    "Connection: close without length reads until close, across a gap",
			methods: []string{"GET"},
			steps: []step{
				{data: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc", ts: 1},
				{gap: 100, ts: 2},
				{data: "xyz", ts: 3},
			},
			want: []string{`HTTP/1.1 200 "OK" method=GET hdrs=1 body=106 lost=100 cap="abc" close-delimited t=1..3`},
		},
		{
			name:    "close-delimited body never closed is not reported",
			methods: []string{"GET"},
			steps:   []step{{data: "HTTP/1.0 200 OK\r\n\r\nabc", ts: 1}},
			noClose: true,
			want:    nil,
		},
		{
			name:    "101 switches protocols: the rest is ignored",
			methods: []string{"GET"},
			steps:   []step{{data: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello", ts: 1}, {data: resp200, ts: 2}},
			want:    []string{`HTTP/1.1 101 "Switching Protocols" method=GET hdrs=2 body=0 lost=0 cap="" tunnel t=1..1`},
		},
		{
			name:    "2xx to CONNECT is a tunnel",
			methods: []string{"CONNECT"},
			steps:   []step{{data: "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01", ts: 1}},
			want:    []string{`HTTP/1.1 200 "Connection established" method=CONNECT hdrs=0 body=0 lost=0 cap="" tunnel t=1..1`},
		},
		{
			name:    "status line without reason",
			methods: []string{"GET"},
			steps:   []step{{data: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", ts: 1}},
			want:    []string{`HTTP/1.1 200 "" method=GET hdrs=1 body=0 lost=0 cap="" t=1..1`},
		},
		{
			name:  "unknown method reads the body",
			steps: []step{{data: resp200, ts: 1}},
			want:  []string{`HTTP/1.1 200 "OK" method= hdrs=2 body=5 lost=0 cap="hello" t=1..1`},
		},
		{
			name:    "response with non-chunked Transfer-Encoding reads until close",
			methods: []string{"GET"},
			steps:   []step{{data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b", ts: 1}},
			want:    []string{`HTTP/1.1 200 "OK" method=GET hdrs=1 body=2 lost=0 cap="\x1f\x8b" close-delimited t=1..1`},
		},
		{
			name:    "garbage and a request line are not responses",
			methods: []string{"GET"},
			steps:   []step{{data: "GET / HTTP/1.1\r\n\r\nnoise HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA", ts: 1}},
			want:    []string{`HTTP/1.1 200 "OK" method=GET hdrs=1 body=1 lost=0 cap="A" t=1..1`},
			lost:    1,
			stats:   Stats{Resyncs: 1},
		},
		{
			name:    "truncated payload inside a large body (capped copy)",
			methods: []string{"GET", "GET"},
			steps: []step{
				{data: "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("z", 100), ts: 1},
				{gap: 9900, ts: 1},
				{data: resp404, ts: 2},
			},
			want: []string{
				`HTTP/1.1 200 "OK" method=GET hdrs=1 body=10000 lost=9900 cap="` + strings.Repeat("z", 100) + `" t=1..1`,
				`HTTP/1.1 404 "Not Found" method=GET hdrs=1 body=0 lost=0 cap="" t=2..2`,
			},
		},
		{
			name:    "sendfile body (no payload at all)",
			methods: []string{"GET"},
			steps: []step{
				{data: "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n", ts: 1},
				{gap: 4096, ts: 2},
			},
			want: []string{`HTTP/1.1 200 "OK" method=GET hdrs=1 body=4096 lost=4096 cap="" t=1..2`},
		},
		{
			name:    "gap in trailers completes the message, then resync",
			methods: []string{"GET", "GET"},
			steps: []step{
				{data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-A: 1\r\n", ts: 1},
				{gap: 5, ts: 2},
				{data: "\r\n" + resp404, ts: 3},
			},
			want: []string{
				`HTTP/1.1 200 "OK" method=GET hdrs=1 body=3 lost=0 cap="abc" chunked t=1..2`,
				`HTTP/1.1 404 "Not Found" method=GET hdrs=1 body=0 lost=0 cap="" t=3..3`,
			},
			lost: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, s := newTest(KindResponse, Config{}, tc.methods...)
			closeTs := int64(100)
			if tc.noClose {
				closeTs = -1
			}
			feed(p, tc.steps, closeTs)
			assert.Equal(t, tc.want, summaries(s.msgs))
			assert.Equal(t, tc.lost, s.lost, "lost notifications")
			checkStats(t, tc.stats, *p.Stats())
		})
	}
}

// TestSplitEverywhere feeds pipelined streams split at every offset (and in
// three pieces at many offset pairs) and expects the same messages as when
// fed whole.
func TestSplitEverywhere(t *testing.T) {
	streams := []struct {
		kind    Kind
		data    string
		methods []string
	}{
		{KindRequest, reqGet + reqPost + "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n" + reqHead, nil},
		{KindResponse, "HTTP/1.1 100 Continue\r\n\r\n" + resp200 + "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n" + resp404,
			[]string{"POST", "HEAD", "GET", "GET"}},
	}
	for _, st := range streams {
		p, s := newTest(st.kind, Config{}, st.methods...)
		p.Write([]byte(st.data), 1)
		p.Close(1)
		want := summaries(s.msgs)
		require.NotEmpty(t, want)
		data := []byte(st.data)
		for i := 0; i <= len(data); i++ {
			p, s := newTest(st.kind, Config{}, st.methods...)
			p.Write(data[:i], 1)
			p.Write(data[i:], 1)
			p.Close(1)
			require.Equal(t, want, summaries(s.msgs), "split at %d", i)
			require.Zero(t, s.lost, "split at %d", i)
		}
		for i := 0; i <= len(data); i += 3 {
			for j := i; j <= len(data); j += 5 {
				p, s := newTest(st.kind, Config{}, st.methods...)
				p.Write(data[:i], 1)
				p.Write(data[i:j], 1)
				p.Write(data[j:], 1)
				p.Close(1)
				require.Equal(t, want, summaries(s.msgs), "split at %d,%d", i, j)
			}
		}
		// Byte by byte.
		p, s = newTest(st.kind, Config{}, st.methods...)
		for i := range data {
			p.Write(data[i:i+1], 1)
		}
		p.Close(1)
		require.Equal(t, want, summaries(s.msgs), "byte by byte")
	}
}

// TestResyncMidStream starts a parser at every offset of a stream, as for a
// connection already open when tracing started: it must find the next
// message start and report exactly the messages that start after it.
func TestResyncMidStream(t *testing.T) {
	msgs := []string{reqGet, reqPost, reqHead, "DELETE /items/9 HTTP/1.1\r\nContent-Length: 0\r\n\r\n"}
	data := strings.Join(msgs, "")
	for off := 0; off <= len(data); off++ {
		p, s := newTest(KindRequest, Config{})
		p.MidStream()
		p.Write([]byte(data[off:]), 1)
		p.Close(2)
		// Messages whose first byte is at or after off, give or take the
		// one whose request line is cut: a cut request line is never found.
		start, want := 0, 0
		for _, m := range msgs {
			if start >= off {
				want++
			}
			start += len(m)
		}
		got := len(s.msgs)
		assert.True(t, got == want || got == want+1 && off > 0, "offset %d: got %d messages, want %d", off, got, want)
		if got == want+1 {
			// Only possible when off cuts into the method ("xxGET").
			assert.Contains(t, []string{"GET", "POST", "HEAD", "DELETE"}, s.msgs[0].Method)
		}
	}
}

func TestUnknownKind(t *testing.T) {
	p, s := newTest(KindUnknown, Config{}, "GET")
	p.Write([]byte(resp200), 1)
	require.Len(t, s.msgs, 1)
	assert.Equal(t, KindResponse, p.Kind())
	assert.Equal(t, KindResponse, s.msgs[0].Kind)

	p, s = newTest(KindUnknown, Config{})
	p.MidStream()
	p.Write([]byte("tail of something\r\n"+reqHead), 1)
	require.Len(t, s.msgs, 1)
	assert.Equal(t, KindRequest, p.Kind())

	// HEAD request at a boundary: not mistaken for a response.
	p, s = newTest(KindUnknown, Config{})
	p.Write([]byte(reqHead), 1)
	require.Len(t, s.msgs, 1)
	assert.Equal(t, KindRequest, p.Kind())
}

func TestSetKindDropsWrongMessage(t *testing.T) {
	p, s := newTest(KindUnknown, Config{})
	p.Write([]byte("POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"), 1)
	p.SetKind(KindResponse)
	assert.Equal(t, 1, s.lost)
	p.Write([]byte("cde"+resp200), 2)
	require.Len(t, s.msgs, 1)
	assert.Equal(t, 200, s.msgs[0].StatusCode)
}

func TestUpgradeRequestThenTunnelDataIsQuiet(t *testing.T) {
	p, s := newTest(KindRequest, Config{})
	p.Write([]byte("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x85abcdefghi"), 1)
	require.Len(t, s.msgs, 1)
	assert.True(t, s.msgs[0].Upgrade)
	assert.Zero(t, p.Stats().ParseErrors)
	assert.Zero(t, s.lost)
	p.Stop()
	p.Write([]byte("more frames"), 2)
	assert.True(t, p.Stopped())

	// h2c: after the upgrade request the client sends the HTTP/2 preface.
	p, s = newTest(KindRequest, Config{})
	p.Write([]byte("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00"), 1)
	require.Len(t, s.msgs, 1)
	assert.Zero(t, p.Stats().ParseErrors)
	assert.Zero(t, p.Stats().Dropped)
	assert.Zero(t, s.lost)
}

func TestPendingMethod(t *testing.T) {
	p, _ := newTest(KindRequest, Config{})
	p.Write([]byte("HEAD /a HTTP/1.1\r\n"), 1)
	assert.Equal(t, "", p.PendingMethod())
	p.Write([]byte("Content-Length: 3\r\n\r\n"), 1)
	assert.Equal(t, "HEAD", p.PendingMethod())
	ts, ok := p.PendingStart()
	assert.True(t, ok)
	assert.Equal(t, int64(1), ts)
}

func TestMessageHelpers(t *testing.T) {
	p, s := newTest(KindRequest, Config{})
	p.Write([]byte("GET /users/42/avatar.png?size=1 HTTP/1.0\r\nConnection: keep-alive\r\nX-A: 1\r\nx-a: 2\r\n\r\n"), 1)
	require.Len(t, s.msgs, 1)
	m := s.msgs[0]
	assert.Equal(t, "1", m.Get("X-a"))
	v, ok := m.Lookup("connection")
	assert.True(t, ok)
	assert.Equal(t, "keep-alive", v)
	assert.True(t, m.KeepAlive)
	assert.Equal(t, "/users/{id}/avatar.png", m.Route())
	assert.Equal(t, m.HeaderSize, m.RetainedBytes())
	c := m.Clone()
	c.Headers[0].Value = "changed"
	assert.Equal(t, "keep-alive", m.Headers[0].Value)
}

func TestSniff(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind
		more bool
		req  bool
		resp bool
	}{
		{"GET / HTTP/1.1\r\n", KindRequest, false, true, false},
		{"GET /very/long/path/cut", KindRequest, false, true, false},
		{"POST /x HTTP/1.0\n", KindRequest, false, true, false},
		{"GET / HTTP/2.0\r\n", KindUnknown, false, false, false},
		{"GET / XTTP", KindUnknown, false, false, false},
		{"GET  /", KindUnknown, false, false, false},
		{"FOO / HTTP/1.1\r\n", KindUnknown, false, false, false},
		{"HTTP/1.1 200 OK\r\n", KindResponse, false, false, true},
		{"HTTP/1.0 404", KindResponse, false, false, true},
		{"HTTP/1.1 2000", KindUnknown, false, false, false},
		{"HTTP/2 200", KindUnknown, false, false, false},
		{"HTTP/1.1 2", KindUnknown, true, false, false}, // too short to tell
		{"HTTP/2.0 200 OK", KindUnknown, false, false, false},
		{"HTT", KindUnknown, true, false, false},
		{"GE", KindUnknown, true, false, false},
		{"GET ", KindUnknown, true, false, false},
		{"", KindUnknown, true, false, false},
		{"\x16\x03\x01\x02\x00", KindUnknown, false, false, false},
		{"PRI * HTTP/2.0\r\n", KindUnknown, false, false, false},
		{"*3\r\n$3\r\nSET\r\n", KindUnknown, false, false, false},
	}
	for _, tc := range tests {
		k, more := Sniff([]byte(tc.in))
		assert.Equal(t, tc.kind, k, "%q", tc.in)
		assert.Equal(t, tc.more, more, "%q more", tc.in)
		assert.Equal(t, tc.req, LooksLikeRequest([]byte(tc.in)), "%q request", tc.in)
		assert.Equal(t, tc.resp, LooksLikeResponse([]byte(tc.in)), "%q response", tc.in)
	}
}

func TestPoolReuse(t *testing.T) {
	pool := &Pool{Max: 2}
	m := pool.Get()
	m.Headers = append(m.Headers, Header{"a", "b"})
	m.Method = "GET"
	pool.Put(m)
	m2 := pool.Get()
	assert.Same(t, m, m2)
	assert.Empty(t, m2.Headers)
	assert.Equal(t, "", m2.Method)
	assert.Equal(t, int64(-1), m2.ContentLength)
	var nilPool *Pool
	assert.NotNil(t, nilPool.Get())
	nilPool.Put(m2)
}

// TestResyncSplitLines resynchronises on streams whose lines are split at
// every position: the result must not depend on where chunks end.
func TestResyncSplitLines(t *testing.T) {
	data := "tail of a body\r\nxyz " + reqGet + "more junk GET no\r\n\x00\x01" + reqPost + "HEAD" + reqHead
	for _, kind := range []Kind{KindRequest, KindUnknown} {
		for off := 0; off < len(data); off += 5 {
			in := []byte(data[off:])
			p, s := newTest(kind, Config{})
			p.MidStream()
			p.Write(in, 1)
			p.Close(1)
			want := summaries(s.msgs)
			for i := 1; i < len(in); i++ {
				p, s := newTest(kind, Config{})
				p.MidStream()
				p.Write(in[:i], 1)
				p.Write(in[i:], 1)
				p.Close(1)
				require.Equal(t, want, summaries(s.msgs), "kind %v offset %d split %d", kind, off, i)
			}
		}
	}
}

// TestHeadlessResponses: with Config.HeadlessResponses a response keeps its
// status, framing, sizes and captured body, but no reason, headers or
// trailers (nothing of the head is copied); requests are unaffected.
func TestHeadlessResponses(t *testing.T) {
	chunked := "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: abc\r\n\r\n"
	p, s := newTest(KindResponse, Config{HeadlessResponses: true}, "GET", "POST", "HEAD")
	feed(p, []step{{data: resp200 + chunked + "HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", ts: 4}}, -1)
	assert.Equal(t, []string{
		`HTTP/1.1 200 "" method=GET hdrs=0 body=5 lost=0 cap="hello" t=4..4`,
		`HTTP/1.1 201 "" method=POST hdrs=0 body=11 lost=0 cap="hello world" chunked t=4..4`,
		`HTTP/1.1 304 "" method=HEAD hdrs=0 body=0 lost=0 cap="" t=4..4`,
	}, summaries(s.msgs))
	for _, m := range s.msgs {
		assert.Equal(t, len(m.Body), m.RetainedBytes(), "only the captured body is kept")
	}

	q, qs := newTest(KindRequest, Config{HeadlessResponses: true})
	feed(q, []step{{data: "GET /a?b=1 HTTP/1.1\r\nHost: h\r\n\r\n", ts: 1}}, -1)
	require.Len(t, qs.msgs, 1)
	assert.Equal(t, "h", qs.msgs[0].Get("Host"))
}

// Truncate ends a message in its body with what was seen; outside a body
// it does nothing.
func TestTruncate(t *testing.T) {
	pool := &Pool{}
	sink := &testSink{pool: pool}
	p := NewParser(KindRequest, Config{}, sink, pool, nil)
	assert.False(t, p.Truncate(), "between messages")
	p.Write([]byte("PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"), 1)
	assert.True(t, p.AwaitingContinue())
	p.Write([]byte("abc"), 2)
	assert.False(t, p.AwaitingContinue(), "the body started")
	require.True(t, p.Truncate())
	require.Len(t, sink.msgs, 1)
	assert.EqualValues(t, 3, sink.msgs[0].BodySize)
	assert.Zero(t, sink.msgs[0].LostBytes)
	assert.EqualValues(t, 2, sink.msgs[0].EndNs, "ends at its last byte seen")
	assert.True(t, p.Idle())
	p.Write([]byte("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), 3)
	require.True(t, p.Truncate())
	require.Len(t, sink.msgs, 2)
	assert.EqualValues(t, 2, sink.msgs[1].BodySize)
	p.Write([]byte("GET /g HTTP/1.1\r\nHost: h\r\n\r\n"), 5)
	require.Len(t, sink.msgs, 3, "parsing goes on")
	assert.Equal(t, "/g", sink.msgs[2].Path)
}

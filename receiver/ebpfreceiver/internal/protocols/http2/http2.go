// Package http2 parses HTTP/2 (and gRPC over it) on the socket tracer's
// capture path: frames in both directions, header blocks decoded with one
// HPACK decoder per direction (golang.org/x/net/http2/hpack, its table
// size following the peer's SETTINGS), streams matched by id, gRPC status
// from trailers. A connection caught mid-stream, or after lost bytes, is
// resynchronised on a frame boundary and its HPACK state restarted: header
// fields that refer to entries inserted before that point cannot be
// decoded, the stream is then marked partial (http2.partial_headers) and
// reported with what could be read.
package http2

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// Preface is the client connection preface.
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Frame types.
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePushPromise  = 0x5
	frameContinuation = 0x9
)

// Frame flags.
const (
	flagEndStream  = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20
)

const (
	frameHeaderLen = 9
	maxFrame       = 1 << 24
	maxHeaderBlock = 64 << 10
	maxStreams     = 128
	maxTable       = 64 << 10
	maxString      = 16 << 10
)

// Protocol is the HTTP/2 protocol for conntrack.Tracker.Register.
type Protocol struct {
	emit protocols.Emit
	ex   protocols.Exchange
}

// New returns the protocol; emit receives every exchange.
func New(emit protocols.Emit) *Protocol { return &Protocol{emit: emit} }

// Name implements conntrack.Protocol.
func (*Protocol) Name() string { return protocols.HTTP2 }

// Detect implements conntrack.Protocol: the client preface, or (mid-stream
// or on the server's side) a run of well-formed frames filling the chunk
// that begins with SETTINGS or HEADERS.
func (*Protocol) Detect(_ *conntrack.ConnInfo, _ sockevent.Direction, b []byte, start bool) conntrack.Verdict {
	n := min(len(b), len(Preface))
	if string(b[:n]) == Preface[:n] {
		if n == len(Preface) {
			return conntrack.Yes
		}
		return conntrack.Maybe
	}
	if len(b) < frameHeaderLen {
		if start && !(len(b) >= 4 && b[3] == frameSettings) {
			return conntrack.No
		}
		return conntrack.Maybe
	}
	first := b[3]
	if first != frameSettings && first != frameHeaders {
		if start {
			return conntrack.No
		}
		return conntrack.Maybe
	}
	frames := 0
	for off := 0; off < len(b); {
		if len(b)-off < frameHeaderLen {
			return conntrack.Maybe
		}
		l, t, _, id, ok := frameHeader(b[off:])
		if !ok || t > frameContinuation || (t == frameSettings && (id != 0 || l%6 != 0)) || (t == frameHeaders && id == 0) {
			return conntrack.No
		}
		off += frameHeaderLen + l
		frames++
		if off > len(b) {
			return conntrack.Maybe
		}
	}
	return conntrack.Yes
}

func frameHeader(b []byte) (l int, t, flags byte, id uint32, ok bool) {
	l = int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	t, flags = b[3], b[4]
	id = binary.BigEndian.Uint32(b[5:])
	return l, t, flags, id & 0x7fffffff, id&0x80000000 == 0 && l <= maxFrame
}

// NewSession implements conntrack.Protocol.
func (p *Protocol) NewSession(c *conntrack.ConnInfo) conntrack.Session {
	s := &session{p: p, c: c, streams: make(map[uint32]*stream)}
	for i := range s.d {
		s.d[i].buf.Max = maxHeaderBlock + 2*frameHeaderLen
		s.d[i].buf.Lost = c.Existing
		s.d[i].newDecoder(4096)
		s.d[i].preface = !c.Existing
	}
	return s
}

type fields struct {
	method, path, authority, scheme, contentType, userAgent string
	status                                                  int
	grpcStatus                                              int
	grpcMessage                                             string
	hasGRPCStatus                                           bool
}

type stream struct {
	id             uint32
	req, resp      fields
	reqHeaders     bool // request headers seen
	respHeaders    bool // response headers seen
	reqDone        bool
	startNs, endNs int64
	reqBytes       int64
	respBytes      int64
	partial        bool
	reset          bool
	resetCode      uint32
	reqDir         sockevent.Direction
	order          uint64
}

// dirState is one direction's frame reader and HPACK decoder.
type dirState struct {
	buf      protocols.Buffer
	skip     int // bytes of a DATA frame's payload still to skip
	skipID   uint32
	skipEnd  bool // the skipped DATA frame ends its stream
	dec      *hpack.Decoder
	cur      *fields // where decoded fields go
	curBad   bool
	preface  bool // the client preface may come first
	block    []byte
	blockID  uint32
	blockEnd bool // END_STREAM of the HEADERS that started the block
	tableMax uint32
}

func (d *dirState) newDecoder(size uint32) {
	d.tableMax = size
	d.dec = hpack.NewDecoder(size, d.emit)
	d.dec.SetMaxStringLength(maxString)
	d.dec.SetAllowedMaxDynamicTableSize(maxTable)
}

func (d *dirState) emit(f hpack.HeaderField) {
	c := d.cur
	if c == nil {
		return
	}
	switch f.Name {
	case ":method":
		c.method = f.Value
	case ":path":
		c.path = f.Value
	case ":authority":
		c.authority = f.Value
	case ":scheme":
		c.scheme = f.Value
	case ":status":
		c.status, _ = strconv.Atoi(f.Value)
	case "content-type":
		c.contentType = f.Value
	case "user-agent":
		c.userAgent = f.Value
	case "grpc-status":
		c.grpcStatus, _ = strconv.Atoi(f.Value)
		c.hasGRPCStatus = true
	case "grpc-message":
		c.grpcMessage = f.Value
	}
}

type session struct {
	p       *Protocol
	c       *conntrack.ConnInfo
	d       [2]dirState
	streams map[uint32]*stream
	order   uint64
}

func (s *session) Buffered() int {
	return s.d[0].buf.Len() + s.d[1].buf.Len() + len(s.d[0].block) + len(s.d[1].block)
}

func (s *session) Done() bool { return false }

func (s *session) Skip(dir sockevent.Direction, _ uint64, _ int64) {
	d := &s.d[dir&1]
	d.buf.Skip()
	d.skip, d.skipEnd = 0, false
	d.block = d.block[:0]
	d.preface = false
	// Header blocks were lost: entries they inserted are missing.
	d.newDecoder(d.tableMax)
}

func (s *session) Data(dir sockevent.Direction, b []byte, ts int64) {
	dir &= 1
	d := &s.d[dir]
	if d.skip > 0 {
		k := min(d.skip, len(b))
		d.skip -= k
		if st := s.streams[d.skipID]; st != nil {
			s.addBytes(st, dir, int64(k))
		}
		if d.skip == 0 && d.skipEnd {
			d.skipEnd = false
			s.endStream(dir, d.skipID, ts)
		}
		b = b[k:]
		if len(b) == 0 {
			return
		}
	}
	d.buf.Append(b, ts)
	for {
		p := d.buf.Bytes()
		if d.preface {
			n := min(len(p), len(Preface))
			if string(p[:n]) == Preface[:n] {
				if n < len(Preface) {
					return
				}
				protocols.LearnRole(s.c, dir)
				d.buf.Consume(len(Preface))
				d.preface = false
				continue
			}
			d.preface = false
		}
		if len(p) < frameHeaderLen {
			return
		}
		l, t, flags, id, ok := frameHeader(p)
		if d.buf.Lost {
			if !ok || t > frameContinuation || l > 1<<20 {
				d.buf.Skip()
				return
			}
			d.buf.Lost = false
		}
		if !ok {
			s.Skip(dir, 0, ts)
			return
		}
		total := frameHeaderLen + l
		if total > len(p) {
			if t == frameData {
				// Payload bytes are only counted: skip them as they come.
				s.dataFrame(dir, id, flags, l, false, d.buf.LastNs())
				d.skip, d.skipID = total-len(p), id
				if st := s.streams[id]; st != nil {
					s.addBytes(st, dir, int64(len(p)-frameHeaderLen))
				}
				d.buf.Consume(len(p))
				d.skipEnd = flags&flagEndStream != 0 // ends when its last byte comes
				return
			}
			if total > d.buf.Max {
				s.Skip(dir, 0, ts)
			}
			return
		}
		s.frame(dir, t, flags, id, p[frameHeaderLen:total], d.buf.StartNs, d.buf.LastNs())
		d.buf.Consume(total)
	}
}

func (s *session) addBytes(st *stream, dir sockevent.Direction, n int64) {
	if dir == st.reqDir {
		st.reqBytes += n
	} else {
		st.respBytes += n
	}
}

// payload strips padding (and the priority fields of HEADERS).
func payload(t, flags byte, b []byte) ([]byte, bool) {
	if flags&flagPadded != 0 && (t == frameData || t == frameHeaders || t == framePushPromise) {
		if len(b) < 1 || int(b[0]) > len(b)-1 {
			return nil, false
		}
		b = b[1 : len(b)-int(b[0])]
	}
	if t == frameHeaders && flags&flagPriority != 0 {
		if len(b) < 5 {
			return nil, false
		}
		b = b[5:]
	}
	return b, true
}

func (s *session) frame(dir sockevent.Direction, t, flags byte, id uint32, b []byte, start, end int64) {
	d := &s.d[dir]
	switch t {
	case frameData:
		s.dataFrame(dir, id, flags, len(b), true, end)
		if st := s.streams[id]; st != nil {
			s.addBytes(st, dir, int64(len(b)))
		}
		if flags&flagEndStream != 0 {
			s.endStream(dir, id, end)
		}
	case frameHeaders, framePushPromise:
		pl, ok := payload(t, flags, b)
		if !ok {
			return
		}
		if t == framePushPromise {
			if len(pl) < 4 {
				return
			}
			pl = pl[4:]
		}
		d.block = append(d.block[:0], pl...)
		d.blockID = id
		d.blockEnd = flags&flagEndStream != 0
		if t == framePushPromise {
			d.blockID = 0 // decoded for the HPACK state only
		}
		if flags&flagEndHeaders != 0 {
			s.headerBlock(dir, start, end)
		}
	case frameContinuation:
		if len(d.block)+len(b) > maxHeaderBlock {
			d.block = d.block[:0]
			d.newDecoder(d.tableMax)
			return
		}
		d.block = append(d.block, b...)
		if flags&flagEndHeaders != 0 {
			s.headerBlock(dir, start, end)
		}
	case frameRSTStream:
		if st := s.streams[id]; st != nil && len(b) >= 4 {
			st.reset = true
			st.resetCode = binary.BigEndian.Uint32(b)
			st.endNs = end
			s.report(st, conntrack.Answered)
		}
	case frameSettings:
		if flags&0x1 != 0 {
			return // ACK
		}
		for i := 0; i+6 <= len(b); i += 6 {
			if binary.BigEndian.Uint16(b[i:]) == 0x1 { // SETTINGS_HEADER_TABLE_SIZE
				v := binary.BigEndian.Uint32(b[i+2:])
				// The peer's encoder may use up to v for what it sends.
				o := &s.d[1-dir]
				o.tableMax = min(v, maxTable)
			}
		}
	}
}

func (s *session) dataFrame(dir sockevent.Direction, id uint32, flags byte, n int, whole bool, end int64) {
	if s.c.Role == sockevent.RoleUnknown {
		return
	}
	if st := s.streams[id]; st != nil && dir != st.reqDir {
		st.endNs = end
	}
}

// headerBlock decodes the block gathered in dir and applies it to its
// stream.
func (s *session) headerBlock(dir sockevent.Direction, start, end int64) {
	d := &s.d[dir]
	var f fields
	d.cur = &f
	_, err := d.dec.Write(d.block)
	if err == nil {
		err = d.dec.Close()
	}
	d.cur = nil
	id, endStream := d.blockID, d.blockEnd
	d.block = d.block[:0]
	if err != nil {
		// Unknown table entries (mid-stream) or corrupt input: restart the
		// decoder so later blocks refer to entries it has seen.
		d.newDecoder(d.tableMax)
	}
	if id == 0 {
		return
	}
	if s.c.Role == sockevent.RoleUnknown {
		switch {
		case f.method != "" || f.path != "":
			protocols.LearnRole(s.c, dir)
		case f.status != 0:
			protocols.LearnRole(s.c, 1-dir)
		default:
			return
		}
	}
	reqDir := protocols.ReqDir(s.c.Role)
	st := s.streams[id]
	if dir == reqDir {
		if st == nil {
			if len(s.streams) >= maxStreams {
				s.evictOldest()
			}
			s.order++
			st = &stream{id: id, startNs: start, endNs: end, reqDir: reqDir, order: s.order}
			s.streams[id] = st
		}
		if !st.reqHeaders {
			st.req, st.reqHeaders = f, true
		}
		st.partial = st.partial || err != nil
		if endStream {
			st.reqDone = true
		}
		return
	}
	if st == nil {
		// The request was not seen (mid-stream): report what the response says.
		s.order++
		st = &stream{id: id, startNs: start, reqDir: reqDir, partial: true, order: s.order}
		s.streams[id] = st
	}
	if err != nil {
		st.partial = true
	}
	st.endNs = end
	if !st.respHeaders {
		st.resp, st.respHeaders = f, true
	} else {
		// Trailers.
		if f.hasGRPCStatus {
			st.resp.grpcStatus, st.resp.hasGRPCStatus, st.resp.grpcMessage = f.grpcStatus, true, f.grpcMessage
		}
	}
	if endStream {
		s.report(st, conntrack.Answered)
	}
}

func (s *session) endStream(dir sockevent.Direction, id uint32, end int64) {
	st := s.streams[id]
	if st == nil {
		return
	}
	if dir == st.reqDir {
		st.reqDone = true
		return
	}
	st.endNs = end
	s.report(st, conntrack.Answered)
}

func (s *session) evictOldest() {
	var old *stream
	for _, st := range s.streams {
		if old == nil || st.order < old.order {
			old = st
		}
	}
	if old != nil {
		s.report(old, conntrack.Overflow)
	}
}

// grpcServerError lists the gRPC codes that make a server span an error
// (the OpenTelemetry gRPC conventions).
func grpcServerError(code int) bool {
	switch code {
	case 2, 4, 12, 13, 14, 15:
		return true
	}
	return false
}

var grpcCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

func (s *session) report(st *stream, why conntrack.Unanswered) {
	delete(s.streams, st.id)
	if !st.reqHeaders && !st.respHeaders {
		return
	}
	e := &s.p.ex
	e.Reset()
	e.Conn = *s.c
	e.Protocol = protocols.HTTP2
	e.StartNs, e.EndNs = st.startNs, max(st.endNs, st.startNs)
	e.Unanswered = why
	req, resp := &st.req, &st.resp
	path, query, _ := strings.Cut(req.path, "?")
	// gRPC is what the client asked for; the response decides only when
	// the request was not seen.
	isGRPC := strings.HasPrefix(req.contentType, "application/grpc")
	if !st.reqHeaders {
		isGRPC = strings.HasPrefix(resp.contentType, "application/grpc") || resp.hasGRPCStatus
	}
	route := path // gRPC paths are service/method names, never ids
	if !isGRPC {
		route = http1.Route(path)
	}
	method := req.method
	if method == "" {
		method = "_OTHER"
	}
	e.Str("http.request.method", req.method)
	e.Str("url.path", path)
	e.Str("url.query", query)
	e.Str("url.scheme", req.scheme)
	e.Str("http.route", route)
	e.Str("network.protocol.name", "http")
	e.Str("network.protocol.version", "2")
	e.Str("user_agent.original", protocols.Cap(req.userAgent, 256))
	if s.c.Role == sockevent.RoleClient && req.authority != "" {
		host := req.authority
		if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
			host = h
		}
		e.Str("server.address", host)
	}
	e.Int("http.request.body.size", st.reqBytes)
	if st.respHeaders {
		e.Int("http.response.body.size", st.respBytes)
	}
	if resp.status != 0 {
		e.Int("http.response.status_code", int64(resp.status))
	}
	if st.partial {
		e.Str("http2.partial_headers", "true")
	}
	e.Name = method + " " + route
	if route == "" {
		e.Name = method
	}
	client := s.c.Role == sockevent.RoleClient
	if isGRPC {
		svc, m, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		e.Str("rpc.system", "grpc")
		e.Str("rpc.service", svc)
		e.Str("rpc.method", m)
		if svc != "" {
			e.Name = svc + "/" + m
		}
		if resp.hasGRPCStatus {
			e.Int("rpc.grpc.status_code", int64(resp.grpcStatus))
			if resp.grpcStatus != 0 && (client || grpcServerError(resp.grpcStatus)) {
				e.Error = true
				e.ErrorType = strconv.Itoa(resp.grpcStatus)
				if resp.grpcStatus < len(grpcCodes) {
					e.ErrorType = grpcCodes[resp.grpcStatus]
				}
				e.ErrorMessage = protocols.Cap(resp.grpcMessage, 256)
			}
		}
	}
	if !e.Error && resp.status != 0 && (resp.status >= 500 || client && resp.status >= 400) {
		e.Error = true
		e.ErrorType = strconv.Itoa(resp.status)
	}
	if st.reset && !e.Error && (!st.respHeaders || !isGRPC) {
		e.Error = true
		e.ErrorType = "rst_stream_" + strconv.FormatUint(uint64(st.resetCode), 10)
		e.ErrorMessage = "stream reset"
	}
	if why != conntrack.Answered {
		e.Error = true
		e.ErrorType = "no_response_" + why.String()
		e.ErrorMessage = "no response seen: " + why.String()
	}
	var sb bytes.Buffer
	sb.WriteString(req.method + " " + req.path)
	e.Req = protocols.Cap(sb.String(), protocols.MaxText)
	s.p.emit(e)
}

func (s *session) Expire(deadlineNs int64) {
	for _, st := range s.streams {
		if st.endNs < deadlineNs {
			s.report(st, conntrack.TimedOut)
		}
	}
}

func (s *session) Close(_ int64, why conntrack.Unanswered) {
	for _, st := range s.streams {
		s.report(st, why)
	}
	for i := range s.d {
		s.d[i].buf.Reset()
		s.d[i].block = nil
	}
}

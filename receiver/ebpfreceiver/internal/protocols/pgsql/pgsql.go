// Package pgsql parses the PostgreSQL frontend/backend protocol (v3) on
// the socket tracer's capture path: simple queries, the extended query
// protocol (Parse/Bind/Execute, with statements and portals remembered per
// connection), CommandComplete row counts and ErrorResponse SQLSTATEs. The
// startup and authentication exchange is skipped (its database name is
// kept as db.namespace); a connection that switches to TLS is dropped.
package pgsql

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

const (
	protoV3     = 196608
	sslRequest  = 80877103
	gssRequest  = 80877104
	cancelReq   = 80877102
	maxMsg      = 1 << 30
	maxKeep     = 32 << 10 // larger messages are read from a prefix, the rest skipped
	maxStmts    = 128
	maxParams   = 16
	maxParamLen = 64
)

// Protocol is the PostgreSQL protocol for conntrack.Tracker.Register.
type Protocol struct {
	emit protocols.Emit
	ex   protocols.Exchange
}

// New returns the protocol; emit receives every exchange.
func New(emit protocols.Emit) *Protocol { return &Protocol{emit: emit} }

// Name implements conntrack.Protocol.
func (*Protocol) Name() string { return protocols.PGSQL }

const (
	clientTypes = "QPBEDCSHXpFfcd"
	serverTypes = "RKZTD123tnsICENSAGHWVcd"
	clientOnly  = "QPBXpFf"
	serverOnly  = "RKZT123tnsINAGWV"
)

// Detect implements conntrack.Protocol.
func (*Protocol) Detect(_ *conntrack.ConnInfo, _ sockevent.Direction, b []byte, start bool) conntrack.Verdict {
	if len(b) < 5 {
		if len(b) > 0 && !strings.ContainsRune(clientTypes+serverTypes, rune(b[0])) && b[0] != 0 {
			return conntrack.No
		}
		return conntrack.Maybe
	}
	// A startup message: at the start of a stream, or first seen by a
	// server process forked after the accept (the connection then looks
	// already open).
	if b[0] == 0 && len(b) >= 8 {
		n := binary.BigEndian.Uint32(b)
		v := binary.BigEndian.Uint32(b[4:])
		if n >= 8 && n <= 10000 && (v == protoV3 || v == sslRequest || v == gssRequest) {
			return conntrack.Yes
		}
		if start {
			return conntrack.No
		}
		return conntrack.Maybe
	}
	if v := detectTyped(b); v != conntrack.Maybe || start {
		if v == conntrack.Maybe {
			return conntrack.No
		}
		return v
	}
	return conntrack.Maybe
}

// detectTyped says Yes when b starts with a complete, well-formed message
// that only PostgreSQL sends, No when it cannot be one.
func detectTyped(b []byte) conntrack.Verdict {
	t := b[0]
	n := int(binary.BigEndian.Uint32(b[1:]))
	if n < 4 || n > 1<<24 || !strings.ContainsRune(clientTypes+serverTypes, rune(t)) {
		return conntrack.No
	}
	if 1+n > len(b) {
		return conntrack.Maybe
	}
	body := b[5 : 1+n]
	switch t {
	case 'Q':
		if len(body) >= 2 && body[len(body)-1] == 0 && printable(body[:len(body)-1]) {
			return conntrack.Yes
		}
		return conntrack.No
	case 'P':
		name, rest, ok := cstr(body)
		q, rest, ok2 := cstr(rest)
		if ok && ok2 && len(rest) >= 2 && printable(name) && len(q) > 0 && printable(q) {
			return conntrack.Yes
		}
		return conntrack.No
	case 'R':
		if len(body) >= 4 && binary.BigEndian.Uint32(body) <= 12 {
			return conntrack.Yes
		}
		return conntrack.No
	case 'Z':
		if n == 5 && (body[0] == 'I' || body[0] == 'T' || body[0] == 'E') {
			return conntrack.Yes
		}
		return conntrack.No
	case 'C':
		if len(body) >= 2 && body[len(body)-1] == 0 && upperTag(body[:len(body)-1]) {
			return conntrack.Yes
		}
	}
	return conntrack.Maybe
}

func upperTag(b []byte) bool {
	if len(b) == 0 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ') {
			return false
		}
	}
	return true
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// cstr splits a NUL-terminated string off b.
func cstr(b []byte) (s, rest []byte, ok bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

// maxPendingOps bounds the client messages awaiting replies per connection
// (a batch of ~2000 rows).
const maxPendingOps = 4096

// NewSession implements conntrack.Protocol.
func (p *Protocol) NewSession(c *conntrack.ConnInfo) conntrack.Session {
	s := &session{p: p, c: c, stmts: make(map[string]string), portals: make(map[string]portal)}
	s.startup = true // also for a forked server: its first bytes are the startup message
	// A batch (JDBC executeBatch, pgx Batch) sends a Bind and an Execute
	// per row before its one Sync: the replies come after all of them.
	s.ops.Max = maxPendingOps
	for i := range s.buf {
		s.buf[i].Lost = c.Existing
	}
	return s
}

type portal struct {
	query  string
	params string
}

// op is a client message awaiting its reply.
type op struct {
	kind                       byte // Q P B D C E S
	query                      string
	params                     string
	startNs                    int64
	endNs                      int64
	rows                       int64
	tag                        string
	sqlstate, errMsg, severity string
}

type session struct {
	p       *Protocol
	c       *conntrack.ConnInfo
	buf     [2]protocols.Buffer
	skip    [2]int // bytes of a large message still to discard
	startup bool   // a startup message may still come (fresh connection)
	sslWait bool   // the server's one-byte answer to SSLRequest is next
	done    bool
	db      string

	stmts   map[string]string
	portals map[string]portal
	ops     protocols.Queue[*op]
	segNs   int64 // start of the current Parse/Bind/Execute sequence
}

func (s *session) Buffered() int { return s.buf[0].Len() + s.buf[1].Len() }
func (s *session) Done() bool    { return s.done }

func (s *session) Skip(dir sockevent.Direction, _ uint64, _ int64) {
	s.buf[dir&1].Skip()
	s.skip[dir&1] = 0
	s.startup = false
	s.sslWait = false
}

func (s *session) Data(dir sockevent.Direction, b []byte, ts int64) {
	dir &= 1
	if s.done {
		return
	}
	if b = protocols.Discard(&s.skip[dir], b); len(b) == 0 {
		return
	}
	buf := &s.buf[dir]
	if s.sslWait && s.c.Role != sockevent.RoleUnknown && dir != protocols.ReqDir(s.c.Role) && len(b) > 0 {
		s.sslWait = false
		if b[0] == 'S' || b[0] == 'G' {
			s.done = true // TLS or GSSAPI encryption follows: nothing to read
			return
		}
		b = b[1:]
	}
	buf.Append(b, ts)
	s.parse(dir)
}

func (s *session) parse(dir sockevent.Direction) {
	buf := &s.buf[dir]
	for !s.done {
		b := buf.Bytes()
		if s.startup && len(b) >= 8 && b[0] == 0 {
			n := int(binary.BigEndian.Uint32(b))
			v := binary.BigEndian.Uint32(b[4:])
			if n >= 8 && n <= 10000 && (v == protoV3 || v == sslRequest || v == gssRequest || v == cancelReq) {
				if len(b) < n {
					return
				}
				protocols.LearnRole(s.c, dir)
				if v == protoV3 {
					s.readStartup(b[8:n])
				} else if v != cancelReq {
					s.sslWait = true
				}
				buf.Consume(n)
				continue
			}
		}
		if len(b) < 5 {
			return
		}
		t := b[0]
		n := int(binary.BigEndian.Uint32(b[1:]))
		if buf.Lost {
			// After a gap: accept only a plausible message start.
			if n < 4 || n > maxMsg || !strings.ContainsRune(clientTypes+serverTypes, rune(t)) {
				buf.Skip()
				return
			}
			buf.Lost = false
		}
		if n < 4 || n > maxMsg {
			buf.Skip()
			return
		}
		total := 1 + n
		truncated := false
		if total > len(b) {
			if total <= maxKeep {
				return
			}
			if len(b) < maxKeep && !(t == 'D' || t == 'd') {
				return // wait for a useful prefix
			}
			truncated = true
		}
		body := b[5:min(total, len(b))]
		start := buf.StartNs
		end := buf.LastNs()
		s.message(dir, t, body, truncated, start, end)
		if truncated {
			s.skip[dir] = total - len(b)
			buf.Consume(len(b))
		} else {
			buf.Consume(total)
		}
		if s.startup && (t != 'p' && t != 'R') {
			s.startup = false
		}
	}
}

// readStartup keeps the database name of a StartupMessage.
func (s *session) readStartup(b []byte) {
	for len(b) > 0 {
		k, rest, ok := cstr(b)
		if !ok || len(k) == 0 {
			return
		}
		v, rest2, ok := cstr(rest)
		if !ok {
			return
		}
		if string(k) == "database" {
			s.db = protocols.Text(v)
		}
		b = rest2
	}
}

func (s *session) message(dir sockevent.Direction, t byte, body []byte, truncated bool, start, end int64) {
	if s.c.Role == sockevent.RoleUnknown {
		switch {
		case strings.IndexByte(clientOnly, t) >= 0:
			protocols.LearnRole(s.c, dir)
		case strings.IndexByte(serverOnly, t) >= 0:
			protocols.LearnRole(s.c, 1-dir)
		default:
			return
		}
	}
	if dir == protocols.ReqDir(s.c.Role) {
		s.clientMsg(t, body, truncated, start, end)
	} else {
		s.serverMsg(t, body, end)
	}
}

func (s *session) push(o *op) {
	if old, dropped := s.ops.Push(o); dropped {
		s.report(old, conntrack.Overflow)
	}
}

func (s *session) clientMsg(t byte, body []byte, truncated bool, start, end int64) {
	if s.segNs == 0 {
		s.segNs = start
	}
	switch t {
	case 'Q':
		q, _, _ := cstr(body)
		s.push(&op{kind: 'Q', query: protocols.Text(q), startNs: start, endNs: end})
		s.segNs = 0
	case 'P':
		name, rest, _ := cstr(body)
		q, _, _ := cstr(rest)
		query := protocols.Text(q)
		if len(s.stmts) < maxStmts || s.stmts[string(name)] != "" {
			s.stmts[string(name)] = query
		}
		s.push(&op{kind: 'P', query: query, startNs: start, endNs: end})
	case 'B':
		if truncated {
			return
		}
		por, rest, _ := cstr(body)
		stmt, rest, _ := cstr(rest)
		q, ok := s.stmts[string(stmt)]
		if !ok && len(stmt) > 0 {
			q = "EXECUTE " + protocols.Text(stmt) // prepared before tracing started
		}
		if len(s.portals) < maxStmts || len(por) == 0 {
			s.portals[string(por)] = portal{query: q, params: bindParams(rest)}
		}
		s.push(&op{kind: 'B', query: q, startNs: start, endNs: end})
	case 'E':
		por, _, _ := cstr(body)
		pt := s.portals[string(por)]
		s.push(&op{kind: 'E', query: pt.query, params: pt.params, startNs: s.segNs, endNs: end})
		s.segNs = 0
	case 'D', 'C':
		if len(body) > 0 && t == 'C' {
			name, _, _ := cstr(body[1:])
			if body[0] == 'S' {
				delete(s.stmts, string(name))
			} else {
				delete(s.portals, string(name))
			}
		}
		s.push(&op{kind: t, startNs: start, endNs: end})
	case 'S':
		s.push(&op{kind: 'S', startNs: start, endNs: end})
		s.segNs = 0
	}
}

// bindParams renders a Bind message's parameter values (after the portal
// and statement names) as Pixie does: "$1 = 'v'" pairs, text formats only.
func bindParams(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	nf := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < 2*nf {
		return ""
	}
	formats := b[:2*nf]
	b = b[2*nf:]
	if len(b) < 2 {
		return ""
	}
	np := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	var sb strings.Builder
	for i := 0; i < np && i < maxParams; i++ {
		if len(b) < 4 {
			break
		}
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("$" + strconv.Itoa(i+1) + " = ")
		if l < 0 {
			sb.WriteString("NULL")
			continue
		}
		if int(l) > len(b) {
			sb.WriteString("...")
			break
		}
		v := b[:l]
		b = b[l:]
		f := 0
		switch {
		case nf == 1:
			f = int(binary.BigEndian.Uint16(formats))
		case i < nf:
			f = int(binary.BigEndian.Uint16(formats[2*i:]))
		}
		if f != 0 {
			sb.WriteString("<binary>")
			continue
		}
		if len(v) > maxParamLen {
			v = v[:maxParamLen]
		}
		sb.WriteString("'" + protocols.Text(v) + "'")
	}
	return sb.String()
}

func (s *session) serverMsg(t byte, body []byte, end int64) {
	switch t {
	case '1':
		s.answer('P', end)
	case '2':
		s.answer('B', end)
	case '3':
		s.answer('C', end)
	case 'T', 'n':
		if o := s.ops.PeekPtr(); o != nil && (*o).kind == 'D' {
			s.answer('D', end)
		}
	case 'D':
		if o := s.ops.PeekPtr(); o != nil {
			(*o).rows++
		}
	case 'C', 'I', 's':
		tag := ""
		if t == 'C' {
			b, _, _ := cstr(body)
			tag = protocols.Text(b)
		}
		o := s.ops.PeekPtr()
		if o == nil {
			return
		}
		switch (*o).kind {
		case 'Q':
			if (*o).tag != "" && tag != "" {
				tag = (*o).tag + "\n" + tag
			}
			(*o).tag = tag
		case 'E':
			(*o).tag = tag
			s.answer('E', end)
		}
	case 'E':
		sev, code, msg := errorFields(body)
		o := s.ops.PeekPtr()
		if o == nil {
			return
		}
		(*o).sqlstate, (*o).errMsg, (*o).severity = code, msg, sev
		if (*o).kind == 'Q' {
			return // ReadyForQuery ends it
		}
		// The server skips to the Sync: the error belongs to the Execute
		// of this sequence when there is one (an error in Parse or Bind
		// fails it), else to the failed message.
		first := *o
		var target *op
		for {
			n, ok := s.ops.Peek()
			if !ok || n.kind == 'S' {
				break
			}
			s.ops.Pop()
			if n.kind == 'E' && target == nil {
				target = n
			}
		}
		if target == nil {
			target = first
		}
		target.sqlstate, target.errMsg, target.severity = code, msg, sev
		target.endNs = end
		s.report(target, conntrack.Answered)
	case 'Z':
		// Everything up to the Sync (or the simple Query) is over.
		for {
			o, ok := s.ops.Pop()
			if !ok {
				break
			}
			if o.kind == 'Q' {
				o.endNs = end
				s.report(o, conntrack.Answered)
				break
			}
			if o.kind == 'S' {
				break
			}
			if o.kind == 'E' {
				s.report(o, conntrack.ResponseLost)
			}
		}
	}
}

// answer pops pending ops up to the first of kind k (earlier ones lost
// their reply: a gap or a mid-stream start) and reports it when it is an
// Execute, or any op that failed.
func (s *session) answer(k byte, end int64) {
	for {
		o, ok := s.ops.Peek()
		if !ok {
			return
		}
		if (o.kind == 'S' || o.kind == 'Q') && k != 'S' {
			return // the reply belongs to nothing pending
		}
		s.ops.Pop()
		if o.kind != k {
			if o.kind == 'E' {
				s.report(o, conntrack.ResponseLost)
			}
			continue
		}
		if k == 'E' || o.sqlstate != "" {
			o.endNs = end
			s.report(o, conntrack.Answered)
		}
		return
	}
}

func errorFields(b []byte) (sev, code, msg string) {
	for len(b) > 0 && b[0] != 0 {
		f := b[0]
		v, rest, ok := cstr(b[1:])
		if !ok {
			break
		}
		switch f {
		case 'S':
			if sev == "" {
				sev = protocols.Text(v)
			}
		case 'V':
			sev = protocols.Text(v)
		case 'C':
			code = protocols.Text(v)
		case 'M':
			msg = protocols.Text(v)
		}
		b = rest
	}
	return sev, code, msg
}

func (s *session) report(o *op, why conntrack.Unanswered) {
	if o.kind != 'Q' && o.kind != 'E' && o.sqlstate == "" {
		return
	}
	e := &s.p.ex
	e.Reset()
	e.Conn = *s.c
	e.Protocol = protocols.PGSQL
	e.StartNs, e.EndNs = o.startNs, o.endNs
	e.Unanswered = why
	op := protocols.SQLOperation(o.query)
	sum := protocols.SQLSummary(o.query)
	e.Name = sum
	if e.Name == "" {
		e.Name = "postgresql"
	}
	e.Str("db.system.name", "postgresql")
	e.Str("db.namespace", s.db)
	e.Str("db.query.text", o.query)
	e.Str("db.query.summary", sum)
	e.Str("db.operation.name", op)
	switch o.kind {
	case 'Q':
		e.ReqCmd = "Query"
		e.Req = o.query
	case 'E':
		e.ReqCmd = "Execute"
		e.Req = "query=[" + o.query + "] params=[" + o.params + "]"
	case 'P':
		e.ReqCmd = "Parse"
		e.Req = o.query
	case 'B':
		e.ReqCmd = "Bind"
		e.Req = o.query
	default:
		e.ReqCmd = string(o.kind)
	}
	if why == conntrack.Answered {
		if o.tag != "" {
			e.Resp = o.tag
			if n, ok := tagRows(o.tag); ok {
				e.Int("db.response.returned_rows", n)
			}
		} else if o.rows > 0 {
			e.Int("db.response.returned_rows", o.rows)
		}
	}
	if o.sqlstate != "" {
		e.Str("db.response.status_code", o.sqlstate)
		e.Error = true
		e.ErrorType = o.sqlstate
		e.ErrorMessage = o.errMsg
		e.Resp = o.severity + ": " + o.errMsg
	}
	if why != conntrack.Answered {
		e.Error = true
		e.ErrorType = "no_response_" + why.String()
		e.ErrorMessage = "no response seen: " + why.String()
	}
	s.p.emit(e)
}

// tagRows reads the row count of a SELECT/FETCH/MOVE/COPY CommandComplete
// tag ("SELECT 5"); INSERT/UPDATE/DELETE counts are affected, not
// returned, rows.
func tagRows(tag string) (int64, bool) {
	if i := strings.LastIndexByte(tag, '\n'); i >= 0 {
		tag = tag[i+1:]
	}
	op, n, ok := strings.Cut(tag, " ")
	if !ok || (op != "SELECT" && op != "FETCH" && op != "MOVE" && op != "COPY") {
		return 0, false
	}
	v, err := strconv.ParseInt(n, 10, 64)
	return v, err == nil
}

func (s *session) Expire(deadlineNs int64) {
	for {
		o, ok := s.ops.Peek()
		if !ok || o.endNs >= deadlineNs {
			return
		}
		s.ops.Pop()
		s.report(o, conntrack.TimedOut)
	}
}

func (s *session) Close(_ int64, why conntrack.Unanswered) {
	for {
		o, ok := s.ops.Pop()
		if !ok {
			break
		}
		s.report(o, why)
	}
	s.buf[0].Reset()
	s.buf[1].Reset()
	s.stmts, s.portals = nil, nil
}

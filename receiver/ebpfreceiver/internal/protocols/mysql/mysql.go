// Package mysql parses the MySQL/MariaDB client/server protocol on the
// socket tracer's capture path: COM_QUERY, COM_STMT_PREPARE and
// COM_STMT_EXECUTE (statement ids remembered per connection) and their
// OK, ERR and result-set responses (rows counted, multi-results followed),
// with or without CLIENT_DEPRECATE_EOF. The handshake is skipped (the
// server version says whether it is MariaDB).
package mysql

import (
	"encoding/binary"
	"strconv"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// Commands (the first payload byte of a client packet).
const (
	comQuit        = 0x01
	comInitDB      = 0x02
	comQuery       = 0x03
	comPing        = 0x0e
	comStmtPrepare = 0x16
	comStmtExecute = 0x17
	comLongData    = 0x18
	comStmtClose   = 0x19
	comStmtReset   = 0x1a
)

const (
	maxKeep          = 32 << 10
	maxStmts         = 128
	moreResultsExist = 0x0008
)

// Protocol is the MySQL protocol for conntrack.Tracker.Register.
type Protocol struct {
	emit protocols.Emit
	ex   protocols.Exchange
}

// New returns the protocol; emit receives every exchange.
func New(emit protocols.Emit) *Protocol { return &Protocol{emit: emit} }

// Name implements conntrack.Protocol.
func (*Protocol) Name() string { return protocols.MySQL }

// Detect implements conntrack.Protocol.
func (*Protocol) Detect(_ *conntrack.ConnInfo, _ sockevent.Direction, b []byte, start bool) conntrack.Verdict {
	if len(b) < 5 {
		return conntrack.Maybe
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	seq := b[3]
	p := b[4:]
	if seq != 0 || n == 0 {
		return conntrack.No
	}
	if p[0] == 10 && isGreeting(p[:min(n, len(p))]) {
		return conntrack.Yes
	}
	if start {
		return conntrack.No // the server speaks first
	}
	if n != len(p) {
		if n < len(p) || n > 1<<20 {
			return conntrack.No
		}
		return conntrack.Maybe
	}
	switch p[0] {
	case comQuery, comStmtPrepare:
		if len(p) > 3 && sqlStart(p[1:]) {
			return conntrack.Yes
		}
	case comStmtExecute:
		if len(p) >= 10 && p[5] <= 3 && binary.LittleEndian.Uint32(p[6:]) == 1 {
			return conntrack.Yes // flags, iteration count 1
		}
	}
	return conntrack.No
}

// isGreeting reports a protocol-10 handshake: a printable version string
// ending in NUL, followed by a connection id and auth data.
func isGreeting(p []byte) bool {
	if len(p) < 2 || p[0] != 10 {
		return false
	}
	for i, c := range p[1:] {
		if c == 0 {
			return i > 0 && len(p) >= i+2+4+8
		}
		if c < 0x20 || c > 0x7e || i > 64 {
			return false
		}
	}
	return false
}

// sqlStart reports that b begins like a statement: optional blanks,
// comments or parentheses, then a letter, and printable text.
func sqlStart(b []byte) bool {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r' || b[i] == '(' || b[i] == '/') {
		i++
	}
	if i == len(b) || !(b[i] >= 'a' && b[i] <= 'z' || b[i] >= 'A' && b[i] <= 'Z') {
		return false
	}
	for _, c := range b[:min(len(b), 256)] {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}

// NewSession implements conntrack.Protocol.
func (p *Protocol) NewSession(c *conntrack.ConnInfo) conntrack.Session {
	s := &session{p: p, c: c, stmts: make(map[uint32]stmt)}
	for i := range s.buf {
		s.buf[i].Lost = c.Existing
	}
	return s
}

type stmt struct {
	query   string
	nparams int
}

type rstate uint8

const (
	rsFirst      rstate = iota // waiting for the first response packet
	rsCols                     // column definitions to skip
	rsRows                     // rows until a terminator
	rsPrepParams               // prepare: parameter definitions
	rsPrepCols                 // prepare: column definitions
)

type cmd struct {
	db      string // COM_INIT_DB: the database it selects
	code    byte
	query   string
	stmtID  uint32
	startNs int64
	endNs   int64

	state    rstate
	left     int // definitions left to skip
	rows     int64
	affected int64
	results  int
	errCode  int
	errState string
	errMsg   string
	// prepare response
	prepID              uint32
	prepCols, prepParms int
}

type session struct {
	p       *Protocol
	c       *conntrack.ConnInfo
	buf     [2]protocols.Buffer
	skip    [2]int
	mariadb bool
	db      string // current database (handshake, COM_INIT_DB)
	stmts   map[uint32]stmt
	cmds    protocols.Queue[*cmd]
	lastSeq byte
}

func (s *session) Buffered() int { return s.buf[0].Len() + s.buf[1].Len() }
func (s *session) Done() bool    { return false }

func (s *session) Skip(dir sockevent.Direction, _ uint64, _ int64) {
	s.buf[dir&1].Skip()
	s.skip[dir&1] = 0
}

func (s *session) Data(dir sockevent.Direction, b []byte, ts int64) {
	dir &= 1
	if b = protocols.Discard(&s.skip[dir], b); len(b) == 0 {
		return
	}
	buf := &s.buf[dir]
	buf.Append(b, ts)
	for {
		b := buf.Bytes()
		if len(b) < 4 {
			return
		}
		n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
		seq := b[3]
		if buf.Lost {
			// After a gap, accept a packet start only where a chunk starts
			// with a plausible header.
			if n == 0 || n > 1<<24-1 {
				buf.Skip()
				return
			}
			buf.Lost = false
		}
		total := 4 + n
		truncated := false
		if total > len(b) {
			if total <= maxKeep {
				return
			}
			if len(b) < maxKeep {
				return
			}
			truncated = true
		}
		p := b[4:min(total, len(b))]
		s.packet(dir, seq, p, truncated, buf.StartNs, buf.LastNs())
		if truncated {
			s.skip[dir] = total - len(b)
			buf.Consume(len(b))
		} else {
			buf.Consume(total)
		}
	}
}

func (s *session) packet(dir sockevent.Direction, seq byte, p []byte, truncated bool, start, end int64) {
	if len(p) == 0 {
		return
	}
	if s.c.Role == sockevent.RoleUnknown {
		switch {
		case seq == 0 && isGreeting(p):
			protocols.LearnRole(s.c, 1-dir)
		case seq == 0 && (p[0] == comQuery || p[0] == comStmtPrepare || p[0] == comStmtExecute):
			protocols.LearnRole(s.c, dir)
		default:
			return
		}
	}
	if dir == protocols.ReqDir(s.c.Role) {
		switch {
		case seq == 0:
			s.command(p, truncated, start, end)
		case seq == 1 && s.cmds.Len() == 0:
			s.handshakeResponse(p)
		}
		return
	}
	if seq == 0 && isGreeting(p) {
		s.mariadb = containsMariaDB(p)
		return
	}
	s.response(seq, p, end)
}

func containsMariaDB(p []byte) bool {
	for i := 1; i+7 <= len(p) && p[i] != 0; i++ {
		if string(p[i:i+7]) == "MariaDB" {
			return true
		}
	}
	return false
}

func (s *session) command(p []byte, truncated bool, start, end int64) {
	c := &cmd{code: p[0], startNs: start, endNs: end}
	switch p[0] {
	case comQuery, comStmtPrepare:
		c.query = protocols.Text(p[1:])
	case comStmtExecute:
		if len(p) < 5 {
			return
		}
		c.stmtID = binary.LittleEndian.Uint32(p[1:])
		st, ok := s.stmts[c.stmtID]
		c.query = st.query
		if !ok {
			c.query = "EXECUTE stmt " + strconv.FormatUint(uint64(c.stmtID), 10)
		}
	case comStmtClose:
		if len(p) >= 5 {
			delete(s.stmts, binary.LittleEndian.Uint32(p[1:]))
		}
		return // no response
	case comLongData, comQuit:
		return // no response
	case comInitDB:
		c.query = "USE " + protocols.Text(p[1:])
		c.db = protocols.Cap(string(p[1:]), 256)
	}
	_ = truncated
	// The protocol has no pipelining: a command still waiting when the
	// next one is sent lost its response (a gap in the capture).
	for {
		old, ok := s.cmds.Pop()
		if !ok {
			break
		}
		s.report(old, conntrack.ResponseLost)
	}
	s.cmds.Push(c)
}

// lenenc reads a length-encoded integer.
func lenenc(p []byte) (v uint64, n int, ok bool) {
	if len(p) == 0 {
		return 0, 0, false
	}
	switch c := p[0]; {
	case c < 0xfb:
		return uint64(c), 1, true
	case c == 0xfc && len(p) >= 3:
		return uint64(binary.LittleEndian.Uint16(p[1:])), 3, true
	case c == 0xfd && len(p) >= 4:
		return uint64(p[1]) | uint64(p[2])<<8 | uint64(p[3])<<16, 4, true
	case c == 0xfe && len(p) >= 9:
		return binary.LittleEndian.Uint64(p[1:]), 9, true
	}
	return 0, 0, false
}

// okStatus reads an OK packet's affected rows and status flags.
func okStatus(p []byte) (affected int64, status uint16) {
	a, n, ok := lenenc(p[1:])
	if !ok {
		return 0, 0
	}
	_, m, ok := lenenc(p[1+n:])
	if !ok || len(p) < 1+n+m+2 {
		return int64(a), 0
	}
	return int64(a), binary.LittleEndian.Uint16(p[1+n+m:])
}

func (s *session) response(seq byte, p []byte, end int64) {
	c, ok := s.cmds.Peek()
	if !ok {
		return // handshake, or a response whose command was not seen
	}
	prev := s.lastSeq
	s.lastSeq = seq
	if seq == 1 && prev != 0 && c.state != rsFirst {
		// A new response while the previous one was incomplete: it was
		// cut by a gap. (Sequence ids wrap: in a result set of more
		// than 254 rows, 1 follows 0.)
		s.cmds.Pop()
		s.report(c, conntrack.ResponseLost)
		if c, ok = s.cmds.Peek(); !ok {
			return
		}
	}
	c.endNs = end
	switch c.state {
	case rsFirst:
		switch p[0] {
		case 0x00:
			if c.code == comStmtPrepare && len(p) >= 12 {
				c.prepID = binary.LittleEndian.Uint32(p[1:])
				c.prepCols = int(binary.LittleEndian.Uint16(p[5:]))
				c.prepParms = int(binary.LittleEndian.Uint16(p[7:]))
				if len(s.stmts) < maxStmts {
					s.stmts[c.prepID] = stmt{query: c.query, nparams: c.prepParms}
				}
				c.state, c.left = rsPrepParams, c.prepParms
				s.prepNext(c)
				return
			}
			a, st := okStatus(p)
			c.affected += a
			c.results++
			if st&moreResultsExist == 0 {
				s.finish(c)
			}
		case 0xff:
			s.errPacket(c, p)
			s.finish(c)
		case 0xfb: // LOCAL INFILE request: the client sends a file, then an OK comes
		default:
			if c.code != comQuery && c.code != comStmtExecute {
				s.finish(c) // a text answer (COM_STATISTICS...)
				return
			}
			n, k, ok := lenenc(p)
			if !ok || n == 0 {
				s.finish(c)
				return
			}
			// MariaDB's cache-metadata capability (go-sql-driver turns it
			// on) adds a "metadata follows" byte after the column count
			// of a binary result set; 0 means the column definitions are
			// not sent again and rows follow at once.
			if len(p) == k+1 && p[k] == 0 {
				c.state = rsRows
				return
			}
			c.state, c.left = rsCols, int(n)
		}
	case rsCols:
		if c.left > 0 {
			c.left--
			return
		}
		if p[0] == 0xfe && len(p) == 5 {
			c.state = rsRows // the EOF after column definitions
			return
		}
		c.state = rsRows
		s.row(c, p)
	case rsRows:
		s.row(c, p)
	case rsPrepParams, rsPrepCols:
		if p[0] == 0xfe && len(p) == 5 {
			return // the EOF after a definition list (no CLIENT_DEPRECATE_EOF)
		}
		if c.left > 0 {
			c.left--
		}
		s.prepNext(c)
	}
}

// prepNext moves a prepare response past finished definition lists and
// finishes it after the last one. EOF packets (without
// CLIENT_DEPRECATE_EOF) are skipped; the one after the last list arrives
// when no command is pending and is ignored.
func (s *session) prepNext(c *cmd) {
	if c.left > 0 {
		return
	}
	if c.state == rsPrepParams {
		c.state, c.left = rsPrepCols, c.prepCols
		if c.left > 0 {
			return
		}
	}
	s.finish(c)
}

func (s *session) row(c *cmd, p []byte) {
	switch {
	case p[0] == 0xfe && len(p) < 0xffffff:
		var st uint16
		if len(p) == 5 {
			st = binary.LittleEndian.Uint16(p[3:])
		} else {
			_, st = okStatus(p)
		}
		c.results++
		if st&moreResultsExist != 0 {
			c.state = rsFirst
			return
		}
		s.finish(c)
	case p[0] == 0xff:
		s.errPacket(c, p)
		s.finish(c)
	default:
		c.rows++
	}
}

func (s *session) errPacket(c *cmd, p []byte) {
	if len(p) < 3 {
		c.errCode = -1
		return
	}
	c.errCode = int(binary.LittleEndian.Uint16(p[1:]))
	m := p[3:]
	if len(m) >= 6 && m[0] == '#' {
		c.errState = protocols.Text(m[1:6])
		m = m[6:]
	}
	c.errMsg = protocols.Text(m)
}

func (s *session) finish(c *cmd) {
	if top, ok := s.cmds.Peek(); ok && top == c {
		s.cmds.Pop()
	}
	if c.db != "" && c.errCode == 0 {
		s.db = c.db
	}
	s.report(c, conntrack.Answered)
}

func (s *session) report(c *cmd, why conntrack.Unanswered) {
	if c.code != comQuery && c.code != comStmtPrepare && c.code != comStmtExecute && c.errCode == 0 {
		return
	}
	e := &s.p.ex
	e.Reset()
	e.Conn = *s.c
	e.Protocol = protocols.MySQL
	e.StartNs, e.EndNs = c.startNs, c.endNs
	e.Unanswered = why
	system := "mysql"
	if s.mariadb {
		system = "mariadb"
	}
	sum := protocols.SQLSummary(c.query)
	op := protocols.SQLOperation(c.query)
	e.Name = sum
	if c.code == comStmtPrepare {
		e.Name = "PREPARE " + sum
		op = "PREPARE"
	}
	if e.Name == "" {
		e.Name = system
	}
	e.Str("db.system.name", system)
	e.Str("db.namespace", s.db)
	e.Str("db.query.text", c.query)
	e.Str("db.query.summary", sum)
	e.Str("db.operation.name", op)
	e.ReqCmd = strconv.Itoa(int(c.code))
	e.Req = c.query
	if why == conntrack.Answered && c.errCode == 0 {
		switch {
		case c.code == comStmtPrepare:
			e.Resp = "stmt_id=" + strconv.FormatUint(uint64(c.prepID), 10)
		case c.results > 0 && c.state != rsFirst || c.rows > 0:
			e.Int("db.response.returned_rows", c.rows)
			e.Resp = "Resultset rows = " + strconv.FormatInt(c.rows, 10)
		default:
			e.Resp = "affected_rows=" + strconv.FormatInt(c.affected, 10)
		}
	}
	if c.errCode != 0 {
		code := strconv.Itoa(c.errCode)
		e.Str("db.response.status_code", code)
		e.Error = true
		e.ErrorType = code
		e.ErrorMessage = c.errMsg
		e.Resp = c.errMsg
	}
	if why != conntrack.Answered {
		e.Error = true
		e.ErrorType = "no_response_" + why.String()
		e.ErrorMessage = "no response seen: " + why.String()
	}
	s.p.emit(e)
}

func (s *session) Expire(deadlineNs int64) {
	for {
		c, ok := s.cmds.Peek()
		if !ok || c.endNs >= deadlineNs {
			return
		}
		s.cmds.Pop()
		s.report(c, conntrack.TimedOut)
	}
}

func (s *session) Close(_ int64, why conntrack.Unanswered) {
	for {
		c, ok := s.cmds.Pop()
		if !ok {
			break
		}
		s.report(c, why)
	}
	s.buf[0].Reset()
	s.buf[1].Reset()
	s.stmts = nil
}

// Capability flags of the handshake response.
const (
	clientConnectWithDB = 0x00000008
	clientProtocol41    = 0x00000200
	clientSecureConn    = 0x00008000
	clientPluginAuthLen = 0x00200000
)

// handshakeResponse keeps the database a HandshakeResponse41 names.
func (s *session) handshakeResponse(p []byte) {
	if len(p) < 32 {
		return
	}
	caps := binary.LittleEndian.Uint32(p)
	if caps&clientProtocol41 == 0 || caps&clientConnectWithDB == 0 {
		return
	}
	b := p[32:]
	i := 0
	for i < len(b) && b[i] != 0 { // user name
		i++
	}
	if i >= len(b) {
		return
	}
	b = b[i+1:]
	switch {
	case caps&clientPluginAuthLen != 0:
		n, k, ok := lenenc(b)
		if !ok || uint64(len(b)-k) < n {
			return
		}
		b = b[k+int(n):]
	case caps&clientSecureConn != 0:
		if len(b) < 1 || len(b)-1 < int(b[0]) {
			return
		}
		b = b[1+int(b[0]):]
	default:
		for i = 0; i < len(b) && b[i] != 0; i++ {
		}
		if i >= len(b) {
			return
		}
		b = b[i+1:]
	}
	for i = 0; i < len(b) && b[i] != 0; i++ {
	}
	if i > 0 && i < len(b) {
		s.db = protocols.Cap(string(b[:i]), 256)
	}
}

// Package dns parses DNS queries and responses on the socket tracer's
// capture path, over UDP (one message per datagram) and TCP (two-byte
// length prefix). Queries are matched to responses by transaction id; the
// question, answers (A, AAAA, CNAME) and response code are reported.
package dns

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

const (
	headerLen  = 12
	maxAnswers = 16
	maxPending = 64
)

// Protocol is the DNS protocol for conntrack.Tracker.Register.
type Protocol struct {
	emit protocols.Emit
	ex   protocols.Exchange
}

// New returns the protocol; emit receives every exchange.
func New(emit protocols.Emit) *Protocol { return &Protocol{emit: emit} }

// Name implements conntrack.Protocol.
func (*Protocol) Name() string { return protocols.DNS }

// Message is the part of a DNS message the parser keeps.
type Message struct {
	ID       uint16
	Flags    uint16
	Response bool
	Opcode   int
	RCode    int
	QDCount  int
	ANCount  int
	NSCount  int
	ARCount  int
	Name     string // first question
	Type     uint16
	Class    uint16
	Answers  []Answer
}

// Answer is one answer record.
type Answer struct {
	Name string
	Type uint16
	Addr string // A/AAAA address, CNAME/PTR target
}

// Parse decodes one DNS message (no TCP prefix). It fails on anything that
// is not a well-formed message with one question.
func Parse(b []byte, m *Message) bool {
	if len(b) < headerLen {
		return false
	}
	*m = Message{Answers: m.Answers[:0]}
	m.ID = binary.BigEndian.Uint16(b)
	m.Flags = binary.BigEndian.Uint16(b[2:])
	m.Response = m.Flags&0x8000 != 0
	m.Opcode = int(m.Flags>>11) & 0xf
	m.RCode = int(m.Flags & 0xf)
	m.QDCount = int(binary.BigEndian.Uint16(b[4:]))
	m.ANCount = int(binary.BigEndian.Uint16(b[6:]))
	m.NSCount = int(binary.BigEndian.Uint16(b[8:]))
	m.ARCount = int(binary.BigEndian.Uint16(b[10:]))
	if m.QDCount != 1 || m.Opcode > 5 || m.Flags&0x0040 != 0 { // Z bit must be zero
		return false
	}
	if !m.Response && (m.ANCount != 0 || m.NSCount > 1 || m.ARCount > 2) {
		return false
	}
	name, off, ok := readName(b, headerLen)
	if !ok || off+4 > len(b) {
		return false
	}
	m.Name = name
	m.Type = binary.BigEndian.Uint16(b[off:])
	m.Class = binary.BigEndian.Uint16(b[off+2:])
	if c := m.Class &^ 0x8000; c != 1 && c != 3 && c != 4 && c != 255 {
		return false
	}
	off += 4
	total := m.ANCount + m.NSCount + m.ARCount
	for i := 0; i < total; i++ {
		rn, o, ok := readName(b, off)
		if !ok || o+10 > len(b) {
			return false
		}
		typ := binary.BigEndian.Uint16(b[o:])
		rdlen := int(binary.BigEndian.Uint16(b[o+8:]))
		rd := o + 10
		if rd+rdlen > len(b) {
			return false
		}
		if i < m.ANCount && len(m.Answers) < maxAnswers {
			a := Answer{Name: rn, Type: typ}
			switch {
			case typ == 1 && rdlen == 4:
				a.Addr = netip.AddrFrom4([4]byte(b[rd : rd+4])).String()
			case typ == 28 && rdlen == 16:
				a.Addr = netip.AddrFrom16([16]byte(b[rd : rd+16])).String()
			case typ == 5 || typ == 12:
				if t, _, ok := readName(b, rd); ok {
					a.Addr = t
				}
			}
			m.Answers = append(m.Answers, a)
		}
		off = rd + rdlen
	}
	return off == len(b)
}

// readName reads a (possibly compressed) domain name at off; it returns
// the name without the final dot ("." for the root) and the offset after it.
func readName(b []byte, off int) (string, int, bool) {
	var sb strings.Builder
	end := -1
	for hops := 0; ; hops++ {
		if off >= len(b) || hops > 64 {
			return "", 0, false
		}
		l := int(b[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if sb.Len() == 0 {
				return ".", end, true
			}
			return sb.String(), end, true
		case l&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return "", 0, false
			}
			if end < 0 {
				end = off + 2
			}
			ptr := int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
			if ptr >= off {
				return "", 0, false // only backward pointers
			}
			off = ptr
		case l&0xc0 != 0:
			return "", 0, false
		default:
			if off+1+l > len(b) || sb.Len()+l > 255 {
				return "", 0, false
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			for _, c := range b[off+1 : off+1+l] {
				if c <= 0x20 || c >= 0x7f {
					return "", 0, false
				}
			}
			sb.Write(b[off+1 : off+1+l])
			off += 1 + l
		}
	}
}

// Detect implements conntrack.Protocol: a whole DNS message (UDP), or a
// length-prefixed one (TCP).
func (*Protocol) Detect(_ *conntrack.ConnInfo, _ sockevent.Direction, b []byte, _ bool) conntrack.Verdict {
	var m Message
	if len(b) >= 2 && int(binary.BigEndian.Uint16(b)) == len(b)-2 && Parse(b[2:], &m) {
		return conntrack.Yes
	}
	if Parse(b, &m) || firstPrefixed(b, &m) {
		return conntrack.Yes
	}
	if len(b) < headerLen {
		return conntrack.Maybe
	}
	return conntrack.No
}

// firstPrefixed tells whether b starts with a whole length-prefixed DNS
// message followed by more bytes: TCP with several messages in one write
// (glibc sends its A and AAAA queries so).
func firstPrefixed(b []byte, m *Message) bool {
	if len(b) < 2 {
		return false
	}
	n := int(binary.BigEndian.Uint16(b))
	return 2+n < len(b) && Parse(b[2:2+n], m)
}

// NewSession implements conntrack.Protocol.
func (p *Protocol) NewSession(c *conntrack.ConnInfo) conntrack.Session {
	return &session{p: p, c: c, pending: make(map[uint16]query)}
}

type query struct {
	id            uint16
	name          string
	typ           uint16
	flags         uint16
	startNs, endN int64
}

type session struct {
	p       *Protocol
	c       *conntrack.ConnInfo
	tcp     int8 // 0 unknown, 1 TCP (length prefixes), -1 UDP
	buf     [2]protocols.Buffer
	pending map[uint16]query
	m       Message
}

func (s *session) Buffered() int { return s.buf[0].Len() + s.buf[1].Len() }
func (s *session) Done() bool    { return false }

func (s *session) Skip(dir sockevent.Direction, _ uint64, _ int64) { s.buf[dir&1].Skip() }

func (s *session) Data(dir sockevent.Direction, b []byte, ts int64) {
	dir &= 1
	if s.tcp == 0 {
		// A TCP peer may read or write the two-byte length alone.
		switch {
		case len(b) <= 2 || int(binary.BigEndian.Uint16(b)) == len(b)-2 && Parse(b[2:], &s.m):
			s.tcp = 1
		case Parse(b, &s.m):
			s.tcp = -1
		case firstPrefixed(b, &s.m):
			s.tcp = 1 // several messages in one write (glibc's A and AAAA)
		default:
			s.tcp = -1
		}
	}
	if s.tcp < 0 {
		if Parse(b, &s.m) {
			s.message(dir, ts, ts)
		}
		return
	}
	buf := &s.buf[dir]
	buf.Append(b, ts)
	for {
		p := buf.Bytes()
		if len(p) < 2 {
			return
		}
		n := int(binary.BigEndian.Uint16(p))
		if 2+n > len(p) {
			if buf.Lost {
				buf.Skip()
			}
			return
		}
		ok := Parse(p[2:2+n], &s.m)
		if buf.Lost && !ok {
			buf.Skip()
			return
		}
		buf.Lost = false
		if ok {
			s.message(dir, buf.StartNs, buf.LastNs())
		}
		buf.Consume(2 + n)
	}
}

func (s *session) message(dir sockevent.Direction, start, end int64) {
	m := &s.m
	if !m.Response {
		protocols.LearnRole(s.c, dir)
		if len(s.pending) >= maxPending {
			if id, q, ok := protocols.Oldest(s.pending, func(q query) int64 { return q.startNs }); ok {
				delete(s.pending, id)
				s.report(q, nil, conntrack.Overflow, 0)
			}
		}
		s.pending[m.ID] = query{id: m.ID, name: m.Name, typ: m.Type, flags: m.Flags, startNs: start, endN: end}
		return
	}
	protocols.LearnRole(s.c, 1-dir)
	q, ok := s.pending[m.ID]
	if !ok || !strings.EqualFold(q.name, m.Name) {
		return
	}
	delete(s.pending, m.ID)
	s.report(q, m, conntrack.Answered, end)
}

// TypeName is the mnemonic of a record type ("A", "AAAA", or the number).
func TypeName(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 12:
		return "PTR"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 28:
		return "AAAA"
	case 33:
		return "SRV"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	case 255:
		return "ANY"
	}
	return strconv.Itoa(int(t))
}

// RCodeName is the mnemonic of a response code.
func RCodeName(r int) string {
	switch r {
	case 0:
		return "NoError"
	case 1:
		return "FormErr"
	case 2:
		return "ServFail"
	case 3:
		return "NXDomain"
	case 4:
		return "NotImp"
	case 5:
		return "Refused"
	}
	return strconv.Itoa(r)
}

func (s *session) report(q query, m *Message, why conntrack.Unanswered, end int64) {
	e := &s.p.ex
	e.Reset()
	e.Conn = *s.c
	e.Protocol = protocols.DNS
	e.StartNs, e.EndNs = q.startNs, q.endN
	if m != nil {
		e.EndNs = end
	}
	e.Unanswered = why
	e.Name = "DNS " + TypeName(q.typ)
	e.Str("dns.question.name", q.name)
	e.Str("dns.question.type", TypeName(q.typ))
	e.Str("network.transport", map[bool]string{true: "tcp", false: "udp"}[s.tcp > 0])
	e.ReqCmd = TypeName(q.typ)
	e.Req = `{"queries":[{"name":` + strconv.Quote(q.name) + `,"type":"` + TypeName(q.typ) + `"}]}`
	e.ReqHeader = headerJSON(q.id, q.flags, 1, 0, 0, 0)
	if m != nil {
		e.RespHeader = headerJSON(m.ID, m.Flags, m.QDCount, m.ANCount, m.NSCount, m.ARCount)
		var answers []string
		var sb strings.Builder
		sb.WriteString(`{"answers":[`)
		for i, a := range m.Answers {
			if a.Addr != "" {
				answers = append(answers, a.Addr)
			}
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(`{"name":` + strconv.Quote(a.Name) + `,"type":"` + TypeName(a.Type) + `","addr":` + strconv.Quote(a.Addr) + `}`)
		}
		sb.WriteString(`]}`)
		e.Resp = sb.String()
		e.Str("dns.answers", strings.Join(answers, ","))
		e.Str("dns.response_code", RCodeName(m.RCode))
		if m.RCode != 0 {
			e.Error = true
			e.ErrorType = RCodeName(m.RCode)
			e.ErrorMessage = "DNS response code " + RCodeName(m.RCode)
		}
	}
	if why != conntrack.Answered {
		e.Error = true
		e.ErrorType = "no_response_" + why.String()
		e.ErrorMessage = "no response seen: " + why.String()
	}
	s.p.emit(e)
}

func (s *session) Expire(deadlineNs int64) {
	for id, q := range s.pending {
		if q.endN < deadlineNs {
			delete(s.pending, id)
			s.report(q, nil, conntrack.TimedOut, 0)
		}
	}
}

func (s *session) Close(_ int64, why conntrack.Unanswered) {
	for id, q := range s.pending {
		delete(s.pending, id)
		s.report(q, nil, why, 0)
	}
	s.buf[0].Reset()
	s.buf[1].Reset()
}

// headerJSON renders a DNS header as Pixie's dns_events does.
func headerJSON(id, flags uint16, qd, an, ns, ar int) string {
	bit := func(n uint) string { return strconv.Itoa(int(flags>>n) & 1) }
	return `{"txid":` + strconv.Itoa(int(id)) + `,"qr":` + bit(15) + `,"opcode":` + strconv.Itoa(int(flags>>11)&0xf) +
		`,"aa":` + bit(10) + `,"tc":` + bit(9) + `,"rd":` + bit(8) + `,"ra":` + bit(7) + `,"ad":` + bit(5) + `,"cd":` + bit(4) +
		`,"rcode":` + strconv.Itoa(int(flags&0xf)) + `,"num_queries":` + strconv.Itoa(qd) + `,"num_answers":` + strconv.Itoa(an) +
		`,"num_auth":` + strconv.Itoa(ns) + `,"num_addl":` + strconv.Itoa(ar) + `}`
}

// Package redis parses the Redis protocol (RESP2 and RESP3, inline
// commands too) on the socket tracer's capture path: pipelined commands are
// paired with their replies in order, (P|S)SUBSCRIBE confirmations are
// counted, and pub/sub messages (RESP2 "message" arrays in subscribed mode,
// RESP3 pushes) are reported as pushes. Replies of any size are walked in
// bounded memory.
package redis

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// Protocol is the Redis protocol for conntrack.Tracker.Register.
type Protocol struct {
	emit protocols.Emit
	ex   protocols.Exchange
}

// New returns the protocol; emit receives every exchange.
func New(emit protocols.Emit) *Protocol { return &Protocol{emit: emit} }

// Name implements conntrack.Protocol.
func (*Protocol) Name() string { return protocols.Redis }

// Detect implements conntrack.Protocol: a command array whose first bulk
// string is a known command, or a known inline command at the start.
func (*Protocol) Detect(_ *conntrack.ConnInfo, _ sockevent.Direction, b []byte, start bool) conntrack.Verdict {
	if len(b) == 0 {
		return conntrack.Maybe
	}
	if b[0] == '*' {
		var r reader
		n := len(b)
		if n > 512 {
			n = 512
		}
		for used := 0; used < n; {
			k, done := r.feed(b[used:n])
			used += k
			if r.bad {
				return conntrack.No
			}
			if done || len(r.v.leaves) > 0 {
				break
			}
			if k == 0 {
				break
			}
		}
		if len(r.v.leaves) == 0 {
			if !r.bad && len(b) < 64 {
				return conntrack.Maybe
			}
			return conntrack.No
		}
		if r.v.typ == '*' && knownCommand(r.v.leaves[0]) {
			return conntrack.Yes
		}
		return conntrack.No
	}
	if start && isLetter(b[0]) {
		end := 0
		for end < len(b) && end < 32 && isLetter(b[end]) {
			end++
		}
		if end < len(b) && (b[end] == ' ' || b[end] == '\r') && knownCommand(string(b[:end])) {
			line := b[:min(len(b), 256)]
			if i := bytes.IndexByte(line, '\n'); i < 0 || bytes.Contains(line[:i], []byte(" HTTP/")) {
				return conntrack.No
			}
			return conntrack.Yes
		}
		if end == len(b) && end < 32 {
			return conntrack.Maybe
		}
		return conntrack.No
	}
	if start && strings.IndexByte("+-:$%~>_,#!=(|", b[0]) < 0 {
		return conntrack.No
	}
	return conntrack.Maybe
}

// NewSession implements conntrack.Protocol.
func (p *Protocol) NewSession(c *conntrack.ConnInfo) conntrack.Session {
	s := &session{p: p, c: c}
	s.lost[0], s.lost[1] = c.Existing, c.Existing
	return s
}

type request struct {
	cmd     string
	args    []string
	nargs   int
	startNs int64
	endNs   int64
	replies int // replies still expected (subscribe family)
	firstNs int64
}

type session struct {
	p          *Protocol
	c          *conntrack.ConnInfo
	r          [2]reader
	startNs    [2]int64
	lost       [2]bool // resynchronise at the next chunk
	reqs       protocols.Queue[*request]
	subscribed bool
}

func (s *session) Buffered() int { return len(s.r[0].line) + len(s.r[1].line) }
func (s *session) Done() bool    { return false }

func (s *session) Skip(dir sockevent.Direction, _ uint64, _ int64) {
	dir &= 1
	if s.r[dir].started || s.r[dir].bulkLeft > 0 {
		s.lostMessage(dir)
	}
	s.r[dir].reset()
	s.lost[dir] = true
}

// lostMessage: the message being read in dir was cut; a reply being read
// belonged to the oldest request.
func (s *session) lostMessage(dir sockevent.Direction) {
	if s.c.Role != sockevent.RoleUnknown && dir != protocols.ReqDir(s.c.Role) {
		if q, ok := s.reqs.Pop(); ok {
			s.report(q, nil, conntrack.ResponseLost, 0)
		}
	}
}

func (s *session) Data(dir sockevent.Direction, b []byte, ts int64) {
	dir &= 1
	r := &s.r[dir]
	if s.lost[dir] {
		// Resynchronise: a message must start at this chunk.
		if len(b) == 0 || strings.IndexByte("*+-:$%~>_,#!=(|", b[0]) < 0 && !isLetter(b[0]) {
			return
		}
		s.lost[dir] = false
		r.reset()
	}
	for len(b) > 0 {
		if !r.started && r.bulkLeft == 0 && len(r.line) == 0 {
			s.startNs[dir] = ts
		}
		k, done := r.feed(b)
		b = b[k:]
		if r.bad {
			s.lostMessage(dir)
			r.reset()
			s.lost[dir] = true
			return
		}
		if done {
			s.message(dir, &r.v, s.startNs[dir], ts)
			r.reset()
		}
	}
}

func (s *session) message(dir sockevent.Direction, v *value, start, end int64) {
	if s.c.Role == sockevent.RoleUnknown {
		isCmd := (v.typ == '*' || v.typ == 'i') && len(v.leaves) > 0 && knownCommand(v.leaves[0])
		if !isCmd {
			return
		}
		protocols.LearnRole(s.c, dir)
	}
	if dir == protocols.ReqDir(s.c.Role) {
		if len(v.leaves) == 0 || v.typ != '*' && v.typ != 'i' {
			return
		}
		q := &request{cmd: strings.ToUpper(v.leaves[0]), startNs: start, endNs: end, replies: 1, nargs: v.size - 1}
		args := v.leaves[1:]
		if subcommand[q.cmd] && len(args) > 0 {
			q.cmd += " " + strings.ToUpper(args[0])
			args = args[1:]
		}
		if strings.TrimSpace(q.cmd) == "" {
			q.cmd = "UNKNOWN" // still answered (with an error): keep the pairing
		}
		q.args = append([]string(nil), args...)
		switch q.cmd {
		case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE":
			if q.nargs > 0 {
				q.replies = q.nargs
			}
		}
		if old, dropped := s.reqs.Push(q); dropped {
			s.report(old, nil, conntrack.Overflow, 0)
		}
		return
	}
	s.reply(v, end)
}

func (s *session) reply(v *value, end int64) {
	kind := ""
	if v.agg && len(v.leaves) > 0 {
		kind = strings.ToLower(v.leaves[0])
	}
	push := v.typ == '>'
	switch kind {
	case "message", "pmessage", "smessage":
		if push || s.subscribed {
			s.pushMessage(v, end)
			return
		}
	case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe":
		if push || v.typ == '*' && len(v.leaves) >= 3 {
			s.subscribed = v.leaves[len(v.leaves)-1] != "0"
			q, ok := s.reqs.Peek()
			if !ok || !strings.EqualFold(q.cmd, kind) {
				return // an unsubscribe confirmation for all channels, or unmatched
			}
			if q.firstNs == 0 {
				q.firstNs = end
			}
			q.replies--
			if q.replies > 0 {
				return
			}
			s.reqs.Pop()
			s.report(q, v, conntrack.Answered, end)
			return
		}
	}
	if push {
		s.pushMessage(v, end) // other RESP3 pushes (client tracking)
		return
	}
	q, ok := s.reqs.Pop()
	if !ok {
		return
	}
	s.report(q, v, conntrack.Answered, end)
}

func (s *session) pushMessage(v *value, end int64) {
	e := &s.p.ex
	e.Reset()
	e.Conn = *s.c
	e.Protocol = protocols.Redis
	e.StartNs, e.EndNs = end, end
	e.Push = true
	e.Name = "PUSH PUB"
	e.ReqCmd = "PUSH PUB"
	e.Str("db.system.name", "redis")
	e.Str("db.operation.name", "PUSH PUB")
	if len(v.leaves) >= 2 {
		e.Str("messaging.destination.name", v.leaves[len(v.leaves)-2])
	}
	e.Resp = v.render()
	s.p.emit(e)
}

func (s *session) report(q *request, v *value, why conntrack.Unanswered, end int64) {
	e := &s.p.ex
	e.Reset()
	e.Conn = *s.c
	e.Protocol = protocols.Redis
	e.StartNs, e.EndNs = q.startNs, q.endNs
	if v != nil {
		e.EndNs = end
	}
	e.Unanswered = why
	e.Name = q.cmd
	e.Str("db.system.name", "redis")
	e.Str("db.operation.name", q.cmd)
	var text strings.Builder
	text.WriteString(q.cmd)
	var args strings.Builder
	args.WriteByte('[')
	for i, a := range q.args {
		text.WriteByte(' ')
		text.WriteString(a)
		if i > 0 {
			args.WriteString(", ")
		}
		args.WriteString(strconv.Quote(a))
	}
	extra := q.nargs - len(q.args)
	if strings.Contains(q.cmd, " ") {
		extra-- // the subcommand
	}
	if extra > 0 {
		text.WriteString(" ...")
		args.WriteString(", ...")
	}
	args.WriteByte(']')
	e.Str("db.query.text", protocols.Cap(text.String(), protocols.MaxText))
	e.ReqCmd = q.cmd
	e.Req = protocols.Cap(args.String(), protocols.MaxText)
	if v != nil {
		e.Resp = v.render()
		if v.isErr {
			code := "ERR"
			if len(v.leaves) > 0 {
				code, _, _ = strings.Cut(v.leaves[0], " ")
			}
			e.Str("db.response.status_code", code)
			e.Error = true
			e.ErrorType = code
			if len(v.leaves) > 0 {
				e.ErrorMessage = v.leaves[0]
			}
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
	for {
		q, ok := s.reqs.Peek()
		if !ok || q.endNs >= deadlineNs {
			return
		}
		s.reqs.Pop()
		// A subscription that was confirmed stays open: not an error.
		if q.firstNs != 0 {
			continue
		}
		s.report(q, nil, conntrack.TimedOut, 0)
	}
}

func (s *session) Close(_ int64, why conntrack.Unanswered) {
	for {
		q, ok := s.reqs.Pop()
		if !ok {
			break
		}
		s.report(q, nil, why, 0)
	}
	s.r[0] = reader{}
	s.r[1] = reader{}
}

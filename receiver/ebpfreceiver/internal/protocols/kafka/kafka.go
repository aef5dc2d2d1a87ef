// Package kafka parses the Kafka wire protocol on the socket tracer's
// capture path: request and response headers (API key, version,
// correlation id, client id), responses matched by correlation id, and for
// Produce (v3-v13) and Fetch (v4-v18) the first topic and partition and the
// error code. Other APIs are reported by name.
//
// Produce v13 and Fetch v13 and later name topics by their 16-byte topic id
// (KIP-516); the names come from the Metadata responses (v10 and later)
// seen on any connection, which every client asks for before producing or
// fetching.
package kafka

import (
	"encoding/binary"
	"strconv"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// API keys the parser looks into.
const (
	apiProduce     = 0
	apiFetch       = 1
	apiMetadata    = 3
	apiVersions    = 18
	maxAPIKey      = 75
	maxMessage     = 64 << 20
	keep           = 16 << 10 // bytes of a message kept (headers, first topic)
	maxPendingReqs = 128
	maxTopicIDs    = 4096 // topic ids remembered (all forgotten when full)
)

var apiNames = map[int16]string{
	0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
	9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
	13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
	17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
	22: "InitProducerId", 32: "DescribeConfigs", 36: "SaslAuthenticate",
	60: "DescribeCluster",
}

// flexible reports whether (key, version) uses the compact "flexible"
// encoding with tagged fields (KIP-482) for the request header.
func flexible(key, v int16) bool {
	switch key {
	case apiProduce:
		return v >= 9
	case apiFetch:
		return v >= 12
	case 2:
		return v >= 6
	case 3:
		return v >= 9
	case 8:
		return v >= 8
	case 9:
		return v >= 6
	case 10:
		return v >= 3
	case 11:
		return v >= 6
	case 12, 13, 14:
		return v >= 4
	case 15:
		return v >= 5
	case 16:
		return v >= 3
	case apiVersions:
		return v >= 3
	case 19:
		return v >= 5
	case 20:
		return v >= 4
	case 22:
		return v >= 2
	case 32:
		return v >= 4
	case 36:
		return v >= 2
	}
	return key > 36
}

// Protocol is the Kafka protocol for conntrack.Tracker.Register.
type Protocol struct {
	emit protocols.Emit
	ex   protocols.Exchange
	// topics maps topic ids to names, learnt from Metadata responses; the
	// sessions share it (they all run on the tracer's goroutine).
	topics map[topicID]string
}

// topicID is a Kafka topic id (a UUID).
type topicID [16]byte

// New returns the protocol; emit receives every exchange.
func New(emit protocols.Emit) *Protocol {
	return &Protocol{emit: emit, topics: make(map[topicID]string)}
}

// Name implements conntrack.Protocol.
func (*Protocol) Name() string { return protocols.Kafka }

// header is a parsed request header.
type header struct {
	size     int
	key, ver int16
	corr     int32
	clientID string
	bodyOff  int // offset of the body in the message (after the size)
}

// parseHeader reads a request header from b (starting with the size).
func parseHeader(b []byte, h *header) bool {
	if len(b) < 14 {
		return false
	}
	h.size = int(int32(binary.BigEndian.Uint32(b)))
	h.key = int16(binary.BigEndian.Uint16(b[4:]))
	h.ver = int16(binary.BigEndian.Uint16(b[6:]))
	h.corr = int32(binary.BigEndian.Uint32(b[8:]))
	if h.size < 10 || h.size > maxMessage || h.key < 0 || h.key > maxAPIKey || h.ver < 0 || h.ver > 20 || h.corr < 0 {
		return false
	}
	n := int(int16(binary.BigEndian.Uint16(b[12:])))
	off := 14
	if n >= 0 {
		if n > 255 || off+n > len(b) || 10+n > h.size {
			return false
		}
		for _, c := range b[off : off+n] {
			if c < 0x20 || c > 0x7e {
				return false
			}
		}
		h.clientID = string(b[off : off+n])
		off += n
	}
	if flexible(h.key, h.ver) {
		var ok bool
		if off, ok = skipTags(b, off); !ok {
			return false
		}
	}
	h.bodyOff = off
	return true
}

// Detect implements conntrack.Protocol: a well-formed request header whose
// size matches the chunk (clients write a request in one call).
func (*Protocol) Detect(_ *conntrack.ConnInfo, _ sockevent.Direction, b []byte, _ bool) conntrack.Verdict {
	if len(b) < 14 {
		return conntrack.Maybe
	}
	var h header
	if !parseHeader(b, &h) {
		return conntrack.No
	}
	if h.size+4 != len(b) || apiNames[h.key] == "" {
		if h.size+4 > len(b) {
			return conntrack.Maybe
		}
		return conntrack.No
	}
	return conntrack.Yes
}

// NewSession implements conntrack.Protocol.
func (p *Protocol) NewSession(c *conntrack.ConnInfo) conntrack.Session {
	s := &session{p: p, c: c, pending: make(map[int32]*request)}
	for i := range s.buf {
		s.buf[i].Lost = c.Existing
		s.buf[i].Max = keep + 64
	}
	return s
}

type request struct {
	header
	topic     string
	id        topicID // Produce and Fetch v13+: the topic's id, topic set from it when known
	byID      bool
	partition int32
	startNs   int64
	endNs     int64
}

type session struct {
	p       *Protocol
	c       *conntrack.ConnInfo
	buf     [2]protocols.Buffer
	skip    [2]int
	pending map[int32]*request
}

func (s *session) Buffered() int { return s.buf[0].Len() + s.buf[1].Len() }
func (s *session) Done() bool    { return false }

func (s *session) Skip(dir sockevent.Direction, _ uint64, _ int64) {
	s.buf[dir&1].Skip()
	s.skip[dir&1] = 0
}

func (s *session) Data(dir sockevent.Direction, b []byte, ts int64) {
	dir &= 1
	buf := &s.buf[dir]
	// A chunk may hold more than the buffer takes (a batched Produce, a
	// Fetch with records): it goes in piece by piece, each message parsed
	// from its first keep bytes and the rest of it skipped.
	for len(b) > 0 {
		if b = protocols.Discard(&s.skip[dir], b); len(b) == 0 {
			return
		}
		n := min(len(b), buf.Max-buf.Len())
		if n <= 0 {
			buf.Skip() // cannot happen: parse empties a full buffer
			n = min(len(b), buf.Max)
		}
		buf.Append(b[:n], ts)
		b = b[n:]
		s.parse(dir, buf)
	}
}

// parse handles the complete messages in buf, and the start of one longer
// than keep (its remaining bytes are skipped).
func (s *session) parse(dir sockevent.Direction, buf *protocols.Buffer) {
	for {
		p := buf.Bytes()
		if len(p) < 4 {
			return
		}
		size := int(int32(binary.BigEndian.Uint32(p)))
		if size < 4 || size > maxMessage {
			buf.Skip()
			return
		}
		total := 4 + size
		if total > len(p) && len(p) < keep {
			return
		}
		msg := p[:min(total, len(p))]
		s.message(dir, msg, buf.StartNs, buf.LastNs())
		if total > len(p) {
			s.skip[dir] = total - len(p)
			buf.Consume(len(p))
			return
		}
		buf.Consume(total)
		buf.Lost = false
	}
}

func (s *session) message(dir sockevent.Direction, msg []byte, start, end int64) {
	var h header
	isReq := parseHeader(msg, &h) && apiNames[h.key] != ""
	if s.c.Role == sockevent.RoleUnknown {
		if !isReq {
			return
		}
		protocols.LearnRole(s.c, dir)
	}
	if dir == protocols.ReqDir(s.c.Role) {
		if !isReq {
			return
		}
		r := &request{header: h, startNs: start, endNs: end, partition: -1}
		s.readTopic(r, msg)
		if len(s.pending) >= maxPendingReqs {
			if k, old, ok := protocols.Oldest(s.pending, func(r *request) int64 { return r.startNs }); ok {
				delete(s.pending, k)
				s.report(old, nil, conntrack.Overflow, 0)
			}
		}
		if h.key == apiProduce && s.acksZero(msg, &h) {
			s.report(r, nil, conntrack.Answered, end) // acks=0: no response comes
			return
		}
		s.pending[h.corr] = r
		return
	}
	if len(msg) < 8 {
		return
	}
	corr := int32(binary.BigEndian.Uint32(msg[4:]))
	r, ok := s.pending[corr]
	if !ok {
		return
	}
	delete(s.pending, corr)
	if r.key == apiMetadata {
		s.p.learnTopics(r.ver, msg)
	}
	s.report(r, msg, conntrack.Answered, end)
}

// acksZero reports a Produce request with acks = 0.
func (s *session) acksZero(msg []byte, h *header) bool {
	d := dec{b: msg, off: h.bodyOff, flex: flexible(h.key, h.ver), ok: true}
	if h.ver >= 3 {
		d.str() // transactional_id
	}
	return d.i16() == 0 && d.ok
}

// readTopic reads the first topic and partition of Produce and Fetch.
func (s *session) readTopic(r *request, msg []byte) {
	d := dec{b: msg, off: r.bodyOff, flex: flexible(r.key, r.ver), ok: true}
	switch {
	case r.key == apiProduce && r.ver >= 3 && r.ver <= 13:
		d.str() // transactional_id
		d.i16() // acks
		d.i32() // timeout
		if d.arr() > 0 {
			s.readTopicName(r, &d)
			if d.arr() > 0 {
				r.partition = d.i32()
			}
		}
	case r.key == apiFetch && r.ver >= 4 && r.ver <= 18:
		if r.ver <= 14 {
			d.i32() // replica_id (a tagged field from v15)
		}
		d.i32() // max_wait_ms
		d.i32() // min_bytes
		d.i32() // max_bytes
		d.i8()  // isolation_level
		if r.ver >= 7 {
			d.i32() // session_id
			d.i32() // session_epoch
		}
		if d.arr() > 0 {
			s.readTopicName(r, &d)
			if d.arr() > 0 {
				r.partition = d.i32()
			}
		}
	}
	if !d.ok {
		r.topic, r.byID, r.partition = "", false, -1
	}
}

// readTopicName reads a topic's name, or from v13 its id.
func (s *session) readTopicName(r *request, d *dec) {
	if r.ver < 13 {
		r.topic = d.str()
		return
	}
	if d.uuid(&r.id) {
		r.byID = true
		r.topic = s.p.topics[r.id]
	}
}

// learnTopics remembers the topic ids and names of a Metadata response
// (v10 and later: the first versions with topic ids).
func (p *Protocol) learnTopics(ver int16, msg []byte) {
	if ver < 10 || ver > 13 {
		return
	}
	d := dec{b: msg, off: 8, flex: true, ok: true}
	d.tags() // response header
	d.i32()  // throttle_time_ms
	brokers := d.arr()
	for i := 0; i < brokers && d.ok; i++ {
		d.i32() // node_id
		d.str() // host
		d.i32() // port
		d.str() // rack
		d.tags()
	}
	d.str() // cluster_id
	d.i32() // controller_id
	topics := d.arr()
	for i := 0; i < topics && d.ok; i++ {
		d.i16() // error_code
		name := d.str()
		var id topicID
		if !d.uuid(&id) {
			return
		}
		if name != "" && id != (topicID{}) {
			if _, known := p.topics[id]; !known && len(p.topics) >= maxTopicIDs {
				clear(p.topics)
			}
			p.topics[id] = name
		}
		d.i8() // is_internal
		parts := d.arr()
		for j := 0; j < parts && d.ok; j++ {
			d.i16()                          // error_code
			d.i32()                          // partition_index
			d.i32()                          // leader_id
			d.i32()                          // leader_epoch
			for k := 0; k < 3 && d.ok; k++ { // replicas, isr, offline replicas
				n := d.arr()
				if n > 0 && d.need(4*n) {
					d.off += 4 * n
				}
			}
			d.tags()
		}
		d.i32() // topic_authorized_operations
		d.tags()
	}
}

// errorCode reads the response's first error code for Produce and Fetch.
func errorCode(r *request, msg []byte) int16 {
	flex := flexible(r.key, r.ver)
	d := dec{b: msg, off: 8, flex: flex, ok: true}
	if flex && r.key != apiVersions {
		d.tags() // response header tagged fields (ApiVersions keeps header v0)
	}
	switch {
	case r.key == apiProduce && r.ver <= 13:
		if d.arr() > 0 {
			skipTopic(r, &d)
			if d.arr() > 0 {
				d.i32()
				if c := d.i16(); d.ok {
					return c
				}
			}
		}
	case r.key == apiFetch && r.ver >= 7 && r.ver <= 18:
		d.i32() // throttle_time_ms
		if c := d.i16(); d.ok && c != 0 {
			return c
		}
		d.i32() // session_id
		if d.arr() > 0 {
			skipTopic(r, &d)
			if d.arr() > 0 {
				d.i32()
				if c := d.i16(); d.ok {
					return c
				}
			}
		}
	case r.key == apiVersions:
		if c := d.i16(); d.ok {
			return c
		}
	}
	return 0
}

// skipTopic skips a topic's name, or from v13 its id.
func skipTopic(r *request, d *dec) {
	if r.ver < 13 {
		d.str()
		return
	}
	var id topicID
	d.uuid(&id)
}

func (s *session) report(r *request, resp []byte, why conntrack.Unanswered, end int64) {
	e := &s.p.ex
	e.Reset()
	e.Conn = *s.c
	e.Protocol = protocols.Kafka
	e.StartNs, e.EndNs = r.startNs, r.endNs
	if resp != nil {
		e.EndNs = end
	}
	e.Unanswered = why
	if r.byID && r.topic == "" {
		r.topic = s.p.topics[r.id] // the Metadata response came after the request
	}
	api := apiNames[r.key]
	op := ""
	switch r.key {
	case apiProduce:
		op = "send"
	case apiFetch:
		op = "poll"
	}
	e.Name = api
	if op != "" {
		e.Name = op
		if r.topic != "" {
			e.Name = op + " " + r.topic
		}
	}
	e.Str("messaging.system", "kafka")
	e.Str("messaging.operation.name", op)
	if op == "send" {
		e.Str("messaging.operation.type", "send")
	} else if op == "poll" {
		e.Str("messaging.operation.type", "receive")
	}
	e.Str("messaging.destination.name", protocols.Cap(r.topic, 256))
	if r.partition >= 0 && r.topic != "" {
		e.Str("messaging.destination.partition.id", strconv.Itoa(int(r.partition)))
	}
	e.Str("messaging.client.id", protocols.Cap(r.clientID, 256))
	e.Str("messaging.kafka.api", api)
	e.Int("messaging.kafka.api_version", int64(r.ver))
	e.ReqCmd = strconv.Itoa(int(r.key))
	e.Req = `{"api":"` + api + `","version":` + strconv.Itoa(int(r.ver)) + `,"correlation_id":` + strconv.Itoa(int(r.corr)) +
		`,"topic":` + strconv.Quote(r.topic) + `}`
	if resp != nil {
		code := errorCode(r, resp)
		e.Resp = `{"error_code":` + strconv.Itoa(int(code)) + `}`
		if code != 0 {
			e.Error = true
			e.ErrorType = strconv.Itoa(int(code))
			e.ErrorMessage = "kafka error code " + e.ErrorType
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
	for k, r := range s.pending {
		if r.endNs < deadlineNs {
			delete(s.pending, k)
			s.report(r, nil, conntrack.TimedOut, 0)
		}
	}
}

func (s *session) Close(_ int64, why conntrack.Unanswered) {
	for k, r := range s.pending {
		delete(s.pending, k)
		s.report(r, nil, why, 0)
	}
	s.buf[0].Reset()
	s.buf[1].Reset()
}

// dec reads Kafka's primitive types; on any overrun ok becomes false and
// every later read returns zero.
type dec struct {
	b    []byte
	off  int
	flex bool
	ok   bool
}

func (d *dec) need(n int) bool {
	if !d.ok || n < 0 || d.off+n > len(d.b) {
		d.ok = false
		return false
	}
	return true
}

func (d *dec) i8() int8 {
	if !d.need(1) {
		return 0
	}
	d.off++
	return int8(d.b[d.off-1])
}

func (d *dec) i16() int16 {
	if !d.need(2) {
		return 0
	}
	d.off += 2
	return int16(binary.BigEndian.Uint16(d.b[d.off-2:]))
}

func (d *dec) i32() int32 {
	if !d.need(4) {
		return 0
	}
	d.off += 4
	return int32(binary.BigEndian.Uint32(d.b[d.off-4:]))
}

func (d *dec) uvarint() int {
	if !d.need(0) {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 || v > 1<<30 {
		d.ok = false
		return 0
	}
	d.off += n
	return int(v)
}

// uuid reads a 16-byte id.
func (d *dec) uuid(id *topicID) bool {
	if !d.need(16) {
		return false
	}
	d.off += copy(id[:], d.b[d.off:d.off+16])
	return true
}

// str reads a (nullable, compact when flexible) string.
func (d *dec) str() string {
	var n int
	if d.flex {
		n = d.uvarint() - 1
	} else {
		n = int(d.i16())
	}
	if n <= 0 || !d.need(n) {
		return ""
	}
	d.off += n
	return protocols.Text(d.b[d.off-n : d.off])
}

// arr reads an array length (compact when flexible); -1 for null.
func (d *dec) arr() int {
	if d.flex {
		return d.uvarint() - 1
	}
	return int(d.i32())
}

// tags skips tagged fields.
func (d *dec) tags() {
	n := d.uvarint()
	for i := 0; i < n && d.ok; i++ {
		d.uvarint()
		l := d.uvarint()
		if d.need(l) {
			d.off += l
		}
	}
}

func skipTags(b []byte, off int) (int, bool) {
	d := dec{b: b, off: off, ok: true}
	d.tags()
	return d.off, d.ok
}

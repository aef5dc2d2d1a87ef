// Package conntrack turns socket events (internal/sockevent) into
// protocol records: it keeps per-connection state, recognises the protocol
// on the first bytes, feeds the protocol's parsers in stream order (with
// gaps), pairs requests with responses and reports each pair.
//
// HTTP/1 is built in and reported as Records. Other protocols plug in
// through the Protocol and Session interfaces.
//
// A Tracker is not safe for concurrent use: OnOpen, OnData, OnClose, Tick,
// Flush and Stats must be called from one goroutine (the one reading the
// tracer's events).
package conntrack

import (
	"net/netip"
	"time"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// Defaults for Config.
const (
	DefaultMaxConns        = 16384
	DefaultMaxConnBuffer   = 64 << 10
	DefaultMaxPending      = 64
	DefaultIdleTimeout     = 5 * time.Minute
	DefaultResponseTimeout = time.Minute
	DefaultDetectChunks    = 8
)

// Chunks shorter than sniffShort are kept (up to sniffLen bytes) and joined
// with the next ones for protocol detection.
const (
	sniffLen   = 64
	sniffShort = 16
)

// Config bounds a Tracker. Zero values take the defaults.
type Config struct {
	// MaxConns bounds the tracked connections; beyond it the least
	// recently active one is evicted (its pending requests reported).
	MaxConns int
	// MaxConnBuffer bounds the bytes held per connection and direction
	// (parser buffers plus requests awaiting their response).
	MaxConnBuffer int
	// MaxPending bounds the requests awaiting a response per connection.
	MaxPending int
	// IdleTimeout: a connection without events for this long is closed by
	// Tick (pending requests reported without response).
	IdleTimeout time.Duration
	// ResponseTimeout: a request whose response has not come this long
	// after the request ended is reported without response by Tick.
	ResponseTimeout time.Duration
	// DetectChunks is the number of chunks looked at to recognise a
	// connection's protocol before ignoring it (four times as many for
	// connections that were open before tracing started).
	DetectChunks int
	// HTTP configures the HTTP/1 parsers (header and body capture limits).
	HTTP http1.Config
	// OnIgnore, when set, is called (synchronously, once) when a
	// connection is given up on: no protocol recognised, or it switched to
	// one nobody parses. Its payload will not be looked at again; the
	// tracer stops copying it (tracer.Mute). Must not call the Tracker.
	OnIgnore func(sockevent.ConnID)
}

func (c *Config) setDefaults() {
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnBuffer <= 0 {
		c.MaxConnBuffer = DefaultMaxConnBuffer
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ResponseTimeout <= 0 {
		c.ResponseTimeout = DefaultResponseTimeout
	}
	if c.DetectChunks <= 0 {
		c.DetectChunks = DefaultDetectChunks
	}
}

// ConnInfo describes a connection.
type ConnInfo struct {
	ID sockevent.ConnID
	// Role is the traced process's side: from accept/connect, or inferred
	// from the direction of the first request seen (RoleInferred is set).
	Role         sockevent.Role
	RoleInferred bool
	Local        netip.AddrPort // zero when unknown
	Remote       netip.AddrPort // zero when unknown
	IPv6         bool
	// Existing: the connection was open before tracing started (or its
	// open was not seen), so parsing started mid-stream.
	Existing bool
	// OpenNs is the time of the open (or first sighting), Unix ns.
	OpenNs int64
	// Protocol is the recognised protocol's name, "" until recognised.
	Protocol string
	// TLS: the connection is encrypted and what is parsed is the plaintext
	// of its TLS library calls (sockevent.Data.TLS).
	TLS bool
}

// Unanswered tells why a Record has no response.
type Unanswered uint8

const (
	// Answered: the record has a response.
	Answered Unanswered = iota
	// ConnClosed: the connection closed before a response came.
	ConnClosed
	// TimedOut: no response within Config.ResponseTimeout.
	TimedOut
	// Evicted: the connection was dropped (MaxConns) or expired idle.
	Evicted
	// ResponseLost: a later response was matched to a later request, so
	// this request's response went missing (gaps in the capture).
	ResponseLost
	// Overflow: too many requests awaited a response (MaxPending,
	// MaxConnBuffer); the oldest was reported.
	Overflow
)

func (u Unanswered) String() string {
	switch u {
	case Answered:
		return "answered"
	case ConnClosed:
		return "closed"
	case TimedOut:
		return "timeout"
	case Evicted:
		return "evicted"
	case ResponseLost:
		return "lost"
	case Overflow:
		return "overflow"
	}
	return "unknown"
}

// Record is one HTTP/1 exchange: a request and its response.
//
// A Record and its Messages are only valid during the callback: the tracker
// reuses them afterwards. The strings in the Messages may be kept (they
// are immutable); to keep a Message or its Headers slice, Clone it.
type Record struct {
	Conn ConnInfo
	// Req is the request (never nil).
	Req *http1.Message
	// Resp is the response, nil when none was seen (see Unanswered).
	Resp       *http1.Message
	Unanswered Unanswered
}

// StartNs is the time of the request's first byte.
func (r *Record) StartNs() int64 { return r.Req.StartNs }

// EndNs is the time of the response's last byte (the request's last byte
// when there is no response).
func (r *Record) EndNs() int64 {
	if r.Resp != nil {
		return r.Resp.EndNs
	}
	return r.Req.EndNs
}

// Duration is EndNs - StartNs (never negative).
func (r *Record) Duration() time.Duration {
	d := r.EndNs() - r.StartNs()
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}

// Stats counts what a Tracker did.
type Stats struct {
	// HTTP sums the HTTP/1 parsers' counters: messages, interim responses,
	// parse errors, oversized heads, dropped partial messages, resyncs,
	// gaps as the parsers saw them (including capped payloads).
	HTTP http1.Stats

	Records    uint64 // records reported
	Unanswered uint64 // records reported without a response (all reasons)
	TimedOut   uint64 // ... of which because of ResponseTimeout
	Overflow   uint64 // ... of which because of MaxPending/MaxConnBuffer
	Orphans    uint64 // responses without a request, dropped

	Conns          int    // connections tracked now
	ConnsOpened    uint64 // connections started (open, or first data)
	ConnsMidStream uint64 // ... of which first seen mid-stream
	ConnsHTTP      uint64 // connections recognised as HTTP/1
	ConnsOther     uint64 // connections recognised by a registered protocol
	ConnsUnknown   uint64 // connections whose protocol was not recognised
	RolesInferred  uint64 // unknown roles inferred from the first request
	Tunnels        uint64 // connections that switched protocols (101, CONNECT)
	ConnsTLS       uint64 // connections read as TLS plaintext
	Evicted        uint64 // connections evicted at MaxConns
	Expired        uint64 // idle connections closed by Tick
	Reused         uint64 // fd reused by a newer connection before its close was seen
	Stale          uint64 // events of an older connection generation, ignored

	Gaps         uint64 // position jumps (lost chunks)
	GapBytes     uint64 // bytes in those jumps
	Truncated    uint64 // chunks whose payload was shorter than their size
	Overlaps     uint64 // chunks that repeated bytes already seen
	IgnoredBytes uint64 // bytes of unrecognised or switched connections
}

// Tracker implements sockevent.Handler.
type Tracker struct {
	cfg      Config
	onRecord func(*Record)

	conns      map[connKey]*conn
	head, tail *conn // LRU list, head = most recently active
	free       []*conn
	protos     []Protocol
	http       *httpProto
	stats      Stats
	rec        Record
}

var _ sockevent.Handler = (*Tracker)(nil)

type connKey struct {
	pid uint32
	fd  int32
}

type connState uint8

const (
	connDetecting connState = iota
	connActive
	connIgnored
)

type sniff struct {
	buf [sniffLen]byte
	n   int
	pos uint64 // stream position of buf[0]
	ts  int64
}

type conn struct {
	info       ConnInfo
	prev, next *conn
	lastNs     int64
	state      connState
	seen       [2]uint64 // stream position up to which bytes were seen
	fed        [2]uint64 // stream position up to which the session was fed
	sess       Session
	sniff      [2]sniff
	chunks     int    // chunks examined while detecting
	excluded   uint64 // protocols that said No (bit i = protos[i])
}

// New returns a Tracker that reports HTTP/1 records to onRecord, called
// synchronously from OnData, OnClose, Tick and Flush. onRecord must not call
// the Tracker.
func New(cfg Config, onRecord func(*Record)) *Tracker {
	cfg.setDefaults()
	t := &Tracker{
		cfg:      cfg,
		onRecord: onRecord,
		conns:    make(map[connKey]*conn),
	}
	t.http = newHTTPProto(t)
	t.protos = []Protocol{t.http}
	return t
}

// Register adds a protocol, asked after those already registered. At most
// 64 protocols.
func (t *Tracker) Register(p Protocol) {
	if len(t.protos) < 64 {
		t.protos = append(t.protos, p)
	}
}

// Stats returns a snapshot of the counters.
func (t *Tracker) Stats() Stats {
	s := t.stats
	s.HTTP = t.http.stats
	s.Conns = len(t.conns)
	return s
}

// Len is the number of tracked connections.
func (t *Tracker) Len() int { return len(t.conns) }

// Buffered is the number of bytes held by all connections' sessions.
func (t *Tracker) Buffered() int {
	n := 0
	for c := t.head; c != nil; c = c.next {
		if c.sess != nil {
			n += c.sess.Buffered()
		}
	}
	return n
}

// OnOpen implements sockevent.Handler.
func (t *Tracker) OnOpen(o *sockevent.Open) {
	key := connKey{o.ID.PID, o.ID.FD}
	if c := t.conns[key]; c != nil {
		switch {
		case c.info.ID.Gen == o.ID.Gen:
			// A repeated open: fill in what we did not know.
			if c.info.Role == sockevent.RoleUnknown && o.Role != sockevent.RoleUnknown && c.state == connDetecting {
				c.info.Role = o.Role
			}
			if !c.info.Local.IsValid() {
				c.info.Local = o.Local
			}
			if !c.info.Remote.IsValid() {
				c.info.Remote = o.Remote
			}
			return
		case o.ID.Gen < c.info.ID.Gen:
			t.stats.Stale++
			return
		}
		t.stats.Reused++
		t.closeConn(c, o.TimeNs, ConnClosed)
	}
	c := t.newConn(key, o.ID, o.TimeNs)
	c.info.Role = o.Role
	c.info.Local, c.info.Remote = o.Local, o.Remote
	c.info.IPv6 = o.IPv6
	c.info.Existing = o.Existing
	if o.Existing {
		t.stats.ConnsMidStream++
	}
}

// OnData implements sockevent.Handler.
func (t *Tracker) OnData(d *sockevent.Data) {
	key := connKey{d.ID.PID, d.ID.FD}
	c := t.conns[key]
	if c != nil && c.info.ID.Gen != d.ID.Gen {
		if d.ID.Gen < c.info.ID.Gen {
			t.stats.Stale++
			return
		}
		t.stats.Reused++
		t.closeConn(c, d.TimeNs, ConnClosed)
		c = nil
	}
	if c == nil {
		// No open seen: parse as a connection open before tracing.
		c = t.newConn(key, d.ID, d.TimeNs)
		c.info.Existing = true
		t.stats.ConnsMidStream++
	}
	t.touch(c, d.TimeNs)
	if d.TLS != c.info.TLS {
		if !d.TLS {
			// Ciphertext of a connection already read as plaintext.
			t.stats.IgnoredBytes += uint64(d.Size)
			return
		}
		t.switchToTLS(c, d.TimeNs)
	}
	if d.Size == 0 {
		return
	}
	dir := d.Dir & 1
	payload := d.Payload
	if uint32(len(payload)) > d.Size {
		payload = payload[:d.Size]
	}
	pos, size := d.Pos, uint64(d.Size)
	if c.state == connIgnored {
		// Nobody parses it: no gap or truncation to account (a muted
		// connection's records carry sizes only, several syscalls each).
		t.stats.IgnoredBytes += size
		c.seen[dir] = max(c.seen[dir], pos+size)
		return
	}
	seen := c.seen[dir]
	if pos < seen {
		// Bytes already seen (should not happen): keep only the new ones.
		t.stats.Overlaps++
		if pos+size <= seen {
			return
		}
		cut := seen - pos
		if cut >= uint64(len(payload)) {
			payload = nil
		} else {
			payload = payload[cut:]
		}
		pos, size = seen, size-cut
	} else if pos > seen {
		t.stats.Gaps++
		t.stats.GapBytes += pos - seen
	}
	c.seen[dir] = pos + size
	if uint64(len(payload)) < size {
		t.stats.Truncated++
	}
	switch c.state {
	case connDetecting:
		t.detect(c, dir, pos, payload, size, d.TimeNs)
	case connActive:
		t.feed(c, dir, pos, payload, size, d.TimeNs)
	}
}

// OnClose implements sockevent.Handler.
func (t *Tracker) OnClose(e *sockevent.Close) {
	c := t.conns[connKey{e.ID.PID, e.ID.FD}]
	if c == nil {
		return
	}
	if c.info.ID.Gen != e.ID.Gen {
		if e.ID.Gen < c.info.ID.Gen {
			t.stats.Stale++
			return
		}
		// Close of a newer generation we never saw: the one we track is
		// over too.
	}
	t.closeConn(c, e.TimeNs, ConnClosed)
}

// switchToTLS starts parsing c afresh on its TLS plaintext stream, whose
// offsets start at 0: what was seen before was the handshake's ciphertext.
func (t *Tracker) switchToTLS(c *conn, ts int64) {
	if c.sess != nil {
		s := c.sess
		c.sess = nil
		s.Close(ts, ConnClosed)
	}
	c.info.TLS = true
	c.info.Protocol = ""
	c.state = connDetecting
	c.seen, c.fed = [2]uint64{}, [2]uint64{}
	c.sniff = [2]sniff{}
	c.chunks = 0
	c.excluded = 0
	t.stats.ConnsTLS++
}

// Tick expires idle connections and requests waiting too long for a
// response. Call it periodically (e.g. every second) with the wall clock.
func (t *Tracker) Tick(now time.Time) { t.tick(now.UnixNano()) }

func (t *Tracker) tick(nowNs int64) {
	idleBefore := nowNs - int64(t.cfg.IdleTimeout)
	respBefore := nowNs - int64(t.cfg.ResponseTimeout)
	for c := t.tail; c != nil; {
		prev := c.prev
		switch {
		case c.lastNs < idleBefore:
			t.stats.Expired++
			t.closeConn(c, nowNs, Evicted)
		case c.lastNs < respBefore:
			if c.sess != nil {
				c.sess.Expire(respBefore)
			}
		default:
			return
		}
		c = prev
	}
}

// Flush closes every connection, reporting pending requests without
// response (ConnClosed). Call it at shutdown.
func (t *Tracker) Flush(now time.Time) {
	ns := now.UnixNano()
	for t.head != nil {
		t.closeConn(t.head, ns, ConnClosed)
	}
}

func (t *Tracker) newConn(key connKey, id sockevent.ConnID, ts int64) *conn {
	if len(t.conns) >= t.cfg.MaxConns && t.tail != nil {
		t.stats.Evicted++
		t.closeConn(t.tail, ts, Evicted)
	}
	var c *conn
	if n := len(t.free); n > 0 {
		c = t.free[n-1]
		t.free[n-1] = nil
		t.free = t.free[:n-1]
	} else {
		c = new(conn)
	}
	c.info.ID = id
	c.info.OpenNs = ts
	c.lastNs = ts
	t.conns[key] = c
	t.pushFront(c)
	t.stats.ConnsOpened++
	return c
}

func (t *Tracker) closeConn(c *conn, ts int64, why Unanswered) {
	if c.sess != nil {
		s := c.sess
		c.sess = nil // a re-entrant call must not close it twice
		s.Close(ts, why)
	}
	if c.state == connDetecting && c.seen[0]+c.seen[1] > 0 {
		t.stats.ConnsUnknown++
	}
	delete(t.conns, connKey{c.info.ID.PID, c.info.ID.FD})
	t.unlink(c)
	*c = conn{}
	if len(t.free) < 1024 {
		t.free = append(t.free, c)
	}
}

// detect gathers the first bytes of each direction and asks the protocols.
func (t *Tracker) detect(c *conn, dir sockevent.Direction, pos uint64, payload []byte, size uint64, ts int64) {
	sn := &c.sniff[dir]
	if sn.n > 0 && sn.pos+uint64(sn.n) != pos {
		sn.n = 0 // not contiguous: start over
	}
	probe := payload
	if sn.n > 0 {
		k := copy(sn.buf[sn.n:], payload)
		probe = sn.buf[:sn.n+k]
	}
	start := !c.info.Existing && (sn.n > 0 && sn.pos == 0 || sn.n == 0 && pos == 0)
	chosen, maybe := t.ask(c, dir, probe, start, sn.n == 0)
	if chosen == nil && sn.n > 0 && len(payload) > 0 {
		// The short beginning kept so far may be junk: try this chunk alone.
		var m2 bool
		chosen, m2 = t.ask(c, dir, payload, false, true)
		maybe = maybe || m2
		if chosen != nil {
			sn.n = 0
		}
	}
	if chosen != nil {
		c.state = connActive
		c.info.Protocol = chosen.Name()
		if chosen == Protocol(t.http) {
			t.stats.ConnsHTTP++
		} else {
			t.stats.ConnsOther++
		}
		c.sess = chosen.NewSession(&c.info)
		// Feed the short beginnings gathered before this chunk, oldest
		// first, then this chunk.
		d1, d2 := 1-dir, dir
		if c.sniff[d1].n > 0 && c.sniff[d2].n > 0 && c.sniff[d2].ts < c.sniff[d1].ts {
			d1, d2 = d2, d1
		}
		for _, d := range [2]sockevent.Direction{d1, d2} {
			if sn := &c.sniff[d]; sn.n > 0 && c.state == connActive {
				n := sn.n
				sn.n = 0
				t.feed(c, d, sn.pos, sn.buf[:n], uint64(n), sn.ts)
			}
		}
		if c.state == connActive {
			t.feed(c, dir, pos, payload, size, ts)
		}
		c.sniff = [2]sniff{}
		return
	}
	// A short contiguous beginning is kept and looked at again with the
	// next bytes (below). Such chunks do not count against DetectChunks:
	// a client writing its request a byte at a time would otherwise use
	// them up before "OPTIONS " is even complete. They are bounded by
	// sniffShort bytes.
	gather := uint64(len(payload)) == size && len(probe) < sniffShort && len(probe) == sn.n+len(payload)
	if !gather {
		c.chunks++
	}
	limit := t.cfg.DetectChunks
	if c.info.Existing {
		limit *= 4
	}
	if !maybe || c.chunks >= limit {
		c.state = connIgnored
		c.sniff = [2]sniff{}
		t.stats.ConnsUnknown++
		t.stats.IgnoredBytes += size
		t.ignored(c)
		return
	}
	// Keep short contiguous beginnings: a protocol may need a few more bytes.
	if gather {
		if sn.n == 0 {
			copy(sn.buf[:], payload)
			sn.pos, sn.ts = pos, ts
		}
		sn.n = len(probe)
	} else {
		sn.n = 0
	}
}

// ask runs the protocols' Detect on b. With exclude, a protocol that says
// No is not asked again for this connection.
func (t *Tracker) ask(c *conn, dir sockevent.Direction, b []byte, start, exclude bool) (chosen Protocol, maybe bool) {
	if len(b) == 0 {
		return nil, true // nothing to look at (sendfile, capped to 0)
	}
	for i, p := range t.protos {
		if c.excluded&(1<<uint(i)) != 0 {
			continue
		}
		switch p.Detect(&c.info, dir, b, start) {
		case Yes:
			return p, false
		case No:
			if exclude {
				c.excluded |= 1 << uint(i)
			}
		default:
			maybe = true
		}
	}
	return nil, maybe
}

// feed hands a chunk to the session, with the gap before it and the bytes
// missing from its payload.
func (t *Tracker) feed(c *conn, dir sockevent.Direction, pos uint64, payload []byte, size uint64, ts int64) {
	s := c.sess
	if fed := c.fed[dir]; pos > fed {
		s.Skip(dir, pos-fed, ts)
	}
	if len(payload) > 0 {
		s.Data(dir, payload, ts)
	}
	if miss := size - uint64(len(payload)); miss > 0 {
		s.Skip(dir, miss, ts)
	}
	c.fed[dir] = pos + size
	if s.Done() {
		c.state = connIgnored
		c.sess = nil
		s.Close(ts, ConnClosed)
		t.stats.Tunnels++
		t.ignored(c)
	}
}

// ignored reports a connection given up on to Config.OnIgnore.
func (t *Tracker) ignored(c *conn) {
	if t.cfg.OnIgnore != nil {
		t.cfg.OnIgnore(c.info.ID)
	}
}

func (t *Tracker) touch(c *conn, ts int64) {
	if ts > c.lastNs {
		c.lastNs = ts
	}
	if t.head != c {
		t.unlink(c)
		t.pushFront(c)
	}
}

func (t *Tracker) pushFront(c *conn) {
	c.prev, c.next = nil, t.head
	if t.head != nil {
		t.head.prev = c
	}
	t.head = c
	if t.tail == nil {
		t.tail = c
	}
}

func (t *Tracker) unlink(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if t.head == c {
		t.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if t.tail == c {
		t.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// emit reports a record and recycles its messages.
func (t *Tracker) emit(info *ConnInfo, req, resp *http1.Message, why Unanswered) {
	r := &t.rec
	r.Conn = *info
	r.Req, r.Resp, r.Unanswered = req, resp, why
	t.stats.Records++
	if resp == nil {
		t.stats.Unanswered++
		switch why {
		case TimedOut:
			t.stats.TimedOut++
		case Overflow:
			t.stats.Overflow++
		}
	}
	if t.onRecord != nil {
		t.onRecord(r)
	}
	r.Req, r.Resp = nil, nil
	t.http.pool.Put(req)
	t.http.pool.Put(resp)
}

// ProtocolOf returns the recognised protocol of a tracked connection, ""
// while it is not recognised or when the connection is not tracked.
func (t *Tracker) ProtocolOf(id sockevent.ConnID) string {
	c := t.conns[connKey{id.PID, id.FD}]
	if c == nil || c.info.ID.Gen != id.Gen {
		return ""
	}
	return c.info.Protocol
}

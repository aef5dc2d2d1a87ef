package kafka

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// No Debian package ships a Kafka broker: these messages are built by hand
// following the protocol's message definitions (the byte layout franz-go
// and librdkafka produce for these API versions).

type enc struct{ b []byte }

func (e *enc) i8(v int8)   { e.b = append(e.b, byte(v)) }
func (e *enc) i16(v int16) { e.b = binary.BigEndian.AppendUint16(e.b, uint16(v)) }
func (e *enc) i32(v int32) { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }
func (e *enc) i64(v int64) { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }
func (e *enc) str(s string) {
	e.i16(int16(len(s)))
	e.b = append(e.b, s...)
}
func (e *enc) cstr(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)+1))
	e.b = append(e.b, s...)
}
func (e *enc) carr(n int) { e.b = binary.AppendUvarint(e.b, uint64(n+1)) }
func (e *enc) tags()      { e.b = append(e.b, 0) }
func (e *enc) msg() []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(e.b))), e.b...)
}

func reqHeader(key, ver int16, corr int32, flex bool) *enc {
	e := &enc{}
	e.i16(key)
	e.i16(ver)
	e.i32(corr)
	e.str("app-1")
	if flex {
		e.tags()
	}
	return e
}

func apiVersionsMsgs(corr int32) (req, resp []byte) {
	e := reqHeader(apiVersions, 3, corr, true)
	e.cstr("franz-go")
	e.cstr("1.17.0")
	e.tags()
	r := &enc{}
	r.i32(corr) // ApiVersions responses keep the v0 header
	r.i16(0)
	r.carr(0)
	r.i32(0)
	r.tags()
	return e.msg(), r.msg()
}

func produce(corr int32, ver int16, topic string, errCode int16) (req, resp []byte) {
	flex := ver >= 9
	e := reqHeader(apiProduce, ver, corr, flex)
	r := &enc{}
	r.i32(corr)
	if flex {
		r.tags()
		e.cstr("")
		e.i16(-1)
		e.i32(30000)
		e.carr(1)
		e.cstr(topic)
		e.carr(1)
		e.i32(2)
		e.cstr("RECORDS")
		e.tags()
		e.tags()
		e.tags()
		r.carr(1)
		r.cstr(topic)
		r.carr(1)
		r.i32(2)
		r.i16(errCode)
	} else {
		e.i16(-1) // null transactional id
		e.i16(1)
		e.i32(30000)
		e.i32(1)
		e.str(topic)
		e.i32(1)
		e.i32(2)
		e.i32(7)
		e.b = append(e.b, "RECORDS"...)
		r.i32(1)
		r.str(topic)
		r.i32(1)
		r.i32(2)
		r.i16(errCode)
	}
	r.i64(42)
	return e.msg(), r.msg()
}

func fetch(corr int32, topic string, errCode int16) (req, resp []byte) {
	e := reqHeader(apiFetch, 11, corr, false)
	e.i32(-1)
	e.i32(500)
	e.i32(1)
	e.i32(52428800)
	e.i8(0)
	e.i32(0)
	e.i32(-1)
	e.i32(1)
	e.str(topic)
	e.i32(1)
	e.i32(0)
	e.i32(-1)
	e.i64(100)
	e.i64(-1)
	e.i32(1048576)
	e.i32(0)
	e.str("")
	r := &enc{}
	r.i32(corr)
	r.i32(0)
	r.i16(0)
	r.i32(0)
	r.i32(1)
	r.str(topic)
	r.i32(1)
	r.i32(0)
	r.i16(errCode)
	return e.msg(), r.msg()
}

func mk(e protocols.Emit) conntrack.Protocol { return New(e) }

func TestKafka(t *testing.T) {
	for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleServer, sockevent.RoleUnknown} {
		h := prototest.New(mk)
		h.Open(role, false)
		var chunks []prototest.Chunk
		add := func(req, resp []byte) {
			chunks = append(chunks, prototest.Chunk{Client: true, B: req}, prototest.Chunk{B: resp})
		}
		add(apiVersionsMsgs(1))
		add(produce(2, 7, "orders", 0))
		add(produce(3, 9, "orders", 0))
		add(fetch(4, "orders", 1))
		// Pipelined: two requests, responses in order.
		r1, p1 := produce(5, 8, "payments", 0)
		r2, p2 := fetch(6, "payments", 0)
		chunks = append(chunks, prototest.Chunk{Client: true, B: r1}, prototest.Chunk{Client: true, B: r2},
			prototest.Chunk{B: append(p1, p2...)})
		h.Replay(role, chunks)
		h.Close()
		want := []string{
			"ApiVersions messaging.client.id=app-1 messaging.kafka.api=ApiVersions messaging.kafka.api_version=3 messaging.system=kafka",
			"send orders messaging.client.id=app-1 messaging.destination.name=orders messaging.destination.partition.id=2 messaging.kafka.api=Produce messaging.kafka.api_version=7 messaging.operation.name=send messaging.operation.type=send messaging.system=kafka",
			"send orders messaging.client.id=app-1 messaging.destination.name=orders messaging.destination.partition.id=2 messaging.kafka.api=Produce messaging.kafka.api_version=9 messaging.operation.name=send messaging.operation.type=send messaging.system=kafka",
			"poll orders ERROR(1) messaging.client.id=app-1 messaging.destination.name=orders messaging.destination.partition.id=0 messaging.kafka.api=Fetch messaging.kafka.api_version=11 messaging.operation.name=poll messaging.operation.type=receive messaging.system=kafka",
			"send payments messaging.client.id=app-1 messaging.destination.name=payments messaging.destination.partition.id=2 messaging.kafka.api=Produce messaging.kafka.api_version=8 messaging.operation.name=send messaging.operation.type=send messaging.system=kafka",
			"poll payments messaging.client.id=app-1 messaging.destination.name=payments messaging.destination.partition.id=0 messaging.kafka.api=Fetch messaging.kafka.api_version=11 messaging.operation.name=poll messaging.operation.type=receive messaging.system=kafka",
		}
		if got := h.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("role %v got:\n%s", role, strings.Join(got, "\n"))
		}
		for _, g := range h.Got {
			if g.EndNs <= g.StartNs {
				t.Errorf("%s: no latency", g.Name)
			}
		}
	}
}

func TestDetect(t *testing.T) {
	p := New(nil)
	req, _ := produce(2, 7, "orders", 0)
	for _, tc := range []struct {
		b    []byte
		want conntrack.Verdict
	}{
		{req, conntrack.Yes},
		{req[:10], conntrack.Maybe},
		{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), conntrack.No},
	} {
		if got := p.Detect(&conntrack.ConnInfo{}, 0, tc.b, true); got != tc.want {
			t.Errorf("Detect(%x) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

func FuzzKafka(f *testing.F) {
	a, b := produce(2, 7, "orders", 0)
	f.Add(a, b, uint8(0))
	a, b = produce(3, 9, "orders", 1)
	f.Add(a, b, uint8(1))
	a, b = fetch(4, "orders", 1)
	f.Add(a, b, uint8(2))
	a, b = apiVersionsMsgs(1)
	f.Add(a, b, uint8(0))
	a, b = metadata(5, []string{"orders"}, []topicID{ordersID})
	f.Add(a, b, uint8(1))
	a, b = produceV13(6, ordersID, 0)
	f.Add(a, b, uint8(0))
	a, b = fetchV18(7, ordersID, 1)
	f.Add(a, b, uint8(2))
	f.Fuzz(func(t *testing.T, req, resp []byte, mode uint8) {
		h := prototest.New(mk)
		h.Open(sockevent.Role(mode%3), mode&4 != 0)
		d := sockevent.Direction(mode >> 3 & 1)
		h.Write(d, req)
		cut := len(resp) / 2
		h.Write(1-d, resp[:cut])
		if mode&0x10 != 0 {
			h.Gap(1-d, 3)
		}
		h.Write(1-d, resp[cut:])
		h.T.Tick(h.TimeAfter(3600))
		h.Close()
		for _, g := range h.Got {
			if g.Name == "" {
				t.Fatal("empty span name")
			}
		}
	})
}

// grow pads a length-prefixed message with n zero bytes (its length fixed).
func grow(m []byte, n int) []byte {
	b := append(append([]byte(nil), m[4:]...), make([]byte, n)...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// Messages larger than the buffer (a batched Produce, a Fetch with
// records) in one write: parsed from their start, the rest skipped. They
// used to be thrown away whole with every later exchange misread.
func TestLargeMessages(t *testing.T) {
	h := prototest.New(mk)
	h.Open(sockevent.RoleClient, false)
	req, resp := produce(2, 7, "orders", 0)
	h.Write(sockevent.Egress, grow(req, 20000))
	h.Write(sockevent.Ingress, resp)
	freq, fresp := fetch(3, "orders", 0)
	h.Write(sockevent.Egress, freq)
	h.Write(sockevent.Ingress, grow(fresp, 20000))
	h.Close()
	require.Len(t, h.Got, 2, "%v", h.Lines())
	assert.Equal(t, "send orders", h.Got[0].Name)
	assert.Equal(t, "poll orders", h.Got[1].Name)
	assert.False(t, h.Got[0].Error, "%v", h.Lines())
	assert.False(t, h.Got[1].Error, "%v", h.Lines())
}

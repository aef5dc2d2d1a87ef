package kafka

import (
	"strings"
	"testing"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// The versions franz-go 1.22 negotiates with a Kafka 4.1 broker (kfake):
// Metadata v13, Produce v13 and Fetch v18, whose topics are named by their
// ids (KIP-516); Fetch from v15 has no replica_id.

func (e *enc) uuid(id topicID) { e.b = append(e.b, id[:]...) }

var ordersID = topicID{0x8a, 0x1f, 0x02, 0x7c, 0x44, 0x10, 0x4b, 0x9e, 0x91, 0x23, 0x5d, 0x0e, 0x6f, 0x31, 0x77, 0xa2}

// metadata is a Metadata v13 exchange: one broker, topics name → id.
func metadata(corr int32, names []string, ids []topicID) (req, resp []byte) {
	e := reqHeader(apiMetadata, 13, corr, true)
	e.carr(len(names))
	for i := range names {
		e.uuid(topicID{})
		e.cstr(names[i])
		e.tags()
	}
	e.i8(0) // allow_auto_topic_creation
	e.i8(0) // include_topic_authorized_operations
	e.tags()
	r := &enc{}
	r.i32(corr)
	r.tags()
	r.i32(0) // throttle
	r.carr(1)
	r.i32(0)
	r.cstr("127.0.0.1")
	r.i32(9092)
	r.b = append(r.b, 0) // null rack
	r.tags()
	r.cstr("kfake") // cluster id
	r.i32(0)        // controller
	r.carr(len(names))
	for i := range names {
		r.i16(0)
		r.cstr(names[i])
		r.uuid(ids[i])
		r.i8(0)
		r.carr(1) // one partition
		r.i16(0)
		r.i32(0)
		r.i32(0)  // leader
		r.i32(0)  // leader epoch
		r.carr(1) // replicas
		r.i32(0)
		r.carr(1) // isr
		r.i32(0)
		r.carr(0) // offline
		r.tags()
		r.i32(-2147483648)
		r.tags()
	}
	r.i16(0) // error code (v13)
	r.tags()
	return e.msg(), r.msg()
}

func produceV13(corr int32, id topicID, errCode int16) (req, resp []byte) {
	e := reqHeader(apiProduce, 13, corr, true)
	e.b = append(e.b, 0) // null transactional id
	e.i16(-1)
	e.i32(30000)
	e.carr(1)
	e.uuid(id)
	e.carr(1)
	e.i32(0)
	e.cstr("RECORDS")
	e.tags()
	e.tags()
	e.tags()
	r := &enc{}
	r.i32(corr)
	r.tags()
	r.carr(1)
	r.uuid(id)
	r.carr(1)
	r.i32(0)
	r.i16(errCode)
	r.i64(42)
	return e.msg(), r.msg()
}

func fetchV18(corr int32, id topicID, errCode int16) (req, resp []byte) {
	e := reqHeader(apiFetch, 18, corr, true)
	e.i32(5000)
	e.i32(1)
	e.i32(52428800)
	e.i8(0)
	e.i32(0)
	e.i32(0)
	e.carr(1)
	e.uuid(id)
	e.carr(1)
	e.i32(0)  // partition
	e.i32(-1) // current leader epoch
	e.i64(0)  // fetch offset
	e.i32(-1) // last fetched epoch
	e.i64(-1) // log start offset
	e.i32(1048576)
	e.tags()
	e.tags()
	e.carr(0) // forgotten topics
	e.cstr("")
	e.tags()
	r := &enc{}
	r.i32(corr)
	r.tags()
	r.i32(0)
	r.i16(0)
	r.i32(0)
	r.carr(1)
	r.uuid(id)
	r.carr(1)
	r.i32(0)
	r.i16(errCode)
	return e.msg(), r.msg()
}

func TestTopicIDs(t *testing.T) {
	for _, role := range []sockevent.Role{sockevent.RoleClient, sockevent.RoleServer} {
		h := prototest.New(mk)
		h.Open(role, false)
		var chunks []prototest.Chunk
		add := func(req, resp []byte) {
			chunks = append(chunks, prototest.Chunk{Client: true, B: req}, prototest.Chunk{B: resp})
		}
		other := topicID{1, 2, 3}
		// A Produce whose Metadata comes after its request but before
		// its response still gets the name.
		early, earlyResp := produceV13(1, ordersID, 0)
		md, mdResp := metadata(2, []string{"orders"}, []topicID{ordersID})
		chunks = append(chunks, prototest.Chunk{Client: true, B: early}, prototest.Chunk{Client: true, B: md},
			prototest.Chunk{B: mdResp}, prototest.Chunk{B: earlyResp})
		add(produceV13(3, ordersID, 0))
		add(fetchV18(4, ordersID, 1))
		add(fetchV18(5, other, 0)) // an id no Metadata named
		h.Replay(role, chunks)
		h.Close()
		want := []string{
			"Metadata messaging.client.id=app-1 messaging.kafka.api=Metadata messaging.kafka.api_version=13 messaging.system=kafka",
			"send orders messaging.client.id=app-1 messaging.destination.name=orders messaging.destination.partition.id=0 messaging.kafka.api=Produce messaging.kafka.api_version=13 messaging.operation.name=send messaging.operation.type=send messaging.system=kafka",
			"send orders messaging.client.id=app-1 messaging.destination.name=orders messaging.destination.partition.id=0 messaging.kafka.api=Produce messaging.kafka.api_version=13 messaging.operation.name=send messaging.operation.type=send messaging.system=kafka",
			"poll orders ERROR(1) messaging.client.id=app-1 messaging.destination.name=orders messaging.destination.partition.id=0 messaging.kafka.api=Fetch messaging.kafka.api_version=18 messaging.operation.name=poll messaging.operation.type=receive messaging.system=kafka",
			"poll messaging.client.id=app-1 messaging.kafka.api=Fetch messaging.kafka.api_version=18 messaging.operation.name=poll messaging.operation.type=receive messaging.system=kafka",
		}
		if got := h.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("role %v got:\n%s", role, strings.Join(got, "\n"))
		}
	}
}

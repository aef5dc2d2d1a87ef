package kafka

import (
	"testing"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// BenchmarkReplay parses produce and fetch exchanges (client side) per iteration.
func BenchmarkReplay(b *testing.B) {
	var c []prototest.Chunk
	for i := int32(0); i < 8; i++ {
		req, resp := produce(2*i, 9, "orders", 0)
		c = append(c, prototest.Chunk{Client: true, B: req}, prototest.Chunk{B: resp})
		req, resp = fetch(2*i+1, "orders", 0)
		c = append(c, prototest.Chunk{Client: true, B: req}, prototest.Chunk{B: resp})
	}
	prototest.Bench(b, mk, sockevent.RoleClient, c)
}

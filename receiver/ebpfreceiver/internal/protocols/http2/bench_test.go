package http2

import (
	"testing"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// BenchmarkReplay parses a gRPC/HTTP/2 conversation (client side) per iteration.
func BenchmarkReplay(b *testing.B) {
	prototest.Bench(b, mk, sockevent.RoleClient, conversation())
}

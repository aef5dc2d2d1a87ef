package pgsql

import (
	"testing"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols/prototest"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// BenchmarkReplay parses a recorded session (client side) per iteration.
func BenchmarkReplay(b *testing.B) {
	prototest.Bench(b, mk, sockevent.RoleClient, load(b, "pg_simple.txt"))
}

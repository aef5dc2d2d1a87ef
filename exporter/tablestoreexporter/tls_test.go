package tablestoreexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// TestTLSSpanIsEncrypted: a span the ebpf receiver read from TLS plaintext
// (tls.protocol.name, url.scheme=https) is an encrypted http_events row.
func TestTLSSpanIsEncrypted(t *testing.T) {
	td := ebpfTraces()
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	span.Attributes().PutStr("tls.protocol.name", "tls")
	span.Attributes().PutStr("url.scheme", "https")

	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	require.NoError(t, e.ConsumeTraces(context.Background(), td))
	rows := dumpTable(t, store.Table(tablestore.TableHTTPEvents))
	require.Len(t, rows, 2)
	assert.Equal(t, true, rows[0]["encrypted"])
	assert.Equal(t, false, rows[1]["encrypted"])
}

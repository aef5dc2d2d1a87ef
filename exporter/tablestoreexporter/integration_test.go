package tablestoreexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-ebpf/otelcol-ebpf/exporter/tablestoreexporter/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/extension/tablestoreextension"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// TestWithExtension runs the exporter against the real table_store
// extension, found through the host by its ID.
func TestWithExtension(t *testing.T) {
	ef := tablestoreextension.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*tablestoreextension.Config)
	ecfg.HTTP.NetAddr.Endpoint = "127.0.0.1:0"
	ecfg.MaxBytes = 1 << 30
	id := component.MustNewIDWithName("table_store", "node")
	eset := extensiontest.NewNopSettings(ef.Type())
	eset.ID = id
	ext, err := ef.Create(context.Background(), eset, ecfg)
	require.NoError(t, err)
	h := host{exts: map[component.ID]component.Component{id: ext}}
	require.NoError(t, ext.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })

	cfg := createDefaultConfig().(*Config)
	cfg.Extension = id
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	// The default ID (table_store) is not in this host: a clear error.
	wrong, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), createDefaultConfig())
	require.NoError(t, err)
	require.ErrorContains(t, wrong.Start(context.Background(), h), `extension "table_store" not found`)

	require.NoError(t, exp.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	td := ebpfTraces()
	// The store's clock is real: move the spans to now.
	shiftTimes(td, pcommon.Timestamp(time.Since(fixedNow)))
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))

	store := ext.(tablestore.Provider).TableStore()
	assert.Equal(t, int64(2), store.Table(tablestore.TableHTTPEvents).Stats().Rows)
	assert.Equal(t, int64(3), store.Table(tablestore.TableSpans).Stats().Rows)
	assert.Zero(t, store.Table(tablestore.TableHTTPEvents).Stats().DroppedFuture)
}

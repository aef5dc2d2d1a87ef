package tablestoreexporter

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/otelcol-ebpf/otelcol-ebpf/exporter/tablestoreexporter/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fakeExt stands in for the table_store extension.
type fakeExt struct {
	component.StartFunc
	component.ShutdownFunc
	store *tablestore.Store
}

func (f *fakeExt) TableStore() *tablestore.Store { return f.store }

type otherExt struct {
	component.StartFunc
	component.ShutdownFunc
}

type host struct {
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

var (
	fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	extID    = component.MustNewID("table_store")
)

// newStore returns a store on a checked allocator whose clock is fixedNow.
func newStore(t testing.TB) *tablestore.Store {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	s, err := tablestore.New(tablestore.Config{
		MaxBytes: 256 << 20, Now: func() time.Time { return fixedNow }, Allocator: mem,
		MaintenanceInterval: -1, LateTolerance: time.Hour, MaxFuture: 24 * time.Hour,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		mem.AssertSize(t, 0)
	})
	return s
}

// startExporter creates an exporter of the given config against store.
func startExporter(t testing.TB, cfg *Config, store *tablestore.Store) *tableExporter {
	set := exportertest.NewNopSettings(metadata.Type)
	exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host{exts: map[component.ID]component.Component{extID: &fakeExt{store: store}}}))
	e := exp.(*tableExporter)
	e.now = func() time.Time { return fixedNow }
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return e
}

// dumpTable returns the table's rows as JSON-able maps, in time order.
func dumpTable(t testing.TB, tb *tablestore.Table) []map[string]any {
	var out []map[string]any
	require.NoError(t, tb.Scan(context.Background(), tablestore.ScanOptions{}, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				col := rec.Column(c)
				switch a := col.(type) {
				case *array.Timestamp:
					row[f.Name] = int64(a.Value(i))
				case *array.Int64:
					row[f.Name] = a.Value(i)
				case *array.Float64:
					row[f.Name] = a.Value(i)
				case *array.Boolean:
					row[f.Name] = a.Value(i)
				default:
					row[f.Name] = tablestore.StringValue(col, i)
				}
			}
			out = append(out, row)
		}
		return nil
	}))
	return out
}

// checkGolden compares rows with testdata/golden/<name>.json.
func checkGolden(t *testing.T, name string, rows []map[string]any) {
	t.Helper()
	got, err := json.MarshalIndent(rows, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.JSONEq(t, string(want), string(got), name)
}

func TestLifecycle(t *testing.T) {
	store := newStore(t)
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	set := exportertest.NewNopSettings(metadata.Type)
	withExt := host{exts: map[component.ID]component.Component{extID: &fakeExt{store: store}}}

	tr, err := f.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	me, err := f.CreateMetrics(context.Background(), set, cfg)
	require.NoError(t, err)
	lo, err := f.CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	for _, c := range []component.Component{tr, me, lo} {
		// Without the extension: a clear error.
		err := c.Start(context.Background(), componenttest.NewNopHost())
		require.ErrorContains(t, err, `extension "table_store" not found`)
		// With something else under that ID.
		err = c.Start(context.Background(), host{exts: map[component.ID]component.Component{extID: otherExt{}}})
		require.ErrorContains(t, err, "not a table_store extension")
		// With an extension that has no store (not started).
		err = c.Start(context.Background(), host{exts: map[component.ID]component.Component{extID: &fakeExt{}}})
		require.ErrorContains(t, err, "has no store")
		require.NoError(t, c.Start(context.Background(), withExt))
		require.NoError(t, c.Shutdown(context.Background()))
	}
	assert.False(t, tr.Capabilities().MutatesData)

	// Consuming before Start is a permanent error, not a crash.
	tr2, err := f.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.Error(t, tr2.ConsumeTraces(context.Background(), ebpfTraces()))

	// After the store closed, consuming fails (permanently) too.
	require.NoError(t, tr.Start(context.Background(), withExt))
	require.NoError(t, store.Close())
	require.ErrorIs(t, tr.ConsumeTraces(context.Background(), ebpfTraces()), tablestore.ErrClosed)
}

package tablestoreextension

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/extension/tablestoreextension/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// tableStoreExtension owns the store, reports its metrics and serves HTTP.
type tableStoreExtension struct {
	cfg *Config
	set extension.Settings

	mu     sync.RWMutex
	store  *tablestore.Store
	server *http.Server
	reg    metric.Registration
	addr   net.Addr // where the server listens (tests use port 0)
	served sync.WaitGroup

	// for tests
	now func() time.Time
}

var (
	_ extension.Extension = (*tableStoreExtension)(nil)
	_ tablestore.Provider = (*tableStoreExtension)(nil)
)

func newExtension(set extension.Settings, cfg *Config) *tableStoreExtension {
	return &tableStoreExtension{cfg: cfg, set: set, now: time.Now}
}

// TableStore returns the store, or nil when the extension is not running.
func (e *tableStoreExtension) TableStore() *tablestore.Store {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.store
}

// Start creates the store, registers its metrics and starts the HTTP server.
func (e *tableStoreExtension) Start(ctx context.Context, host component.Host) error {
	if err := e.cfg.Validate(); err != nil {
		return err
	}
	sc := e.cfg.storeConfig()
	sc.Now = e.now
	store, err := tablestore.New(sc)
	if err != nil {
		return fmt.Errorf("table_store: %w", err)
	}
	reg, err := registerMetrics(e.set.TelemetrySettings.MeterProvider.Meter(metadata.ScopeName), store)
	if err != nil {
		_ = store.Close()
		return fmt.Errorf("table_store: metrics: %w", err)
	}
	ln, err := e.cfg.HTTP.ToListener(ctx)
	if err != nil {
		_ = reg.Unregister()
		_ = store.Close()
		return fmt.Errorf("table_store: listen on %s: %w", e.cfg.HTTP.NetAddr.Endpoint, err)
	}
	srv, err := e.cfg.HTTP.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, newHandler(store, e.set.Logger, e.cfg.redact()))
	if err != nil {
		_ = ln.Close()
		_ = reg.Unregister()
		_ = store.Close()
		return fmt.Errorf("table_store: http server: %w", err)
	}
	e.mu.Lock()
	e.store, e.server, e.reg, e.addr = store, srv, reg, ln.Addr()
	e.mu.Unlock()
	e.served.Add(1)
	go func() {
		defer e.served.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	e.set.Logger.Info("table store started",
		zap.String("endpoint", ln.Addr().String()),
		zap.Int64("max_bytes", e.cfg.MaxBytes),
		zap.Duration("retention", e.cfg.Retention))
	return nil
}

// Shutdown stops the server and frees the store.
func (e *tableStoreExtension) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	store, srv, reg := e.store, e.server, e.reg
	e.store, e.server, e.reg = nil, nil, nil
	e.mu.Unlock()
	var errs []error
	if srv != nil {
		errs = append(errs, srv.Shutdown(ctx))
		e.served.Wait()
	}
	if reg != nil {
		errs = append(errs, reg.Unregister())
	}
	if store != nil {
		errs = append(errs, store.Close())
	}
	return errors.Join(errs...)
}

// registerMetrics reports per-table statistics with the component's meter.
func registerMetrics(meter metric.Meter, store *tablestore.Store) (metric.Registration, error) {
	var errs []error
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	rows := gauge("otelcol_table_store_rows", "{rows}", "Rows held by the table.")
	bytes := gauge("otelcol_table_store_bytes", "By", "Bytes held by the table (Arrow allocations and Go-side estimates).")
	budget := gauge("otelcol_table_store_budget_bytes", "By", "Byte budget of the table.")
	appended := counter("otelcol_table_store_rows_appended", "{rows}", "Rows stored since start.")
	evictedRows := counter("otelcol_table_store_rows_evicted", "{rows}", "Rows evicted by retention (time or bytes).")
	evictions := counter("otelcol_table_store_evictions", "{batches}", "Batches evicted, by reason (time, bytes).")
	dropped := counter("otelcol_table_store_rows_dropped", "{rows}", "Rows dropped on append, by reason (late, future).")
	errCount := counter("otelcol_table_store_errors", "{values}", "Bad input values replaced by defaults.")
	compactions := counter("otelcol_table_store_compactions", "{batches}", "Batches compacted.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, st := range store.Stats() {
			tbl := attribute.String("table", st.Name)
			set := metric.WithAttributes(tbl)
			o.ObserveInt64(rows, st.Rows, set)
			o.ObserveInt64(bytes, st.Bytes, set)
			o.ObserveInt64(budget, st.Budget, set)
			o.ObserveInt64(appended, st.RowsAppended, set)
			o.ObserveInt64(evictedRows, st.RowsEvicted, set)
			o.ObserveInt64(evictions, st.BatchesEvictedByTime, metric.WithAttributes(tbl, attribute.String("reason", "time")))
			o.ObserveInt64(evictions, st.BatchesEvictedByBytes, metric.WithAttributes(tbl, attribute.String("reason", "bytes")))
			o.ObserveInt64(dropped, st.DroppedLate, metric.WithAttributes(tbl, attribute.String("reason", "late")))
			o.ObserveInt64(dropped, st.DroppedFuture, metric.WithAttributes(tbl, attribute.String("reason", "future")))
			o.ObserveInt64(errCount, st.Errors, set)
			o.ObserveInt64(compactions, st.Compactions, set)
		}
		return nil
	}, rows, bytes, budget, appended, evictedRows, evictions, dropped, errCount, compactions)
}

// tableInfo is one entry of GET /v1/tables.
type tableInfo struct {
	Name        string       `json:"name"`
	Rows        int64        `json:"rows"`
	Bytes       int64        `json:"bytes"`
	ArrowBytes  int64        `json:"arrow_bytes"`
	BudgetBytes int64        `json:"budget_bytes"`
	Batches     int          `json:"batches"`
	MinTime     *time.Time   `json:"min_time"`
	MaxTime     *time.Time   `json:"max_time"`
	MinTimeNs   int64        `json:"min_time_ns"`
	MaxTimeNs   int64        `json:"max_time_ns"`
	Appended    int64        `json:"rows_appended"`
	Evicted     int64        `json:"rows_evicted"`
	DroppedLate int64        `json:"rows_dropped_late"`
	DroppedFut  int64        `json:"rows_dropped_future"`
	Errors      int64        `json:"errors"`
	Columns     []columnInfo `json:"columns"`
}

type columnInfo struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	ArrowType string `json:"arrow_type"`
	Desc      string `json:"desc,omitempty"`
}

func newHandler(store *tablestore.Store, logger *zap.Logger, redact func(table, column string) bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /v1/tables", func(w http.ResponseWriter, _ *http.Request) {
		var out struct {
			Tables []tableInfo `json:"tables"`
		}
		for _, t := range store.Tables() {
			st := t.Stats()
			ti := tableInfo{
				Name: st.Name, Rows: st.Rows, Bytes: st.Bytes, ArrowBytes: st.ArrowBytes, BudgetBytes: st.Budget,
				Batches: st.Batches, MinTimeNs: st.MinTime, MaxTimeNs: st.MaxTime,
				Appended: st.RowsAppended, Evicted: st.RowsEvicted, DroppedLate: st.DroppedLate,
				DroppedFut: st.DroppedFuture, Errors: st.Errors,
			}
			if st.Rows > 0 {
				lo, hi := time.Unix(0, st.MinTime).UTC(), time.Unix(0, st.MaxTime).UTC()
				ti.MinTime, ti.MaxTime = &lo, &hi
			}
			for i, c := range t.Schema().Columns() {
				ti.Columns = append(ti.Columns, columnInfo{
					Name: c.Name, Type: c.Type.String(), ArrowType: t.ArrowSchema().Field(i).Type.String(), Desc: c.Desc,
				})
			}
			out.Tables = append(out.Tables, ti)
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			logger.Debug("writing /v1/tables", zap.Error(err))
		}
	})
	registerQueryHandlers(mux, store, logger, redact)
	return mux
}

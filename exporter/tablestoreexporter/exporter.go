package tablestoreexporter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// tableExporter writes every signal into the store of a table_store
// extension. One instance serves traces, metrics and logs pipelines alike.
type tableExporter struct {
	cfg    *Config
	logger *zap.Logger
	now    func() time.Time

	scopes   map[string]bool
	anyScope bool

	store                      *tablestore.Store
	http, spans, metrics, logs *tablestore.Table
	mappers                    sync.Pool
}

func newExporter(set exporter.Settings, cfg *Config) *tableExporter {
	e := &tableExporter{cfg: cfg, logger: set.Logger, now: time.Now, scopes: map[string]bool{}}
	for _, s := range cfg.HTTPEventsScopes {
		if s == "*" {
			e.anyScope = true
		}
		e.scopes[s] = true
	}
	e.mappers.New = func() any { return e.newMapper() }
	return e
}

// Start finds the store of the configured table_store extension.
func (e *tableExporter) Start(_ context.Context, host component.Host) error {
	ext, ok := host.GetExtensions()[e.cfg.Extension]
	if !ok {
		return fmt.Errorf("table_store exporter: extension %q not found: add it under `extensions:` and to `service.extensions`", e.cfg.Extension)
	}
	p, ok := ext.(tablestore.Provider)
	if !ok {
		return fmt.Errorf("table_store exporter: extension %q is a %T, not a table_store extension", e.cfg.Extension, ext)
	}
	s := p.TableStore()
	if s == nil {
		return fmt.Errorf("table_store exporter: extension %q has no store (not started?)", e.cfg.Extension)
	}
	e.store = s
	e.http = s.Table(tablestore.TableHTTPEvents)
	e.spans = s.Table(tablestore.TableSpans)
	e.metrics = s.Table(tablestore.TableMetrics)
	e.logs = s.Table(tablestore.TableLogs)
	return nil
}

// Shutdown does nothing: the extension owns the store.
func (e *tableExporter) Shutdown(context.Context) error { return nil }

// Capabilities: the exporter only reads the data.
func (e *tableExporter) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// mapper holds per-call scratch space: one batch per table, JSON buffers.
type mapper struct {
	e                          *tableExporter
	http, spans, metrics, logs *tablestore.Batch
	buf                        []byte
	reqH, respH                []header
}

type header struct {
	name string
	v    pcommon.Value
}

func (e *tableExporter) newMapper() *mapper {
	m := &mapper{e: e}
	if e.http != nil {
		m.http = e.http.NewBatch(256)
	}
	if e.spans != nil {
		m.spans = e.spans.NewBatch(256)
	}
	if e.metrics != nil {
		m.metrics = e.metrics.NewBatch(256)
	}
	if e.logs != nil {
		m.logs = e.logs.NewBatch(256)
	}
	return m
}

func (e *tableExporter) getMapper() (*mapper, error) {
	if e.store == nil {
		return nil, consumererror.NewPermanent(errors.New("table_store exporter: not started"))
	}
	return e.mappers.Get().(*mapper), nil
}

func (e *tableExporter) putMapper(m *mapper) {
	for _, b := range []*tablestore.Batch{m.http, m.spans, m.metrics, m.logs} {
		if b != nil {
			b.Reset()
		}
	}
	if cap(m.buf) > 1<<20 {
		m.buf = nil
	}
	e.mappers.Put(m)
}

// flush appends a batch to its table.
func (e *tableExporter) flush(t *tablestore.Table, b *tablestore.Batch) error {
	if t == nil || b == nil || (b.Len() == 0 && b.Errors() == 0) {
		return nil
	}
	if _, err := t.Append(b); err != nil {
		return consumererror.NewPermanent(fmt.Errorf("table_store exporter: %s: %w", t.Name(), err))
	}
	return nil
}

// ConsumeTraces maps spans to http_events and spans rows.
func (e *tableExporter) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	m, err := e.getMapper()
	if err != nil {
		return err
	}
	defer e.putMapper(m)
	m.traces(td)
	return errors.Join(e.flush(e.http, m.http), e.flush(e.spans, m.spans), e.protocolRows(m, td))
}

// ConsumeMetrics maps every data point to a metrics row, except the ebpf
// receiver's process.* metrics, which become process_stats rows.
func (e *tableExporter) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	m, err := e.getMapper()
	if err != nil {
		return err
	}
	defer e.putMapper(m)
	m.metricsRows(md)
	err = e.flush(e.metrics, m.metrics)
	if t := e.store.Table(tablestore.TableProcessStats); t != nil {
		b := t.NewBatch(64)
		m.processStatsRows(md, b)
		err = errors.Join(err, e.flush(t, b))
	}
	return err
}

// ConsumeLogs maps every log record to a logs row, except the ebpf
// receiver's conn_stats events, which become conn_stats rows.
func (e *tableExporter) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	m, err := e.getMapper()
	if err != nil {
		return err
	}
	defer e.putMapper(m)
	m.logRows(ld)
	err = e.flush(e.logs, m.logs)
	if t := e.store.Table(tablestore.TableConnStats); t != nil {
		b := t.NewBatch(64)
		m.connStatsRows(ld, b)
		err = errors.Join(err, e.flush(t, b))
	}
	return err
}

// resInfo is what rows take from a resource, computed once per resource.
type resInfo struct {
	service, pod, namespace, containerID, exe, upid, json string
	pid                                                   int64
	hasPID                                                bool
	errs                                                  int64
}

func (m *mapper) resource(res pcommon.Resource) resInfo {
	var r resInfo
	var svc, podName, podUID string
	var startNs int64
	for k, v := range res.Attributes().All() {
		switch k {
		case "service.name":
			svc = m.str(v, &r.errs)
		case "process.executable.name":
			r.exe = m.str(v, &r.errs)
		case "process.pid":
			r.pid = m.int(v, &r.errs)
			r.hasPID = v.Type() == pcommon.ValueTypeInt
		case "k8s.pod.name":
			podName = m.str(v, &r.errs)
		case "k8s.pod.uid":
			podUID = m.str(v, &r.errs)
		case "k8s.namespace.name":
			r.namespace = m.str(v, &r.errs)
		case "container.id":
			r.containerID = m.str(v, &r.errs)
		case "process.start_time", "process.creation.time":
			startNs = startTime(v, &r.errs)
		}
	}
	r.pod = podName
	if r.pod == "" {
		r.pod = podUID
	}
	r.service = svc
	if r.service == "" {
		r.service = r.exe
	}
	if r.hasPID {
		r.upid = strconv.FormatInt(r.pid, 10) + ":" + strconv.FormatInt(startNs, 10)
	}
	m.buf = appendJSONMap(m.buf[:0], res.Attributes())
	r.json = string(m.buf)
	return r
}

// startTime reads a process start time: integer ns since epoch, or an
// RFC 3339 string.
func startTime(v pcommon.Value, errs *int64) int64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeStr:
		if t, err := time.Parse(time.RFC3339Nano, v.Str()); err == nil {
			return t.UnixNano()
		}
	}
	*errs++
	return 0
}

// str returns a string attribute; another type is an error and "".
func (m *mapper) str(v pcommon.Value, errs *int64) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	*errs++
	return ""
}

// int returns an integer attribute; another type is an error and 0.
func (m *mapper) int(v pcommon.Value, errs *int64) int64 {
	if v.Type() == pcommon.ValueTypeInt {
		return v.Int()
	}
	*errs++
	return 0
}

// rowTime picks the first non-zero timestamp, else the clock (an error).
func (m *mapper) rowTime(errs *int64, ts ...pcommon.Timestamp) int64 {
	for _, t := range ts {
		if t != 0 {
			return int64(t)
		}
	}
	*errs++
	return m.e.now().UnixNano()
}

func scopeOf(s pcommon.InstrumentationScope) string { return s.Name() }

package ebpfreceiver

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
)

// selfMetrics exposes the receiver's own counters (events, drops per
// reason, parser outcomes, spans) through the collector's telemetry, i.e.
// on the collector's /metrics endpoint with an otelcol_ prefix.
type selfMetrics struct {
	reg metric.Registration
}

func attrs(kv ...string) metric.ObserveOption {
	a := make([]attribute.KeyValue, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		a = append(a, attribute.String(kv[i], kv[i+1]))
	}
	return metric.WithAttributes(a...)
}

func newSelfMetrics(ts component.TelemetrySettings, r *tracesReceiver) (*selfMetrics, error) {
	if ts.MeterProvider == nil {
		return nil, nil
	}
	m := ts.MeterProvider.Meter(metadata.ScopeName)
	events, err := m.Int64ObservableCounter("otelcol_ebpf_events",
		metric.WithDescription("Socket events written by the BPF programs, by type."), metric.WithUnit("{event}"))
	if err != nil {
		return nil, err
	}
	dropped, err := m.Int64ObservableCounter("otelcol_ebpf_events_dropped",
		metric.WithDescription("Socket events lost in the kernel (never waited for), by reason."), metric.WithUnit("{event}"))
	if err != nil {
		return nil, err
	}
	partial, err := m.Int64ObservableCounter("otelcol_ebpf_events_partial",
		metric.WithDescription("Data events emitted with part of their bytes missing, by reason."), metric.WithUnit("{event}"))
	if err != nil {
		return nil, err
	}
	records, err := m.Int64ObservableCounter("otelcol_ebpf_http_exchanges",
		metric.WithDescription("HTTP/1.x request/response pairs reported, by outcome."), metric.WithUnit("{exchange}"))
	if err != nil {
		return nil, err
	}
	parse, err := m.Int64ObservableCounter("otelcol_ebpf_http_parse_problems",
		metric.WithDescription("HTTP/1.x parser problems, by kind."), metric.WithUnit("{problem}"))
	if err != nil {
		return nil, err
	}
	conns, err := m.Int64ObservableCounter("otelcol_ebpf_connections",
		metric.WithDescription("Connections seen by the tracker, by protocol or fate."), metric.WithUnit("{connection}"))
	if err != nil {
		return nil, err
	}
	spans, err := m.Int64ObservableCounter("otelcol_ebpf_spans",
		metric.WithDescription("Spans built (produced) or dropped because the pipeline fell behind (dropped)."), metric.WithUnit("{span}"))
	if err != nil {
		return nil, err
	}
	muted, err := m.Int64ObservableCounter("otelcol_ebpf_muted_bytes",
		metric.WithDescription("Bytes of muted connections (filtered out or no protocol recognised) whose payload BPF no longer copied; their sizes still count."),
		metric.WithUnit("By"))
	if err != nil {
		return nil, err
	}
	t := r.tracer
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		ts := t.Stats()
		o.ObserveInt64(events, int64(ts.KernelOpenEvents), attrs("type", "open"))
		o.ObserveInt64(events, int64(ts.KernelDataEvents), attrs("type", "data"))
		o.ObserveInt64(events, int64(ts.KernelCloseEvents), attrs("type", "close"))
		o.ObserveInt64(dropped, int64(ts.DropRingbufOpen), attrs("reason", "ringbuf_full_open"))
		o.ObserveInt64(dropped, int64(ts.DropRingbufData), attrs("reason", "ringbuf_full_data"))
		o.ObserveInt64(dropped, int64(ts.DropRingbufClose), attrs("reason", "ringbuf_full_close"))
		o.ObserveInt64(dropped, int64(ts.DropRingbufExit), attrs("reason", "ringbuf_full_exit"))
		o.ObserveInt64(dropped, int64(ts.DropArgsMapFull), attrs("reason", "args_map_full"))
		o.ObserveInt64(dropped, int64(ts.DropConnMapFull), attrs("reason", "conn_map_full"))
		o.ObserveInt64(dropped, int64(ts.DropNoScratch), attrs("reason", "no_scratch"))
		o.ObserveInt64(dropped, int64(ts.Malformed), attrs("reason", "malformed"))
		o.ObserveInt64(dropped, int64(ts.DropRingbufExec), attrs("reason", "ringbuf_full_exec"))
		o.ObserveInt64(dropped, int64(ts.TLSNoFD), attrs("reason", "tls_socket_unknown"))
		o.ObserveInt64(partial, int64(ts.CappedChunks), attrs("reason", "max_chunk_bytes"))
		o.ObserveInt64(partial, int64(ts.IovecTruncated), attrs("reason", "iovec_limit"))
		o.ObserveInt64(partial, int64(ts.MmsgTruncated), attrs("reason", "mmsg_limit"))
		o.ObserveInt64(partial, int64(ts.ReadFailed), attrs("reason", "read_failed"))

		r.mu.Lock()
		cs := r.tracker.Stats()
		r.mu.Unlock()
		o.ObserveInt64(records, int64(cs.Records-cs.Unanswered), attrs("outcome", "answered"))
		o.ObserveInt64(records, int64(cs.Unanswered), attrs("outcome", "unanswered"))
		o.ObserveInt64(records, int64(cs.Orphans), attrs("outcome", "orphan_response"))
		o.ObserveInt64(parse, int64(cs.HTTP.ParseErrors), attrs("kind", "malformed"))
		o.ObserveInt64(parse, int64(cs.HTTP.Oversized), attrs("kind", "oversized_head"))
		o.ObserveInt64(parse, int64(cs.HTTP.Dropped), attrs("kind", "dropped_partial"))
		o.ObserveInt64(parse, int64(cs.HTTP.Resyncs), attrs("kind", "resync"))
		o.ObserveInt64(parse, int64(cs.Gaps), attrs("kind", "gap"))
		o.ObserveInt64(conns, int64(cs.ConnsHTTP), attrs("protocol", "http1"))
		o.ObserveInt64(conns, int64(cs.ConnsUnknown), attrs("protocol", "unknown"))
		o.ObserveInt64(conns, int64(cs.Evicted), attrs("fate", "evicted"))
		o.ObserveInt64(conns, int64(cs.Expired), attrs("fate", "expired"))
		o.ObserveInt64(conns, int64(r.filter.dropped.Load()), attrs("fate", "filtered"))
		o.ObserveInt64(conns, int64(ts.Muted), attrs("fate", "muted"))
		o.ObserveInt64(muted, int64(ts.MutedBytes))

		produced, droppedSpans := r.spans.stats()
		o.ObserveInt64(spans, int64(produced), attrs("outcome", "produced"))
		o.ObserveInt64(spans, int64(droppedSpans), attrs("outcome", "dropped"))
		return nil
	}, events, dropped, partial, records, parse, conns, spans, muted)
	if err != nil {
		return nil, err
	}
	return &selfMetrics{reg: reg}, nil
}

func (m *selfMetrics) unregister() {
	if m != nil && m.reg != nil {
		_ = m.reg.Unregister()
	}
}

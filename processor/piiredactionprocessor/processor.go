package piiredactionprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/internal/metadata"
)

// Signals, as the `signal` attribute of the redaction counter.
const (
	sigTraces = iota
	sigMetrics
	sigLogs
	sigProfiles
	numSignals
)

var signalNames = [numSignals]string{"traces", "metrics", "logs", "profiles"}

// piiProcessor is one pii_redaction processor instance (any signal).
type piiProcessor struct {
	r       *redactor
	off     bool
	counter metric.Int64Counter
	opts    [numSignals][numCounters]metric.AddOption
}

func newProcessor(set component.TelemetrySettings, cfg *Config) (*piiProcessor, error) {
	r, err := newRedactor(cfg)
	if err != nil {
		return nil, err
	}
	p := &piiProcessor{r: r, off: cfg.Mode == ModeOff}
	mp := set.MeterProvider
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	p.counter, err = mp.Meter(metadata.ScopeName).Int64Counter("otelcol_pii_redaction_redactions",
		metric.WithDescription("Values redacted by the pii_redaction processor, by category (a detector's name, or key_rule, payload, hash) and signal."),
		metric.WithUnit("{redaction}"))
	if err != nil {
		return nil, err
	}
	for s := range numSignals {
		for c := range numCounters {
			p.opts[s][c] = metric.WithAttributeSet(attribute.NewSet(
				attribute.String("category", counterNames[c]),
				attribute.String("signal", signalNames[s])))
		}
	}
	return p, nil
}

func (p *piiProcessor) newTally() tally {
	return tally{summary: p.r.summary}
}

func (p *piiProcessor) record(ctx context.Context, sig int, t *tally) {
	for c, n := range t.n {
		if n > 0 {
			p.counter.Add(ctx, n, p.opts[sig][c])
		}
	}
}

func (p *piiProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	if p.off {
		return td, nil
	}
	r := p.r
	t := p.newTally()
	for _, rs := range td.ResourceSpans().All() {
		r.attrs(rs.Resource().Attributes(), &t)
		for _, ss := range rs.ScopeSpans().All() {
			r.attrs(ss.Scope().Attributes(), &t)
			for _, sp := range ss.Spans().All() {
				t.keys, t.count = t.keys[:0], 0
				if s, ok := r.str(sp.Name(), &t); ok {
					sp.SetName(s)
				}
				if s, ok := r.str(sp.Status().Message(), &t); ok {
					sp.Status().SetMessage(s)
				}
				r.attrs(sp.Attributes(), &t)
				for _, ev := range sp.Events().All() {
					if s, ok := r.str(ev.Name(), &t); ok {
						ev.SetName(s)
					}
					r.attrs(ev.Attributes(), &t)
				}
				for _, l := range sp.Links().All() {
					r.attrs(l.Attributes(), &t)
				}
				putSummary(sp.Attributes(), &t)
			}
		}
	}
	p.record(ctx, sigTraces, &t)
	return td, nil
}

func (p *piiProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	if p.off {
		return ld, nil
	}
	r := p.r
	t := p.newTally()
	for _, rl := range ld.ResourceLogs().All() {
		r.attrs(rl.Resource().Attributes(), &t)
		for _, sl := range rl.ScopeLogs().All() {
			r.attrs(sl.Scope().Attributes(), &t)
			for _, lr := range sl.LogRecords().All() {
				t.keys, t.count = t.keys[:0], 0
				if r.body(lr.Body(), &t) && t.summary {
					t.keys = append(t.keys, "body")
					t.count++
				}
				r.attrs(lr.Attributes(), &t)
				putSummary(lr.Attributes(), &t)
			}
		}
	}
	p.record(ctx, sigLogs, &t)
	return ld, nil
}

func (p *piiProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	if p.off {
		return md, nil
	}
	r := p.r
	t := p.newTally()
	t.summary = false
	for _, rm := range md.ResourceMetrics().All() {
		r.attrs(rm.Resource().Attributes(), &t)
		for _, sm := range rm.ScopeMetrics().All() {
			r.attrs(sm.Scope().Attributes(), &t)
			for _, m := range sm.Metrics().All() {
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					for _, dp := range m.Gauge().DataPoints().All() {
						r.attrs(dp.Attributes(), &t)
						p.exemplars(dp.Exemplars(), &t)
					}
				case pmetric.MetricTypeSum:
					for _, dp := range m.Sum().DataPoints().All() {
						r.attrs(dp.Attributes(), &t)
						p.exemplars(dp.Exemplars(), &t)
					}
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						r.attrs(dp.Attributes(), &t)
						p.exemplars(dp.Exemplars(), &t)
					}
				case pmetric.MetricTypeExponentialHistogram:
					for _, dp := range m.ExponentialHistogram().DataPoints().All() {
						r.attrs(dp.Attributes(), &t)
						p.exemplars(dp.Exemplars(), &t)
					}
				case pmetric.MetricTypeSummary:
					for _, dp := range m.Summary().DataPoints().All() {
						r.attrs(dp.Attributes(), &t)
					}
				}
			}
		}
	}
	p.record(ctx, sigMetrics, &t)
	return md, nil
}

func (p *piiProcessor) exemplars(es pmetric.ExemplarSlice, t *tally) {
	for _, e := range es.All() {
		p.r.attrs(e.FilteredAttributes(), t)
	}
}

// processProfiles redacts resource and scope attributes and the values of
// the dictionary's attribute table (which samples, locations and mappings
// reference by index); keys come from the dictionary's string table.
func (p *piiProcessor) processProfiles(ctx context.Context, pd pprofile.Profiles) (pprofile.Profiles, error) {
	if p.off {
		return pd, nil
	}
	r := p.r
	t := p.newTally()
	t.summary = false
	for _, rp := range pd.ResourceProfiles().All() {
		r.attrs(rp.Resource().Attributes(), &t)
		for _, sp := range rp.ScopeProfiles().All() {
			r.attrs(sp.Scope().Attributes(), &t)
		}
	}
	dict := pd.Dictionary()
	strs := dict.StringTable()
	for _, kv := range dict.AttributeTable().All() {
		key := ""
		if i := int(kv.KeyStrindex()); i >= 0 && i < strs.Len() {
			key = strs.At(i)
		}
		r.value(key, kv.Value(), &t)
	}
	p.record(ctx, sigProfiles, &t)
	return pd, nil
}

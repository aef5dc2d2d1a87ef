package tablestoreexporter

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	ts "github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// metricsRows maps every data point to a metrics row.
func (m *mapper) metricsRows(md pmetric.Metrics) {
	if m.metrics == nil {
		return
	}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		r := m.resource(rm.Resource())
		m.metrics.AddErrors(r.errs)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			scope := scopeOf(sm.Scope())
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				if isProcessStat(scope, ms.At(k).Name()) {
					continue
				}
				m.metricRows(&r, scope, ms.At(k))
			}
		}
	}
}

// point holds the per-type columns of one data point.
type point struct {
	typ, temporality string
	monotonic        bool
	value, sum       float64
	count            int64
	buckets          []byte
}

func (m *mapper) metricRows(r *resInfo, scope string, mt pmetric.Metric) {
	switch mt.Type() {
	case pmetric.MetricTypeGauge:
		dps := mt.Gauge().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			m.metricRow(r, scope, mt, dp.StartTimestamp(), dp.Timestamp(), dp.Attributes(), point{typ: "gauge", value: numberValue(dp)})
		}
	case pmetric.MetricTypeSum:
		s := mt.Sum()
		dps := s.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			m.metricRow(r, scope, mt, dp.StartTimestamp(), dp.Timestamp(), dp.Attributes(), point{
				typ: "sum", value: numberValue(dp), temporality: s.AggregationTemporality().String(), monotonic: s.IsMonotonic(),
			})
		}
	case pmetric.MetricTypeHistogram:
		h := mt.Histogram()
		dps := h.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			b := append(m.buf[:0], `{"bounds":`...)
			b = appendFloats(b, dp.ExplicitBounds())
			b = append(b, `,"counts":`...)
			b = appendUints(b, dp.BucketCounts())
			if dp.HasMin() {
				b = append(b, `,"min":`...)
				b = appendJSONFloat(b, dp.Min())
			}
			if dp.HasMax() {
				b = append(b, `,"max":`...)
				b = appendJSONFloat(b, dp.Max())
			}
			m.buf = append(b, '}')
			m.metricRow(r, scope, mt, dp.StartTimestamp(), dp.Timestamp(), dp.Attributes(), point{
				typ: "histogram", value: dp.Sum(), sum: dp.Sum(), count: int64(dp.Count()),
				temporality: h.AggregationTemporality().String(), buckets: m.buf,
			})
		}
	case pmetric.MetricTypeExponentialHistogram:
		h := mt.ExponentialHistogram()
		dps := h.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			b := append(m.buf[:0], `{"scale":`...)
			b = strconv.AppendInt(b, int64(dp.Scale()), 10)
			b = append(b, `,"zero_count":`...)
			b = strconv.AppendUint(b, dp.ZeroCount(), 10)
			b = append(b, `,"positive":{"offset":`...)
			b = strconv.AppendInt(b, int64(dp.Positive().Offset()), 10)
			b = append(b, `,"counts":`...)
			b = appendUints(b, dp.Positive().BucketCounts())
			b = append(b, `},"negative":{"offset":`...)
			b = strconv.AppendInt(b, int64(dp.Negative().Offset()), 10)
			b = append(b, `,"counts":`...)
			b = appendUints(b, dp.Negative().BucketCounts())
			m.buf = append(b, "}}"...)
			m.metricRow(r, scope, mt, dp.StartTimestamp(), dp.Timestamp(), dp.Attributes(), point{
				typ: "exponential_histogram", value: dp.Sum(), sum: dp.Sum(), count: int64(dp.Count()),
				temporality: h.AggregationTemporality().String(), buckets: m.buf,
			})
		}
	case pmetric.MetricTypeSummary:
		dps := mt.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			b := append(m.buf[:0], `{"quantiles":[`...)
			qs := dp.QuantileValues()
			for q := 0; q < qs.Len(); q++ {
				if q > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"q":`...)
				b = appendJSONFloat(b, qs.At(q).Quantile())
				b = append(b, `,"v":`...)
				b = appendJSONFloat(b, qs.At(q).Value())
				b = append(b, '}')
			}
			m.buf = append(b, "]}"...)
			m.metricRow(r, scope, mt, dp.StartTimestamp(), dp.Timestamp(), dp.Attributes(), point{
				typ: "summary", value: dp.Sum(), sum: dp.Sum(), count: int64(dp.Count()), buckets: m.buf,
			})
		}
	default:
		m.metrics.AddErrors(1) // a metric without data: nothing to store
	}
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

func (m *mapper) metricRow(r *resInfo, scope string, mt pmetric.Metric, start, t pcommon.Timestamp, attrs pcommon.Map, p point) {
	b := m.metrics
	var errs int64
	b.AppendTime(ts.MetricTime, m.rowTime(&errs, t))
	b.AppendTime(ts.MetricStartTime, int64(start))
	b.AppendString(ts.MetricName, mt.Name())
	b.AppendString(ts.MetricType, p.typ)
	b.AppendString(ts.MetricUnit, mt.Unit())
	b.AppendFloat(ts.MetricValue, p.value)
	b.AppendInt(ts.MetricCount, p.count)
	b.AppendFloat(ts.MetricSum, p.sum)
	b.AppendStringBytes(ts.MetricBuckets, p.buckets)
	b.AppendString(ts.MetricTemporality, p.temporality)
	b.AppendBool(ts.MetricMonotonic, p.monotonic)
	// p.buckets lives in m.buf: it was copied above, so m.buf is free again.
	m.buf = appendJSONMap(m.buf[:0], attrs)
	b.AppendStringBytes(ts.MetricAttributes, m.buf)
	b.AppendString(ts.MetricService, r.service)
	b.AppendString(ts.MetricScope, scope)
	b.AppendString(ts.MetricResource, r.json)
	b.AddErrors(errs)
	b.EndRow()
}

func appendFloats(b []byte, s pcommon.Float64Slice) []byte {
	b = append(b, '[')
	for i := 0; i < s.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONFloat(b, s.At(i))
	}
	return append(b, ']')
}

func appendUints(b []byte, s pcommon.UInt64Slice) []byte {
	b = append(b, '[')
	for i := 0; i < s.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, s.At(i), 10)
	}
	return append(b, ']')
}

// logRows maps every log record to a logs row.
func (m *mapper) logRows(ld plog.Logs) {
	if m.logs == nil {
		return
	}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		r := m.resource(rl.Resource())
		m.logs.AddErrors(r.errs)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			scope := scopeOf(sl.Scope())
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if scope == ebpfScope && lrs.At(k).EventName() == connStatsEvent {
					continue
				}
				m.logRow(&r, scope, lrs.At(k))
			}
		}
	}
}

func (m *mapper) logRow(r *resInfo, scope string, lr plog.LogRecord) {
	b := m.logs
	var errs int64
	b.AppendTime(ts.LogTime, m.rowTime(&errs, lr.Timestamp(), lr.ObservedTimestamp()))
	sev := lr.SeverityText()
	if sev == "" {
		sev = severityName(lr.SeverityNumber())
	}
	b.AppendString(ts.LogSeverity, sev)
	b.AppendInt(ts.LogSeverityNumber, int64(lr.SeverityNumber()))
	if body := lr.Body(); body.Type() == pcommon.ValueTypeStr {
		b.AppendString(ts.LogBody, body.Str())
	} else if body.Type() == pcommon.ValueTypeEmpty {
		b.AppendString(ts.LogBody, "")
	} else {
		m.buf = appendJSONValue(m.buf[:0], body)
		b.AppendStringBytes(ts.LogBody, m.buf)
	}
	m.buf = appendJSONMap(m.buf[:0], lr.Attributes())
	b.AppendStringBytes(ts.LogAttributes, m.buf)
	b.AppendString(ts.LogService, r.service)
	b.AppendString(ts.LogScope, scope)
	b.AppendString(ts.LogResource, r.json)
	tid, sid := lr.TraceID(), lr.SpanID()
	b.AppendID(ts.LogTraceID, tid[:])
	b.AppendID(ts.LogSpanID, sid[:])
	b.AddErrors(errs)
	b.EndRow()
}

// severityName is the OTel short name of a severity number range.
func severityName(n plog.SeverityNumber) string {
	switch {
	case n >= 1 && n <= 4:
		return "TRACE"
	case n >= 5 && n <= 8:
		return "DEBUG"
	case n >= 9 && n <= 12:
		return "INFO"
	case n >= 13 && n <= 16:
		return "WARN"
	case n >= 17 && n <= 20:
		return "ERROR"
	case n >= 21 && n <= 24:
		return "FATAL"
	}
	return ""
}

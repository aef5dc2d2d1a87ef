package ebpfreceiver

import (
	"sort"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// durationBuckets are OBI's default boundaries for request durations, in
// seconds.
var durationBuckets = []float64{0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// redKey is one series of a RED histogram: the process (resource) and the
// low-cardinality attributes semconv recommends. Raw url.path and
// client.address are never attributes (cardinality).
type redKey struct {
	pid        uint32
	method     string
	status     int // 0: no response
	errType    string
	route      string
	serverAddr string
	serverPort int
	overflow   bool // the overflow series: every other attribute empty
}

// histo is a cumulative explicit-bucket histogram.
type histo struct {
	counts   [16]uint64 // len(durationBuckets)+1
	count    uint64
	sum      float64
	min, max float64
	lastNs   int64 // last observation, for expiry
}

func (h *histo) observe(sec float64, nowNs int64) {
	i := sort.SearchFloat64s(durationBuckets, sec) // first bound >= sec
	h.counts[i]++
	if h.count == 0 || sec < h.min {
		h.min = sec
	}
	if h.count == 0 || sec > h.max {
		h.max = sec
	}
	h.count++
	h.sum += sec
	h.lastNs = nowNs
}

// redSeries is one metric's series with its cardinality limit.
type redSeries struct {
	name, desc string
	limit      int
	series     map[redKey]*histo
	overflowed uint64 // observations that went to an overflow series
}

func (s *redSeries) observe(k redKey, sec float64, nowNs int64) {
	h := s.series[k]
	if h == nil {
		if len(s.series) >= s.limit {
			s.overflowed++
			k = redKey{pid: k.pid, overflow: true}
			h = s.series[k]
		}
		if h == nil {
			h = &histo{}
			s.series[k] = h
		}
	}
	h.observe(sec, nowNs)
}

// expire forgets series without observations since beforeNs.
func (s *redSeries) expire(beforeNs int64) {
	for k, h := range s.series {
		if h.lastNs < beforeNs {
			delete(s.series, k)
		}
	}
}

// redMetrics derives http.server.request.duration and
// http.client.request.duration from traced requests. Not safe for concurrent
// use: the receiver calls it under its mutex.
type redMetrics struct {
	startNs        int64
	server, client redSeries
}

func newREDMetrics(limit int, startNs int64) *redMetrics {
	return &redMetrics{
		startNs: startNs,
		server: redSeries{name: "http.server.request.duration", desc: "Duration of HTTP server requests.",
			limit: limit, series: map[redKey]*histo{}},
		client: redSeries{name: "http.client.request.duration", desc: "Duration of HTTP client requests.",
			limit: limit, series: map[redKey]*histo{}},
	}
}

// knownMethods are the methods semconv keeps; others become _OTHER.
var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"CONNECT": true, "OPTIONS": true, "TRACE": true, "PATCH": true}

// add records one exchange. serverAddr/serverPort name the server side as
// the span does.
func (m *redMetrics) add(r *conntrack.Record, serverAddr string, serverPort int, nowNs int64) {
	k := redKey{pid: r.Conn.ID.PID, method: r.Req.Method, route: r.Req.Route(), serverAddr: serverAddr, serverPort: serverPort}
	if !knownMethods[k.method] {
		k.method = "_OTHER"
	}
	client := r.Conn.Role == sockevent.RoleClient
	if r.Resp != nil {
		k.status = r.Resp.StatusCode
		if (client && k.status >= 400) || (!client && k.status >= 500) {
			k.errType = strconv.Itoa(k.status)
		}
	} else {
		k.errType = "no_response_" + r.Unanswered.String()
	}
	m.observe(k, client, r.Duration().Seconds(), nowNs)
}

// addExchange records an HTTP/2 exchange (gRPC included): they are HTTP
// requests as much as HTTP/1 ones, with the same attributes; error.type is
// the exchange's (the HTTP status, or the gRPC status name when the call
// failed under a 200).
func (m *redMetrics) addExchange(e *protocols.Exchange, serverAddr string, serverPort int, nowNs int64) {
	k := redKey{pid: e.Conn.ID.PID, method: e.Get("http.request.method"), route: e.Get("http.route"),
		serverAddr: serverAddr, serverPort: serverPort}
	if !knownMethods[k.method] {
		k.method = "_OTHER"
	}
	if st, ok := e.GetInt("http.response.status_code"); ok {
		k.status = int(st)
	}
	if e.Error {
		k.errType = e.ErrorType
	}
	sec := float64(max(e.EndNs-e.StartNs, 0)) / 1e9
	m.observe(k, e.Conn.Role == sockevent.RoleClient, sec, nowNs)
}

func (m *redMetrics) observe(k redKey, client bool, sec float64, nowNs int64) {
	if client {
		m.client.observe(k, sec, nowNs)
	} else {
		m.server.observe(k, sec, nowNs)
	}
}

// appendTo writes both histograms, one data point per series, into the
// scope metrics of each series' process (scopeFor).
func (m *redMetrics) appendTo(scopeFor func(pid uint32) pmetric.MetricSlice, nowNs int64) {
	for _, s := range []*redSeries{&m.server, &m.client} {
		if len(s.series) == 0 {
			continue
		}
		perPID := map[uint32]pmetric.HistogramDataPointSlice{}
		keys := make([]redKey, 0, len(s.series))
		for k := range s.series {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return redKeyLess(keys[i], keys[j]) })
		for _, k := range keys {
			h := s.series[k]
			dps, ok := perPID[k.pid]
			if !ok {
				mt := scopeFor(k.pid).AppendEmpty()
				mt.SetName(s.name)
				mt.SetDescription(s.desc)
				mt.SetUnit("s")
				hist := mt.SetEmptyHistogram()
				hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
				dps = hist.DataPoints()
				perPID[k.pid] = dps
			}
			dp := dps.AppendEmpty()
			dp.SetStartTimestamp(pcommon.Timestamp(m.startNs))
			dp.SetTimestamp(pcommon.Timestamp(nowNs))
			dp.SetCount(h.count)
			dp.SetSum(h.sum)
			dp.SetMin(h.min)
			dp.SetMax(h.max)
			dp.ExplicitBounds().FromRaw(durationBuckets)
			dp.BucketCounts().FromRaw(h.counts[:len(durationBuckets)+1])
			a := dp.Attributes()
			if k.overflow {
				a.PutBool("otel.metric.overflow", true)
				continue
			}
			a.PutStr("http.request.method", k.method)
			if k.status != 0 {
				a.PutInt("http.response.status_code", int64(k.status))
			}
			if k.route != "" {
				a.PutStr("http.route", k.route)
			}
			if k.serverAddr != "" {
				a.PutStr("server.address", k.serverAddr)
			}
			if k.serverPort != 0 {
				a.PutInt("server.port", int64(k.serverPort))
			}
			if k.errType != "" {
				a.PutStr("error.type", k.errType)
			}
		}
	}
}

func redKeyLess(a, b redKey) bool {
	if a.pid != b.pid {
		return a.pid < b.pid
	}
	if a.route != b.route {
		return a.route < b.route
	}
	if a.method != b.method {
		return a.method < b.method
	}
	return a.status < b.status
}

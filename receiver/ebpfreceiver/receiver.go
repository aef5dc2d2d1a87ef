package ebpfreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/conntrack"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/http1"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procstats"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tcpstats"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tlsprobe"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tracer"
)

// tracesReceiver runs the socket tracer and everything derived from it:
// spans (traces pipelines), RED, connection and process metrics (metrics
// pipelines) and conn_stats events (logs pipelines). One instance serves
// all pipelines that use the same receiver config (see shared.go); a nil
// consumer means no pipeline of that signal.
type tracesReceiver struct {
	cfg         *Config
	set         receiver.Settings
	next        consumer.Traces
	nextMetrics consumer.Metrics
	nextLogs    consumer.Logs
	logger      *zap.Logger

	red     *redMetrics
	conns   *connStats
	tcp     *tcpstats.Collector // nil when off or when it could not load
	pstats  *procstats.Reader
	startNs int64

	procs   *procinfo.Reader
	spans   *spanBuilder
	tracker *conntrack.Tracker
	filter  *filterHandler
	tracer  *tracer.Tracer
	muter   atomic.Pointer[tracer.Tracer] // set before the tracer starts (mute)
	metrics *selfMetrics
	tls     *tlsprobe.Manager // nil unless tls.enabled (tls.go)
	hook    *procHook         // the tracer's ProcessHook (prochook.go)

	// mu serialises the tracer's event delivery with periodic Tick calls on
	// the (single-goroutine) connection tracker.
	mu       sync.Mutex
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	shutdown bool
}

func newTracesReceiver(set receiver.Settings, cfg *Config, next consumer.Traces) (*tracesReceiver, error) {
	return &tracesReceiver{cfg: cfg, set: set, next: next, logger: set.Logger}, nil
}

// wantsMetrics tells whether metrics or conn_stats events are produced.
func (r *tracesReceiver) wantsMetrics() bool { return r.nextMetrics != nil || r.nextLogs != nil }

// lockedHandler serialises tracer callbacks with the receiver's ticker.
type lockedHandler struct {
	mu   *sync.Mutex
	next sockevent.Handler
}

func (h lockedHandler) OnOpen(o *sockevent.Open) {
	h.mu.Lock()
	h.next.OnOpen(o)
	h.mu.Unlock()
}

func (h lockedHandler) OnData(d *sockevent.Data) {
	h.mu.Lock()
	h.next.OnData(d)
	h.mu.Unlock()
}

func (h lockedHandler) OnClose(c *sockevent.Close) {
	h.mu.Lock()
	h.next.OnClose(c)
	h.mu.Unlock()
}

func (r *tracesReceiver) Start(_ context.Context, _ component.Host) error {
	if r.tracer != nil {
		return errors.New("ebpf receiver: already started")
	}
	r.procs = procinfo.NewReader("", 0)
	r.spans = newSpanBuilder(r.cfg.HTTP, r.procs, r.cfg.MaxPendingSpans)
	r.tracker = conntrack.New(r.trackerConfig(), r.onRecord)
	registerProtocols(r.tracker, r.spans) // HTTP/2, PostgreSQL, MySQL, Redis, DNS, Kafka (protospans.go)
	r.startNs = time.Now().UnixNano()
	var parsers sockevent.Handler = r.tracker
	mc := r.cfg.Metrics
	if r.nextMetrics != nil && mc.RED {
		r.red = newREDMetrics(mc.CardinalityLimit, r.startNs)
	}
	if r.wantsMetrics() && mc.ConnStats {
		r.conns = newConnStats(r.tracker, r.tracker.ProtocolOf, r.startNs)
		parsers = r.conns
	}
	if r.nextMetrics != nil && mc.ProcessStats {
		r.pstats = procstats.NewReader("")
	}
	r.filter = newFilterHandler(r.cfg.Filter, r.procs, parsers)
	r.filter.onSkip = r.mute

	t, err := tracer.New(tracer.Config{
		MaxChunkBytes:   r.cfg.MaxChunkBytes,
		RingBufferBytes: r.cfg.RingBufferBytes,
		ExcludePIDs:     r.cfg.Filter.ExcludePIDs,
		IncludePIDs:     r.cfg.Filter.IncludePIDs,
		TracefsPath:     r.cfg.TracefsPath,
		TLS:             r.cfg.TLS.Enabled,
	}, lockedHandler{mu: &r.mu, next: r.filter}, r.logger)
	if err != nil {
		return fmt.Errorf("ebpf receiver: %w", err)
	}
	r.muter.Store(t)
	r.hook = &procHook{procs: r.procs, spans: r.spans}
	t.SetProcessHook(r.hook)
	if err := t.Start(); err != nil {
		_ = t.Close()
		return fmt.Errorf("ebpf receiver: %w", err)
	}
	r.tracer = t
	r.logPrograms()
	r.startTLS()
	if r.conns != nil {
		// TCP health is optional: without it the rest works.
		if c, err := tcpstats.Start(); err != nil {
			r.logger.Warn("ebpf receiver: TCP retransmit/state tracepoints not attached; no ebpf.tcp.* metrics", zap.Error(err))
		} else {
			r.tcp = c
			r.logger.Info("ebpf receiver: TCP stats attached", zap.Strings("programs",
				[]string{"tcp/tcp_retransmit_skb", "sock/inet_sock_set_state"}))
		}
	}

	m, err := newSelfMetrics(r.set.TelemetrySettings, r)
	if err != nil {
		r.logger.Warn("ebpf receiver: own metrics unavailable", zap.Error(err))
	}
	r.metrics = m

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go r.loop(ctx)
	return nil
}

func (r *tracesReceiver) logPrograms() {
	var ok, failed []string
	for _, p := range r.tracer.Programs() {
		if p.Attached {
			ok = append(ok, p.Tracepoint)
		} else {
			failed = append(failed, fmt.Sprintf("%s (%v)", p.Tracepoint, p.Err))
		}
	}
	r.logger.Info("ebpf receiver: socket tracer attached",
		zap.Int("attached", len(ok)), zap.Strings("programs", ok),
		zap.Int("pid_self_excluded", os.Getpid()))
	if len(failed) > 0 {
		r.logger.Warn("ebpf receiver: programs that could not be attached", zap.Strings("programs", failed))
	}
}

// loop flushes spans to the pipeline and expires idle connections.
func (r *tracesReceiver) loop(ctx context.Context) {
	defer r.wg.Done()
	// The flush timer runs only while spans wait: an idle receiver
	// does not wake five times a second for nothing.
	flush := time.NewTimer(r.cfg.FlushInterval)
	flush.Stop()
	defer flush.Stop()
	var flushC <-chan time.Time // nil while the timer is stopped
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var report <-chan time.Time
	if r.wantsMetrics() {
		t := time.NewTicker(r.cfg.Metrics.Interval)
		defer t.Stop()
		report = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-report:
			r.reportMetrics(ctx, now)
		case <-r.spans.first:
			if flushC == nil {
				flush.Reset(r.cfg.FlushInterval)
				flushC = flush.C
			}
		case <-flushC:
			flushC = nil
			r.flush(ctx)
		case <-r.spans.nudge:
			// Half of max_pending_spans waiting: flush now rather than
			// drop spans before the next tick.
			r.flush(ctx)
		case now := <-tick.C:
			r.mu.Lock()
			r.tracker.Tick(now)
			r.mu.Unlock()
		}
	}
}

func (r *tracesReceiver) flush(ctx context.Context) {
	td, n := r.spans.take()
	if n == 0 {
		return
	}
	if err := r.next.ConsumeTraces(ctx, td); err != nil {
		r.logger.Debug("ebpf receiver: pipeline refused spans", zap.Int("spans", n), zap.Error(err))
	}
}

func (r *tracesReceiver) Shutdown(ctx context.Context) error {
	if r.tracer == nil {
		return nil
	}
	var errs []error
	r.stopTLS()
	if err := r.tracer.Close(); err != nil {
		errs = append(errs, err)
	}
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	// Requests still waiting for a response become spans, then the last flush.
	r.mu.Lock()
	r.tracker.Flush(time.Now())
	r.mu.Unlock()
	r.flush(ctx)
	if r.wantsMetrics() {
		r.reportMetrics(ctx, time.Now())
	}
	if r.tcp != nil {
		if err := r.tcp.Close(); err != nil {
			errs = append(errs, err)
		}
		r.tcp = nil
	}
	if r.metrics != nil {
		r.metrics.unregister()
	}
	r.tracer = nil
	return errors.Join(errs...)
}

// TracerStats returns the socket tracer's counters (records, drops per
// reason) of a started ebpf receiver, for benchmarks; false for anything
// else.
func TracerStats(r receiver.Traces) (tracer.Stats, bool) {
	if tr := startedTracer(r); tr != nil {
		return tr.Stats(), true
	}
	return tracer.Stats{}, false
}

// ProgramIDs returns the IDs of the BPF programs a started ebpf receiver
// runs, so benchmarks can read their kernel.bpf_stats_enabled run times.
// It returns nil for anything else.
func ProgramIDs(r receiver.Traces) []ebpf.ProgramID {
	if tr := startedTracer(r); tr != nil {
		return tr.ProgramIDs()
	}
	return nil
}

// startedTracer is the socket tracer of a started ebpf receiver, or nil.
func startedTracer(r receiver.Traces) *tracer.Tracer {
	var tr *tracesReceiver
	switch v := r.(type) {
	case *tracesReceiver:
		tr = v
	case *sharedReceiver:
		tr = v.tracesReceiver
	}
	if tr == nil {
		return nil
	}
	return tr.tracer
}

func (r *tracesReceiver) trackerConfig() conntrack.Config {
	body := r.cfg.HTTP.MaxBodyBytes
	if !r.cfg.HTTP.CaptureBodies || body == 0 {
		body = -1 // capture nothing
	}
	return conntrack.Config{
		IdleTimeout: r.cfg.IdleTimeout,
		// Response headers are only read to capture them as attributes.
		HTTP:     http1.Config{MaxBodyCapture: body, HeadlessResponses: !r.cfg.HTTP.CaptureHeaders},
		OnIgnore: r.mute,
	}
}

// mute stops the payload copies of a connection nobody parses: filtered
// out, or no protocol recognised (conntrack.Config.OnIgnore). Its sizes
// still come, for conn_stats.
func (r *tracesReceiver) mute(id sockevent.ConnID) {
	if t := r.muter.Load(); t != nil {
		t.Mute(id)
	}
}

// onRecord is called by the connection tracker for every request/response
// pair, on the tracer's goroutine.
func (r *tracesReceiver) onRecord(rec *conntrack.Record) {
	if r.next != nil {
		r.spans.add(rec)
	}
	if r.red != nil {
		addr, port := r.spans.serverEndpoint(rec)
		r.red.add(rec, addr, port, rec.EndNs())
	}
}

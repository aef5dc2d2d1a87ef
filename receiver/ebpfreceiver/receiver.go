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
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
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
	lastTick time.Time     // of the tracker (afterDrain, tracer goroutine)
	flushNow chan struct{} // afterDrain to loop: the spans are due
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
	r.startNs = time.Now().UnixNano()
	var parsers sockevent.Handler = r.tracker
	mc := r.cfg.Metrics
	var redExchange func(*protocols.Exchange)
	if r.nextMetrics != nil && mc.RED {
		r.red = newREDMetrics(mc.CardinalityLimit, r.startNs)
		redExchange = r.redExchange
	}
	// HTTP/2, PostgreSQL, MySQL, Redis, DNS, Kafka (protospans.go)
	registerProtocols(r.tracker, r.spans, r.next != nil, redExchange)
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
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.lastTick = time.Now()
	r.flushNow = make(chan struct{}, 1)
	t.SetDrainHook(r.afterDrain)
	if err := t.Start(); err != nil {
		_ = t.Close()
		cancel()
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

// loop hands the spans to the pipeline when afterDrain says they are due
// (or half of max_pending_spans wait), and reports metrics. The pipeline's
// processors run here, beside the tracer's goroutine, not in it.
func (r *tracesReceiver) loop(ctx context.Context) {
	defer r.wg.Done()
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
		case <-r.flushNow:
			r.flush(ctx)
		case <-r.spans.nudge:
			// Half of max_pending_spans waiting: flush now rather than
			// drop spans before the next drain ends.
			r.flush(ctx)
		}
	}
}

// tickEvery is how often the connection tracker expires idle connections.
const tickEvery = time.Second

// afterDrain is the tracer's drain hook (tracer goroutine). After each
// drain of the ring it has the spans flushed when the oldest would be
// flush_interval old before the next drain (next from now; at most
// 200 ms), and lets the tracker expire idle connections once a second.
// Spans are finished only by drains, so none waits longer than
// flush_interval, and the receiver needs no timer of its own. It had two:
// a flush timer armed by the first span after a flush (a goroutine woken to
// arm it, and again when it fired) and the tracker's 1 s ticker; in a
// process otherwise idle each such wakeup costs the Go runtime one or two
// thread wakeups. A flush now costs one goroutine handoff (to loop, so
// that the pipeline's processors do not delay the next drain).
func (r *tracesReceiver) afterDrain(next time.Duration) {
	now := time.Now()
	if now.Sub(r.lastTick) >= tickEvery {
		r.lastTick = now
		r.mu.Lock()
		r.tracker.Tick(now)
		r.mu.Unlock()
	}
	if at, ok := r.spans.oldest(); ok && now.Sub(at)+next >= r.cfg.FlushInterval {
		signal(r.flushNow)
	}
}

func (r *tracesReceiver) flush(ctx context.Context) {
	td, n := r.spans.take()
	if n == 0 || r.next == nil {
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
// redExchange counts HTTP/2 and gRPC exchanges in the RED histograms, as
// onRecord does HTTP/1 ones. The server is named as on the span: the
// :authority of a client's request, else the server side's address.
func (r *tracesReceiver) redExchange(e *protocols.Exchange) {
	if e.Protocol != protocols.HTTP2 || e.Push {
		return
	}
	server := e.Conn.Local
	if e.Conn.Role == sockevent.RoleClient {
		server = e.Conn.Remote
	}
	addr := e.Get("server.address")
	if addr == "" && server.IsValid() {
		addr = r.spans.addrString(server.Addr())
	}
	r.red.addExchange(e, addr, int(server.Port()), e.EndNs)
}

func (r *tracesReceiver) onRecord(rec *conntrack.Record) {
	if r.next != nil {
		r.spans.add(rec)
	}
	if r.red != nil {
		addr, port := r.spans.serverEndpoint(rec)
		r.red.add(rec, addr, port, rec.EndNs())
	}
}

package ebpfreceiver

import (
	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tlsprobe"
)

// TLSConfig turns on the tracing of TLS plaintext: uprobes on OpenSSL /
// BoringSSL (SSL_read/SSL_write[_ex]) in every libssl.so* or binary that
// defines them, and on Go crypto/tls (*Conn).Read/Write, attached to the
// binaries processes run (found in /proc at start, on every exec, and by a
// periodic rescan). Spans of such connections carry url.scheme=https and
// tls.protocol.name=tls (http_events.encrypted in the table store).
type TLSConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

// startTLS attaches the TLS probes when enabled. Failures are logged, never
// fatal: clear-text tracing goes on without them.
func (r *tracesReceiver) startTLS() {
	if !r.cfg.TLS.Enabled || r.tracer == nil {
		return
	}
	p, err := r.tracer.TLSPrograms()
	if err != nil {
		r.logger.Warn("ebpf receiver: TLS tracing unavailable", zap.Error(err))
		return
	}
	m, err := tlsprobe.New(tlsprobe.Config{}, tlsprobe.Programs{
		SSLWrite: p.SSLWrite, SSLRead: p.SSLRead, SSLWriteEx: p.SSLWriteEx, SSLReadEx: p.SSLReadEx,
		SSLReturn: p.SSLReturn, GoWrite: p.GoWrite, GoRead: p.GoRead, GoReturn: p.GoReturn,
	}, r.logger)
	if err != nil {
		r.logger.Warn("ebpf receiver: TLS tracing unavailable", zap.Error(err))
		return
	}
	r.hook.tls.Store(m)
	m.Start()
	r.tls = m
	var attached int
	for _, b := range m.Binaries() {
		if b.Attached {
			attached++
		}
	}
	r.logger.Info("ebpf receiver: TLS tracing on", zap.Int("binaries_probed", attached))
}

// stopTLS detaches the TLS probes (before the tracer closes their programs).
func (r *tracesReceiver) stopTLS() {
	if r.tls == nil {
		return
	}
	r.hook.tls.Store(nil)
	if err := r.tls.Close(); err != nil {
		r.logger.Warn("ebpf receiver: detaching TLS probes", zap.Error(err))
	}
	r.tls = nil
}

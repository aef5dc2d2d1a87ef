package ebpfreceiver

import (
	"sync/atomic"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tlsprobe"
)

// procHook is the socket tracer's ProcessHook. An exec keeps the pid and
// the start time of a process but changes its executable and command
// line: what procinfo cached of it, and the resource its spans of this
// flush share, are forgotten, so that its next spans name the new image
// (an entrypoint script that ran curl and then exec'd the server). With TLS
// tracing on, the tlsprobe manager is told of execs and exits too.
type procHook struct {
	procs *procinfo.Reader
	spans *spanBuilder
	tls   atomic.Pointer[tlsprobe.Manager]
}

func (h *procHook) ProcessExec(pid uint32) {
	h.procs.Forget(pid)
	h.spans.forget(pid)
	if m := h.tls.Load(); m != nil {
		m.ProcessExec(pid)
	}
}

func (h *procHook) ProcessExited(pid uint32) {
	if m := h.tls.Load(); m != nil {
		m.ProcessExited(pid)
	}
}

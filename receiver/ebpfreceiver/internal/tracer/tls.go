package tracer

import (
	"errors"
	"strings"

	"github.com/cilium/ebpf"
)

// ProcessHook is told about traced processes that exec'd or exited, after
// every record the process wrote before. It is called on the reader
// goroutine and must not block.
type ProcessHook interface {
	ProcessExec(pid uint32)
	ProcessExited(pid uint32)
}

// SetProcessHook sets (or, with nil, removes) the ProcessHook. It may be
// called at any time.
func (t *Tracer) SetProcessHook(h ProcessHook) {
	if h == nil {
		t.hook.Store(nil)
		return
	}
	t.hook.Store(&h)
}

// TLSPrograms are the uprobe programs of the loaded tracer, to be attached
// to TLS libraries by the tlsprobe package. The Tracer owns them: they stay
// valid until Close and must not be closed by the caller.
type TLSPrograms struct {
	// OpenSSL / BoringSSL entry probes.
	SSLWrite, SSLRead, SSLWriteEx, SSLReadEx *ebpf.Program
	// SSLReturn is the return (uretprobe) program of the four.
	SSLReturn *ebpf.Program
	// Go crypto/tls (*Conn).Write and Read entry probes, and GoReturn for
	// every RET instruction of both.
	GoWrite, GoRead, GoReturn *ebpf.Program
}

// TLSPrograms returns the uprobe programs; an error before Start or after
// Close.
func (t *Tracer) TLSPrograms() (TLSPrograms, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.coll == nil {
		return TLSPrograms{}, errors.New("tracer: not started")
	}
	p := t.coll.Programs
	out := TLSPrograms{
		SSLWrite:   p[socketTraceProgUprobeSslWrite],
		SSLRead:    p[socketTraceProgUprobeSslRead],
		SSLWriteEx: p[socketTraceProgUprobeSslWriteEx],
		SSLReadEx:  p[socketTraceProgUprobeSslReadEx],
		SSLReturn:  p[socketTraceProgUretprobeSsl],
		GoWrite:    p[socketTraceProgUprobeGoTlsWrite],
		GoRead:     p[socketTraceProgUprobeGoTlsRead],
		GoReturn:   p[socketTraceProgUprobeGoTlsRet],
	}
	for _, pr := range []*ebpf.Program{out.SSLWrite, out.SSLRead, out.SSLWriteEx, out.SSLReadEx,
		out.SSLReturn, out.GoWrite, out.GoRead, out.GoReturn} {
		if pr == nil {
			return TLSPrograms{}, errors.New("tracer: BPF object lacks the TLS uprobe programs (stale generated files? run go generate)")
		}
	}
	return out, nil
}

// skipProgram tells attach which programs are not tracepoints it attaches:
// the uprobes (tlsprobe attaches them per binary).
func skipProgram(ps *ebpf.ProgramSpec) bool {
	return strings.HasPrefix(ps.SectionName, "uprobe/") || strings.HasPrefix(ps.SectionName, "uretprobe/")
}

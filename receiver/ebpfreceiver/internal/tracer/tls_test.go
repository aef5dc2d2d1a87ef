package tracer

import (
	"encoding/binary"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

type hookRecorder struct{ execs, exits []uint32 }

func (h *hookRecorder) ProcessExec(pid uint32)   { h.execs = append(h.execs, pid) }
func (h *hookRecorder) ProcessExited(pid uint32) { h.exits = append(h.exits, pid) }

// TestDispatchTLSAndExec: the TLS flag of Data records, exec and exit
// records reach the ProcessHook.
func TestDispatchTLSAndExec(t *testing.T) {
	rec := &recorder{}
	tr := &Tracer{h: rec}
	hook := &hookRecorder{}
	tr.SetProcessHook(hook)

	payload := []byte("GET /secret HTTP/1.1\r\n")
	d := hdr(evData, uint8(sockevent.Egress), evfTLS, 42, 7, uint32(len(payload)), 555, 20, dataHdrSize)
	binary.LittleEndian.PutUint32(d[offLen:], uint32(len(payload)))
	d = append(d, payload...)
	tr.dispatch(d)
	tr.dispatch(hdr(evExec, 0, 0, 43, -1, 0, 0, 21, hdrSize))
	tr.dispatch(hdr(evExit, 0, 0, 44, -1, 0, 0, 22, hdrSize))
	tr.SetProcessHook(nil)
	tr.dispatch(hdr(evExec, 0, 0, 45, -1, 0, 0, 23, hdrSize))

	require.Len(t, rec.datas, 1)
	assert.True(t, rec.datas[0].TLS)
	assert.Equal(t, payload, rec.datas[0].Payload)
	assert.Equal(t, []uint32{43}, hook.execs)
	assert.Equal(t, []uint32{44}, hook.exits)
	st := tr.Stats()
	assert.Equal(t, uint64(1), st.TLSDataEvents)
	assert.Zero(t, st.Malformed)
}

// TestSkipProgram: uprobe programs are never attached as tracepoints, the
// exec tracepoint always is.
func TestSkipProgram(t *testing.T) {
	spec, err := loadSocketTrace()
	require.NoError(t, err)
	var uprobes, exec int
	for name, ps := range spec.Programs {
		switch {
		case ps.Type == ebpf.Kprobe:
			uprobes++
			assert.True(t, skipProgram(ps), name)
		case ps.SectionName == "tracepoint/sched/sched_process_exec":
			exec++
			assert.False(t, skipProgram(ps))
		default:
			assert.False(t, skipProgram(ps), name)
		}
	}
	assert.Equal(t, 8, uprobes)
	assert.Equal(t, 1, exec)
}

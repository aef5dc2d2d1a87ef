package tracer

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// Floor is a counting-only BPF program attached to the same tracepoints as
// the Tracer: the cost of tracing before doing anything (see PERFORMANCE.md).
type Floor struct {
	objs  floorObjects
	links []link.Link
	ids   []ebpf.ProgramID
}

// StartFloor mounts tracefs at tracefs if needed (default when empty), loads
// the floor program and attaches it to every tracepoint the Tracer uses.
func StartFloor(tracefs string) (*Floor, error) {
	if err := MountTracefs(tracefs); err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	_ = rlimit.RemoveMemlock()
	spec, err := loadSocketTrace()
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	f := &Floor{}
	if err := loadFloorObjects(&f.objs, nil); err != nil {
		return nil, fmt.Errorf("floor: loading BPF program: %w", explainLoadError(err))
	}
	if info, err := f.objs.FloorHit.Info(); err == nil {
		if id, ok := info.ID(); ok {
			f.ids = append(f.ids, id)
		}
	}
	for _, ps := range spec.Programs {
		group, event, ok := tracepointOf(ps.SectionName)
		if !ok || skipProgram(ps) { // as the Tracer
			continue
		}
		l, err := link.Tracepoint(group, event, f.objs.FloorHit, nil)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the Tracer skips it too
			}
			f.Close()
			return nil, fmt.Errorf("floor: attaching to %s/%s: %w%s", group, event, err, permHint(err))
		}
		f.links = append(f.links, l)
	}
	return f, nil
}

// Count returns the number of invocations so far, summed over CPUs.
func (f *Floor) Count() uint64 {
	var vals []uint64
	var zero uint32
	if f.objs.FloorCount == nil || f.objs.FloorCount.Lookup(&zero, &vals) != nil {
		return 0
	}
	var n uint64
	for _, v := range vals {
		n += v
	}
	return n
}

// ProgramIDs returns the kernel ID of the floor program.
func (f *Floor) ProgramIDs() []ebpf.ProgramID {
	return append([]ebpf.ProgramID(nil), f.ids...)
}

// Attached returns how many tracepoints the floor program is attached to.
func (f *Floor) Attached() int { return len(f.links) }

// Close detaches and frees everything. It is idempotent.
func (f *Floor) Close() error {
	errs := []error{closeLinks(f.links)}
	f.links = nil
	errs = append(errs, f.objs.Close())
	f.objs = floorObjects{}
	return errors.Join(errs...)
}

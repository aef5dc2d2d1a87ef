package tablestoreexporter

import (
	"context"
	"hash/fnv"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/xexporter"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// profilesStability is the stability of the profiles signal.
const profilesStability = component.StabilityLevelDevelopment

func createProfiles(_ context.Context, set exporter.Settings, cfg component.Config) (xexporter.Profiles, error) {
	return newExporter(set, cfg.(*Config)), nil
}

// Attribute of a location that marks kernel frames (OTel profiling
// conventions; the ebpf receiver sets it).
const (
	frameTypeAttr   = "profile.frame.type"
	frameTypeKernel = "kernel"
	kernelPrefix    = "[k] "
)

// ConsumeProfiles maps every sample to a stack_traces.beta row: the folded
// stack (root first, `;`-joined, kernel frames prefixed "[k] ") and its
// count, per process (upid) and profile. Samples of one profile that fold
// to the same string are merged.
func (e *tableExporter) ConsumeProfiles(_ context.Context, pd pprofile.Profiles) error {
	m, err := e.getMapper()
	if err != nil {
		return err
	}
	defer e.putMapper(m)
	t := e.store.Table(tablestore.TableStackTraces)
	if t == nil {
		return nil // a store configured without the table
	}
	b := t.NewBatch(pd.SampleCount())
	m.stackRows(pd, b)
	return e.flush(t, b)
}

// folder turns stacks into folded strings, caching per stack and location.
type folder struct {
	d        pprofile.ProfilesDictionary
	locs     map[int32]string
	stacks   map[int32]string
	kernelKV int32 // attribute index of profile.frame.type=kernel, -1 if none
	frames   []string
}

func newFolder(d pprofile.ProfilesDictionary) *folder {
	f := &folder{d: d, locs: map[int32]string{}, stacks: map[int32]string{}, kernelKV: -1}
	strs := d.StringTable()
	for i, a := range d.AttributeTable().All() {
		k := int(a.KeyStrindex())
		if k < strs.Len() && strs.At(k) == frameTypeAttr && a.Value().Str() == frameTypeKernel {
			f.kernelKV = int32(i)
		}
	}
	return f
}

func (f *folder) strAt(i int32) string {
	if i < 0 || int(i) >= f.d.StringTable().Len() {
		return ""
	}
	return f.d.StringTable().At(int(i))
}

// location names one location's frames, outermost (caller) first: a
// location has several lines when functions were inlined, innermost first.
func (f *folder) location(li int32) string {
	if s, ok := f.locs[li]; ok {
		return s
	}
	var s string
	if li >= 0 && int(li) < f.d.LocationTable().Len() {
		loc := f.d.LocationTable().At(int(li))
		prefix := ""
		for _, ai := range loc.AttributeIndices().All() {
			if ai == f.kernelKV {
				prefix = kernelPrefix
			}
		}
		lines := loc.Lines()
		var names []string
		for i := lines.Len() - 1; i >= 0; i-- {
			fi := int(lines.At(i).FunctionIndex())
			if fi <= 0 || fi >= f.d.FunctionTable().Len() {
				continue
			}
			if n := f.strAt(f.d.FunctionTable().At(fi).NameStrindex()); n != "" {
				names = append(names, prefix+n)
			}
		}
		if len(names) == 0 {
			// No function name: module+0xaddress, never an empty frame.
			mod := "[unknown]"
			if mi := int(loc.MappingIndex()); mi > 0 && mi < f.d.MappingTable().Len() {
				if n := f.strAt(f.d.MappingTable().At(mi).FilenameStrindex()); n != "" {
					mod = n
				}
			}
			names = append(names, prefix+mod+"+0x"+strconv.FormatUint(loc.Address(), 16))
		}
		s = strings.Join(names, ";")
	} else {
		s = "[unknown]"
	}
	f.locs[li] = s
	return s
}

// stack folds a stack (leaf-first location indices) root first.
func (f *folder) stack(si int32) string {
	if s, ok := f.stacks[si]; ok {
		return s
	}
	s := "[unknown]"
	if si >= 0 && int(si) < f.d.StackTable().Len() {
		idx := f.d.StackTable().At(int(si)).LocationIndices()
		f.frames = f.frames[:0]
		for i := idx.Len() - 1; i >= 0; i-- {
			f.frames = append(f.frames, f.location(idx.At(i)))
		}
		if len(f.frames) > 0 {
			s = strings.Join(f.frames, ";")
		}
	}
	f.stacks[si] = s
	return s
}

// stackTraceID is a stable 63-bit hash of a folded stack.
func stackTraceID(folded string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(folded))
	return int64(h.Sum64() >> 1)
}

func (m *mapper) stackRows(pd pprofile.Profiles, b *tablestore.Batch) {
	f := newFolder(pd.Dictionary())
	type acc struct {
		count int64
		order int
	}
	for _, rp := range pd.ResourceProfiles().All() {
		r := m.resource(rp.Resource())
		b.AddErrors(r.errs)
		for _, sp := range rp.ScopeProfiles().All() {
			for _, p := range sp.Profiles().All() {
				end := int64(p.Time()) + int64(p.DurationNano())
				if p.Time() == 0 {
					end = m.e.now().UnixNano()
				}
				// Values are counts for samples/count; for a time-valued
				// profile (cpu/nanoseconds from another producer) divide by
				// the period.
				div := int64(1)
				if f.strAt(p.SampleType().UnitStrindex()) != "count" && p.Period() > 0 {
					div = p.Period()
				}
				counts := map[string]*acc{}
				var order []string
				for _, s := range p.Samples().All() {
					var n int64
					if s.Values().Len() > 0 {
						n = s.Values().At(0) / div
					} else {
						n = int64(s.TimestampsUnixNano().Len())
					}
					if n <= 0 {
						continue
					}
					folded := f.stack(s.StackIndex())
					a, ok := counts[folded]
					if !ok {
						a = &acc{order: len(order)}
						counts[folded] = a
						order = append(order, folded)
					}
					a.count += n
				}
				for _, folded := range order {
					b.AppendTime(tablestore.StackTime, end)
					b.AppendString(tablestore.StackUPID, r.upid)
					b.AppendInt(tablestore.StackTraceID, stackTraceID(folded))
					b.AppendString(tablestore.StackTrace, folded)
					b.AppendInt(tablestore.StackCount, counts[folded].count)
					b.AppendString(tablestore.StackService, r.service)
					b.AppendString(tablestore.StackPod, r.pod)
					b.AppendString(tablestore.StackNamespace, r.namespace)
					b.AppendString(tablestore.StackContainerID, r.containerID)
					b.AppendInt(tablestore.StackPID, r.pid)
					b.AppendString(tablestore.StackExe, r.exe)
					b.EndRow()
				}
			}
		}
	}
}

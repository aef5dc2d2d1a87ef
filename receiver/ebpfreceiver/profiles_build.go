package ebpfreceiver

import (
	"crypto/rand"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/profiler"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/symbolize"
)

// FrameTypeAttr is the location attribute that tells kernel frames
// ("kernel") from user-space ones ("native"), as OTel's profiling
// conventions name it. The table_store exporter prefixes kernel frames
// with "[k] ".
const (
	FrameTypeAttr   = "profile.frame.type"
	FrameTypeKernel = "kernel"
	FrameTypeNative = "native"
)

// profileBuilder turns drained stacks into pprofile.Profiles: one
// ResourceProfiles per process (resource attributes as for spans), one
// Profile with sample type samples/count and period cpu/nanoseconds.
type profileBuilder struct {
	sym   *symbolize.Symbolizer
	procs *procinfo.Reader
	host  string
	freq  int
}

func newProfileBuilder(sym *symbolize.Symbolizer, procs *procinfo.Reader, host string, freq int) *profileBuilder {
	return &profileBuilder{sym: sym, procs: procs, host: host, freq: freq}
}

// dict fills a ProfilesDictionary, deduplicating every table.
type dict struct {
	d         pprofile.ProfilesDictionary
	strs      map[string]int32
	funcs     map[string]int32
	mappings  map[string]int32
	locs      map[locKey]int32
	stacks    map[string]int32
	frameAttr [2]int32 // native, kernel
	kernel    map[uint64]symbolize.Frame
}

type locKey struct {
	mapping, fn int32
	addr        uint64
	kernel      bool
}

func newDict(d pprofile.ProfilesDictionary) *dict {
	x := &dict{d: d, strs: map[string]int32{}, funcs: map[string]int32{}, mappings: map[string]int32{},
		locs: map[locKey]int32{}, stacks: map[string]int32{}, kernel: map[uint64]symbolize.Frame{}}
	// Index 0 of every table is the zero value, as the format requires.
	x.str("")
	d.MappingTable().AppendEmpty()
	d.FunctionTable().AppendEmpty()
	d.LocationTable().AppendEmpty()
	d.StackTable().AppendEmpty()
	d.AttributeTable().AppendEmpty()
	for i, v := range []string{FrameTypeNative, FrameTypeKernel} {
		a := d.AttributeTable().AppendEmpty()
		a.SetKeyStrindex(x.str(FrameTypeAttr))
		a.Value().SetStr(v)
		x.frameAttr[i] = int32(d.AttributeTable().Len() - 1)
	}
	return x
}

func (x *dict) str(s string) int32 {
	if i, ok := x.strs[s]; ok {
		return i
	}
	i := int32(x.d.StringTable().Len())
	x.d.StringTable().Append(s)
	x.strs[s] = i
	return i
}

func (x *dict) function(name string) int32 {
	if name == "" {
		return 0
	}
	if i, ok := x.funcs[name]; ok {
		return i
	}
	f := x.d.FunctionTable().AppendEmpty()
	f.SetNameStrindex(x.str(name))
	f.SetSystemNameStrindex(x.str(name))
	i := int32(x.d.FunctionTable().Len() - 1)
	x.funcs[name] = i
	return i
}

func (x *dict) mapping(module string) int32 {
	if i, ok := x.mappings[module]; ok {
		return i
	}
	m := x.d.MappingTable().AppendEmpty()
	m.SetFilenameStrindex(x.str(module))
	i := int32(x.d.MappingTable().Len() - 1)
	x.mappings[module] = i
	return i
}

// location adds a frame. A frame without a function name gets one
// "module+0xoffset" so that it is never shown empty.
func (x *dict) location(f symbolize.Frame, kernel bool) int32 {
	name := f.String()
	k := locKey{mapping: x.mapping(f.Module), fn: x.function(name), addr: f.Offset, kernel: kernel}
	if f.Function != "" {
		k.addr = 0 // one location per function: the profile shows functions, not lines
	}
	if i, ok := x.locs[k]; ok {
		return i
	}
	l := x.d.LocationTable().AppendEmpty()
	l.SetMappingIndex(k.mapping)
	l.SetAddress(k.addr)
	l.Lines().AppendEmpty().SetFunctionIndex(k.fn)
	if kernel {
		l.AttributeIndices().Append(x.frameAttr[1])
	} else {
		l.AttributeIndices().Append(x.frameAttr[0])
	}
	i := int32(x.d.LocationTable().Len() - 1)
	x.locs[k] = i
	return i
}

func (x *dict) stack(locs []int32) int32 {
	var sb strings.Builder
	for _, l := range locs {
		sb.WriteString(strconv.Itoa(int(l)))
		sb.WriteByte(',')
	}
	key := sb.String()
	if i, ok := x.stacks[key]; ok {
		return i
	}
	s := x.d.StackTable().AppendEmpty()
	s.LocationIndices().FromRaw(locs)
	i := int32(x.d.StackTable().Len() - 1)
	x.stacks[key] = i
	return i
}

func (b *profileBuilder) build(samples []profiler.Sample, start, end time.Time) pprofile.Profiles {
	pd := pprofile.NewProfiles()
	x := newDict(pd.Dictionary())
	byPID := map[uint32][]int{}
	var pids []uint32
	for i, s := range samples {
		if _, ok := byPID[s.PID]; !ok {
			pids = append(pids, s.PID)
		}
		byPID[s.PID] = append(byPID[s.PID], i)
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	period := int64(time.Second) / int64(b.freq)
	var locs []int32
	for _, pid := range pids {
		rp := pd.ResourceProfiles().AppendEmpty()
		in := b.procs.Get(pid)
		b.fillResource(rp.Resource(), pid, in)
		sp := rp.ScopeProfiles().AppendEmpty()
		sp.Scope().SetName(metadata.ScopeName)
		prof := sp.Profiles().AppendEmpty()
		var id [16]byte
		_, _ = rand.Read(id[:])
		prof.SetProfileID(pprofile.ProfileID(id))
		prof.SetTime(pcommon.NewTimestampFromTime(start))
		prof.SetDurationNano(uint64(end.Sub(start)))
		prof.SampleType().SetTypeStrindex(x.str("samples"))
		prof.SampleType().SetUnitStrindex(x.str("count"))
		prof.PeriodType().SetTypeStrindex(x.str("cpu"))
		prof.PeriodType().SetUnitStrindex(x.str("nanoseconds"))
		prof.SetPeriod(period)

		// Mappings and symbol tables are kept between reports for the
		// same process (pid and start time).
		proc := b.sym.CachedProcess(pid, in.StartTime)
		for _, i := range byPID[pid] {
			s := &samples[i]
			locs = locs[:0]
			// Leaf first: kernel frames, then user frames.
			for j, ip := range s.Kernel {
				f, ok := x.kernel[ip]
				if !ok {
					f = b.sym.Kernel(retAddr(ip, j))
					x.kernel[ip] = f
				}
				locs = append(locs, x.location(f, true))
			}
			if s.KernelLost {
				locs = append(locs, x.location(symbolize.Frame{Function: "[lost kernel stack]", Module: "[kernel]"}, true))
			}
			for j, ip := range s.User {
				locs = append(locs, x.location(proc.Symbolize(retAddr(ip, j)), false))
			}
			if s.UserLost {
				locs = append(locs, x.location(symbolize.Frame{Function: "[lost user stack]", Module: "[unknown]"}, false))
			}
			if len(locs) == 0 {
				locs = append(locs, x.location(symbolize.Frame{Function: "[no stack]", Module: "[unknown]"}, false))
			}
			smp := prof.Samples().AppendEmpty()
			smp.SetStackIndex(x.stack(locs))
			smp.Values().Append(int64(s.Count))
		}
	}
	return pd
}

// retAddr: every frame but the innermost holds a return address, which
// may already be past the end of the calling function; look up the call
// instruction instead.
func retAddr(ip uint64, depth int) uint64 {
	if depth > 0 && ip > 0 {
		return ip - 1
	}
	return ip
}

func (b *profileBuilder) fillResource(res pcommon.Resource, pid uint32, in *procinfo.Info) {
	attrs := res.Attributes()
	attrs.PutInt("process.pid", int64(pid))
	if b.host != "" {
		attrs.PutStr("host.name", b.host)
	}
	if in.ExeName != "" {
		attrs.PutStr("process.executable.name", in.ExeName)
		attrs.PutStr("service.name", in.ExeName)
	}
	if in.ExePath != "" {
		attrs.PutStr("process.executable.path", in.ExePath)
	}
	if in.CommandLine != "" {
		attrs.PutStr("process.command_line", in.CommandLine)
	}
	if in.StartUnixNano > 0 {
		attrs.PutStr("process.creation.time", time.Unix(0, in.StartUnixNano).UTC().Format(time.RFC3339Nano))
	}
	if in.ContainerID != "" {
		attrs.PutStr("container.id", in.ContainerID)
	}
	if in.PodUID != "" {
		attrs.PutStr("k8s.pod.uid", in.PodUID)
	}
}

package tablestoreexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/xexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/otelcol-ebpf/otelcol-ebpf/exporter/tablestoreexporter/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/pxl"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// testProfiles builds what the ebpf receiver sends: one process, three
// stacks (leaf first), one of them with a kernel part and an unnamed frame.
func testProfiles() pprofile.Profiles {
	pd := pprofile.NewProfiles()
	d := pd.Dictionary()
	strs := map[string]int32{}
	str := func(s string) int32 {
		if i, ok := strs[s]; ok {
			return i
		}
		strs[s] = int32(d.StringTable().Len())
		d.StringTable().Append(s)
		return strs[s]
	}
	str("")
	d.MappingTable().AppendEmpty()
	d.FunctionTable().AppendEmpty()
	d.LocationTable().AppendEmpty()
	d.StackTable().AppendEmpty()
	d.AttributeTable().AppendEmpty()
	kattr := d.AttributeTable().AppendEmpty()
	kattr.SetKeyStrindex(str(frameTypeAttr))
	kattr.Value().SetStr(frameTypeKernel)
	app := d.MappingTable().AppendEmpty()
	app.SetFilenameStrindex(str("app"))
	loc := func(fn string, kernel bool, addr uint64) int32 {
		l := d.LocationTable().AppendEmpty()
		if fn != "" {
			f := d.FunctionTable().AppendEmpty()
			f.SetNameStrindex(str(fn))
			l.Lines().AppendEmpty().SetFunctionIndex(int32(d.FunctionTable().Len() - 1))
		}
		l.SetMappingIndex(1)
		l.SetAddress(addr)
		if kernel {
			l.AttributeIndices().Append(1)
		}
		return int32(d.LocationTable().Len() - 1)
	}
	main, work, hot := loc("main", false, 0), loc("work", false, 0), loc("hot", false, 0)
	unnamed := loc("", false, 0x1234)
	sysWrite, vfsWrite := loc("ksys_write", true, 0), loc("vfs_write", true, 0)
	stack := func(locs ...int32) int32 {
		s := d.StackTable().AppendEmpty()
		s.LocationIndices().FromRaw(locs)
		return int32(d.StackTable().Len() - 1)
	}
	s1 := stack(hot, work, main)
	s2 := stack(vfsWrite, sysWrite, unnamed, main)
	s3 := stack(hot, work, main) // same folded stack as s1: merged

	rp := pd.ResourceProfiles().AppendEmpty()
	a := rp.Resource().Attributes()
	a.PutInt("process.pid", 4242)
	a.PutStr("process.executable.name", "app")
	a.PutStr("process.creation.time", time.Unix(1_700_000_000, 5).UTC().Format(time.RFC3339Nano))
	a.PutStr("container.id", "c0ffee")
	a.PutStr("k8s.pod.uid", "pod-uid-1")
	p := rp.ScopeProfiles().AppendEmpty().Profiles().AppendEmpty()
	p.SetTime(pcommon.NewTimestampFromTime(fixedNow.Add(-10 * time.Second)))
	p.SetDurationNano(uint64(10 * time.Second))
	p.SampleType().SetTypeStrindex(str("samples"))
	p.SampleType().SetUnitStrindex(str("count"))
	p.PeriodType().SetTypeStrindex(str("cpu"))
	p.PeriodType().SetUnitStrindex(str("nanoseconds"))
	p.SetPeriod(int64(time.Second / 97))
	for _, x := range []struct {
		stack int32
		n     int64
	}{{s1, 90}, {s2, 7}, {s3, 3}} {
		s := p.Samples().AppendEmpty()
		s.SetStackIndex(x.stack)
		s.Values().Append(x.n)
	}
	return pd
}

func TestProfilesToStackTraces(t *testing.T) {
	store := newStore(t)
	set := exportertest.NewNopSettings(metadata.Type)
	f := NewFactory().(xexporter.Factory)
	assert.Equal(t, component.StabilityLevelDevelopment, f.ProfilesStability())
	exp, err := f.CreateProfiles(context.Background(), set, createDefaultConfig())
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host{exts: map[component.ID]component.Component{extID: &fakeExt{store: store}}}))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	require.NoError(t, exp.ConsumeProfiles(context.Background(), testProfiles()))
	rows := dumpTable(t, store.Table(tablestore.TableStackTraces))
	require.Len(t, rows, 2)
	assert.Equal(t, "main;work;hot", rows[0]["stack_trace"])
	assert.Equal(t, int64(93), rows[0]["count"])
	assert.Equal(t, "main;app+0x1234;[k] ksys_write;[k] vfs_write", rows[1]["stack_trace"])
	assert.Equal(t, int64(7), rows[1]["count"])
	assert.Equal(t, "4242:1700000000000000005", rows[0]["upid"])
	assert.Equal(t, fixedNow.UnixNano(), rows[0]["time_"])
	assert.Equal(t, stackTraceID("main;work;hot"), rows[0]["stack_trace_id"])
	assert.NotEqual(t, rows[0]["stack_trace_id"], rows[1]["stack_trace_id"])
	assert.Equal(t, "app", rows[0]["service"])
	assert.Equal(t, "pod-uid-1", rows[0]["pod"])
	assert.Equal(t, "c0ffee", rows[0]["container_id"])
	assert.Equal(t, int64(4242), rows[0]["pid"])
	checkGolden(t, "stack_traces", rows)
}

func TestProfilesBadInput(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	pd := testProfiles()
	// Out-of-range indexes: rows with "[unknown]", never a panic.
	p := pd.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0)
	p.Samples().At(0).SetStackIndex(999)
	pd.Dictionary().StackTable().At(2).LocationIndices().Append(555)
	require.NoError(t, e.ConsumeProfiles(context.Background(), pd))
	rows := dumpTable(t, store.Table(tablestore.TableStackTraces))
	require.Len(t, rows, 3)
	assert.Equal(t, "[unknown]", rows[0]["stack_trace"])
	assert.Equal(t, "[unknown];main;app+0x1234;[k] ksys_write;[k] vfs_write", rows[1]["stack_trace"])
}

// TestPerfFlamegraphScript: rows written from profiles are what the bundled
// px/perf_flamegraph script reads: the hot stack first with its share.
func TestPerfFlamegraphScript(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	require.NoError(t, e.ConsumeProfiles(context.Background(), testProfiles()))
	eng := pxl.New(store, pxl.Options{Now: func() time.Time { return fixedNow }})
	res, err := eng.Run(context.Background(), pxl.Query{Name: "px/perf_flamegraph", Args: map[string]any{"pid": 4242}})
	require.NoError(t, err)
	require.Len(t, res.Tables, 1)
	tb := res.Tables[0]
	var names []string
	for _, c := range tb.Columns {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"namespace", "pod", "container", "cmd", "pid", "stack_trace_id", "stack_trace", "count", "percent"}, names)
	require.Len(t, tb.Rows, 2)
	byStack := map[string][]any{}
	for _, r := range tb.Rows {
		byStack[r[6].(string)] = r
	}
	hot := byStack["main;work;hot"]
	require.NotNil(t, hot)
	assert.Equal(t, int64(93), hot[7])
	assert.InDelta(t, 93.0, hot[8], 1e-9)
	assert.Equal(t, "app", hot[3])
	assert.Equal(t, "pod-uid-1", hot[1])

	res, err = eng.Run(context.Background(), pxl.Query{Name: "px/perf_flamegraph", Args: map[string]any{"pid": 1}})
	require.NoError(t, err)
	assert.Empty(t, res.Tables[0].Rows)
}

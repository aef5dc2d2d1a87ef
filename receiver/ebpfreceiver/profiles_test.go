package ebpfreceiver

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/receiver/xreceiver"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/symbolize/symtest"
)

func TestProfilingConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "profiling.yaml"))
	require.NoError(t, err)
	load := func(name string) *Config {
		cfg := NewFactory().CreateDefaultConfig()
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		require.NoError(t, sub.Unmarshal(cfg))
		return cfg.(*Config)
	}
	def := load("")
	require.NoError(t, confmap.Validate(def))
	assert.Equal(t, ProfilingConfig{Enabled: true, FrequencyHz: 97, ReportInterval: 10 * time.Second}, def.Profiling)

	custom := load("profiling")
	require.NoError(t, confmap.Validate(custom))
	assert.Equal(t, ProfilingConfig{Enabled: false, FrequencyHz: 49, ReportInterval: 30 * time.Second}, custom.Profiling)

	for name, msg := range map[string]string{
		"bad_frequency": "profiling.frequency_hz must be between 1 and 1000, got 5000",
		"bad_interval":  "profiling.report_interval must be between 1s and 5m, got 100ms",
	} {
		err := confmap.Validate(load(name))
		require.Error(t, err, name)
		assert.Equal(t, 1, strings.Count(err.Error(), msg), "%s: %v", name, err)
	}
}

func TestFactoryHasProfiles(t *testing.T) {
	f, ok := NewFactory().(xreceiver.Factory)
	require.True(t, ok)
	assert.Equal(t, component.StabilityLevelDevelopment, f.ProfilesStability())
	// Disabled profiling: starts and stops without loading anything.
	cfg := createDefaultConfig().(*Config)
	cfg.Profiling.Enabled = false
	r, err := f.CreateProfiles(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
}

// leafUserFrames sums, for one pid, the samples per innermost user frame,
// reading the profiles the way a backend would.
func leafUserFrames(t *testing.T, all []pprofile.Profiles, pid int64) (map[string]int64, int64) {
	t.Helper()
	out := map[string]int64{}
	var total int64
	for _, pd := range all {
		d := pd.Dictionary()
		strs := d.StringTable()
		for _, rp := range pd.ResourceProfiles().All() {
			v, ok := rp.Resource().Attributes().Get("process.pid")
			if !ok || v.Int() != pid {
				continue
			}
			for _, sp := range rp.ScopeProfiles().All() {
				for _, p := range sp.Profiles().All() {
					assert.Equal(t, "samples", strs.At(int(p.SampleType().TypeStrindex())))
					assert.Equal(t, "count", strs.At(int(p.SampleType().UnitStrindex())))
					assert.Equal(t, "cpu", strs.At(int(p.PeriodType().TypeStrindex())))
					assert.Equal(t, "nanoseconds", strs.At(int(p.PeriodType().UnitStrindex())))
					for _, s := range p.Samples().All() {
						n := s.Values().At(0)
						total += n
						st := d.StackTable().At(int(s.StackIndex()))
						name := "[none]"
						for _, li := range st.LocationIndices().All() {
							loc := d.LocationTable().At(int(li))
							if frameType(d, loc) == FrameTypeKernel {
								continue
							}
							fn := d.FunctionTable().At(int(loc.Lines().At(0).FunctionIndex()))
							name = strs.At(int(fn.NameStrindex()))
							break
						}
						out[name] += n
					}
				}
			}
		}
	}
	return out, total
}

func frameType(d pprofile.ProfilesDictionary, loc pprofile.Location) string {
	for _, ai := range loc.AttributeIndices().All() {
		a := d.AttributeTable().At(int(ai))
		if d.StringTable().At(int(a.KeyStrindex())) == FrameTypeAttr {
			return a.Value().Str()
		}
	}
	return ""
}

// TestProfilesEndToEnd: the receiver, in a profiles pipeline, reports a C
// program burning CPU with its hot function as the leaf user frame of most
// samples, and the resource says which process it is. The profiles survive
// an OTLP protobuf round trip (what otlp_grpc sends) unchanged.
func TestProfilesEndToEnd(t *testing.T) {
	requireRoot(t)
	bin := symtest.BuildC(t, symtest.Plain)
	sink := new(consumertest.ProfilesSink)
	cfg := createDefaultConfig().(*Config)
	cfg.Profiling.ReportInterval = time.Second
	r, err := NewFactory().(xreceiver.Factory).CreateProfiles(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	stopped := false
	defer func() {
		if !stopped {
			_ = r.Shutdown(context.Background())
		}
	}()
	p := symtest.Start(t, bin, "burn")
	require.Eventually(t, func() bool {
		_, n := leafUserFrames(t, sink.AllProfiles(), int64(p.PID))
		return n >= 100
	}, 30*time.Second, 100*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	stopped = true

	all := sink.AllProfiles()
	frames, total := leafUserFrames(t, all, int64(p.PID))
	t.Logf("%d samples: %v", total, frames)
	var best string
	for k, v := range frames {
		if v > frames[best] {
			best = k
		}
	}
	assert.Equal(t, symtest.CHot, best)
	assert.Greater(t, frames[symtest.CHot]*2, total)

	// Resource attributes, as for spans.
	found := false
	for _, pd := range all {
		for _, rp := range pd.ResourceProfiles().All() {
			a := rp.Resource().Attributes()
			if v, _ := a.Get("process.pid"); v.Int() != int64(p.PID) {
				continue
			}
			found = true
			exe, _ := a.Get("process.executable.name")
			assert.Equal(t, filepath.Base(bin), exe.Str())
			cl, _ := a.Get("process.command_line")
			assert.Contains(t, cl.Str(), "burn")
			_, ok := a.Get("host.name")
			assert.True(t, ok)
		}
	}
	assert.True(t, found)

	// OTLP round trip (the marshaler rewrites strings into references in
	// place: read the original first).
	for _, pd := range all {
		f1, n1 := leafUserFrames(t, []pprofile.Profiles{pd}, int64(p.PID))
		b, err := (&pprofile.ProtoMarshaler{}).MarshalProfiles(pd)
		require.NoError(t, err)
		back, err := (&pprofile.ProtoUnmarshaler{}).UnmarshalProfiles(b)
		require.NoError(t, err)
		f2, n2 := leafUserFrames(t, []pprofile.Profiles{back}, int64(p.PID))
		assert.Equal(t, n1, n2)
		assert.Equal(t, f1, f2)
	}
}

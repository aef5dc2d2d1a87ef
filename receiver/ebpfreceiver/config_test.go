package ebpfreceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tracer"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
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
	assert.Equal(t, createDefaultConfig(), def)

	custom := load("custom")
	require.NoError(t, confmap.Validate(custom))
	want := createDefaultConfig().(*Config)
	want.TracefsPath = "/mnt/tracing"
	want.MaxChunkBytes = 4096
	want.RingBufferBytes = 1 << 20
	want.FlushInterval = time.Second
	want.MaxPendingSpans = 100
	want.IdleTimeout = 30 * time.Second
	want.HTTP = HTTPConfig{CaptureHeaders: true, CaptureBodies: true, MaxBodyBytes: 256}
	want.Filter = FilterConfig{
		IncludeExecutables: []string{"nginx", "python3"},
		ExcludePIDs:        []uint32{1},
		ExcludePorts:       []uint16{22},
		IncludeContainers:  []string{"4a1c2b3d4e5f"},
		ExcludeCgroups:     []string{"/system.slice/*"},
	}
	assert.Equal(t, want, custom)

	for name, msg := range map[string]string{
		"bad_chunk":     "max_chunk_bytes must be between 1 and 30720, got 100000",
		"bad_ring":      "ring_buffer_bytes must be a power of two from 65536 (64 KiB) to 1073741824 (1 GiB), got 5000",
		"bad_container": `container id "not-hex" must be 12 to 64 hex digits`,
		// Each of these passed Validate and then failed at Start (the
		// tracer's own checks) or, for the cgroup pattern, never matched.
		"small_ring":       "ring_buffer_bytes must be a power of two from 65536 (64 KiB) to 1073741824 (1 GiB), got 4096",
		"bad_cgroup":       `bad cgroup pattern "/kubepods.slice/*/cri-containerd-[abc"`,
		"relative_tracefs": `tracefs_path must be an absolute path (default /sys/kernel/tracing), got "sys/kernel/tracing"`,
		"pid_zero":         "filter.exclude_pids: pid 0 is not a process",
	} {
		err := confmap.Validate(load(name))
		require.Error(t, err, name)
		assert.True(t, strings.Contains(err.Error(), msg), "%s: %v", name, err)
	}

	// What Validate accepts, the tracer accepts too (it checks again at
	// Start).
	cfg := createDefaultConfig().(*Config)
	cfg.RingBufferBytes = tracer.MinRingBufferBytes
	cfg.Filter.ExcludePIDs = make([]uint32, tracer.MaxPIDFilter+1)
	for i := range cfg.Filter.ExcludePIDs {
		cfg.Filter.ExcludePIDs[i] = uint32(i + 1)
	}
	err = cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "filter.exclude_pids: 1025 pids, at most 1024")
	cfg.Filter.ExcludePIDs = cfg.Filter.ExcludePIDs[:tracer.MaxPIDFilter]
	require.NoError(t, cfg.Validate())
	tc := tracer.Config{MaxChunkBytes: cfg.MaxChunkBytes, RingBufferBytes: cfg.RingBufferBytes,
		TracefsPath: cfg.TracefsPath, ExcludePIDs: cfg.Filter.ExcludePIDs}
	assert.NoError(t, tc.Validate())
}

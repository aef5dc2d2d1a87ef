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
		"bad_ring":      "ring_buffer_bytes must be a power of two of at least 4096, got 5000",
		"bad_container": `container id "not-hex" must be 12 to 64 hex digits`,
	} {
		err := confmap.Validate(load(name))
		require.Error(t, err, name)
		assert.True(t, strings.Contains(err.Error(), msg), "%s: %v", name, err)
	}
}

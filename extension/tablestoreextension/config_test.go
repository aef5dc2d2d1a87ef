package tablestoreextension

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-ebpf/otelcol-ebpf/extension/tablestoreextension/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
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
	assert.Equal(t, "127.0.0.1:9099", def.HTTP.NetAddr.Endpoint)
	assert.Equal(t, int64(1<<30), def.MaxBytes)
	assert.Equal(t, 24*time.Hour, def.Retention)
	assert.Equal(t, map[string]float64{"http_events": 40}, def.TableShares)

	custom := load("custom")
	require.NoError(t, confmap.Validate(custom))
	want := createDefaultConfig().(*Config)
	want.MaxBytes = 256 << 20
	want.Retention = 6 * time.Hour
	want.TableShares = map[string]float64{"http_events": 50, "spans": 30}
	want.BatchRows = 32768
	want.BatchBytes = 4 << 20
	want.MaxHotAge = 5 * time.Second
	want.LateTolerance = time.Second
	want.TableLateTolerance = map[string]time.Duration{"spans": 30 * time.Second, "metrics": 30 * time.Second, "logs": time.Minute}
	want.MaxFuture = 10 * time.Minute
	want.Compression = "lz4"
	want.HTTP.NetAddr.Endpoint = "127.0.0.1:19099"
	assert.Equal(t, want, custom)

	for name, msg := range map[string]string{
		"over_100":      "table shares add up to 110%, more than 100%",
		"too_small":     `table "spans" gets ` + strconv.Itoa(1200000/(len(tablestore.DefaultSchemas())-1)) + ` bytes of the 2000000-byte budget, too small to hold a hot batch and a sealed one`,
		"bad_codec":     `compression must be zstd, lz4 or none, got "brotli"`,
		"unknown_table": `share for unknown table "nope"`,
	} {
		err := confmap.Validate(load(name))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), msg, name)
	}
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

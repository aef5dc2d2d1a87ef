package tablestoreexporter

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-ebpf/otelcol-ebpf/exporter/tablestoreexporter/internal/metadata"
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
	assert.Equal(t, component.MustNewID("table_store"), def.Extension)
	assert.Equal(t, []string{EBPFScope}, def.HTTPEventsScopes)

	custom := load("custom")
	require.NoError(t, confmap.Validate(custom))
	assert.Equal(t, &Config{
		Extension:             component.MustNewIDWithName("table_store", "node"),
		HTTPEventsScopes:      []string{"*"},
		SkipHTTPEventsInSpans: true,
	}, custom)

	err = confmap.Validate(load("empty_scope"))
	require.ErrorContains(t, err, "http_events_scopes must not contain an empty scope")
	err = confmap.Validate(&Config{})
	require.ErrorContains(t, err, "extension must name the table_store extension")
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

package piiredactionprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/internal/metadata"
)

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	require.Equal(t, metadata.Type, f.Type())
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	ctx := context.Background()
	set := processortest.NewNopSettings(metadata.Type)
	host := componenttest.NewNopHost()

	tr, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	me, err := f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lo, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	pr, err := f.CreateProfiles(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, tr.Start(ctx, host))
	require.NoError(t, me.Start(ctx, host))
	require.NoError(t, lo.Start(ctx, host))
	require.NoError(t, pr.Start(ctx, host))
	require.True(t, tr.Capabilities().MutatesData)
	require.NoError(t, tr.Shutdown(ctx))
	require.NoError(t, me.Shutdown(ctx))
	require.NoError(t, lo.Shutdown(ctx))
	require.NoError(t, pr.Shutdown(ctx))
}

func TestCreateFailsOnBadHashKey(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Hash = HashConfig{Keys: []string{"enduser.id"}, KeyEnv: "PII_TEST_UNSET_VARIABLE"}
	_, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.ErrorContains(t, err, "PII_TEST_UNSET_VARIABLE is not set")
}

func noopTelemetry() component.TelemetrySettings { return componenttest.NewNopTelemetrySettings() }

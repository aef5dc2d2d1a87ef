package piiredactionprocessor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/internal/metadata"
)

const distConfig = "../../distributions/otelcol-ebpf/config.yaml"

// distributionConfig loads the pii_redaction section of the default
// config (part of the repository: a missing file is a failure).
func distributionConfig(t *testing.T) (*Config, *confmap.Conf) {
	t.Helper()
	if _, err := os.Stat(distConfig); err != nil {
		t.Fatalf("the default config is missing: %v", err)
	}
	cm, err := confmaptest.LoadConf(filepath.Clean(distConfig))
	require.NoError(t, err)
	sub, err := cm.Sub("processors::pii_redaction")
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg, cm
}

// TestDistributionConfig: the default config has the processor, valid,
// in every pipeline after memory_limiter and before batch.
func TestDistributionConfig(t *testing.T) {
	cfg, cm := distributionConfig(t)
	assert.Equal(t, ModeCategories, cfg.Mode)
	pipes, err := cm.Sub("service::pipelines")
	require.NoError(t, err)
	require.NotEmpty(t, pipes.AllKeys())
	for name, p := range pipes.ToStringMap() {
		var procs []string
		for _, v := range p.(map[string]any)["processors"].([]any) {
			procs = append(procs, v.(string))
		}
		i := slices.Index(procs, "pii_redaction")
		require.GreaterOrEqual(t, i, 0, "pipeline %s lacks pii_redaction", name)
		if m := slices.Index(procs, "memory_limiter"); m >= 0 {
			assert.Less(t, m, i, "pipeline %s: memory_limiter first", name)
		}
		if b := slices.Index(procs, "batch"); b >= 0 {
			assert.Less(t, i, b, "pipeline %s: batch after pii_redaction", name)
		}
	}
}

// TestDefaultConfigOTLPBytes: an HTTP exchange as the ebpf receiver
// reports it (headers and bodies captured) goes through the processor with
// the default config; the OTLP bytes an exporter would send hold none of
// the personal data or secrets, and the connection addresses stay.
func TestDefaultConfigOTLPBytes(t *testing.T) {
	cfg, _ := distributionConfig(t)
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)

	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("POST /checkout")
	a := sp.Attributes()
	a.PutStr("http.request.method", "POST")
	a.PutStr("url.path", "/checkout")
	a.PutStr("url.query", "email=jane.doe%40example.com&ref=7")
	a.PutStr("server.address", "10.0.3.17")
	a.PutStr("client.address", "10.0.7.41")
	a.PutStr("network.peer.address", "10.0.7.41")
	a.PutEmptySlice("http.request.header.authorization").AppendEmpty().SetStr("Bearer s3cr3t-opaque-token-123")
	a.PutEmptySlice("http.request.header.cookie").AppendEmpty().SetStr("session=abcdef0123456789")
	a.PutEmptySlice("http.request.header.x-forwarded-for").AppendEmpty().SetStr("203.0.113.9")
	a.PutStr("http.request.body", `{"email":"jane.doe@example.com","card":"4111-1111-1111-1111","iban":"GB82 WEST 1234 5698 7654 32","phone":"+44 20 7946 0958"}`)
	a.PutStr("http.response.body", `{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c","ok":true}`)
	require.NoError(t, p.ConsumeTraces(context.Background(), td))

	raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(sink.AllTraces()[0])
	require.NoError(t, err)
	for _, secret := range []string{
		"jane.doe", "4111-1111-1111-1111", "GB82", "7946", "s3cr3t", "abcdef0123456789", "203.0.113.9", "eyJhbGciOi",
	} {
		assert.False(t, bytes.Contains(raw, []byte(secret)), "%q left in the OTLP bytes", secret)
	}
	for _, kept := range []string{"10.0.3.17", "10.0.7.41", "<REDACTED_EMAIL>", "<REDACTED_CC_NUMBER>", "<REDACTED_IBAN>", "<REDACTED_PHONE_NUMBER>", "<REDACTED_JWT>", "<REDACTED_IPV4>", "POST /checkout"} {
		assert.True(t, bytes.Contains(raw, []byte(kept)), "%q missing from the OTLP bytes", kept)
	}
}

package piiredactionprocessor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/internal/metadata"
	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/pii"
)

const testKey = "0123456789abcdef0123456789abcdef-test"

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestLoadConfig(t *testing.T) {
	t.Setenv("PII_TEST_HMAC_KEY", testKey)
	t.Setenv("PII_TEST_SHORT_KEY", "too-short")

	def := loadConfig(t, "")
	require.NoError(t, confmap.Validate(def))
	assert.Equal(t, createDefaultConfig(), def)
	assert.Equal(t, ModeCategories, def.Mode)
	assert.Equal(t, pii.All, def.categorySet())

	full := loadConfig(t, "full")
	require.NoError(t, confmap.Validate(full))
	assert.Equal(t, ModeFull, full.Mode)
	assert.False(t, full.categorySet().Has(pii.Phone))
	assert.False(t, full.categorySet().Has(pii.IPv4))
	assert.True(t, full.categorySet().Has(pii.Email))
	assert.Equal(t, []string{"server.address", "client.address", "network.peer.address"}, full.NeverTouchKeys)
	assert.Equal(t, []string{"url.full"}, full.URLKeys)
	assert.Equal(t, "debug", full.Summary)

	h := loadConfig(t, "hash")
	require.NoError(t, confmap.Validate(h))
	assert.Equal(t, []string{"enduser.id", "user.email"}, h.Hash.Keys)

	for name, want := range map[string]string{
		"bad_mode":     `mode "partial": must be one of off, full, categories`,
		"bad_category": `categories: unknown category "passport" (known: email, credit_card`,
		"short_key":    "the key from environment variable PII_TEST_SHORT_KEY is 9 bytes; hmac-sha256 needs at least 32",
		"no_key":       "hash: hmac-sha256 needs a secret key: set key_env or key_file",
		"conflict":     `key pattern "*password*" is in both never_touch_keys and always_redact_keys`,
		"star":         `always_redact_keys: pattern "*" matches every key`,
		"bad_summary":  `summary "loud": must be silent or debug`,
	} {
		err := confmap.Validate(loadConfig(t, name))
		require.ErrorContains(t, err, want, name)
	}
}

func TestHashKeySources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(file, []byte(testKey+"\n"), 0o600))
	h := HashConfig{Keys: []string{"k"}, KeyFile: file}
	k, err := h.secret()
	require.NoError(t, err)
	assert.Equal(t, testKey, string(k))

	h = HashConfig{Keys: []string{"k"}, KeyFile: filepath.Join(dir, "missing")}
	require.ErrorContains(t, h.validate(), "hash.key_file: open")
	h = HashConfig{Keys: []string{"k"}, KeyEnv: "PII_TEST_UNSET_VARIABLE"}
	require.ErrorContains(t, h.validate(), "environment variable PII_TEST_UNSET_VARIABLE is not set")
	h = HashConfig{Keys: []string{"k"}, KeyEnv: "A", KeyFile: file}
	require.ErrorContains(t, h.validate(), "not both")
	h = HashConfig{Keys: []string{"k"}, Function: "md5", KeyFile: file}
	require.ErrorContains(t, h.validate(), `hash.function "md5": only hmac-sha256`)
	h = HashConfig{KeyFile: file}
	require.ErrorContains(t, h.validate(), "keys lists no attribute keys")
	require.NoError(t, (&HashConfig{}).validate())
	assert.True(t, strings.HasPrefix(testKey, "0123"))
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, k string
		want bool
	}{
		{"*password*", "db.Password.hash", true},
		{"*password*", "passwd", false},
		{"http.request.header.*", "http.request.header.cookie", true},
		{"http.request.header.*", "http.request.body", false},
		{"url.full", "URL.FULL", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"x-internal-*", "x-internal-", true},
	} {
		assert.Equal(t, c.want, globMatch(c.p, c.k), "%s ~ %s", c.p, c.k)
	}
}

package piiredactionprocessor

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/pii"
)

// Modes of the processor.
const (
	// ModeOff passes everything through untouched.
	ModeOff = "off"
	// ModeFull replaces payload attributes (PayloadKeys, SQLKeys, URLKeys,
	// string log bodies) and then redacts detected PII everywhere else.
	ModeFull = "full"
	// ModeCategories keeps the data and replaces each detected PII value
	// in place with its category's token.
	ModeCategories = "categories"
)

// HashFunctionHMACSHA256 is the only hash function: HMAC-SHA256 with a
// secret key of at least MinHashKeyBytes bytes.
const (
	HashFunctionHMACSHA256 = "hmac-sha256"
	MinHashKeyBytes        = 32
)

// Config of the pii_redaction processor.
type Config struct {
	// Mode is off, full or categories (default categories).
	Mode string `mapstructure:"mode"`
	// Categories switches detectors on or off by name; a category not
	// listed is on. Names: email, credit_card, iban, ssn, imei, phone,
	// ipv6, ipv4, mac_address, auth, jwt, api_key.
	Categories map[string]bool `mapstructure:"categories"`
	// AlwaysRedactKeys lists attribute key patterns (case-insensitive, `*`
	// matches any run of characters) whose values are replaced by
	// `REDACTED` whatever they hold, in every mode but off.
	AlwaysRedactKeys []string `mapstructure:"always_redact_keys"`
	// NeverTouchKeys lists key patterns whose values are never changed.
	// They win over every other rule.
	NeverTouchKeys []string `mapstructure:"never_touch_keys"`
	// Hash replaces the values of some keys by a keyed hash so that they
	// stay joinable without being readable.
	Hash HashConfig `mapstructure:"hash"`
	// PayloadKeys are the keys that can carry payload; mode full replaces
	// their values by `REDACTED`.
	PayloadKeys []string `mapstructure:"payload_keys"`
	// SQLKeys hold SQL text; mode full replaces its literals by `?`.
	SQLKeys []string `mapstructure:"sql_keys"`
	// URLKeys hold URLs; mode full replaces their query strings by
	// `REDACTED`.
	URLKeys []string `mapstructure:"url_keys"`
	// Summary is silent (default) or debug: debug adds
	// redaction.redacted.keys and redaction.redacted.count to each span
	// and log record that had something redacted (keys only, never
	// values).
	Summary string `mapstructure:"summary"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// HashConfig configures keyed hashing of attribute values.
type HashConfig struct {
	// Function is hmac-sha256 (the default when Keys is set).
	Function string `mapstructure:"function"`
	// Keys lists the attribute key patterns whose values are hashed.
	Keys []string `mapstructure:"keys"`
	// KeyEnv names the environment variable holding the secret key.
	KeyEnv string `mapstructure:"key_env"`
	// KeyFile is a file holding the secret key (trailing newlines are
	// ignored).
	KeyFile string `mapstructure:"key_file"`
}

var _ component.Config = (*Config)(nil)

// DefaultAlwaysRedactKeys are keys whose values are secrets whatever they
// look like.
var DefaultAlwaysRedactKeys = []string{
	"*password*",
	"*passwd*",
	"*secret*",
	"http.request.header.authorization",
	"http.request.header.proxy-authorization",
	"http.request.header.cookie",
	"http.response.header.set-cookie",
	"http.request.header.x-api-key",
}

// DefaultPayloadKeys are the attributes that carry payload (mode full).
var DefaultPayloadKeys = []string{
	"http.request.body",
	"http.response.body",
	"http.request.header.*",
	"http.response.header.*",
	"url.query",
	"messaging.message.body",
	"messaging.kafka.message.value",
	"rpc.request.body",
	"rpc.response.body",
	"graphql.document",
	"db.query.parameter.*",
	"db.operation.parameter.*",
}

// DefaultSQLKeys hold SQL text (mode full).
var DefaultSQLKeys = []string{"db.query.text", "db.statement"}

// DefaultURLKeys hold URLs with query strings (mode full).
var DefaultURLKeys = []string{"url.full", "http.url", "http.target"}

func createDefaultConfig() component.Config {
	return &Config{
		Mode:             ModeCategories,
		AlwaysRedactKeys: append([]string(nil), DefaultAlwaysRedactKeys...),
		PayloadKeys:      append([]string(nil), DefaultPayloadKeys...),
		SQLKeys:          append([]string(nil), DefaultSQLKeys...),
		URLKeys:          append([]string(nil), DefaultURLKeys...),
		Summary:          "silent",
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	switch c.Mode {
	case ModeOff, ModeFull, ModeCategories:
	default:
		errs = append(errs, fmt.Errorf("mode %q: must be one of off, full, categories", c.Mode))
	}
	for name := range c.Categories {
		if _, ok := pii.ParseCategory(name); !ok {
			errs = append(errs, fmt.Errorf("categories: unknown category %q (known: %s)", name, strings.Join(pii.Names(), ", ")))
		}
	}
	lists := []struct {
		name string
		pats []string
	}{
		{"always_redact_keys", c.AlwaysRedactKeys},
		{"never_touch_keys", c.NeverTouchKeys},
		{"hash.keys", c.Hash.Keys},
		{"payload_keys", c.PayloadKeys},
		{"sql_keys", c.SQLKeys},
		{"url_keys", c.URLKeys},
	}
	for _, l := range lists {
		for _, p := range l.pats {
			if strings.Trim(p, "*") == "" {
				errs = append(errs, fmt.Errorf("%s: pattern %q matches every key (or none); list the keys instead", l.name, p))
			}
		}
	}
	for _, p := range c.NeverTouchKeys {
		for _, q := range c.AlwaysRedactKeys {
			if strings.EqualFold(p, q) {
				errs = append(errs, fmt.Errorf("key pattern %q is in both never_touch_keys and always_redact_keys", p))
			}
		}
	}
	switch c.Summary {
	case "", "silent", "debug":
	default:
		errs = append(errs, fmt.Errorf("summary %q: must be silent or debug", c.Summary))
	}
	if err := c.Hash.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (h *HashConfig) validate() error {
	if len(h.Keys) == 0 {
		if h.Function != "" || h.KeyEnv != "" || h.KeyFile != "" {
			return errors.New("hash: keys lists no attribute keys to hash")
		}
		return nil
	}
	if h.Function != "" && h.Function != HashFunctionHMACSHA256 {
		return fmt.Errorf("hash.function %q: only %s is supported", h.Function, HashFunctionHMACSHA256)
	}
	_, err := h.secret()
	return err
}

// secret loads the HMAC key from the environment variable or the file.
func (h *HashConfig) secret() ([]byte, error) {
	var key []byte
	var from string
	switch {
	case h.KeyEnv != "" && h.KeyFile != "":
		return nil, errors.New("hash: set key_env or key_file, not both")
	case h.KeyEnv != "":
		v, ok := os.LookupEnv(h.KeyEnv)
		if !ok {
			return nil, fmt.Errorf("hash.key_env: environment variable %s is not set", h.KeyEnv)
		}
		key, from = []byte(v), "environment variable "+h.KeyEnv
	case h.KeyFile != "":
		b, err := os.ReadFile(h.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("hash.key_file: %w", err)
		}
		key, from = []byte(strings.TrimRight(string(b), "\r\n")), "file "+h.KeyFile
	default:
		return nil, fmt.Errorf("hash: %s needs a secret key: set key_env or key_file", HashFunctionHMACSHA256)
	}
	if len(key) < MinHashKeyBytes {
		return nil, fmt.Errorf("hash: the key from %s is %d bytes; %s needs at least %d", from, len(key), HashFunctionHMACSHA256, MinHashKeyBytes)
	}
	return key, nil
}

// categorySet is the set of enabled categories.
func (c *Config) categorySet() pii.Set {
	set := pii.All
	for name, on := range c.Categories {
		if cat, ok := pii.ParseCategory(name); ok && !on {
			set &^= pii.Of(cat)
		}
	}
	return set
}

package tablestoreexporter

import (
	"errors"

	"go.opentelemetry.io/collector/component"
)

// EBPFScope is the instrumentation scope of the ebpf receiver's spans.
const EBPFScope = "github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver"

// Config of the table_store exporter.
type Config struct {
	// Extension is the ID of the table_store extension that owns the store
	// (default `table_store`).
	Extension component.ID `mapstructure:"extension"`
	// HTTPEventsScopes lists the instrumentation scopes whose spans become
	// http_events rows (default: the ebpf receiver's). "*" maps any SERVER
	// or CLIENT span that has http.request.method.
	HTTPEventsScopes []string `mapstructure:"http_events_scopes"`
	// SkipHTTPEventsInSpans keeps spans that became http_events rows out of
	// the generic spans table (default false: every span is in spans).
	SkipHTTPEventsInSpans bool `mapstructure:"skip_http_events_in_spans"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Extension.Type().String() == "" {
		errs = append(errs, errors.New("extension must name the table_store extension (for example `extension: table_store`)"))
	}
	for _, s := range c.HTTPEventsScopes {
		if s == "" {
			errs = append(errs, errors.New("http_events_scopes must not contain an empty scope"))
		}
	}
	return errors.Join(errs...)
}

func createDefaultConfig() component.Config {
	return &Config{
		Extension:        component.MustNewID("table_store"),
		HTTPEventsScopes: []string{EBPFScope},
	}
}

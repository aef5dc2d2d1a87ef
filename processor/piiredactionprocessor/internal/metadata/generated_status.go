// Package metadata holds the type and stability of the pii_redaction
// processor. It is hand-written in the shape mdatagen generates (mdatagen is
// not available to this project).
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type used in configs: `pii_redaction`.
	Type = component.MustNewType("pii_redaction")
	// ScopeName is the instrumentation scope of the processor's telemetry.
	ScopeName = "github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor"
)

const (
	// TracesStability is the stability of the traces signal.
	TracesStability = component.StabilityLevelAlpha
	// MetricsStability is the stability of the metrics signal.
	MetricsStability = component.StabilityLevelAlpha
	// LogsStability is the stability of the logs signal.
	LogsStability = component.StabilityLevelAlpha
	// ProfilesStability is the stability of the profiles signal.
	ProfilesStability = component.StabilityLevelDevelopment
)

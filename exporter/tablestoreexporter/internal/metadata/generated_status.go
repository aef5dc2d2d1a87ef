// Package metadata holds the type and stability of the table_store exporter.
// It is hand-written in the shape mdatagen generates (mdatagen is not
// available to this project).
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type used in configs: `table_store`.
	Type = component.MustNewType("table_store")
	// ScopeName is the instrumentation scope of the exporter's telemetry.
	ScopeName = "github.com/otelcol-ebpf/otelcol-ebpf/exporter/tablestoreexporter"
)

const (
	// TracesStability is the stability of the traces signal.
	TracesStability = component.StabilityLevelAlpha
	// MetricsStability is the stability of the metrics signal.
	MetricsStability = component.StabilityLevelAlpha
	// LogsStability is the stability of the logs signal.
	LogsStability = component.StabilityLevelAlpha
)

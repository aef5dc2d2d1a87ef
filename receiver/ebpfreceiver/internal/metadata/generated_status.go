// Package metadata holds the type and stability of the ebpf receiver. It is
// hand-written in the shape mdatagen generates (mdatagen is not available to
// this project).
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type used in configs: `ebpf`.
	Type = component.MustNewType("ebpf")
	// ScopeName is the instrumentation scope of everything the receiver emits.
	ScopeName = "github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver"
)

const (
	// TracesStability is the stability of the traces signal.
	TracesStability = component.StabilityLevelAlpha
	// MetricsStability is the stability of the metrics signal.
	MetricsStability = component.StabilityLevelAlpha
	// LogsStability is the stability of the logs signal (conn_stats events).
	LogsStability = component.StabilityLevelDevelopment
)

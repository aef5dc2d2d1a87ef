// Package metadata holds the type and stability of the table_store
// extension. It is hand-written in the shape mdatagen generates (mdatagen is
// not available to this project).
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type used in configs: `table_store`.
	Type = component.MustNewType("table_store")
	// ScopeName is the instrumentation scope of the extension's telemetry.
	ScopeName = "github.com/otelcol-ebpf/otelcol-ebpf/extension/tablestoreextension"
)

const (
	// ExtensionStability is the stability of the extension.
	ExtensionStability = component.StabilityLevelAlpha
)

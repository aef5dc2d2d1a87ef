package pxl

import (
	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/pii"
)

// redact_pii_best_effort runs the pii_redaction processor's detector
// (every category) over a string column: what the processor would turn
// into <REDACTED_*> tokens is replaced the same way.
func init() {
	scalarFuncs["redact_pii_best_effort"] = strFunc("redact_pii_best_effort",
		"redact_pii_best_effort(s): s with emails, card numbers, IBANs, SSNs, IPs, phone numbers, tokens, … replaced by <REDACTED_*> tokens (the pii_redaction processor's detector)",
		TypeString, func(s string) any {
			out, _ := pii.Redact(s, pii.All, nil)
			return out
		})
}

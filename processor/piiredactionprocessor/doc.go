// Package piiredactionprocessor is the `pii_redaction` processor: it
// removes personal data and secrets from traces, metrics, logs and profiles
// before they reach the table store or any exporter.
//
// Mode `categories` replaces each detected value in place with a token
// (<REDACTED_EMAIL>, <REDACTED_CC_NUMBER>, ...) using the validating,
// single-pass detector of package pii. Mode `full` also replaces every
// payload-carrying attribute (bodies, headers, query strings, SQL literals,
// message payloads) and string log bodies. Per-key rules redact, hash
// (HMAC-SHA256) or protect values by attribute key. Mode `off` passes data
// through.
package piiredactionprocessor

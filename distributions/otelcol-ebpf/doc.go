// Package distribution holds the otelcol-ebpf distribution: its default
// configuration (config.yaml) and the end-to-end tests that build the binary
// with ocb and run it. The Go sources ocb generates land in _build (ignored
// by git and by `go test ./...`).
package distribution

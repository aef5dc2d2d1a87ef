// Package ebpfreceiver implements the `ebpf` receiver: it traces the node's
// socket syscalls with eBPF tracepoints (no kprobes, no code changes in the
// traced programs), reassembles each connection's byte streams, parses
// HTTP/1.x and emits one OTel span per request/response pair.
//
// Internal packages: tracer (BPF programs and the ring buffer reader),
// sockevent (the events between kernel and user space), conntrack and http1
// (reassembly and parsing), procinfo (/proc metadata for resources).
package ebpfreceiver

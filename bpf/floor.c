// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
//
// floor.c — the benchmark floor: a program that only counts its invocations
// (per-CPU array += 1). User space attaches it to the same syscall
// tracepoints as socket_trace.c, so the difference between "floor" and the
// full tracer is what the tracer itself costs (see PERFORMANCE.md).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} floor_count SEC(".maps");

SEC("tracepoint")
int floor_hit(void *ctx)
{
	u32 zero = 0;
	u64 *n = bpf_map_lookup_elem(&floor_count, &zero);
	if (n)
		*n += 1;
	return 0;
}

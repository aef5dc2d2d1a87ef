// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
//
// profile.c — the kernel side of the otelcol-ebpf continuous CPU profiler.
//
// User space (receiver/ebpfreceiver/internal/profiler) opens a CPU-clock
// perf event on every online CPU at a fixed frequency (default 97 Hz) and
// attaches profile_sample to each. On every tick the program takes the
// interrupted task's user and kernel stacks (frame-pointer unwinding by the
// kernel, bpf_get_stackid into a BPF_MAP_TYPE_STACK_TRACE map) and adds one
// to the count of (tgid, user stack id, kernel stack id) in a hash map.
//
// Double buffering (as Pixie's perf profiler does): there are two sets of
// maps, A (stacks_a, counts_a) and B (stacks_b, counts_b). control[0] says
// which set the program writes. User space flips it, waits a moment for
// programs that read the old value to finish, then reads and empties the
// set that is no longer written. Sampling never pauses and no sample is lost
// to the drain.
//
// Not sampled: the idle task (tgid 0) and the collector itself (self_tgid,
// set by the loader). Failures are counted per reason in `counters`, never
// silent.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// UAPI values not in the trimmed vmlinux.h.
#define MAP_STACK_TRACE 7   // BPF_MAP_TYPE_STACK_TRACE
#define F_USER_STACK 256    // BPF_F_USER_STACK
#define MAX_STACK_DEPTH 127 // PERF_MAX_STACK_DEPTH

// ---- load-time constants (set by user space before loading) ----
volatile const u32 self_tgid = 0; // the collector itself, never sampled

// A stack id < 0 is bpf_get_stackid's error: -EFAULT (-14) when there is
// no such stack (a kernel thread has no user stack, a tick in user mode no
// kernel stack), else the stack was lost (-EEXIST: its bucket in the stack
// map holds another stack). The sample still counts.
struct stack_key {
	u32 tgid;
	s32 user_stack_id;
	s32 kernel_stack_id;
	u32 pad;
};

// Counters per CPU, indexes into stats.
enum {
	ST_SAMPLES = 0,     // ticks that counted (all sets)
	ST_SKIPPED_SELF,    // ticks in the collector
	ST_SKIPPED_IDLE,    // ticks in the idle task
	ST_USER_STACK_ERR,  // bpf_get_stackid failed for the user stack (not kernel threads)
	ST_KERN_STACK_ERR,  // bpf_get_stackid failed for the kernel stack
	ST_COUNTS_FULL,     // counts map full: sample lost
	ST_MAX,
};

struct stats {
	u64 v[ST_MAX];
};

struct stack_trace {
	u64 ip[MAX_STACK_DEPTH];
};

struct {
	__uint(type, MAP_STACK_TRACE);
	__uint(max_entries, 16384); // set by user space
	__type(key, u32);
	__type(value, struct stack_trace);
} stacks_a SEC(".maps");

struct {
	__uint(type, MAP_STACK_TRACE);
	__uint(max_entries, 16384); // set by user space
	__type(key, u32);
	__type(value, struct stack_trace);
} stacks_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); // set by user space
	__type(key, struct stack_key);
	__type(value, u64);
} counts_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); // set by user space
	__type(key, struct stack_key);
	__type(value, u64);
} counts_b SEC(".maps");

// control[0]: 0 = set A is written, 1 = set B.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} control SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct stats);
} counters SEC(".maps");

static __always_inline void bump(struct stats *st, int i)
{
	if (st)
		st->v[i] += 1; // per-CPU: no atomics needed
}

SEC("perf_event")
int profile_sample(void *ctx)
{
	u32 zero = 0;
	struct stats *st = bpf_map_lookup_elem(&counters, &zero);
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;

	if (tgid == 0) {
		bump(st, ST_SKIPPED_IDLE);
		return 0;
	}
	if (tgid == self_tgid) {
		bump(st, ST_SKIPPED_SELF);
		return 0;
	}

	u32 *sel = bpf_map_lookup_elem(&control, &zero);
	int set_b = sel && *sel;
	void *stacks = set_b ? (void *)&stacks_b : (void *)&stacks_a;
	void *counts = set_b ? (void *)&counts_b : (void *)&counts_a;

	struct stack_key key = {};
	key.tgid = tgid;
	key.kernel_stack_id = bpf_get_stackid(ctx, stacks, 0);
	key.user_stack_id = bpf_get_stackid(ctx, stacks, F_USER_STACK);
	// -EFAULT means "no such stack": no kernel frames for a tick in user
	// mode, no user frames in a kernel thread. Anything else is an error.
	if (key.kernel_stack_id < 0 && key.kernel_stack_id != -14)
		bump(st, ST_KERN_STACK_ERR);
	if (key.user_stack_id < 0 && key.user_stack_id != -14)
		bump(st, ST_USER_STACK_ERR);

	u64 *n = bpf_map_lookup_elem(counts, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
	} else {
		u64 one = 1;
		if (bpf_map_update_elem(counts, &key, &one, BPF_NOEXIST) != 0) {
			// Another CPU may have inserted it in between.
			n = bpf_map_lookup_elem(counts, &key);
			if (!n) {
				bump(st, ST_COUNTS_FULL);
				return 0;
			}
			__sync_fetch_and_add(n, 1);
		}
	}
	bump(st, ST_SAMPLES);
	return 0;
}

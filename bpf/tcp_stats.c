// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
//
// tcp_stats.c — TCP health from tracepoints (no kprobes): retransmissions
// per connection (tcp:tcp_retransmit_skb) and state transitions
// (sock:inet_sock_set_state), read by
// receiver/ebpfreceiver/internal/tcpstats.
//
// Both tracepoints fire in softirq or any task's context, so the traced
// process is not known here: connections are keyed by their 4-tuple, which
// user space matches with the socket tracer's connections. Only connections
// that retransmitted get an entry; an entry is marked closed when its socket
// reaches TCP_CLOSE and user space deletes it once it has read it.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_CLOSE 7
#define MAX_STATES 16

struct tcp_key {
	u16 family;
	u16 lport; // host byte order
	u16 rport; // host byte order
	u16 _pad;
	u8 laddr[16]; // IPv4: first 4 bytes
	u8 raddr[16];
};

struct tcp_val {
	u64 retransmits;
	u64 closed; // 1 once the socket reached TCP_CLOSE
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tcp_key);
	__type(value, struct tcp_val);
} tcp_conns SEC(".maps");

// Transitions into each TCP state (index: the new state), per CPU.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_STATES);
	__type(key, u32);
	__type(value, u64);
} state_counts SEC(".maps");

// Tracepoint layouts (events/tcp/tcp_retransmit_skb/format,
// events/sock/inet_sock_set_state/format).
struct retransmit_ctx {
	u64 _common;
	const void *skbaddr;
	const void *skaddr;
	s32 state;
	u16 sport;
	u16 dport;
	u16 family;
	u8 saddr[4];
	u8 daddr[4];
	u8 saddr_v6[16];
	u8 daddr_v6[16];
};

struct set_state_ctx {
	u64 _common;
	const void *skaddr;
	s32 oldstate;
	s32 newstate;
	u16 sport;
	u16 dport;
	u16 family;
	u16 protocol;
	u8 saddr[4];
	u8 daddr[4];
	u8 saddr_v6[16];
	u8 daddr_v6[16];
};

static __always_inline void make_key(struct tcp_key *k, u16 family, u16 sport, u16 dport,
				     const u8 *s4, const u8 *d4, const u8 *s6, const u8 *d6)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = family;
	k->lport = sport;
	k->rport = dport;
	if (family == AF_INET) {
		__builtin_memcpy(k->laddr, s4, 4);
		__builtin_memcpy(k->raddr, d4, 4);
	} else {
		__builtin_memcpy(k->laddr, s6, 16);
		__builtin_memcpy(k->raddr, d6, 16);
	}
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit(struct retransmit_ctx *ctx)
{
	if (ctx->family != AF_INET && ctx->family != AF_INET6)
		return 0;
	struct tcp_key k;
	make_key(&k, ctx->family, ctx->sport, ctx->dport, ctx->saddr, ctx->daddr, ctx->saddr_v6,
		 ctx->daddr_v6);
	struct tcp_val *v = bpf_map_lookup_elem(&tcp_conns, &k);
	if (!v) {
		struct tcp_val n = {};
		bpf_map_update_elem(&tcp_conns, &k, &n, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&tcp_conns, &k);
		if (!v)
			return 0;
	}
	__sync_fetch_and_add(&v->retransmits, 1);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_set_state(struct set_state_ctx *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	u32 st = ctx->newstate;
	if (st < MAX_STATES) {
		u64 *c = bpf_map_lookup_elem(&state_counts, &st);
		if (c)
			*c += 1;
	}
	if (st != TCP_CLOSE || (ctx->family != AF_INET && ctx->family != AF_INET6))
		return 0;
	struct tcp_key k;
	make_key(&k, ctx->family, ctx->sport, ctx->dport, ctx->saddr, ctx->daddr, ctx->saddr_v6,
		 ctx->daddr_v6);
	struct tcp_val *v = bpf_map_lookup_elem(&tcp_conns, &k);
	if (v)
		v->closed = 1;
	return 0;
}

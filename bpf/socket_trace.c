// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
//
// socket_trace.c — the kernel side of the otelcol-ebpf socket tracer.
//
// Attached to the exit tracepoints of the socket syscalls (and to the enter
// of close). At exit we read the syscall's arguments from the user registers
// the kernel saved at entry (pt_regs), and act on the return value: emit
// Open/Data/Close records (see the ev_* structs) into a ring buffer read by
// receiver/ebpfreceiver/internal/tracer, only when the fd is a socket over
// IPv4/IPv6 and only for traced processes.
//
// Design notes
//
//  * No enter programs for the data and connect/accept syscalls: on x86-64
//    the first three arguments are still in pt_regs (di, si, dx) when the
//    exit tracepoint runs (see exit_args). An earlier design stashed them at
//    enter in task local storage; the enter program (storage get/create and
//    a timestamp) cost ~140-230 ns per syscall, the exit's storage lookup
//    more, and it ran for failed calls (EAGAIN) too. Data timestamps are
//    therefore taken at exit (the time the bytes were moved, which for a
//    blocking read is also the better one), and bpf_ktime_get_ns (~90 ns
//    here) is only called for calls that produce a record.
//
//  * Connection identity is (tgid, fd, gen). The conns LRU hash caches it per
//    (tgid, fd) so the task->files->fdt->fd[fd]->f_inode walk happens once per
//    connection, not per call (and for every successful read/write on
//    non-socket fds; that walk is one bpf_probe_read_kernel and plain loads).
//    gen is the bpf_ktime_get_ns() of the accept/connect exit or of the first
//    sighting, so a reused fd is a new connection. close() drops the entry.
//    A cached entry also remembers task->self_exec_id: after an execve the fd
//    table was rebuilt (CLOEXEC fds closed without close()), so an entry from
//    before the exec is stale and is replaced (a Close is emitted for it).
//
//  * Payload records are variable sized, and bpf_ringbuf_reserve() needs a
//    constant size. Reserving the maximum (30 KiB) for every record would let
//    an 8 MiB ring hold only ~270 records, however small the payloads. So the
//    payload is assembled in a per-CPU scratch slot and then copied into the
//    ring with bpf_ringbuf_output(hdr + len bytes): one extra memcpy of what
//    was captured (cheap next to the probe_read_user itself), and the ring
//    holds as many records as their real sizes allow. Open and Close records
//    have a fixed size and use reserve/submit directly. Tried and not kept:
//    reserving with power-of-two size classes and reading the payload
//    straight into the record (no scratch, no second copy) made no
//    measurable difference for 150 B - 16 KB responses in A/B runs, and it
//    would waste up to half of the ring.
//
//    The scratch slot is a plain ARRAY indexed by CPU id, not a PERCPU_ARRAY,
//    because per-CPU values are limited to 32 KiB and the vectored copy needs
//    2 x 32 KiB of slack: every copy writes at (off & 0x7fff) at most
//    (len & 0x7fff) bytes, which the verifier can bound without relating off
//    and len. User space sets max_entries to the number of possible CPUs.
//    Syscall tracepoint programs run with preemption disabled, so a slot is
//    never used by two programs at once.
//
//  * Never block: when the ring is full the record is dropped and a per-CPU
//    counter for that reason is incremented. Stream offsets (Pos) and byte
//    totals are updated before emitting, so a dropped or capped chunk leaves
//    a visible gap in Pos. A dropped Open is retried before the next Data of
//    its connection (conn.open_pending); until it gets through, that Data is
//    dropped too, so user space never sees Data before its Open.
//
//  * Process exit closes every fd without close(). sched_process_exit (when
//    the last thread of a traced process exits) emits an EV_EXIT record;
//    user space, which knows the process's open connections from the Open
//    and Close records, reads their totals from the conns map, deletes the
//    entries and reports a Close for each. Doing it in BPF would need a walk
//    over the whole conns map per exit.
//
//  * TLS (only when user space attaches the uprobes, see "TLS" below): the
//    plaintext of OpenSSL/BoringSSL (SSL_read/SSL_write[_ex]) and Go
//    crypto/tls ((*Conn).Read/Write) calls is reported as Data records with
//    the EVF_TLS flag and plaintext stream offsets; the ciphertext of such a
//    connection is then no longer reported (its bytes still count in the
//    Close totals). The hot path pays one compare of a global epoch with the
//    connection's copy and one byte test, unless the process has made a
//    TLS call (then one hash lookup per socket syscall).
//
//  * Muted connections: when user space recognises no protocol in a
//    connection it puts (key, gen) in the muted map. A connection looks
//    there at its 1st, 2nd, 4th, ... 128th data syscall and then every
//    256th (one hash lookup, amortised). Once muted, its syscalls copy no
//    payload and emit no record of their own: their sizes add up in the
//    conns entry (the stream offsets and Close totals stay exact) and go
//    out as one size-only Data record per MUTE_FLUSH_BYTES or
//    MUTE_FLUSH_NS per direction, so conn_stats still sees the bytes
//    within a second. Writing a flag into the conns entry from user space
//    instead would race with the atomic byte counters there.
//
//  * Wakeups: records are submitted with BPF_RB_NO_WAKEUP, always. User
//    space polls the ring on a timer (200 ms at low rates, shorter as they
//    grow so that a drain finds about 1000 records or 1/8 of the ring,
//    down to 1 ms, backing off to 200 ms when idle) and
//    never waits in epoll, so a wakeup would have no one to wake; asking
//    the ring how full it is (bpf_ringbuf_query) was a helper call per
//    record for nothing. Opens and execs are different: user space reads
//    /proc for a new connection's process and attaches TLS uprobes to a
//    new process, and a short-lived client (curl) must not be gone by
//    then. So they also put 8 bytes in the one-page kick ring, whose
//    reader waits in the Go runtime's poller and wakes the main reader at
//    once; at most one kick per KICK_NS, so a connection storm costs at
//    most 200 wakeups a second. An Open kicks only when its process is not
//    in known_procs: user space adds a process there once it has handled
//    one of its Opens (and so read its /proc entry), and the process's
//    exit (or exec) takes it out. A server accepting 1k connections a
//    second thus kicks once, not 200 times a second (each kick a drain of
//    a few records, ~25% of the collector's CPU in that case). And every
//    CPU looks at how full the ring is once per FILL_EVERY Data records it
//    writes: past kick_fill (a quarter of the ring) it kicks too, so a
//    burst after a quiet spell (the reader then sleeps 200 ms) wakes the
//    reader before the ring fills.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

// MAX_CHUNK is the largest payload one record may carry (Pixie-like 30 KiB).
// max_chunk (below) is validated by user space to be within 1..MAX_CHUNK.
#define MAX_CHUNK 30720
#define PAYLOAD_MASK 0x7fff // >= MAX_CHUNK, power of two minus one
#define SCRATCH_PAYLOAD (2 * (PAYLOAD_MASK + 1))
// Vectored calls: at most MAX_IOV iovecs are copied per message (the bytes
// of the rest still count in Size); at most MAX_MMSG messages per
// recvmmsg/sendmmsg produce records.
#define MAX_IOV 16
#define MAX_MMSG 16

// ---- load-time constants (set by user space before loading) ----
volatile const u32 self_tgid = 0;      // the collector itself, never traced
volatile const u32 max_chunk = 4096;   // payload cap per record, <= MAX_CHUNK
volatile const u8 filter_include = 0;  // include_pids holds the only traced tgids
volatile const u8 filter_exclude = 0;  // exclude_pids holds tgids not to trace
volatile const u8 exec_kick = 0;       // an exec wakes user space at once (TLS probing)
volatile const u64 kick_fill = 0;      // ring bytes waiting above which Data kicks (0: never)

// ---- records (layouts mirrored in events.go, checked by a test) ----
enum ev_type {
	EV_OPEN = 1,
	EV_DATA = 2,
	EV_CLOSE = 3,
	EV_EXIT = 4, // a traced process exited: header only (tgid, ts)
	EV_EXEC = 5, // a traced process called execve: header only (tgid, ts)
};

// Data record flags (ev_hdr.b2).
enum ev_flags {
	EVF_TLS = 1, // plaintext of a TLS library call; pos counts plaintext bytes
};

enum role {
	ROLE_UNKNOWN = 0,
	ROLE_CLIENT = 1,
	ROLE_SERVER = 2,
};

enum dir {
	DIR_EGRESS = 0,
	DIR_INGRESS = 1,
};

// Common 32-byte header of every record.
struct ev_hdr {
	u8 type;  // enum ev_type
	u8 b1;    // open: role; data: dir
	u8 b2;    // open: existing; data: enum ev_flags
	u8 b3;    // data: syscall kind (enum kind), for debugging
	u32 tgid;
	s32 fd;
	u32 size; // data: bytes the syscall moved; open: address family
	u64 gen;
	u64 ts;   // bpf_ktime_get_ns() at syscall exit
};

struct ev_open {
	struct ev_hdr h;
	u8 laddr[16]; // IPv4: first 4 bytes
	u8 raddr[16];
	u16 lport;    // host byte order
	u16 rport;    // host byte order
	char comm[16]; // task comm (bpf_get_current_comm) when the Open was made
	u32 _pad;
};

struct ev_data_hdr {
	struct ev_hdr h;
	u64 pos;      // stream offset of the first byte, per direction
	u32 len;      // payload bytes that follow the header
	u32 _pad;
};

struct ev_close {
	struct ev_hdr h;
	u64 sent;
	u64 recv;
};

// Scratch slot: a data header followed by room for the payload, then room
// for the iovec array of a vectored call.
struct scratch {
	struct ev_data_hdr hdr;
	u8 payload[SCRATCH_PAYLOAD];
	u64 iov[2 * MAX_IOV]; // struct iovec {base, len} pairs
};

// Per-CPU counters (mirrored in Stats; names via bpf2go -type counter).
enum counter {
	CNT_OPEN_EVENTS = 0,    // Open records written to the ring
	CNT_DATA_EVENTS,        // Data records written to the ring
	CNT_CLOSE_EVENTS,       // Close records written to the ring
	CNT_DATA_BYTES,         // sum of Size of written Data records
	CNT_PAYLOAD_BYTES,      // payload bytes in written Data records
	CNT_DROP_RB_OPEN,       // ring full: Open dropped
	CNT_DROP_RB_DATA,       // ring full: Data dropped
	CNT_DROP_RB_CLOSE,      // ring full: Close dropped
	CNT_DROP_DATA_BYTES,    // sum of Size of dropped Data records
	CNT_DROP_ARGS_FULL,     // unused since the args are read at exit (kept for the layout)
	CNT_DROP_CONN_FULL,     // conns map update failed or entry vanished
	CNT_DROP_NO_SCRATCH,    // scratch slot missing (cannot happen)
	CNT_IOV_TRUNCATED,      // more iovecs than MAX_IOV with bytes left
	CNT_MMSG_TRUNCATED,     // more messages than MAX_MMSG
	CNT_READ_FAILED,        // bpf_probe_read_user failed: payload short
	CNT_CAPPED,             // payload capped at max_chunk
	CNT_STALE_CONN,         // cached conn from before an execve replaced
	CNT_EXIT_EVENTS,        // process-exit records written to the ring
	CNT_DROP_RB_EXIT,       // ring full: process-exit record dropped
	CNT_TLS_DATA_EVENTS,    // TLS plaintext Data records written (also in CNT_DATA_EVENTS)
	CNT_TLS_NO_FD,          // TLS call whose socket is unknown: plaintext not reported
	CNT_TLS_CIPHER_BYTES,   // ciphertext bytes of TLS connections not reported
	CNT_EXEC_EVENTS,        // exec records written to the ring
	CNT_DROP_RB_EXEC,       // ring full: exec record dropped
	CNT_MUTED_BYTES,        // Size of Data records sent without payload: connection muted
	CNT_MAX,
};

struct counters {
	u64 c[CNT_MAX];
};

// The number of counters, typed so that the enum is in the object's BTF
// (bpf2go generates the Go constants from it). Not meant to be changed.
volatile const enum counter counter_max = CNT_MAX;

// Syscall kinds (reported in ev_hdr.b3, for debugging).
enum kind {
	K_READ = 1,
	K_WRITE,
	K_READV,
	K_WRITEV,
	K_RECVFROM,
	K_SENDTO,
	K_RECVMSG,
	K_SENDMSG,
	K_RECVMMSG,
	K_SENDMMSG,
	K_SENDFILE,
	K_CONNECT,
	K_ACCEPT,
	K_ACCEPT4,
	K_TLS, // plaintext from a TLS library call
};

// The syscall's arguments as the exit programs see them (exit_args).
struct args {
	u64 ts;   // bpf_ktime_get_ns() at exit, taken on demand (0 until then)
	u64 buf;  // buffer, iovec array, msghdr or mmsghdr array
	u32 cnt;  // iovcnt / vlen
	s32 fd;
	u32 tgid;
	u8 kind;  // enum kind
	u8 _pad[3];
};

struct conn {
	u64 gen;
	u64 sent; // egress stream offset
	u64 recv; // ingress stream offset
	u64 exec_id;
	u64 sk;           // struct sock *, to (re)send the Open
	u64 open_pending; // the Open record was dropped (ring full): send it first
	u64 tls_sent;     // TLS plaintext egress offset
	u64 tls_recv;     // TLS plaintext ingress offset
	u8 role;
	u8 existing;
	u8 tls;           // a TLS call used this connection: its ciphertext is not reported
	u8 tls_proc;      // tls_procs[tgid] as of epoch
	u32 epoch;        // tls_epoch when tls_proc was read
	u32 nrec;         // data syscalls seen (when to look at muted)
	u8 mute;          // user space found no protocol: no payload copies
	u8 _pad[3];
	u64 mute_acc[2];  // muted: bytes not reported yet, per direction
	u64 mute_ts[2];   // muted: when the last size-only record went out
};

// ---- maps ----
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); // set by user space
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u64); // tgid << 32 | fd
	__type(value, struct conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); // set to the number of possible CPUs by user space
	__type(key, u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

// Connections in which user space recognised no protocol (or that switched
// to one it does not parse): key as in conns, value = the connection's gen.
// See "Muted connections" above.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, u64);
} muted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct counters);
} counters_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u8);
} include_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u8);
} exclude_pids SEC(".maps");

// ---- TLS state (see "TLS" below) ----
enum tls_proc_flags {
	PROC_SSL = 1, // the process called an OpenSSL/BoringSSL function we probe
	PROC_GO = 2,  // the process called Go crypto/tls (*Conn).Read/Write
};

// tls_epoch changes whenever tls_procs gains a process; a connection
// re-reads its process's flags when its copy of the epoch differs.
volatile u32 tls_epoch = 0;

// Processes that made a TLS call: tgid -> enum tls_proc_flags.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, u8);
} tls_procs SEC(".maps");

// A TLS library call in progress, keyed by thread (OpenSSL: id = pid_tgid)
// or by goroutine (Go: id = g, go = 1; goroutines move between threads).
struct tls_key {
	u64 id;
	u32 tgid;
	u32 go;
};

struct tls_call {
	u64 ptr;  // SSL * or *tls.Conn
	u64 buf;  // plaintext buffer
	u64 lenp; // SSL_*_ex: size_t * of the bytes moved
	s32 fd;   // socket of the nested syscall, -1 until one is seen
	u8 dir;
	u8 ex;
	u8 go;
	u8 emitted; // Go write: the plaintext was reported at the nested syscall
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tls_key);
	__type(value, struct tls_call);
} tls_calls SEC(".maps");

// The socket of a TLS object (SSL * / *tls.Conn), learned from a nested
// syscall, for the calls that need none (plaintext already buffered).
struct tls_ptr_key {
	u64 ptr;
	u32 tgid;
	u32 _pad;
};

struct tls_fd {
	u64 gen; // the connection's gen: a reused fd is another connection
	s32 fd;
	u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tls_ptr_key);
	__type(value, struct tls_fd);
} tls_fds SEC(".maps");

// Scratch for plaintext records, apart from the syscall programs' (uprobe
// programs may be preempted).
struct tls_scratch {
	struct ev_data_hdr hdr;
	u8 payload[PAYLOAD_MASK + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); // set to the number of possible CPUs by user space
	__type(key, u32);
	__type(value, struct tls_scratch);
} tls_scratch_map SEC(".maps");

// Syscall tracepoint contexts (see events/syscalls/*/format): an 8-byte
// trace_entry, the syscall number padded to 8 bytes, then the arguments or
// the return value.
struct sys_enter_ctx {
	u64 _common;
	s64 nr;
	u64 args[6];
};

struct sys_exit_ctx {
	u64 _common;
	s64 nr;
	s64 ret;
};

// ---- helpers ----
static __always_inline struct counters *counters(void)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(&counters_map, &zero);
}

static __always_inline void count(enum counter idx, u64 n)
{
	struct counters *c = counters();
	if (c && idx < CNT_MAX && idx < counter_max)
		c->c[idx] += n;
}

// One page; its records only wake user space (see "Wakeups").
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} kick_ring SEC(".maps");

#define KICK_NS 5000000ULL
volatile u64 last_kick = 0; // ktime of the last kick (racy updates are fine)

// Processes whose Opens need no kick (see "Wakeups"): tgid -> 1, added by
// user space, removed at exit and exec.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, u8);
} known_procs SEC(".maps");

// kick wakes user space's reader now, unless it was kicked less than
// KICK_NS ago (it is then about to drain anyway).
static __always_inline void kick(u64 now)
{
	if (now - last_kick < KICK_NS)
		return;
	last_kick = now;
	u64 one = 1;
	bpf_ringbuf_output(&kick_ring, &one, sizeof(one), 0);
}

// FILL_EVERY: a CPU looks at how full the ring is once per this many Data
// records it writes (a power of two; see fill_check).
#define FILL_EVERY 128

// fill_check wakes user space when more than kick_fill bytes wait in the
// ring, looking once per FILL_EVERY Data records written on this CPU
// (written = the per-CPU count of them): a burst after a quiet spell, when
// the reader sleeps its longest, must not fill the ring before the reader's
// timer fires. One helper call per FILL_EVERY records.
static __always_inline void fill_check(u64 written, u64 now)
{
	if (kick_fill && (written & (FILL_EVERY - 1)) == 0 &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > kick_fill)
		kick(now);
}

// rb_flags: see "Wakeups" above.
static __always_inline u64 rb_flags(void)
{
	return BPF_RB_NO_WAKEUP;
}

static __always_inline bool traced(u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_include && !bpf_map_lookup_elem(&include_pids, &tgid))
		return false;
	if (filter_exclude && bpf_map_lookup_elem(&exclude_pids, &tgid))
		return false;
	return true;
}

static __always_inline u64 conn_key(u32 tgid, s32 fd)
{
	return ((u64)tgid << 32) | (u32)fd;
}


// bpf_rdonly_cast (kernel 6.2+) turns a kernel address into a typed pointer
// that can be read with plain loads (the verifier makes them fault-safe),
// which costs nothing at run time, where each bpf_probe_read_kernel call
// costs ~100 ns. Weak: on older kernels the walk uses BPF_CORE_READ.
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym __weak;
#define core_cast(ptr, type) ((type *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))

// inet_sock returns the struct sock behind fd when fd is an AF_INET or
// AF_INET6 socket of the current task (task from bpf_get_current_task_btf),
// NULL otherwise.
static __always_inline struct sock *inet_sock(struct task_struct *task, s32 fd)
{
	struct files_struct *files = task->files;
	if (!files)
		return NULL;
	struct fdtable *fdt = files->fdt;
	if (!fdt || (u32)fd >= fdt->max_fds)
		return NULL;
	struct file **fda = fdt->fd;
	struct file *f = NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fda[fd]) || !f)
		return NULL;

	struct socket *sock;
	struct sock *sk;
	u16 family;
	if (bpf_rdonly_cast) {
		struct file *file = core_cast(f, struct file);
		struct inode *inode = file->f_inode;
		if (!inode || (inode->i_mode & S_IFMT) != S_IFSOCK)
			return NULL;
		sock = core_cast(file->private_data, struct socket);
		sk = sock->sk;
		if (!sk)
			return NULL;
		family = sk->__sk_common.skc_family;
	} else {
		umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
		if ((mode & S_IFMT) != S_IFSOCK)
			return NULL;
		sock = BPF_CORE_READ(f, private_data);
		if (!sock)
			return NULL;
		sk = BPF_CORE_READ(sock, sk);
		if (!sk)
			return NULL;
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
	}
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	return sk;
}

static __always_inline bool emit_open(struct sock *sk, u32 tgid, s32 fd, u64 gen, u64 ts,
				      u8 role, u8 existing)
{
	struct ev_open *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_DROP_RB_OPEN, 1);
		return false;
	}
	u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	// b3: the process is not in known_procs (the kernel side kicks for
	// it), so user space marks it again even if it thinks it did: an exit
	// or exec record dropped on a full ring, or an LRU eviction, would
	// otherwise leave it kicking for good.
	u8 unknown = !bpf_map_lookup_elem(&known_procs, &tgid);
	e->h.type = EV_OPEN;
	e->h.b1 = role;
	e->h.b2 = existing;
	e->h.b3 = unknown;
	e->h.tgid = tgid;
	e->h.fd = fd;
	e->h.size = family;
	e->h.gen = gen;
	e->h.ts = ts;
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	if (family == AF_INET6) {
		BPF_CORE_READ_INTO((struct in6_addr *)e->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)e->raddr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((u32 *)e->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((u32 *)e->raddr, sk, __sk_common.skc_daddr);
	}
	e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	// Short-lived clients are gone before user space can read /proc.
	if (bpf_get_current_comm(e->comm, sizeof(e->comm)))
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	e->_pad = 0;
	bpf_ringbuf_submit(e, rb_flags());
	count(CNT_OPEN_EVENTS, 1);
	if (unknown)
		kick(ts);
	return true;
}

// open_sent makes sure the connection's Open record is in the ring before
// any Data for it: when the Open was dropped (ring full), it is sent now,
// and when that fails too the caller drops its Data.
static __always_inline bool open_sent(struct conn *c, u32 tgid, s32 fd)
{
	if (!c->open_pending)
		return true;
	// One thread sends it.
	if (__sync_val_compare_and_swap(&c->open_pending, 1, 0) != 1)
		return true;
	if (emit_open((struct sock *)c->sk, tgid, fd, c->gen, bpf_ktime_get_ns(), c->role,
		      c->existing))
		return true;
	c->open_pending = 1;
	return false;
}

static __always_inline void emit_close(struct conn *c, u32 tgid, s32 fd, u64 ts)
{
	if (c->open_pending)
		return; // user space never heard of it
	struct ev_close *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_DROP_RB_CLOSE, 1);
		return;
	}
	e->h.type = EV_CLOSE;
	e->h.b1 = 0;
	e->h.b2 = 0;
	e->h.b3 = 0;
	e->h.tgid = tgid;
	e->h.fd = fd;
	e->h.size = 0;
	e->h.gen = c->gen;
	e->h.ts = ts;
	e->sent = c->sent;
	e->recv = c->recv;
	bpf_ringbuf_submit(e, rb_flags());
	count(CNT_CLOSE_EVENTS, 1);
}

static __always_inline struct scratch *scratch_slot(void)
{
	u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&scratch_map, &cpu);
}

// copy_iov copies the iovecs at iov (iovcnt of them, in order) into the
// current CPU's scratch payload, stopping after want bytes (capped at
// max_chunk) or MAX_IOV iovecs. It returns the number of bytes copied.
// A global (non-inlined) function: the verifier checks it once, not once per
// call site, which keeps the mmsg loop (messages x iovecs) verifiable.
__noinline int copy_iov(u64 iov, u64 iovcnt, u32 want)
{
	struct scratch *s = scratch_slot();
	if (!s)
		return 0;
	if (want > max_chunk)
		want = max_chunk;
	u32 n_iov = MAX_IOV;
	if (iovcnt < MAX_IOV)
		n_iov = iovcnt;
	u32 off = 0;
	int i = 0;
	// One probe_read_user for the whole iovec array: every helper call
	// has a fixed cost (about 200 ns for probe_read_user on these VMs).
	if (n_iov == 0 || bpf_probe_read_user(s->iov, n_iov * sizeof(struct iovec), (void *)iov))
		goto fault;
	for (i = 0; i < MAX_IOV; i++) {
		if (i >= n_iov || off >= want)
			break;
		u32 n = want - off;
		u64 base = s->iov[2 * i];
		u64 len = s->iov[2 * i + 1];
		if (len < n)
			n = len;
		// The masks bound the write to the scratch buffer for the
		// verifier (off < want <= max_chunk <= MAX_CHUNK in practice).
		if (bpf_probe_read_user(&s->payload[off & PAYLOAD_MASK], n & PAYLOAD_MASK,
					(void *)base))
			goto fault;
		off += n & PAYLOAD_MASK;
	}
	if (off < want && i == MAX_IOV && iovcnt > MAX_IOV)
		count(CNT_IOV_TRUNCATED, 1);
	return off;
fault:
	count(CNT_READ_FAILED, 1);
	return off;
}

// emit_data writes the record assembled in s (len payload bytes already in
// place) for size bytes moved on c. The stream offset advances even when the
// record is dropped, so user space sees the gap.
// emit_record writes the record at hdr (the payload follows it; len bytes
// already in place) at stream offset pos.
static __always_inline long emit_record(struct ev_data_hdr *hdr, struct conn *c, u32 tgid,
					s32 fd, u64 ts, u8 dir, u8 kind, u8 flags, u64 pos,
					u32 size, u32 len)
{
	hdr->h.type = EV_DATA;
	hdr->h.b1 = dir;
	hdr->h.b2 = flags;
	hdr->h.b3 = kind;
	hdr->h.tgid = tgid;
	hdr->h.fd = fd;
	hdr->h.size = size;
	hdr->h.gen = c->gen;
	hdr->h.ts = ts;
	hdr->pos = pos;
	hdr->len = len;
	hdr->_pad = 0;
	return bpf_ringbuf_output(&events, hdr, sizeof(*hdr) + len, rb_flags());
}

static __always_inline void emit_data(struct scratch *s, struct conn *c, u32 tgid, s32 fd,
				      u64 ts, u8 dir, u8 kind, u32 size, u32 len, bool opened)
{
	u64 pos;
	if (dir == DIR_INGRESS)
		pos = __sync_fetch_and_add(&c->recv, size);
	else
		pos = __sync_fetch_and_add(&c->sent, size);
	if (!opened) {
		count(CNT_DROP_RB_DATA, 1);
		count(CNT_DROP_DATA_BYTES, size);
		return;
	}

	len &= PAYLOAD_MASK;
	if (len > size)
		len = size;
	long err = emit_record(&s->hdr, c, tgid, fd, ts, dir, kind, 0, pos, size, len);
	struct counters *k = counters();
	if (!k)
		return;
	if (err) {
		k->c[CNT_DROP_RB_DATA] += 1;
		k->c[CNT_DROP_DATA_BYTES] += size;
		return;
	}
	k->c[CNT_DATA_EVENTS] += 1;
	k->c[CNT_DATA_BYTES] += size;
	k->c[CNT_PAYLOAD_BYTES] += len;
	if (len < size && len == max_chunk)
		k->c[CNT_CAPPED] += 1;
	fill_check(k->c[CNT_DATA_EVENTS], ts);
}

// ---- exit side ----

// exit_args reads the arguments of the current syscall at its exit. No enter
// program stashes them: x86-64 saves the user registers in pt_regs at
// syscall entry, and the socket syscalls traced here leave di, si and dx
// (arguments 1-3) untouched until the exit tracepoint has run (signal
// delivery and syscall restart come later). This halves the programs run per
// syscall and needs no per-thread storage. ts is left 0 (taken on demand:
// bpf_ktime_get_ns costs ~90 ns on these VMs).
static __always_inline bool exit_args(u8 kind, struct args *out)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;
	if (!traced(tgid))
		return false;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs)
		return false;
	out->ts = 0;
	out->fd = (s32)regs->di;
	out->buf = regs->si;
	out->cnt = (u32)regs->dx;
	out->tgid = tgid;
	out->kind = kind;
	return out->fd >= 0;
}

static __always_inline u64 args_ts(struct args *a)
{
	if (!a->ts)
		a->ts = bpf_ktime_get_ns();
	return a->ts;
}

#define MUTE_FLUSH_BYTES (64 << 10)
#define MUTE_FLUSH_NS 1000000000ULL

// is_muted tells whether the connection's payload is no longer wanted
// (see "Muted connections"); it counts size as muted when so.
static __always_inline bool is_muted(struct conn *c, struct args *a, u32 size)
{
	if (!c->mute) {
		u32 n = ++c->nrec; // racy increments only shift when we look
		// Powers of two (1 .. 128), then multiples of 256.
		if ((n & (n - 1)) != 0 && (n & 255) != 0)
			return false;
		u64 key = conn_key(a->tgid, a->fd);
		u64 *gen = bpf_map_lookup_elem(&muted, &key);
		if (!gen || *gen != c->gen)
			return false;
		c->mute = 1;
		bpf_map_delete_elem(&muted, &key);
	}
	count(CNT_MUTED_BYTES, size);
	return true;
}

// mute_batched handles a data syscall of a muted connection (see "Muted
// connections"): it counts the bytes and, once enough or long enough, emits
// them as one size-only record. False when the connection is not muted.
static __always_inline bool mute_batched(struct conn *c, struct args *a, u8 dir, u8 kind,
					 u32 size)
{
	if (!is_muted(c, a, size))
		return false;
	u32 d = dir & 1;
	u64 end;
	if (dir == DIR_INGRESS)
		end = __sync_fetch_and_add(&c->recv, size) + size;
	else
		end = __sync_fetch_and_add(&c->sent, size) + size;
	u64 acc = __sync_fetch_and_add(&c->mute_acc[d], size) + size;
	u64 now = args_ts(a);
	if (acc < MUTE_FLUSH_BYTES && now - c->mute_ts[d] < MUTE_FLUSH_NS)
		return true;
	u64 got = __sync_lock_test_and_set(&c->mute_acc[d], 0);
	if (!got)
		return true; // another thread took them
	c->mute_ts[d] = now;
	struct scratch *s = scratch_slot();
	if (!s)
		return true;
	// Concurrent calls on the connection may interleave: then pos is
	// approximate (user space does not parse muted connections).
	long err = emit_record(&s->hdr, c, a->tgid, a->fd, now, dir, kind, 0,
			       got < end ? end - got : 0, (u32)got, 0);
	struct counters *k = counters();
	if (!k)
		return true;
	if (err) {
		k->c[CNT_DROP_RB_DATA] += 1;
		k->c[CNT_DROP_DATA_BYTES] += got;
	} else {
		k->c[CNT_DATA_EVENTS] += 1;
		k->c[CNT_DATA_BYTES] += got;
	}
	return true;
}

// conn_for returns the conns entry of a successful data syscall's fd, or
// NULL when the fd is not an inet socket. At the first sighting it creates
// the entry and emits an Existing Open.
static __always_inline struct conn *conn_for(struct args *a, u32 tgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	u64 exec_id = task->self_exec_id;
	u64 key = conn_key(tgid, a->fd);
	struct conn *c = bpf_map_lookup_elem(&conns, &key);
	if (c) {
		if (c->exec_id == exec_id)
			return c;
		// Cached before an execve: the fd may now be anything.
		emit_close(c, tgid, a->fd, args_ts(a));
		bpf_map_delete_elem(&conns, &key);
		count(CNT_STALE_CONN, 1);
	}
	struct sock *sk = inet_sock(task, a->fd);
	if (!sk)
		return NULL;
	struct conn n = {};
	n.gen = args_ts(a);
	n.exec_id = exec_id;
	n.sk = (u64)sk;
	n.existing = 1;
	n.open_pending = 1;
	// NOEXIST: when two threads race on a first sighting, one wins and
	// only it reports the Open.
	bool created = bpf_map_update_elem(&conns, &key, &n, BPF_NOEXIST) == 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c) {
		count(CNT_DROP_CONN_FULL, 1);
		return NULL;
	}
	if (created && emit_open(sk, tgid, a->fd, n.gen, a->ts, ROLE_UNKNOWN, 1))
		c->open_pending = 0;
	return c;
}

static __always_inline void tls_emit(struct tls_call *call, u32 tgid, u64 n);

// tls_nested tells whether the current thread (or, for Go, goroutine) is
// inside a probed TLS call (1), and gives that call the socket's fd. 2: a
// Go write whose plaintext is to be reported now (tls_go_write).
static __noinline int tls_nested(u32 tgid, u8 proc, s32 fd)
{
	struct tls_key k = {};
	k.tgid = tgid;
	struct tls_call *t;
	if (proc & PROC_SSL) {
		k.id = bpf_get_current_pid_tgid();
		t = bpf_map_lookup_elem(&tls_calls, &k);
		if (t) {
			t->fd = fd;
			return true;
		}
	}
	if (proc & PROC_GO) {
		struct pt_regs *regs =
			(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		if (!regs)
			return false;
		k.id = regs->r14; // g at the syscall (Go's internal ABI)
		k.go = 1;
		t = bpf_map_lookup_elem(&tls_calls, &k);
		if (t) {
			t->fd = fd;
			return t->dir == DIR_EGRESS && !t->emitted ? 2 : 1;
		}
	}
	return 0;
}

// tls_go_write reports the plaintext of a Go (*tls.Conn).Write at its first
// socket syscall rather than at its return: Go reads and writes a
// connection from different goroutines, and the peer's answer is often read
// (and reported) before the writer returns, which would put the response
// before its request in the stream. Write writes the whole buffer unless
// it fails.
static __noinline int tls_go_write(u32 tgid)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs)
		return 0;
	struct tls_key k = {};
	k.id = regs->r14;
	k.tgid = tgid;
	k.go = 1;
	struct tls_call *t = bpf_map_lookup_elem(&tls_calls, &k);
	if (!t || t->emitted)
		return 0;
	t->emitted = 1;
	struct tls_call call = *t;
	if (call.lenp)
		tls_emit(&call, tgid, call.lenp);
	return 0;
}

// tls_skip is called for every successful data syscall on a socket. It
// returns true when the bytes are TLS ciphertext not to be reported: the
// connection was used by a TLS call, or the syscall runs inside one (which
// then learns the fd). For connections of processes that never made a TLS
// call it costs a compare and a byte test.
static __always_inline bool tls_skip(struct conn *c, struct args *a, u8 dir, u32 size)
{
	u32 ep = tls_epoch;
	if (c->epoch != ep) {
		u8 *p = bpf_map_lookup_elem(&tls_procs, &a->tgid);
		c->tls_proc = p ? *p : 0;
		c->epoch = ep;
	}
	if (!c->tls_proc && !c->tls)
		return false;
	if (c->tls_proc) {
		int r = tls_nested(a->tgid, c->tls_proc, a->fd);
		if (r)
			c->tls = 1;
		if (r == 2)
			tls_go_write(a->tgid);
	}
	if (!c->tls)
		return false;
	if (dir == DIR_INGRESS)
		__sync_fetch_and_add(&c->recv, size);
	else
		__sync_fetch_and_add(&c->sent, size);
	count(CNT_TLS_CIPHER_BYTES, size);
	return true;
}

static __always_inline int exit_plain(struct sys_exit_ctx *ctx, u8 kind, u8 dir)
{
	s64 ret = ctx->ret;
	if (ret <= 0)
		return 0;
	struct args a;
	if (!exit_args(kind, &a))
		return 0;
	u32 tgid = a.tgid;
	struct conn *c = conn_for(&a, tgid);
	if (!c)
		return 0;
	u32 size = ret;
	if (tls_skip(c, &a, dir, size))
		return 0;
	struct scratch *s = scratch_slot();
	if (!s) {
		count(CNT_DROP_NO_SCRATCH, 1);
		return 0;
	}
	bool opened = open_sent(c, tgid, a.fd);
	if (opened && mute_batched(c, &a, dir, kind, size))
		return 0;
	u32 len = 0;
	if (opened && kind != K_SENDFILE) {
		len = size < max_chunk ? size : max_chunk;
		len &= PAYLOAD_MASK;
		if (bpf_probe_read_user(s->payload, len, (void *)a.buf)) {
			count(CNT_READ_FAILED, 1);
			len = 0;
		}
	}
	emit_data(s, c, tgid, a.fd, args_ts(&a), dir, kind, size, len, opened);
	return 0;
}

static __always_inline int exit_iov(struct sys_exit_ctx *ctx, u8 kind, u8 dir)
{
	s64 ret = ctx->ret;
	if (ret <= 0)
		return 0;
	struct args a;
	if (!exit_args(kind, &a))
		return 0;
	u32 tgid = a.tgid;
	struct conn *c = conn_for(&a, tgid);
	if (!c)
		return 0;
	if (tls_skip(c, &a, dir, (u32)ret))
		return 0;

	bool opened = open_sent(c, tgid, a.fd);
	if (opened && mute_batched(c, &a, dir, kind, (u32)ret))
		return 0;
	u64 iov = a.buf;
	u64 iovcnt = a.cnt;
	if (!opened) {
		iovcnt = 0;
	} else if (kind == K_RECVMSG || kind == K_SENDMSG) {
		struct user_msghdr m;
		if (bpf_probe_read_user(&m, sizeof(m), (void *)a.buf)) {
			iov = 0;
			iovcnt = 0;
			count(CNT_READ_FAILED, 1);
		} else {
			iov = (u64)m.msg_iov;
			iovcnt = m.msg_iovlen;
		}
	}
	u32 size = ret;
	u32 len = iovcnt ? copy_iov(iov, iovcnt, size) : 0;
	struct scratch *s = scratch_slot();
	if (!s) {
		count(CNT_DROP_NO_SCRATCH, 1);
		return 0;
	}
	emit_data(s, c, tgid, a.fd, args_ts(&a), dir, kind, size, len, opened);
	return 0;
}

static __always_inline int exit_mmsg(struct sys_exit_ctx *ctx, u8 kind, u8 dir)
{
	s64 ret = ctx->ret; // number of messages
	if (ret <= 0)
		return 0;
	struct args a;
	if (!exit_args(kind, &a))
		return 0;
	u32 tgid = a.tgid;
	struct conn *c = conn_for(&a, tgid);
	if (!c)
		return 0;
	bool opened = open_sent(c, tgid, a.fd);
	// Muted: the messages' sizes are still read, their payload is not.
	bool mute = opened && is_muted(c, &a, 0);
	u32 nmsg = ret;
	if (nmsg > MAX_MMSG) {
		count(CNT_MMSG_TRUNCATED, 1);
		nmsg = MAX_MMSG;
	}
	for (u32 i = 0; i < MAX_MMSG; i++) {
		if (i >= nmsg)
			break;
		struct mmsghdr m;
		if (bpf_probe_read_user(&m, sizeof(m), (void *)(a.buf + i * sizeof(m)))) {
			count(CNT_READ_FAILED, 1);
			break;
		}
		u32 size = m.msg_len;
		if (size == 0)
			continue;
		if (mute)
			count(CNT_MUTED_BYTES, size);
		u32 len = opened && !mute ? copy_iov((u64)m.msg_hdr.msg_iov, m.msg_hdr.msg_iovlen, size) : 0;
		struct scratch *s = scratch_slot();
		if (!s) {
			count(CNT_DROP_NO_SCRATCH, 1);
			return 0;
		}
		emit_data(s, c, tgid, a.fd, args_ts(&a), dir, kind, size, len, opened);
	}
	return 0;
}

// exit_open handles accept/accept4 (new fd = ret, server) and connect (fd
// from pt_regs, client; 0 or -EINPROGRESS count as success).
static __always_inline int exit_open(struct sys_exit_ctx *ctx, u8 kind)
{
	s64 ret = ctx->ret;
	if (kind == K_CONNECT ? (ret != 0 && ret != -EINPROGRESS) : ret < 0)
		return 0;
	struct args a;
	if (kind == K_CONNECT) {
		if (!exit_args(kind, &a))
			return 0;
	} else {
		u32 tgid = bpf_get_current_pid_tgid() >> 32;
		if (!traced(tgid))
			return 0;
		a.tgid = tgid;
		a.fd = -1;
	}
	s32 fd;
	u8 role;
	if (kind == K_CONNECT) {
		if (ret != 0 && ret != -EINPROGRESS)
			return 0;
		fd = a.fd;
		role = ROLE_CLIENT;
	} else {
		if (ret < 0)
			return 0;
		fd = (s32)ret;
		role = ROLE_SERVER;
	}
	if (fd < 0)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct sock *sk = inet_sock(task, fd);
	if (!sk)
		return 0;
	u32 tgid = a.tgid;
	u64 now = bpf_ktime_get_ns();
	u64 key = conn_key(tgid, fd);
	struct conn *old = bpf_map_lookup_elem(&conns, &key);
	if (old) {
		// The fd was reused without a close() we saw (dup2, exec, or
		// a UDP socket connecting again): end the old connection.
		emit_close(old, tgid, fd, now);
		bpf_map_delete_elem(&conns, &key);
	}
	struct conn n = {};
	n.gen = now;
	n.exec_id = task->self_exec_id;
	n.sk = (u64)sk;
	n.role = role;
	n.open_pending = !emit_open(sk, tgid, fd, now, now, role, 0);
	if (bpf_map_update_elem(&conns, &key, &n, BPF_ANY))
		count(CNT_DROP_CONN_FULL, 1);
	return 0;
}

// ---- programs ----
// Only exit tracepoints: the arguments are read from pt_regs (exit_args).
#define DATA_PROGS(name, KIND, EXIT, DIR)                                  \
	SEC("tracepoint/syscalls/sys_exit_" #name)                         \
	int exit_##name(struct sys_exit_ctx *ctx)                          \
	{                                                                  \
		return EXIT(ctx, KIND, DIR);                               \
	}

DATA_PROGS(read, K_READ, exit_plain, DIR_INGRESS)
DATA_PROGS(write, K_WRITE, exit_plain, DIR_EGRESS)
DATA_PROGS(recvfrom, K_RECVFROM, exit_plain, DIR_INGRESS)
DATA_PROGS(sendto, K_SENDTO, exit_plain, DIR_EGRESS)
DATA_PROGS(sendfile64, K_SENDFILE, exit_plain, DIR_EGRESS)
DATA_PROGS(readv, K_READV, exit_iov, DIR_INGRESS)
DATA_PROGS(writev, K_WRITEV, exit_iov, DIR_EGRESS)
DATA_PROGS(recvmsg, K_RECVMSG, exit_iov, DIR_INGRESS)
DATA_PROGS(sendmsg, K_SENDMSG, exit_iov, DIR_EGRESS)
DATA_PROGS(recvmmsg, K_RECVMMSG, exit_mmsg, DIR_INGRESS)
DATA_PROGS(sendmmsg, K_SENDMMSG, exit_mmsg, DIR_EGRESS)

#define OPEN_PROGS(name, KIND)                                             \
	SEC("tracepoint/syscalls/sys_exit_" #name)                         \
	int exit_##name(struct sys_exit_ctx *ctx)                          \
	{                                                                  \
		return exit_open(ctx, KIND);                               \
	}

OPEN_PROGS(connect, K_CONNECT)
OPEN_PROGS(accept, K_ACCEPT)
OPEN_PROGS(accept4, K_ACCEPT4)

// close() is handled at enter only: Linux releases the fd whatever close()
// returns (EINTR included), and EBADF cannot happen for an fd we track, so
// the exit tracepoint would add a program run to every close() in the system
// and tell us nothing.
SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct sys_enter_ctx *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;
	s32 fd = (s32)ctx->args[0];
	if (fd < 0)
		return 0;
	u64 key = conn_key(tgid, fd);
	struct conn *c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	emit_close(c, tgid, fd, bpf_ktime_get_ns());
	bpf_map_delete_elem(&conns, &key);
	return 0;
}

// A traced process is gone: its fds were closed without close(). Report it
// once the last thread exits (signal->live has already been decremented when
// the tracepoint fires), so user space closes its connections.
SEC("tracepoint/sched/sched_process_exit")
int sched_process_exit(void *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;
	if (!traced(tgid))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&tls_procs, &tgid);
	bpf_map_delete_elem(&known_procs, &tgid);
	struct ev_hdr *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_DROP_RB_EXIT, 1);
		return 0;
	}
	e->type = EV_EXIT;
	e->b1 = 0;
	e->b2 = 0;
	e->b3 = 0;
	e->tgid = tgid;
	e->fd = -1;
	e->size = 0;
	e->gen = 0;
	e->ts = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, rb_flags());
	count(CNT_EXIT_EVENTS, 1);
	return 0;
}


// ---- TLS ----
//
// Uprobes on the TLS libraries' read/write calls, attached per binary by
// receiver/ebpfreceiver/internal/tlsprobe (user space attaches none of these
// unless TLS tracing is on). The entry stashes the call's buffer in
// tls_calls (per thread, or per goroutine for Go); the socket syscall the
// library makes inside the call finds the stash (tls_skip), records its fd
// there and marks the connection as TLS, so its ciphertext is no longer
// reported; the return reports the plaintext as a Data record of that
// connection with EVF_TLS, at the connection's plaintext offset. A call that
// makes no syscall (the plaintext was already decrypted and buffered) finds
// the fd in tls_fds, learned by an earlier call on the same TLS object.
// Nothing is read from the libraries' structs, except for Go's first read
// of a connection (go_conn_fd).

// tls_register notes that tgid makes TLS calls of kind flag.
static __always_inline void tls_register(u32 tgid, u8 flag)
{
	u8 *p = bpf_map_lookup_elem(&tls_procs, &tgid);
	if (p && (*p & flag))
		return;
	u8 v = flag | (p ? *p : 0);
	bpf_map_update_elem(&tls_procs, &tgid, &v, BPF_ANY);
	__sync_fetch_and_add(&tls_epoch, 1);
}

static __always_inline struct tls_scratch *tls_scratch_slot(void)
{
	u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&tls_scratch_map, &cpu);
}

// go_conn_fd reads the fd of a Go *tls.Conn whose transport is a
// *net.TCPConn (or any net type embedding net.conn): tls.Conn.conn is the
// first field (an interface: itab, data), the data pointer leads to
// net.conn{fd *netFD}, and netFD.pfd is a poll.FD{fdmu fdMutex (16 bytes);
// Sysfd int}. Only used when no syscall told the fd; the result must name a
// known connection (tls_emit checks).
static __always_inline s32 go_conn_fd(u64 conn)
{
	u64 data = 0, nfd = 0;
	s64 sysfd = -1;
	if (bpf_probe_read_user(&data, sizeof(data), (void *)(conn + 8)) || !data)
		return -1;
	if (bpf_probe_read_user(&nfd, sizeof(nfd), (void *)data) || !nfd)
		return -1;
	if (bpf_probe_read_user(&sysfd, sizeof(sysfd), (void *)(nfd + 16)))
		return -1;
	if (sysfd < 0 || sysfd > 0x7fffffff)
		return -1;
	return (s32)sysfd;
}

// tls_emit reports n plaintext bytes of a finished TLS call.
static __always_inline void tls_emit(struct tls_call *call, u32 tgid, u64 n)
{
	struct tls_ptr_key pk = {};
	pk.ptr = call->ptr;
	pk.tgid = tgid;
	s32 fd = call->fd;
	struct conn *c;
	u64 key;
	if (fd >= 0) {
		key = conn_key(tgid, fd);
		c = bpf_map_lookup_elem(&conns, &key);
		if (!c) {
			count(CNT_TLS_NO_FD, 1);
			return;
		}
		struct tls_fd f = {};
		f.gen = c->gen;
		f.fd = fd;
		bpf_map_update_elem(&tls_fds, &pk, &f, BPF_ANY);
	} else {
		struct tls_fd *f = bpf_map_lookup_elem(&tls_fds, &pk);
		u64 gen = 0;
		if (f) {
			fd = f->fd;
			gen = f->gen;
		} else if (call->go) {
			fd = go_conn_fd(call->ptr);
		}
		if (fd < 0) {
			count(CNT_TLS_NO_FD, 1);
			return;
		}
		key = conn_key(tgid, fd);
		c = bpf_map_lookup_elem(&conns, &key);
		if (!c || (f && c->gen != gen)) {
			count(CNT_TLS_NO_FD, 1);
			return;
		}
		if (!f) {
			struct tls_fd nf = {};
			nf.gen = c->gen;
			nf.fd = fd;
			bpf_map_update_elem(&tls_fds, &pk, &nf, BPF_ANY);
		}
	}
	c->tls = 1;
	struct tls_scratch *s = tls_scratch_slot();
	if (!s) {
		count(CNT_DROP_NO_SCRATCH, 1);
		return;
	}
	u32 size = n > 0xffffffff ? 0xffffffff : (u32)n;
	bool opened = open_sent(c, tgid, fd);
	u8 dir = call->dir;
	u64 pos;
	if (dir == DIR_INGRESS)
		pos = __sync_fetch_and_add(&c->tls_recv, size);
	else
		pos = __sync_fetch_and_add(&c->tls_sent, size);
	if (!opened) {
		count(CNT_DROP_RB_DATA, 1);
		count(CNT_DROP_DATA_BYTES, size);
		return;
	}
	u32 len = size < max_chunk ? size : max_chunk;
	len &= PAYLOAD_MASK;
	if (bpf_probe_read_user(s->payload, len, (void *)call->buf)) {
		count(CNT_READ_FAILED, 1);
		len = 0;
	}
	u64 ts = bpf_ktime_get_ns();
	long err = emit_record(&s->hdr, c, tgid, fd, ts, dir, K_TLS, EVF_TLS, pos, size, len);
	struct counters *k = counters();
	if (!k)
		return;
	if (err) {
		k->c[CNT_DROP_RB_DATA] += 1;
		k->c[CNT_DROP_DATA_BYTES] += size;
		return;
	}
	k->c[CNT_DATA_EVENTS] += 1;
	k->c[CNT_TLS_DATA_EVENTS] += 1;
	k->c[CNT_DATA_BYTES] += size;
	k->c[CNT_PAYLOAD_BYTES] += len;
	if (len < size && len == max_chunk)
		k->c[CNT_CAPPED] += 1;
	fill_check(k->c[CNT_DATA_EVENTS], ts);
}

// OpenSSL / BoringSSL: SSL_read(SSL *, void *buf, int num) and SSL_write
// return the bytes moved; SSL_read_ex(SSL *, void *buf, size_t num,
// size_t *readbytes) and SSL_write_ex return 1 and store the count.
static __always_inline int ssl_entry(struct pt_regs *ctx, u8 dir, u8 ex)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;
	if (!traced(tgid))
		return 0;
	tls_register(tgid, PROC_SSL);
	struct tls_key k = {};
	k.id = pid_tgid;
	k.tgid = tgid;
	struct tls_call v = {};
	v.ptr = ctx->di;
	v.buf = ctx->si;
	v.lenp = ex ? ctx->cx : 0;
	v.fd = -1;
	v.dir = dir;
	v.ex = ex;
	bpf_map_update_elem(&tls_calls, &k, &v, BPF_ANY);
	return 0;
}

SEC("uprobe/SSL_write")
int uprobe_ssl_write(struct pt_regs *ctx) { return ssl_entry(ctx, DIR_EGRESS, 0); }

SEC("uprobe/SSL_read")
int uprobe_ssl_read(struct pt_regs *ctx) { return ssl_entry(ctx, DIR_INGRESS, 0); }

SEC("uprobe/SSL_write_ex")
int uprobe_ssl_write_ex(struct pt_regs *ctx) { return ssl_entry(ctx, DIR_EGRESS, 1); }

SEC("uprobe/SSL_read_ex")
int uprobe_ssl_read_ex(struct pt_regs *ctx) { return ssl_entry(ctx, DIR_INGRESS, 1); }

// One return program for the four functions: the stash says which it was.
SEC("uretprobe/SSL")
int uretprobe_ssl(struct pt_regs *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;
	struct tls_key k = {};
	k.id = pid_tgid;
	k.tgid = tgid;
	struct tls_call *t = bpf_map_lookup_elem(&tls_calls, &k);
	if (!t)
		return 0;
	struct tls_call call = *t;
	bpf_map_delete_elem(&tls_calls, &k);
	int ret = (int)ctx->ax;
	u64 n;
	if (call.ex) {
		if (ret != 1 || !call.lenp)
			return 0;
		if (bpf_probe_read_user(&n, sizeof(n), (void *)call.lenp))
			return 0;
	} else {
		if (ret <= 0)
			return 0;
		n = ret;
	}
	if (n == 0)
		return 0;
	tls_emit(&call, tgid, n);
	return 0;
}

// Go crypto/tls: (*Conn).Write(b []byte) (int, error) and Read, register
// ABI (Go 1.17+): receiver in ax, b in bx (ptr) / cx (len); n returned in
// ax; g in r14. Entry probes at the function's first instruction, return
// probes at each of its RET instructions (uretprobes break Go's stack
// handling).
static __always_inline int go_entry(struct pt_regs *ctx, u8 dir)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!traced(tgid))
		return 0;
	tls_register(tgid, PROC_GO);
	struct tls_key k = {};
	k.id = ctx->r14;
	k.tgid = tgid;
	k.go = 1;
	struct tls_call v = {};
	v.ptr = ctx->ax;
	v.buf = ctx->bx;
	v.lenp = ctx->cx; // the buffer's length (not a pointer for Go)
	v.fd = -1;
	v.dir = dir;
	v.go = 1;
	bpf_map_update_elem(&tls_calls, &k, &v, BPF_ANY);
	return 0;
}

SEC("uprobe/go_tls_write")
int uprobe_go_tls_write(struct pt_regs *ctx) { return go_entry(ctx, DIR_EGRESS); }

SEC("uprobe/go_tls_read")
int uprobe_go_tls_read(struct pt_regs *ctx) { return go_entry(ctx, DIR_INGRESS); }

SEC("uprobe/go_tls_ret")
int uprobe_go_tls_ret(struct pt_regs *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct tls_key k = {};
	k.id = ctx->r14;
	k.tgid = tgid;
	k.go = 1;
	struct tls_call *t = bpf_map_lookup_elem(&tls_calls, &k);
	if (!t)
		return 0;
	struct tls_call call = *t;
	bpf_map_delete_elem(&tls_calls, &k);
	if (call.emitted)
		return 0;
	s64 n = (s64)ctx->ax;
	if (n <= 0 || (u64)n > call.lenp)
		return 0;
	tls_emit(&call, tgid, (u64)n);
	return 0;
}

// A traced process replaced its image: user space forgets what it read of
// the process in /proc (its name and command line changed, its pid and
// start time did not) and, with TLS tracing on, looks for TLS libraries in
// it at once (exec_kick: a short-lived process must still be there).
SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec(void *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;
	if (!traced(tgid))
		return 0;
	bpf_map_delete_elem(&tls_procs, &tgid);
	bpf_map_delete_elem(&known_procs, &tgid);
	struct ev_hdr *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_DROP_RB_EXEC, 1);
		return 0;
	}
	e->type = EV_EXEC;
	e->b1 = 0;
	e->b2 = 0;
	e->b3 = 0;
	e->tgid = tgid;
	e->fd = -1;
	e->size = 0;
	e->gen = 0;
	u64 now = bpf_ktime_get_ns();
	e->ts = now;
	bpf_ringbuf_submit(e, rb_flags());
	count(CNT_EXEC_EVENTS, 1);
	if (exec_kick)
		kick(now);
	return 0;
}

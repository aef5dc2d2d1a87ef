/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Trimmed kernel type definitions for the otelcol-ebpf BPF programs.
 *
 * Only the types and fields the programs touch are declared. Kernel structs
 * carry preserve_access_index so every field access is a CO-RE relocation:
 * the loader (cilium/ebpf) resolves the real offsets against the running
 * kernel's BTF (/sys/kernel/btf/vmlinux), so the field order and padding
 * below do not need to match any particular kernel. User-space ABI structs
 * (iovec, msghdr, mmsghdr) are fixed by the syscall ABI and declared plainly.
 */
#ifndef __OTELCOL_EBPF_VMLINUX_H__
#define __OTELCOL_EBPF_VMLINUX_H__

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;

typedef __s8 s8;
typedef __u8 u8;
typedef __s16 s16;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;

typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
enum { false = 0, true = 1 };

typedef unsigned short umode_t;

/* UAPI enums (stable values). */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
};

enum {
	BPF_F_NO_PREALLOC = 1,
};

enum {
	BPF_LOCAL_STORAGE_GET_F_CREATE = 1,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
	BPF_RB_CONS_POS = 2,
	BPF_RB_PROD_POS = 3,
};

/* Kernel-internal structs, relocated with CO-RE. */
struct inode {
	umode_t i_mode;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
	void *private_data;
} __attribute__((preserve_access_index));

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} __attribute__((preserve_access_index));

struct files_struct {
	struct fdtable *fdt;
} __attribute__((preserve_access_index));

typedef struct {
	int counter;
} atomic_t;

struct signal_struct {
	atomic_t live;
} __attribute__((preserve_access_index));

struct task_struct {
	struct files_struct *files;
	struct signal_struct *signal;
	u64 self_exec_id;
} __attribute__((preserve_access_index));

/* x86-64: the user registers saved at syscall entry (the first three
 * syscall arguments are di, si, dx), also the context of uprobes (SysV
 * arguments di, si, dx, cx; return value ax; Go's register ABI ax, bx,
 * cx, with g in r14). */
struct pt_regs {
	unsigned long r14; /* Go (regabi): the current goroutine (g) */
	unsigned long r8;
	unsigned long ax;
	unsigned long cx;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long bx;
	unsigned long sp;
} __attribute__((preserve_access_index));

struct in6_addr {
	u8 s6_addr[16];
};

/* The kernel nests the address and port fields in anonymous unions; CO-RE
 * matching finds them by name through anonymous members. */
struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	u16 skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct socket {
	struct sock *sk;
} __attribute__((preserve_access_index));

/* User-space ABI (x86-64 / LP64). */
struct iovec {
	void *iov_base;
	unsigned long iov_len;
};

struct user_msghdr {
	void *msg_name;
	int msg_namelen;
	struct iovec *msg_iov;
	unsigned long msg_iovlen;
	void *msg_control;
	unsigned long msg_controllen;
	unsigned int msg_flags;
};

struct mmsghdr {
	struct user_msghdr msg_hdr;
	unsigned int msg_len;
};

#endif /* __OTELCOL_EBPF_VMLINUX_H__ */

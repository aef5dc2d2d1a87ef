package tcpstats

// The BPF object is generated from bpf/tcp_stats.c and committed (see
// ../tracer/gen.go); `make generate` rebuilds it.
//go:generate go tool bpf2go -cc clang-19 -target bpfel -cflags "-O2 -g -Wall -Werror" -type tcp_key -type tcp_val tcpStats ../../../../bpf/tcp_stats.c -- -I../../../../bpf/headers

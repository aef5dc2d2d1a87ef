package tracer

// The generated *_bpfel.go and *_bpfel.o files are committed; regenerate with
// `go generate ./receiver/ebpfreceiver/internal/tracer/` (needs clang-19 and
// llvm-strip-19). CI checks that the result does not differ.

//go:generate go tool bpf2go -cc clang-19 -target bpfel -cflags "-O2 -g -Wall -Werror" -type ev_hdr -type ev_data_hdr socketTrace ../../../../bpf/socket_trace.c -- -I../../../../bpf/headers
//go:generate go tool bpf2go -cc clang-19 -target bpfel -cflags "-O2 -g -Wall -Werror" floor ../../../../bpf/floor.c -- -I../../../../bpf/headers

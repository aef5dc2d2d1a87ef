package profiler

// The generated *_bpfel.go and *_bpfel.o files are committed; regenerate with
// `go generate ./receiver/ebpfreceiver/internal/profiler/` (needs clang-19 and
// llvm-strip-19). CI checks that the result does not differ.

//go:generate go tool bpf2go -cc clang-19 -target bpfel -cflags "-O2 -g -Wall -Werror" -type stack_key -type stats profile ../../../../bpf/profile.c -- -I../../../../bpf/headers

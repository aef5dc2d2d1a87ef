// Package tlsprobe attaches the socket tracer's TLS uprobe programs
// (internal/tracer, bpf/socket_trace.c "TLS") to the TLS code processes run,
// so that the plaintext of encrypted connections reaches the same parsers as
// clear-text traffic:
//
//   - OpenSSL and BoringSSL: SSL_read, SSL_write, SSL_read_ex and
//     SSL_write_ex (entry and return) in every mapped file that defines them
//     (libssl.so*, or a binary or library linking them statically);
//   - Go crypto/tls: (*Conn).Write and (*Conn).Read, probed at their entry
//     and at every RET instruction (found by disassembling the function; no
//     uretprobes on Go stacks), register ABI (Go 1.17 or newer). Functions
//     are found in the symbol table or, in stripped binaries, in the pclntab.
//
// Files are found in /proc/<pid>/maps at start, when a process execs (the
// tracer's sched_process_exec records, see tracer.ProcessHook) and by a
// periodic rescan (libraries loaded with dlopen). Probes are attached once
// per file (uprobes act on the inode, in every process that maps it) and
// detached when no process maps the file anymore, as a full rescan
// confirms (exec and exit records alone could detach a file a process
// still uses, not looked at again yet). A file that cannot be
// probed is logged once, with the reason; nothing here is fatal.
package tlsprobe

import (
	"debug/buildinfo"
	"debug/elf"
	"debug/gosym"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Kind is the TLS implementation found in a file.
type Kind uint8

const (
	// KindNone: no TLS functions to probe.
	KindNone Kind = iota
	// KindOpenSSL: OpenSSL or BoringSSL SSL_read/SSL_write.
	KindOpenSSL
	// KindGo: Go crypto/tls.
	KindGo
)

func (k Kind) String() string {
	switch k {
	case KindOpenSSL:
		return "openssl"
	case KindGo:
		return "go"
	}
	return "none"
}

// Go function names probed.
const (
	goWrite = "crypto/tls.(*Conn).Write"
	goRead  = "crypto/tls.(*Conn).Read"
)

// sslFuncs are the OpenSSL/BoringSSL functions probed.
var sslFuncs = []string{"SSL_write", "SSL_read", "SSL_write_ex", "SSL_read_ex"}

// GoFunc locates one Go function in a file: file offsets of its first
// instruction and of each RET instruction.
type GoFunc struct {
	Entry uint64
	Rets  []uint64
}

// Target says what to probe in one file. Offsets are file offsets (what
// uprobes take).
type Target struct {
	Kind Kind
	// SSL maps the OpenSSL function names found to their file offsets.
	SSL map[string]uint64
	// GoWrite and GoRead: crypto/tls.(*Conn).Write / Read.
	GoWrite, GoRead GoFunc
	// GoVersion of a Go binary ("go1.26.8"), "" for others.
	GoVersion string
}

// ErrUntraceable wraps the reasons a file that does use TLS cannot be
// probed (e.g. a stripped Go binary without a usable pclntab).
var ErrUntraceable = errors.New("TLS code cannot be traced")

// Inspect reads an ELF file and says what to probe in it. A file with
// nothing to probe returns KindNone and a nil error; a file that uses TLS
// but cannot be probed returns an error wrapping ErrUntraceable.
func Inspect(path string) (Target, error) {
	f, err := elf.Open(path)
	if err != nil {
		return Target{}, err
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return Target{}, nil // the BPF programs read x86-64 registers
	}
	if isGo(f) {
		return inspectGo(f, path)
	}
	return inspectSSL(f)
}

func isGo(f *elf.File) bool {
	return f.Section(".go.buildinfo") != nil || f.Section(".gopclntab") != nil
}

func inspectSSL(f *elf.File) (Target, error) {
	t := Target{SSL: map[string]uint64{}}
	add := func(syms []elf.Symbol) {
		for _, s := range syms {
			if s.Section == elf.SHN_UNDEF || s.Value == 0 || elf.ST_TYPE(s.Info) != elf.STT_FUNC {
				continue
			}
			name := s.Name
			if i := strings.IndexByte(name, '@'); i >= 0 {
				name = name[:i] // versioned dynamic symbol
			}
			for _, want := range sslFuncs {
				if name == want {
					if _, dup := t.SSL[want]; dup {
						break
					}
					if off, ok := fileOffset(f, s.Value); ok {
						t.SSL[want] = off
					}
				}
			}
		}
	}
	if syms, err := f.DynamicSymbols(); err == nil {
		add(syms)
	}
	if syms, err := f.Symbols(); err == nil {
		add(syms)
	}
	_, w := t.SSL["SSL_write"]
	_, r := t.SSL["SSL_read"]
	if !w || !r {
		return Target{}, nil
	}
	t.Kind = KindOpenSSL
	return t, nil
}

func inspectGo(f *elf.File, path string) (Target, error) {
	t := Target{Kind: KindGo}
	if bi, err := buildinfo.ReadFile(path); err == nil {
		t.GoVersion = bi.GoVersion
	}
	write, read, err := goFuncs(f)
	if err != nil {
		return Target{}, err
	}
	if write == nil && read == nil {
		return Target{}, nil // a Go binary without crypto/tls
	}
	if t.GoVersion != "" && !regABI(t.GoVersion) {
		return Target{}, fmt.Errorf("%w: built by %s, older than go1.17 (stack-based calling convention)", ErrUntraceable, t.GoVersion)
	}
	if write == nil || read == nil {
		return Target{}, fmt.Errorf("%w: only one of %s and %s found", ErrUntraceable, goWrite, goRead)
	}
	if t.GoWrite, err = locate(f, *write); err != nil {
		return Target{}, fmt.Errorf("%w: %s: %v", ErrUntraceable, goWrite, err)
	}
	if t.GoRead, err = locate(f, *read); err != nil {
		return Target{}, fmt.Errorf("%w: %s: %v", ErrUntraceable, goRead, err)
	}
	return t, nil
}

// span is a function's virtual address range.
type span struct{ entry, end uint64 }

// goFuncs finds the two functions in the symbol table or, when the binary
// is stripped, in the pclntab.
func goFuncs(f *elf.File) (write, read *span, err error) {
	if syms, serr := f.Symbols(); serr == nil {
		for _, s := range syms {
			if s.Size == 0 {
				continue
			}
			switch s.Name {
			case goWrite:
				write = &span{s.Value, s.Value + s.Size}
			case goRead:
				read = &span{s.Value, s.Value + s.Size}
			}
		}
		if write != nil || read != nil {
			return write, read, nil
		}
	}
	pcln := f.Section(".gopclntab")
	text := f.Section(".text")
	if pcln == nil || text == nil {
		return nil, nil, fmt.Errorf("%w: stripped Go binary without .gopclntab (no symbols to find %s)", ErrUntraceable, goWrite)
	}
	data, derr := pcln.Data()
	if derr != nil {
		return nil, nil, fmt.Errorf("%w: reading .gopclntab: %v", ErrUntraceable, derr)
	}
	tab, terr := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if terr != nil {
		return nil, nil, fmt.Errorf("%w: parsing .gopclntab: %v", ErrUntraceable, terr)
	}
	if fn := tab.LookupFunc(goWrite); fn != nil {
		write = &span{fn.Entry, fn.End}
	}
	if fn := tab.LookupFunc(goRead); fn != nil {
		read = &span{fn.Entry, fn.End}
	}
	return write, read, nil
}

// regABI tells whether a Go version ("go1.21.3", "go1.26rc1",
// "devel ...") passes arguments in registers on amd64 (1.17 and later).
func regABI(v string) bool {
	v = strings.TrimPrefix(v, "go")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return true // devel builds: assume recent
	}
	major, err1 := strconv.Atoi(parts[0])
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return true
	}
	return major > 1 || mi >= 17
}

// locate turns a function's address range into file offsets of its entry
// and RET instructions. Every byte of the function must decode: a probe in
// the middle of an instruction would corrupt the traced program, so any
// doubt refuses the function.
func locate(f *elf.File, fn span) (GoFunc, error) {
	code, err := readVaddr(f, fn.entry, fn.end-fn.entry)
	if err != nil {
		return GoFunc{}, err
	}
	rets, err := retOffsets(code)
	if err != nil {
		return GoFunc{}, err
	}
	if len(rets) == 0 {
		return GoFunc{}, errors.New("no RET instruction found")
	}
	entry, ok := fileOffset(f, fn.entry)
	if !ok {
		return GoFunc{}, fmt.Errorf("address %#x is in no loadable segment", fn.entry)
	}
	g := GoFunc{Entry: entry}
	for _, r := range rets {
		g.Rets = append(g.Rets, entry+r)
	}
	return g, nil
}

// retOffsets disassembles code (x86-64) and returns the offsets of its RET
// instructions.
func retOffsets(code []byte) ([]uint64, error) {
	var rets []uint64
	for off := 0; off < len(code); {
		inst, err := x86asm.Decode(code[off:], 64)
		if err != nil {
			if allPadding(code[off:]) {
				break
			}
			return nil, fmt.Errorf("undecodable instruction at +%#x: %v", off, err)
		}
		if inst.Op == x86asm.RET {
			rets = append(rets, uint64(off))
		}
		off += inst.Len
	}
	return rets, nil
}

// allPadding reports whether b is only INT3 or zero padding.
func allPadding(b []byte) bool {
	for _, c := range b {
		if c != 0xcc && c != 0 {
			return false
		}
	}
	return true
}

// readVaddr reads n bytes at virtual address addr from the section holding
// them.
func readVaddr(f *elf.File, addr, n uint64) ([]byte, error) {
	if n == 0 || n > 1<<20 {
		return nil, fmt.Errorf("implausible function size %d", n)
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		if addr >= s.Addr && addr+n <= s.Addr+s.Size {
			b := make([]byte, n)
			if _, err := s.ReadAt(b, int64(addr-s.Addr)); err != nil {
				return nil, err
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("address %#x is in no executable section", addr)
}

// fileOffset converts a virtual address to a file offset through the
// loadable segments.
func fileOffset(f *elf.File, vaddr uint64) (uint64, bool) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Flags&elf.PF_X == 0 {
			continue
		}
		if vaddr >= p.Vaddr && vaddr < p.Vaddr+p.Filesz {
			return vaddr - p.Vaddr + p.Off, true
		}
	}
	return 0, false
}

// isSSLName reports whether a mapped file's name looks like an OpenSSL or
// BoringSSL libssl (libssl.so, libssl.so.3, libssl.so.1.1; not NSS's
// libssl3.so).
func isSSLName(path string) bool {
	b := filepath.Base(path)
	return strings.HasPrefix(b, "libssl.so")
}

package symbolize

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/symbolize/symtest"
)

// TestProgramsStrippedAndNot symbolizes the hot function of running Go and
// C test programs, built with and without symbols, through /proc/pid/maps.
func TestProgramsStrippedAndNot(t *testing.T) {
	s := New(Options{})
	cases := []struct {
		name  string
		build func(testing.TB, symtest.Variant) string
		v     symtest.Variant
		want  string // "" means module+0xoffset
	}{
		{"go/plain", symtest.BuildGo, symtest.Plain, symtest.GoHot},
		{"go/stripped", symtest.BuildGo, symtest.Stripped, symtest.GoHot},
		{"go/nosections", symtest.BuildGo, symtest.NoSections, symtest.GoHot},
		{"c/plain", symtest.BuildC, symtest.Plain, symtest.CHot},
		{"c/stripped", symtest.BuildC, symtest.Stripped, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin := c.build(t, c.v)
			p := symtest.Start(t, bin, "sleep")
			proc := s.Process(p.PID)
			require.NoError(t, proc.Err())
			for _, addr := range []uint64{p.Addr, p.Addr + 5} {
				f := proc.Symbolize(addr)
				assert.Equal(t, filepath.Base(bin), f.Module)
				if c.want != "" {
					assert.Equal(t, c.want, f.Function, "address %#x", addr)
					assert.Equal(t, c.want, f.String())
				} else {
					// A stripped C binary has no name for a static function:
					// module+0xoffset, never dropped.
					assert.Empty(t, f.Function)
					assert.True(t, strings.HasPrefix(f.String(), filepath.Base(bin)+"+0x"), f.String())
				}
			}
		})
	}
	// The same binary in a second process is not parsed again.
	bin := symtest.BuildGo(t, symtest.Plain)
	p1 := symtest.Start(t, bin, "sleep")
	p2 := symtest.Start(t, bin, "sleep")
	assert.Equal(t, symtest.GoHot, s.Process(p1.PID).Symbolize(p1.Addr).Function)
	n := s.CachedFiles()
	assert.Equal(t, symtest.GoHot, s.Process(p2.PID).Symbolize(p2.Addr).Function)
	assert.Equal(t, n, s.CachedFiles())

	// A cached process is the same value for the same pid and start time.
	c1 := s.CachedProcess(p1.PID, 42)
	assert.Same(t, c1, s.CachedProcess(p1.PID, 42))
	assert.NotSame(t, c1, s.CachedProcess(p1.PID, 43))
	assert.Equal(t, symtest.GoHot, c1.Symbolize(p1.Addr).Function)
	s.Forget(p1.PID)
	assert.Zero(t, s.CachedProcesses())
}

// TestLibcFromDynsym: a shared library without .symtab (Debian's libc) is
// symbolized from .dynsym, through its mapping's file offset.
func TestLibcFromDynsym(t *testing.T) {
	bin := symtest.BuildC(t, symtest.Plain)
	p := symtest.Start(t, bin, "sleep")
	proc := New(Options{}).Process(p.PID)
	require.NoError(t, proc.Err())
	var path string
	for _, m := range proc.maps {
		if strings.HasPrefix(filepath.Base(m.path), "libc.so") || strings.HasPrefix(filepath.Base(m.path), "libc-") {
			path = m.path
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("the C program is not linked against a shared libc (gcc on Debian links it dynamically)")
		}
		t.Skip("the C program is not linked against a shared libc")
	}
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.DynamicSymbols()
	require.NoError(t, err)
	var v uint64
	aliases := map[string]bool{}
	for _, s := range syms {
		if s.Name == "pause" && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			v = s.Value
		}
	}
	require.NotZero(t, v, "no pause in %s", path)
	for _, s := range syms {
		if s.Value == v && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			aliases[s.Name] = true
		}
	}
	var fileOff uint64
	for _, ph := range f.Progs {
		if ph.Type == elf.PT_LOAD && v >= ph.Vaddr && v < ph.Vaddr+ph.Filesz {
			fileOff = v - ph.Vaddr + ph.Off
		}
	}
	var addr uint64
	for _, m := range proc.maps {
		if m.path == path && fileOff >= m.off && fileOff < m.off+(m.end-m.start) {
			addr = m.start + fileOff - m.off
		}
	}
	require.NotZero(t, addr)
	fr := proc.Symbolize(addr + 2)
	assert.Equal(t, filepath.Base(path), fr.Module)
	assert.True(t, aliases[fr.Function], "%s: got %q, want one of %v", path, fr.Function, aliases)
}

func TestUnknownAndGone(t *testing.T) {
	s := New(Options{})
	p := s.Process(uint32(os.Getpid()))
	require.NoError(t, p.Err())
	f := p.Symbolize(0x10)
	assert.Equal(t, "[unknown]+0x10", f.String())

	gone := s.Process(1 << 30)
	assert.Error(t, gone.Err())
	assert.Equal(t, "[unknown]+0xdead", gone.Symbolize(0xdead).String())
}

func TestOwnGoBinary(t *testing.T) {
	// The test binary itself is a Go binary with a pclntab.
	s := New(Options{})
	p := s.Process(uint32(os.Getpid()))
	pc := funcPC()
	assert.Equal(t, "github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/symbolize.funcPC", p.Symbolize(pc).Function)
}

func TestParseMaps(t *testing.T) {
	in := `55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 123 /usr/bin/x
55d0c0a01000-55d0c0a05000 r-xp 00001000 fd:01 123 /usr/bin/x
7f0000000000-7f0000001000 rwxp 00000000 00:00 0
7f1000000000-7f1000001000 r-xp 00002000 fd:01 9 /tmp/a b (deleted)
7ffd10000000-7ffd10001000 r-xp 00000000 00:00 0 [vdso]
`
	r := strings.NewReader(in)
	ms, err := parseMaps(r)
	require.NoError(t, err)
	require.Len(t, ms, 4)
	assert.Equal(t, mapping{start: 0x55d0c0a01000, end: 0x55d0c0a05000, off: 0x1000, dev: 0xfd<<32 | 1, ino: 123, path: "/usr/bin/x"}, ms[0])
	assert.Equal(t, "/tmp/a b (deleted)", ms[2].path)
	assert.Equal(t, "[vdso]", ms[3].path)
	p := &Process{maps: ms, read: time.Now()}
	assert.Equal(t, "[vdso]+0x10", p.Symbolize(0x7ffd10000010).String())
	assert.Equal(t, "[anon]+0x20", p.Symbolize(0x7f0000000020).String())
}

func TestKallsyms(t *testing.T) {
	k, err := parseKallsyms([]byte(`0000000000000000 A fixed_percpu_data
ffffffff81000000 T _stext
ffffffff81000100 t do_one
ffffffff81000200 D some_data
ffffffff81000300 T do_two
ffffffffc0000000 t mod_fn	[nf_tables]
`))
	require.NoError(t, err)
	assert.Equal(t, "do_one", k.lookup(0xffffffff81000150).Function)
	assert.Equal(t, "do_two", k.lookup(0xffffffff81000310).Function)
	f := k.lookup(0xffffffffc0000010)
	assert.Equal(t, "mod_fn", f.Function)
	assert.Equal(t, "nf_tables", f.Module)
	assert.Equal(t, "[kernel]+0x1000", k.lookup(0x1000).String())

	_, err = parseKallsyms([]byte("0000000000000000 T _stext\n"))
	assert.Error(t, err)
}

func TestRealKallsyms(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("kallsyms addresses are hidden from non-root and CI is set: run the tests as root")
		}
		t.Skip("kallsyms addresses are hidden from non-root")
	}
	s := New(Options{})
	k, err := readKallsyms("/proc/kallsyms")
	require.NoError(t, err)
	var addr uint64
	for i := 0; i < k.syms.len(); i++ {
		if k.syms.name(i) == "schedule" {
			addr = k.syms.addrs[i]
		}
	}
	require.NotZero(t, addr)
	assert.Equal(t, "schedule", s.Kernel(addr+4).Function)
}

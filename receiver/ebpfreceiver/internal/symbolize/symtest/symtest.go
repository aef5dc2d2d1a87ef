// Package symtest builds and runs the test programs of the symbolizer and
// the profiler (symbolize/testdata): a Go program and a C program that
// print the address of their hot function, then burn CPU in it or sleep.
// It is for tests only.
package symtest

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Hot function names of the test programs.
const (
	GoHot = "main.burnGoHot"
	CHot  = "burn_c_hot"
)

// Variant of a built program.
type Variant int

const (
	// Plain: symbols and (for Go) the pclntab section.
	Plain Variant = iota
	// Stripped: no .symtab (Go: -ldflags=-s -w; C: strip).
	Stripped
	// NoSections: stripped, and the ELF section headers removed as well
	// (what sstrip does): Go symbols must be found by scanning.
	NoSections
)

func (v Variant) String() string { return [...]string{"plain", "stripped", "nosections"}[v] }

func testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// BuildGo builds testdata/goburn into a temporary directory.
func BuildGo(t testing.TB, v Variant) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "goburn-"+v.String())
	args := []string{"build", "-o", out}
	if v != Plain {
		args = append(args, "-ldflags=-s -w")
	}
	args = append(args, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join(testdata(), "goburn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build goburn: %v\n%s", err, b)
	}
	if v == NoSections {
		dropSections(t, out)
	}
	return out
}

// BuildC builds testdata/cburn with gcc -O1 -fno-omit-frame-pointer.
func BuildC(t testing.TB, v Variant) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gcc is needed and CI is set")
		}
		t.Skip("gcc not installed")
	}
	out := filepath.Join(t.TempDir(), "cburn-"+v.String())
	cmd := exec.Command("gcc", "-O1", "-g0", "-fno-omit-frame-pointer", "-fno-inline", "-o", out,
		filepath.Join(testdata(), "cburn", "cburn.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc cburn: %v\n%s", err, b)
	}
	if v != Plain {
		if b, err := exec.Command("strip", out).CombinedOutput(); err != nil {
			t.Fatalf("strip: %v\n%s", err, b)
		}
	}
	if v == NoSections {
		dropSections(t, out)
	}
	return out
}

// dropSections zeroes e_shoff, e_shnum and e_shstrndx of a 64-bit ELF file.
func dropSections(t testing.TB, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	bo := f.ByteOrder
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bo.PutUint64(b[0x28:], 0) // e_shoff
	binary.LittleEndian.PutUint16(b[0x3c:], 0)
	binary.LittleEndian.PutUint16(b[0x3e:], 0)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// Proc is a started test program.
type Proc struct {
	Cmd  *exec.Cmd
	PID  uint32
	Addr uint64 // runtime address of the hot function
}

// Start runs bin with mode ("burn" or "sleep"), reads the address it
// prints, and kills it at the end of the test.
func Start(t testing.TB, bin, mode string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: reading its address: %v", bin, err)
	}
	addr, err := strconv.ParseUint(strings.TrimSpace(line), 16, 64)
	if err != nil {
		t.Fatalf("%s printed %q", bin, line)
	}
	return &Proc{Cmd: cmd, PID: uint32(cmd.Process.Pid), Addr: addr}
}

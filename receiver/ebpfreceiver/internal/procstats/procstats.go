// Package procstats samples per-process resource usage from /proc: CPU
// time, memory, threads, I/O bytes and page faults, the raw material of the
// process.* metrics and of Pixie's process_stats table.
package procstats

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Sample is one process's counters at one moment.
type Sample struct {
	PID uint32
	// CPU time in user and kernel mode, ns.
	UTimeNs, STimeNs uint64
	// Page faults that needed (major) or did not need (minor) I/O.
	MajorFaults, MinorFaults uint64
	Threads                  int64
	VSizeBytes, RSSBytes     uint64
	// From /proc/<pid>/io: bytes through read/write-like syscalls (rchar,
	// wchar) and bytes fetched from / sent to storage. HasIO is false when
	// the file could not be read (another user's process without
	// CAP_SYS_PTRACE).
	RChar, WChar, ReadBytes, WriteBytes uint64
	HasIO                               bool
}

// Reader reads samples under a /proc root.
type Reader struct {
	root     string
	pageSize uint64
	clkTck   uint64
	buf      []byte
}

// NewReader reads under root ("" means /proc).
func NewReader(root string) *Reader {
	if root == "" {
		root = "/proc"
	}
	// USER_HZ is 100 on every Linux ABI Go supports.
	return &Reader{root: root, pageSize: uint64(os.Getpagesize()), clkTck: 100, buf: make([]byte, 0, 4096)}
}

// PIDs lists the processes under root, kernel threads included (Read
// reports them with Kernel set, see below).
func (r *Reader) PIDs() ([]uint32, error) {
	ents, err := os.ReadDir(r.root)
	if err != nil {
		return nil, fmt.Errorf("procstats: listing %s: %w", r.root, err)
	}
	pids := make([]uint32, 0, len(ents))
	for _, e := range ents {
		if n, err := strconv.ParseUint(e.Name(), 10, 32); err == nil && e.IsDir() {
			pids = append(pids, uint32(n))
		}
	}
	return pids, nil
}

// errKernelThread reports a kernel thread (PF_KTHREAD), which has no
// user-space resources worth reporting.
var errKernelThread = errors.New("procstats: kernel thread")

// IsKernelThread tells whether Read failed because pid is a kernel thread.
func IsKernelThread(err error) bool { return errors.Is(err, errKernelThread) }

const pfKthread = 0x00200000

// Read samples one process. A process that is gone returns an error
// wrapping fs.ErrNotExist.
func (r *Reader) Read(pid uint32) (Sample, error) {
	s := Sample{PID: pid}
	dir := filepath.Join(r.root, strconv.FormatUint(uint64(pid), 10))
	b, err := r.readFile(filepath.Join(dir, "stat"))
	if err != nil {
		return s, err
	}
	if err := r.parseStat(b, &s); err != nil {
		return s, fmt.Errorf("procstats: %s/stat: %w", dir, err)
	}
	if b, err := r.readFile(filepath.Join(dir, "io")); err == nil {
		s.HasIO = parseIO(b, &s)
	}
	return s, nil
}

func (r *Reader) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r.buf = r.buf[:0]
	for {
		if len(r.buf) == cap(r.buf) {
			r.buf = append(r.buf, 0)[:len(r.buf)]
		}
		n, err := f.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if err != nil || n == 0 {
			break
		}
	}
	return r.buf, nil
}

// parseStat reads /proc/<pid>/stat (proc(5)): the fields after the
// parenthesised comm, which may itself contain spaces and parentheses.
func (r *Reader) parseStat(b []byte, s *Sample) error {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return errors.New("no ')' after comm")
	}
	f := bytes.Fields(b[i+2:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 {
		return fmt.Errorf("%d fields after comm, want at least 22", len(f))
	}
	num := func(n int) uint64 {
		v, _ := strconv.ParseUint(string(f[n-3]), 10, 64)
		return v
	}
	if num(9)&pfKthread != 0 {
		return errKernelThread
	}
	s.MinorFaults = num(10)
	s.MajorFaults = num(12)
	s.UTimeNs = num(14) * (1e9 / r.clkTck)
	s.STimeNs = num(15) * (1e9 / r.clkTck)
	s.Threads = int64(num(20))
	s.VSizeBytes = num(23)
	s.RSSBytes = num(24) * r.pageSize
	return nil
}

// parseIO reads /proc/<pid>/io ("rchar: 123" lines).
func parseIO(b []byte, s *Sample) bool {
	found := 0
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, ok := bytes.Cut(line, []byte(": "))
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "rchar":
			s.RChar = n
		case "wchar":
			s.WChar = n
		case "read_bytes":
			s.ReadBytes = n
		case "write_bytes":
			s.WriteBytes = n
		default:
			continue
		}
		found++
	}
	return found == 4
}

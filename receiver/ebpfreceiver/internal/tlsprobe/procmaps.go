package tlsprobe

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// procmapQuery is the kernel's struct procmap_query (linux/fs.h, 6.11+):
// the PROCMAP_QUERY ioctl on /proc/pid/maps returns one mapping in binary
// form, filtered in the kernel. Reading /proc/pid/maps as text formats every
// mapping of the process (hundreds for a curl with its libraries), and that
// was ~0.5 ms per exec'd process, the largest cost of TLS tracing on a node
// that starts many short-lived processes; the query returns only the ~20
// executable file mappings.
type procmapQuery struct {
	Size        uint64
	QueryFlags  uint64
	QueryAddr   uint64
	VMAStart    uint64
	VMAEnd      uint64
	VMAFlags    uint64
	VMAPageSize uint64
	VMAOffset   uint64
	Inode       uint64
	DevMajor    uint32
	DevMinor    uint32
	VMANameSize uint32
	BuildIDSize uint32
	VMANameAddr uint64
	BuildIDAddr uint64
}

const (
	// _IOWR('f', 17, struct procmap_query)
	procmapQueryIoctl = 3<<30 | uint(unsafe.Sizeof(procmapQuery{}))<<16 | 'f'<<8 | 17

	procmapQueryVMAExecutable    = 0x04
	procmapQueryCoveringOrNext   = 0x10
	procmapQueryFileBackedVMA    = 0x20
	procmapQueryExecFileMappings = procmapQueryVMAExecutable | procmapQueryCoveringOrNext | procmapQueryFileBackedVMA
)

// errNoProcmapQuery: the kernel has no PROCMAP_QUERY (before 6.11).
var errNoProcmapQuery = errors.New("PROCMAP_QUERY not supported")

// queryMappedFiles lists the files f (an open /proc/pid/maps) maps with
// execute permission, each once, in address order, through PROCMAP_QUERY.
func queryMappedFiles(f *os.File) ([]mapping, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var out []mapping
	seen := map[fileKey]bool{}
	name := make([]byte, 4096)
	var addr uint64
	var qerr error
	err = rc.Control(func(fd uintptr) {
		for {
			q := procmapQuery{
				Size:        uint64(unsafe.Sizeof(procmapQuery{})),
				QueryFlags:  procmapQueryExecFileMappings,
				QueryAddr:   addr,
				VMANameSize: uint32(len(name)),
				VMANameAddr: uint64(uintptr(unsafe.Pointer(&name[0]))),
			}
			_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(procmapQueryIoctl), uintptr(unsafe.Pointer(&q)))
			runtime.KeepAlive(name)
			switch errno {
			case 0:
			case unix.ENOENT: // no mapping at or after addr
				return
			case unix.ENOTTY, unix.EINVAL:
				qerr = errNoProcmapQuery
				return
			default:
				qerr = errno
				return
			}
			if q.VMAEnd <= addr {
				qerr = fmt.Errorf("PROCMAP_QUERY went backwards at %#x", addr)
				return
			}
			addr = q.VMAEnd
			n := int(q.VMANameSize)
			if n > 0 && name[n-1] == 0 {
				n-- // the size counts the terminating NUL
			}
			path := string(name[:min(n, len(name))])
			if q.Inode == 0 || len(path) == 0 || path[0] != '/' || hasDeletedSuffix(path) {
				continue
			}
			k := fileKey{dev: fmt.Sprintf("%02x:%02x", q.DevMajor, q.DevMinor), ino: q.Inode}
			if seen[k] {
				continue
			}
			seen[k] = true
			// map_files names are "%lx-%lx" (no padding).
			out = append(out, mapping{key: k, path: path, rng: fmt.Sprintf("%x-%x", q.VMAStart, q.VMAEnd)})
		}
	})
	if err == nil {
		err = qerr
	}
	return out, err
}

func hasDeletedSuffix(p string) bool {
	const s = " (deleted)"
	return len(p) >= len(s) && p[len(p)-len(s):] == s
}

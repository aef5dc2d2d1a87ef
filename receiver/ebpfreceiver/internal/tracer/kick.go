package tracer

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// kickWaiter waits for records in the kick ring (see "Wakeups" in
// bpf/socket_trace.c) through the Go runtime's network poller, the way a
// socket read waits, not in a thread of its own blocked in epoll_wait.
//
// Why: cilium/ebpf's ringbuf.Reader blocks in epoll_wait inside a syscall
// the runtime sees. When such a syscall returns to a process whose
// processors were all idle, the runtime wakes its sysmon thread and resets
// its poll to 20 µs, doubling only after 50 quiet polls: every kick (up to
// 200 a second with short-lived connections) then cost ~50 extra thread
// wake-ups. The poller's epoll needs none of that: the ring's fd is
// registered in it (ring buffer maps support poll), and a goroutine waiting
// on it holds no thread.
type kickWaiter struct {
	ring *ring
	file *os.File // a duplicate of the map's fd, in the poller
	rc   syscall.RawConn
	// closed is set by interrupt: a failing wait is then the end.
	closed atomic.Bool
}

// newKickWaiter opens m (a ring buffer map) for wait.
func newKickWaiter(m *ebpf.Map) (*kickWaiter, error) {
	r, err := newRing(m)
	if err != nil {
		return nil, err
	}
	fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		_ = r.close()
		return nil, fmt.Errorf("duplicating the kick ring's fd: %w", err)
	}
	// Non-blocking, so that os.NewFile registers it with the poller.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		_ = r.close()
		return nil, fmt.Errorf("making the kick ring's fd non-blocking: %w", err)
	}
	f := os.NewFile(uintptr(fd), "kick_ring")
	// A file the poller took supports deadlines; one it refused would
	// make every wait fail.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		_ = f.Close()
		_ = r.close()
		return nil, fmt.Errorf("the kick ring cannot be waited on in the Go poller: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		_ = r.close()
		return nil, fmt.Errorf("the kick ring's fd: %w", err)
	}
	return &kickWaiter{ring: r, file: f, rc: rc}, nil
}

// wait blocks until at least one record is in the ring, consumes every
// record there and returns how many. It fails once close was called (and
// on a corrupt ring, after skipping its contents): closed tells which.
func (k *kickWaiter) wait() (int, error) {
	n := 0
	var rerr error
	err := k.rc.Read(func(uintptr) bool {
		for {
			s, ok, err := k.ring.next()
			if err != nil {
				k.ring.skipAll()
				rerr = err
				return true
			}
			if !ok {
				// Nothing (more): wait for the poller unless
				// something was read.
				return n > 0
			}
			k.ring.release(s)
			n++
		}
	})
	if err == nil {
		err = rerr
	}
	return n, err
}

// interrupt makes a blocked or later wait fail. The ring stays mapped
// until close.
func (k *kickWaiter) interrupt() error {
	k.closed.Store(true)
	return k.file.Close()
}

// close unmaps the ring: call it after interrupt, once no wait runs.
func (k *kickWaiter) close() error { return k.ring.close() }

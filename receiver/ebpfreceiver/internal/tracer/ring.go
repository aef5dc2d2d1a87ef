package tracer

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ring reads a BPF ring buffer map in place. cilium/ebpf's ringbuf.Reader
// copies every record into the caller's buffer under a mutex; the tracer's
// single reader goroutine hands each record to its handler and is done with
// it before the next, so it reads records where the kernel wrote them and
// only then gives their room back (the consumer position). That copy was
// ~4% of the collector's CPU at 2k HTTP requests/s.
//
// Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (mapped
// read-write), page 1 the producer position, then the data pages, mapped
// twice in a row so a record that wraps around the end reads as one slice.
// The data is mapped read-only: a handler must neither keep nor modify a
// payload (it never could keep it: the copy was reused too).
type ring struct {
	consPage, dataPages []byte
	consPos, prodPos    *uint64
	data                []byte // the data pages, twice
	mask                uint64
	cons                uint64 // our consumer position, published by release
}

const (
	ringHdrSize = 8 // u32 len (busy and discard bits), u32 page offset
	ringBusy    = 1 << 31
	ringDiscard = 1 << 30
)

var errRingCorrupt = errors.New("ring buffer record header out of bounds")

func newRing(m *ebpf.Map) (*ring, error) {
	if m.Type() != ebpf.RingBuf {
		return nil, fmt.Errorf("map %s is a %s, not a ring buffer", m, m.Type())
	}
	size := int(m.MaxEntries())
	page := os.Getpagesize()
	cons, err := unix.Mmap(m.FD(), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap of the ring's consumer page: %w", err)
	}
	data, err := unix.Mmap(m.FD(), int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		_ = unix.Munmap(cons)
		return nil, fmt.Errorf("mmap of the ring's data pages: %w", err)
	}
	r := &ring{
		consPage:  cons,
		dataPages: data,
		consPos:   (*uint64)(unsafe.Pointer(&cons[0])),
		prodPos:   (*uint64)(unsafe.Pointer(&data[0])),
		data:      data[page:],
		mask:      uint64(size - 1),
	}
	r.cons = atomic.LoadUint64(r.consPos)
	return r, nil
}

// size is the ring's data size in bytes.
func (r *ring) size() int { return int(r.mask + 1) }

// available is how many bytes of records (committed or not) wait.
func (r *ring) available() int {
	return int(atomic.LoadUint64(r.prodPos) - r.cons)
}

// next returns the next committed record's sample, a view into the ring
// that stays valid until release; ok is false when no committed record
// waits. Discarded records are skipped.
func (r *ring) next() (sample []byte, ok bool, err error) {
	prod := atomic.LoadUint64(r.prodPos)
	for r.cons < prod {
		off := r.cons & r.mask
		// The length word is written last by the kernel (xchg on
		// commit): load it atomically before reading the sample.
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[off])))
		if hdr&ringBusy != 0 {
			return nil, false, nil // reserved, not committed yet
		}
		n := uint64(hdr &^ (ringBusy | ringDiscard))
		total := (ringHdrSize + n + 7) &^ 7
		if total > r.mask+1 || r.cons+total > prod {
			return nil, false, fmt.Errorf("%w: %d bytes at position %d, %d produced", errRingCorrupt, n, r.cons, prod)
		}
		if hdr&ringDiscard != 0 {
			r.cons += total
			atomic.StoreUint64(r.consPos, r.cons)
			continue
		}
		start := off + ringHdrSize
		return r.data[start : start+n : start+n], true, nil
	}
	return nil, false, nil
}

// release gives the room of the record next returned back to the kernel.
func (r *ring) release(sample []byte) {
	r.cons += (ringHdrSize + uint64(len(sample)) + 7) &^ 7
	atomic.StoreUint64(r.consPos, r.cons)
}

// skipAll drops every record that waits (after a corrupt header).
func (r *ring) skipAll() {
	r.cons = atomic.LoadUint64(r.prodPos)
	atomic.StoreUint64(r.consPos, r.cons)
}

// close unmaps the ring; no sample may be used after it.
func (r *ring) close() error {
	return errors.Join(unix.Munmap(r.dataPages), unix.Munmap(r.consPage))
}

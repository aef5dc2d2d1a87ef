package tablestore

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BufferPool is a memory.Allocator for the short-lived buffers of scans:
// freed buffers of 4 KiB and more are kept (by power-of-two size class) and
// handed out again, not zeroed. A query that decodes batch after batch of
// the same shape then allocates (and zeroes) its buffers once instead of for
// every batch. Kept buffers are ordinary Go memory that the garbage
// collector reclaims when the pool is idle (sync.Pool); they are not part of
// any store's byte budget. Pass it as ScanOptions.Allocator. Safe for
// concurrent use.
type BufferPool struct {
	classes [poolClasses]sync.Pool // *[]byte of len 1<<(class+poolMinShift)
}

const (
	poolMinShift = 12 // 4 KiB
	poolClasses  = 19 // up to 1 GiB
)

var _ memory.Allocator = (*BufferPool)(nil)

// NewBufferPool returns an empty pool.
func NewBufferPool() *BufferPool { return new(BufferPool) }

func poolClass(n int) int {
	if n <= 1<<poolMinShift {
		return 0
	}
	return bits.Len(uint(n-1)) - poolMinShift
}

// Allocate returns a 64-byte aligned buffer of n bytes whose content is
// undefined (zeroed only when it is new).
func (p *BufferPool) Allocate(n int) []byte {
	if n < 1<<poolMinShift/2 {
		return alignedMake(n, n)
	}
	c := poolClass(n)
	if c >= poolClasses {
		return alignedMake(n, n)
	}
	if v := p.classes[c].Get(); v != nil {
		b := *(v.(*[]byte))
		return b[:n]
	}
	return alignedMake(n, 1<<(c+poolMinShift))
}

// alignedMake returns n bytes with capacity c, 64-byte aligned.
func alignedMake(n, c int) []byte {
	b := make([]byte, c+64)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 63)
	return b[off : off+n : off+c]
}

// Reallocate grows or shrinks b to n bytes, keeping its content.
func (p *BufferPool) Reallocate(n int, b []byte) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := p.Allocate(n)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free gives b back to the pool (buffers of a pool size class) or to the
// garbage collector.
func (p *BufferPool) Free(b []byte) {
	c := cap(b)
	if c < 1<<poolMinShift || c&(c-1) != 0 {
		return
	}
	k := bits.Len(uint(c)) - 1 - poolMinShift
	if k >= poolClasses {
		return
	}
	b = b[:c]
	p.classes[k].Put(&b)
}

package tablestore

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// abuf is a growable byte buffer whose memory comes from an Arrow allocator.
// len(b) is the allocated size; the user tracks how much is used.
type abuf struct {
	b []byte
}

// ensure grows the buffer to at least need bytes. Growth doubles, but never
// by more than maxStep bytes beyond what is needed (bounding overshoot).
func (x *abuf) ensure(mem memory.Allocator, need, maxStep int) {
	if need <= len(x.b) {
		return
	}
	newCap := x.grownSize(need, maxStep)
	if x.b == nil {
		x.b = mem.Allocate(newCap)
		return
	}
	x.b = mem.Reallocate(newCap, x.b)
}

// growth is how many bytes ensure(need, maxStep) would add to the buffer.
func (x *abuf) growth(need, maxStep int) int64 {
	if need <= len(x.b) {
		return 0
	}
	return int64(x.grownSize(need, maxStep) - len(x.b))
}

// grownSize is the size ensure grows the buffer to for need bytes (need >
// len(x.b)).
func (x *abuf) grownSize(need, maxStep int) int {
	newCap := 2 * len(x.b)
	if newCap < 256 {
		newCap = 256
	}
	if maxStep > 0 && newCap > need+maxStep {
		newCap = need + maxStep
	}
	if newCap < need {
		newCap = need
	}
	return (newCap + 63) &^ 63
}

func (x *abuf) free(mem memory.Allocator) {
	if x.b != nil {
		mem.Free(x.b)
		x.b = nil
	}
}

func (x *abuf) size() int { return len(x.b) }

// Typed views of byte slices. The allocator aligns buffers to 64 bytes.

func i64s(b []byte) []int64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func f64s(b []byte) []float64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func i32s(b []byte) []int32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func i64bytes(v []int64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*8)
}

func f64bytes(v []float64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*8)
}

// newBuffer allocates an Arrow buffer of n bytes from mem; Release frees it.
func newBuffer(mem memory.Allocator, n int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n)
	return buf
}

package tablestore

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// hotCol is one column of a hot batch. Memory comes from the allocator.
//
//	time/int64/float64: vals = 8 bytes per row
//	bool:               vals = 1 byte per row (0/1)
//	trace/span ID:      vals = 16/8 raw bytes per row
//	string:             vals = int32 offsets (rows+1), data = bytes
//	dict:               vals = int32 dictionary index per row,
//	                    data = dictionary bytes, doffs = int32 offsets (entries+1)
type hotCol struct {
	typ     ColumnType
	vals    abuf
	data    abuf
	dataLen int
	doffs   abuf
	ndict   int
	dict    map[string]int32         // nil in detached copies
	keys    []string                 // dict: entry id -> key (owned copies)
	cache   [dictCacheSlots]dictSlot // dict: recently used entries
	ptrs    [dictCacheSlots]ptrSlot  // dict: producer strings seen in this append
	goBytes int64                    // estimate of Go-side memory (dict map)
	pending int                      // string: 1 + bytes of the chunk appendGrowth measured (0: unknown)
}

// dictSlot caches one dictionary entry: its key and id+1 (0: empty).
type dictSlot struct {
	s   string
	id1 int32
}

// ptrSlot maps a producer's string (its address and length) to id+1: a
// producer that hands the same string for many rows (a service name, a
// pod) costs neither hashing nor comparing bytes. The address is kept as
// an integer (the store never keeps the producer's memory alive) and the
// slots are cleared after every append, while the strings are still
// referenced by the appended batch, so an address is never reused meanwhile.
type ptrSlot struct {
	p   uintptr
	n   int
	id1 int32
}

// ptrHash is the ptrSlot of an address (5 bits: dictCacheSlots).
func ptrHash(p uintptr) int {
	return int((uint64(p) * 0x9E3779B97F4A7C15) >> (64 - 5))
}

// dictCacheSlots is the size of a dict column's entry cache.
const dictCacheSlots = 32

// dictHash is the cache slot of s (5 bits: dictCacheSlots).
func dictHash(s string) int {
	return int(hashBytes(unsafe.Slice(unsafe.StringData(s), len(s))) >> (64 - 5))
}

// hashBytes mixes the length and the first, middle and last 8 bytes of b
// (values often share a prefix and a suffix: addresses, process IDs,
// numbered names, JSON headers).
func hashBytes(b []byte) uint64 {
	n := len(b)
	var x uint64
	if n >= 8 {
		x = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 29) ^
			bits.RotateLeft64(binary.LittleEndian.Uint64(b[n/2-4:]), 13)
	} else if n > 0 {
		x = uint64(b[0]) | uint64(b[n-1])<<8 | uint64(b[n/2])<<16
	}
	x ^= uint64(n) << 40
	x = (x ^ x>>31) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x
}

// lookup returns the dictionary id of s, adding it when new.
func (h *hotBatch) lookup(c *hotCol, s string, bad *int64) int32 {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	ps := &c.ptrs[ptrHash(p)]
	if ps.p == p && ps.n == len(s) && ps.id1 != 0 {
		return ps.id1 - 1
	}
	return h.lookupSlow(c, s, bad, ps)
}

// lookupSlow is lookup past the address cache (ps: the string's slot).
func (h *hotBatch) lookupSlow(c *hotCol, s string, bad *int64, ps *ptrSlot) int32 {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	slot := &c.cache[dictHash(s)]
	var id int32
	if slot.id1 != 0 && slot.s == s {
		id = slot.id1 - 1
	} else {
		var ok bool
		id, ok = c.dict[s]
		if !ok {
			if !utf8.ValidString(s) {
				*bad++
			}
			id = h.addDict(c, s)
		}
		slot.s, slot.id1 = c.keys[id], id+1
	}
	ps.p, ps.n, ps.id1 = p, len(s), id+1
	return id
}

// hotBatch holds rows as appended. It is mutated only under the table's
// write lock; once sealed it is immutable.
type hotBatch struct {
	cols   []hotCol
	n      int
	minT   int64
	maxT   int64
	sorted bool  // time_ is non-decreasing in append order
	born   int64 // clock (ns) when the first row arrived
	mem    memory.Allocator
	step   int // max growth step of a buffer
}

func newHotBatch(s *Schema, mem memory.Allocator, maxStep int) *hotBatch {
	h := &hotBatch{cols: make([]hotCol, s.NumColumns()), mem: mem, step: maxStep, sorted: true, minT: math.MaxInt64, maxT: math.MinInt64}
	for i, c := range s.columns {
		h.cols[i].typ = c.Type
		if c.Type == TypeDict {
			h.cols[i].dict = make(map[string]int32)
		}
	}
	return h
}

// bytes is the allocated size of the batch plus Go-side estimates.
func (h *hotBatch) bytes() int64 {
	var n int64
	for i := range h.cols {
		c := &h.cols[i]
		n += int64(c.vals.size()+c.data.size()+c.doffs.size()) + c.goBytes
	}
	return n
}

// allocBytes is what the allocator holds for this batch.
func (h *hotBatch) allocBytes() int64 {
	var n int64
	for i := range h.cols {
		c := &h.cols[i]
		n += int64(c.vals.size() + c.data.size() + c.doffs.size())
	}
	return n
}

func (h *hotBatch) free() {
	for i := range h.cols {
		c := &h.cols[i]
		c.vals.free(h.mem)
		c.data.free(h.mem)
		c.doffs.free(h.mem)
		c.dict = nil
		c.keys = nil
		c.cache = [dictCacheSlots]dictSlot{}
	}
	h.n = 0
}

// reset empties the batch for reuse, keeping its buffers.
func (h *hotBatch) reset() {
	h.n, h.born, h.sorted = 0, 0, true
	h.minT, h.maxT = math.MaxInt64, math.MinInt64
	for i := range h.cols {
		c := &h.cols[i]
		c.dataLen, c.ndict, c.goBytes = 0, 0, 0
		c.cache = [dictCacheSlots]dictSlot{}
		if c.typ == TypeDict {
			if c.dict == nil {
				c.dict = make(map[string]int32)
			}
			clear(c.dict)
			clear(c.keys)
			c.keys = c.keys[:0]
		}
	}
}

func (h *hotBatch) times() []int64 {
	return i64s(h.cols[0].vals.b)[:h.n]
}

// reserveRows makes room for k more rows in every fixed-width buffer.
func (h *hotBatch) reserveRows(k int) {
	need := h.n + k
	for i := range h.cols {
		c := &h.cols[i]
		switch c.typ {
		case TypeString:
			c.vals.ensure(h.mem, 4*(need+1), h.step)
			if h.n == 0 {
				i32s(c.vals.b)[0] = 0
			}
		default:
			c.vals.ensure(h.mem, c.typ.fixedWidth()*need, h.step)
		}
	}
}

// appendGrowth is how many bytes appendBatch(b, lo, hi) allocates, except
// for new dictionary entries (a few bytes each, counted after the append):
// the table evicts that much before appending, so that its allocations
// never run ahead of its budget.
func (h *hotBatch) appendGrowth(b *Batch, lo, hi int) int64 {
	need := h.n + hi - lo
	var g int64
	for i := range h.cols {
		c := &h.cols[i]
		switch c.typ {
		case TypeString:
			g += c.vals.growth(4*(need+1), h.step)
			total := 0
			for _, s := range b.cols[i].s[lo:hi] {
				total += len(s)
			}
			c.pending = total + 1
			g += c.data.growth(c.dataLen+total, h.step)
		default:
			g += c.vals.growth(c.typ.fixedWidth()*need, h.step)
		}
	}
	return g
}

// carryGrowth is how many bytes appendRowsFrom(src, order, lo, hi)
// allocates at most.
func (h *hotBatch) carryGrowth(src *hotBatch, order []int32, lo, hi int) int64 {
	need := h.n + hi - lo
	var g int64
	for ci := range h.cols {
		c := &h.cols[ci]
		sc := &src.cols[ci]
		switch c.typ {
		case TypeString:
			g += c.vals.growth(4*(need+1), h.step)
			total := 0
			for i := lo; i < hi; i++ {
				r := i
				if order != nil {
					r = int(order[i])
				}
				total += len(sc.strValue(r))
			}
			g += c.data.growth(c.dataLen+total, h.step)
		case TypeDict:
			g += c.vals.growth(4*need, h.step)
			// At most the whole source dictionary (taken over or rebuilt).
			ndict, dlen := c.ndict+sc.ndict, c.dataLen+sc.dataLen
			if h.n == 0 && c.ndict == 0 && sc.ndict <= maxInherit && sc.dict != nil {
				ndict, dlen = sc.ndict, sc.dataLen // taken over: exactly
			}
			g += c.doffs.growth(4*(ndict+1), h.step)
			g += c.data.growth(dlen, h.step)
		default:
			g += c.vals.growth(c.typ.fixedWidth()*need, h.step)
		}
	}
	return g
}

// appendBatch copies rows [lo, hi) of b. The caller has checked the schema.
// Strings that are not valid UTF-8 are stored with U+FFFD replacing the bad
// bytes; it returns how many were.
func (h *hotBatch) appendBatch(b *Batch, lo, hi int) (bad int64) {
	k := hi - lo
	if k <= 0 {
		return 0
	}
	h.reserveRows(k)
	n := h.n
	for i := range h.cols {
		c := &h.cols[i]
		src := &b.cols[i]
		switch c.typ {
		case TypeTime:
			ts := src.i64[lo:hi]
			dst := i64s(c.vals.b)
			copy(dst[n:], ts)
			prev := int64(math.MinInt64)
			if n > 0 {
				prev = dst[n-1]
			}
			minT, maxT, sorted := h.minT, h.maxT, h.sorted
			for _, t := range ts {
				if t < prev {
					sorted = false
				}
				prev = t
				if t < minT {
					minT = t
				}
				if t > maxT {
					maxT = t
				}
			}
			h.minT, h.maxT, h.sorted = minT, maxT, sorted
		case TypeInt64:
			copy(i64s(c.vals.b)[n:], src.i64[lo:hi])
		case TypeFloat64:
			copy(f64s(c.vals.b)[n:], src.f64[lo:hi])
		case TypeBool:
			dst := c.vals.b[n:]
			for j, v := range src.b[lo:hi] {
				var x byte
				if v {
					x = 1
				}
				dst[j] = x
			}
		case TypeTraceID, TypeSpanID:
			w := c.typ.idWidth()
			copy(c.vals.b[n*w:], src.id[lo*w:hi*w])
		case TypeString:
			// Copy first, then check the copied bytes at once (in cache,
			// one long run): almost always plain ASCII.
			strs := src.s[lo:hi]
			start := c.dataLen
			pos := h.copyStrings(c, strs, n, c.pending-1)
			c.pending = 0
			if !isASCII(c.data.b[start:pos]) {
				nbad := 0
				for j, s := range strs {
					if !utf8.ValidString(s) {
						strs[j] = strings.ToValidUTF8(s, "\uFFFD")
						nbad++
					}
				}
				if nbad > 0 {
					bad += int64(nbad)
					pos = h.copyStrings(c, strs, n, -1)
				}
			}
			c.dataLen = pos
		case TypeDict:
			idx := i32s(c.vals.b)[n : n+k]
			// The address cache inline: producers often hand the same
			// string for many rows.
			for j, s := range src.s[lo:hi] {
				p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
				ps := &c.ptrs[ptrHash(p)]
				if ps.p == p && ps.n == len(s) && ps.id1 != 0 {
					idx[j] = ps.id1 - 1
					continue
				}
				idx[j] = h.lookupSlow(c, s, &bad, ps)
			}
			c.ptrs = [dictCacheSlots]ptrSlot{}
		}
	}
	h.n += k
	return bad
}

// copyStrings copies strs (rows n, n+1, ...) to the end of c's data (from
// c.dataLen, which it does not move) and sets their offsets; it returns the
// end of the copied bytes. total is their length when known, else -1.
func (h *hotBatch) copyStrings(c *hotCol, strs []string, n, total int) int {
	if total < 0 {
		total = 0
		for _, s := range strs {
			total += len(s)
		}
	}
	c.data.ensure(h.mem, c.dataLen+total, h.step)
	offs := i32s(c.vals.b)
	d := c.data.b
	pos := c.dataLen
	for j, s := range strs {
		pos += copy(d[pos:], s)
		offs[n+j+1] = int32(pos)
	}
	return pos
}

// isASCII reports whether b has no byte >= 0x80: 32 bytes per step, one
// branch per step.
func isASCII(b []byte) bool {
	const hi = 0x8080808080808080
	i := 0
	for ; i+32 <= len(b); i += 32 {
		x := binary.LittleEndian.Uint64(b[i:]) | binary.LittleEndian.Uint64(b[i+8:]) |
			binary.LittleEndian.Uint64(b[i+16:]) | binary.LittleEndian.Uint64(b[i+24:])
		if x&hi != 0 {
			return false
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&hi != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}

// addDict appends a new dictionary entry (the key as given, the value made
// valid UTF-8).
func (h *hotBatch) addDict(c *hotCol, key string) int32 {
	s := key
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	id := int32(c.ndict)
	c.doffs.ensure(h.mem, 4*(c.ndict+2), h.step)
	offs := i32s(c.doffs.b)
	if c.ndict == 0 {
		offs[0] = 0
	}
	c.data.ensure(h.mem, c.dataLen+len(s), h.step)
	copy(c.data.b[c.dataLen:], s)
	c.dataLen += len(s)
	offs[c.ndict+1] = int32(c.dataLen)
	c.ndict++
	key = strings.Clone(key) // never retain the producer's memory
	c.dict[key] = id
	c.keys = append(c.keys, key)
	c.goBytes += int64(len(key)) + 64
	return id
}

// dictValue is entry i of a dict column.
func (c *hotCol) dictValue(i int32) []byte {
	offs := i32s(c.doffs.b)
	return c.data.b[offs[i]:offs[i+1]]
}

// strValue is row r of a string column.
func (c *hotCol) strValue(r int) []byte {
	offs := i32s(c.vals.b)
	return c.data.b[offs[r]:offs[r+1]]
}

// sortedOrder returns the row indexes in time order (stable), or nil when
// the batch is already sorted.
func (h *hotBatch) sortedOrder() []int32 {
	if h.sorted {
		return nil
	}
	ts := h.times()
	order := make([]int32, h.n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		ta, tb := ts[a], ts[b]
		if ta < tb {
			return -1
		}
		if ta > tb {
			return 1
		}
		return 0
	})
	return order
}

// maxInherit is the largest dictionary a new hot batch takes over from the
// batch it continues (larger ones are rebuilt from the carried rows, so
// dictionaries cannot grow without bound).
const maxInherit = 4096

// appendRowsFrom copies rows src[order[i]] for i in [lo, hi) (order nil: the
// identity) into h. Used to carry rows over to a new hot batch; src is
// sealed and never looks at its dictionary maps again, so an empty h takes
// small dictionaries over instead of rebuilding them.
func (h *hotBatch) appendRowsFrom(src *hotBatch, order []int32, lo, hi int) {
	k := hi - lo
	if k <= 0 {
		return
	}
	row := func(i int) int {
		if order == nil {
			return i
		}
		return int(order[i])
	}
	h.reserveRows(k)
	n := h.n
	var bad int64
	for ci := range h.cols {
		c := &h.cols[ci]
		sc := &src.cols[ci]
		switch c.typ {
		case TypeTime, TypeInt64, TypeFloat64, TypeBool, TypeTraceID, TypeSpanID:
			w := c.typ.fixedWidth()
			if order == nil {
				copy(c.vals.b[n*w:], sc.vals.b[lo*w:hi*w])
				continue
			}
			for j := 0; j < k; j++ {
				r := row(lo + j)
				copy(c.vals.b[(n+j)*w:(n+j+1)*w], sc.vals.b[r*w:(r+1)*w])
			}
		case TypeString:
			offs := i32s(c.vals.b)
			if order == nil {
				so := i32s(sc.vals.b)
				from, to := int(so[lo]), int(so[hi])
				c.data.ensure(h.mem, c.dataLen+to-from, h.step)
				copy(c.data.b[c.dataLen:], sc.data.b[from:to])
				shift := int32(c.dataLen - from)
				for j := 0; j < k; j++ {
					offs[n+j+1] = so[lo+j+1] + shift
				}
				c.dataLen += to - from
				continue
			}
			total := 0
			for j := 0; j < k; j++ {
				total += len(sc.strValue(row(lo + j)))
			}
			c.data.ensure(h.mem, c.dataLen+total, h.step)
			pos := c.dataLen
			for j := 0; j < k; j++ {
				pos += copy(c.data.b[pos:], sc.strValue(row(lo+j)))
				offs[n+j+1] = int32(pos)
			}
			c.dataLen = pos
		case TypeDict:
			sidx := i32s(sc.vals.b)
			idx := i32s(c.vals.b)
			if n == 0 && c.ndict == 0 && sc.ndict <= maxInherit && sc.dict != nil {
				// Take the dictionary over: same ids, so indices copy as is.
				c.doffs.ensure(h.mem, 4*(sc.ndict+1), h.step)
				copy(c.doffs.b, sc.doffs.b[:4*(sc.ndict+1)])
				c.data.ensure(h.mem, sc.dataLen, h.step)
				copy(c.data.b, sc.data.b[:sc.dataLen])
				c.dataLen, c.ndict, c.goBytes = sc.dataLen, sc.ndict, sc.goBytes
				c.dict, sc.dict = sc.dict, c.dict
				c.keys, sc.keys = sc.keys, c.keys
				sc.goBytes = 0
				for j := 0; j < k; j++ {
					idx[j] = sidx[row(lo+j)]
				}
				continue
			}
			for j := 0; j < k; j++ {
				v := sc.dictValue(sidx[row(lo+j)])
				idx[n+j] = h.lookup(c, bstr(v), &bad)
			}
			c.ptrs = [dictCacheSlots]ptrSlot{}
		}
	}
	h.n += k
	all := i64s(h.cols[0].vals.b)[:h.n]
	prev := int64(math.MinInt64)
	if n > 0 {
		prev = all[n-1]
	}
	for _, t := range all[n:] {
		if t < prev {
			h.sorted = false
		}
		prev = t
		h.minT = min(h.minT, t)
		h.maxT = max(h.maxT, t)
	}
}

// detach copies the given columns of the rows into a new hot batch owned by
// the caller (a scan snapshot), allocated from mem. Dictionaries
// are copied without their lookup maps.
func (h *hotBatch) detach(need []bool, mem memory.Allocator) *hotBatch {
	if h.n == 0 {
		return nil
	}
	d := &hotBatch{cols: make([]hotCol, len(h.cols)), n: h.n, minT: h.minT, maxT: h.maxT, sorted: h.sorted, mem: mem}
	cp := func(dst, src *abuf, n int) {
		if n <= 0 {
			return
		}
		dst.b = mem.Allocate((n + 63) &^ 63)
		copy(dst.b, src.b[:n])
	}
	for i := range h.cols {
		c := &h.cols[i]
		dc := &d.cols[i]
		dc.typ = c.typ
		if !need[i] {
			continue
		}
		switch c.typ {
		case TypeString:
			cp(&dc.vals, &c.vals, 4*(h.n+1))
			cp(&dc.data, &c.data, c.dataLen)
			dc.dataLen = c.dataLen
		case TypeDict:
			cp(&dc.vals, &c.vals, 4*h.n)
			cp(&dc.doffs, &c.doffs, 4*(c.ndict+1))
			cp(&dc.data, &c.data, c.dataLen)
			dc.dataLen, dc.ndict = c.dataLen, c.ndict
		default:
			cp(&dc.vals, &c.vals, c.typ.fixedWidth()*h.n)
		}
	}
	return d
}

// used is the number of bytes the rows occupy (the seal criterion; bytes()
// is what is allocated).
func (h *hotBatch) used() int64 {
	var n int64
	for i := range h.cols {
		c := &h.cols[i]
		switch c.typ {
		case TypeString:
			n += int64(4*(h.n+1) + c.dataLen)
		case TypeDict:
			n += int64(4*h.n+c.dataLen+4*(c.ndict+1)) + c.goBytes
		default:
			n += int64(c.typ.fixedWidth() * h.n)
		}
	}
	return n
}

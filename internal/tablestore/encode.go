package tablestore

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"unsafe"
)

// Column encodings of cold batches. An encoded column is a list of parts;
// each part is compressed on its own (so that, for example, the bytes of a
// string dictionary and its indices, or each byte plane of an integer
// column, get their own entropy statistics).
//
//	encConst    one part: the single value (ints/floats: 8 bytes LE; bool: 1
//	            byte; IDs: w bytes; strings: uvarint length + bytes)
//	encPlanes   ints/floats. part 0: header [flags][uvarint width]
//	            [zigzag varint base][zigzag varint first, if delta]; parts
//	            1..width: byte plane k of u[i] = (d[i] - base), where d is the
//	            value (or, with flagDelta, the difference to the previous
//	            value; d[0] = 0 and the first value is in the header)
//	encIntDict  ints with at most 256 distinct values. part 0: uvarint count,
//	            count zigzag varints, ascending (readers must not rely on
//	            the order: they check it); part 1: the indexes (see
//	            appendIndexes: packed 1, 2 or 4 bits each when count <= 16,
//	            else one byte)
//	encBitmap   bools. part 0: LSB-first bitmap (the Arrow layout)
//	encRaw      IDs. part 0: w bytes per row
//	encPlain    strings. part 0: uvarint lengths; part 1: the bytes
//	encDict     strings. part 0: uvarint count, uvarint lengths, bytes;
//	            parts 1..w: the indexes (packed as for encIntDict when
//	            count <= 16, else w byte planes)
//	encPacked   ints, random access. part 0: [uvarint b (1..56)][zigzag
//	            varint base][uvarint count][uvarint xw (1..8)]; part 1:
//	            every row's u[i] = v[i] - base in b bits, packed LSB first
//	            (packedLen(n, b) bytes) and 7 zero bytes, so that one
//	            8-byte load reads any row; u[i] >= 2^b-1 is stored as
//	            2^b-1, an escape: that row's u[i] is the next exception;
//	            part 2: for every block of 64 rows, the escapes before it
//	            (uint16, or uint32 when count > 65535; empty when count
//	            is 0); part 3: every exception's row mod 64 (count
//	            bytes), then the count exceptions, xw bytes each (LE). So
//	            an escape's exception is found among those of its block,
//	            without reading the other rows. Parts are stored as they
//	            are (see packCandidate)
const (
	encConst uint8 = iota + 1
	encPlanes
	encIntDict
	encBitmap
	encRaw
	encPlain
	encDict
	encPacked
)

const flagDelta = 1

// coldPart locates one compressed part inside a cold blob.
type coldPart struct {
	comp   uint8
	off    int
	clen   int
	rawLen int
}

// coldCol is one encoded column of a cold batch.
type coldCol struct {
	enc   uint8
	parts []coldPart
}

// coldBatch is the compacted form of a batch: one allocator blob holding
// every part of every column.
type coldBatch struct {
	blob []byte
	cols []coldCol
}

func (cb *coldBatch) metaBytes() int64 {
	n := int64(64 + 40*len(cb.cols))
	for _, c := range cb.cols {
		n += int64(32 * len(c.parts))
	}
	return n
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// colSource gives the values of one column of a sealed batch in time order.
type colSource struct {
	c     *hotCol
	order []int32 // nil: rows 0..n-1
	n     int
}

func (s colSource) row(i int) int {
	if s.order == nil {
		return i
	}
	return int(s.order[i])
}

// partWriter collects the raw parts of one column.
type partWriter struct {
	raw   []byte
	ends  []int
	hints []uint8
}

func (p *partWriter) reset() { p.raw, p.ends, p.hints = p.raw[:0], p.ends[:0], p.hints[:0] }

// end closes the current part (compressed with any coder).
func (p *partWriter) end() { p.endHint(hintBoth) }

// endHint closes the current part, naming the coders worth trying.
func (p *partWriter) endHint(h uint8) {
	p.ends = append(p.ends, len(p.raw))
	p.hints = append(p.hints, h)
}

// encoder holds reusable scratch space for compaction.
type encoder struct {
	pw     partWriter
	alt    partWriter // encPacked form of an integer column, when altOK
	altOK  bool
	i64    []int64
	u64    []uint64
	idx    []uint32
	out    []byte
	views  [][]byte
	dict   map[string]uint32
	itab   *intTable
	ivals  []int64
	scache [64]strSlot
}

// strSlot caches one dictionary entry of encodeStrings (id+1; 0: empty).
type strSlot struct {
	s   []byte
	id1 uint32
}

func strHash(s []byte) int { return int(hashBytes(s) >> (64 - 6)) }

// encodeBatch compacts rows of h (in the given order) into a cold batch
// allocated from h.mem.
func (e *encoder) encodeBatch(h *hotBatch, order []int32, n int, cd *codec) *coldBatch {
	cb := &coldBatch{cols: make([]coldCol, len(h.cols))}
	e.out = e.out[:0]
	for ci := range h.cols {
		src := colSource{c: &h.cols[ci], order: order, n: n}
		e.pw.reset()
		e.altOK = false
		enc := e.encodeColumn(src)
		colStart := len(e.out)
		parts := e.writeParts(&e.pw, cd)
		// The random-access form of an integer column, unless it is more
		// than 1/8 bigger than the compressed byte planes.
		if e.altOK && len(e.alt.raw) <= (len(e.out)-colStart)*9/8 {
			e.out = e.out[:colStart]
			parts = e.writeParts(&e.alt, cd)
			enc = encPacked
		}
		cb.cols[ci] = coldCol{enc: enc, parts: parts}
	}
	cb.blob = h.mem.Allocate(len(e.out))
	copy(cb.blob, e.out)
	if cap(e.out) > 64<<20 { // do not keep huge scratch around
		e.out = nil
	}
	return cb
}

// writeParts compresses the parts of p onto e.out and returns where they are.
func (e *encoder) writeParts(p *partWriter, cd *codec) []coldPart {
	parts := make([]coldPart, len(p.ends))
	start := 0
	for pi, end := range p.ends {
		off := len(e.out)
		var comp uint8
		e.out, comp = cd.compress(e.out, p.raw[start:end], p.hints[pi])
		parts[pi] = coldPart{comp: comp, off: off, clen: len(e.out) - off, rawLen: end - start}
		start = end
	}
	return parts
}

// encodeColumn writes the parts of one column and returns its encoding.
func (e *encoder) encodeColumn(s colSource) uint8 {
	switch s.c.typ {
	case TypeTime, TypeInt64:
		return e.encodeInts(e.gather(s), false)
	case TypeFloat64:
		return e.encodeInts(e.gather(s), true)
	case TypeBool:
		return e.encodeBools(s)
	case TypeTraceID, TypeSpanID:
		return e.encodeIDs(s)
	case TypeString:
		if cap(e.views) < s.n {
			e.views = make([][]byte, s.n)
		}
		views := e.views[:s.n]
		offs := i32s(s.c.vals.b)
		data := s.c.data.b
		if s.order == nil {
			for i := range views {
				views[i] = data[offs[i]:offs[i+1]:offs[i+1]]
			}
		} else {
			for i, r := range s.order[:s.n] {
				views[i] = data[offs[r]:offs[r+1]:offs[r+1]]
			}
		}
		e.views = views
		return e.encodeStrings(views)
	case TypeDict:
		return e.encodeDictCol(s)
	}
	return 0
}

// gather returns the 8-byte values of s in order (float bits for floats).
func (e *encoder) gather(s colSource) []int64 {
	src := i64s(s.c.vals.b)
	if s.order == nil {
		return src[:s.n]
	}
	if cap(e.i64) < s.n {
		e.i64 = make([]int64, s.n)
	}
	v := e.i64[:s.n]
	for i, r := range s.order[:s.n] {
		v[i] = src[r]
	}
	return v
}

// encodeInts picks constant, integer dictionary or byte planes (of the
// values or of their deltas, whichever needs fewer bits). For planes of
// values (not deltas) it also prepares the random-access encPacked form
// (packCandidate), which encodeBatch keeps instead when it is at most 1/8
// bigger than the compressed planes.
func (e *encoder) encodeInts(v []int64, float bool) uint8 {
	p := &e.pw
	n := len(v)
	if n == 0 {
		p.end()
		return encPlanes
	}
	constant := true
	for _, x := range v[1:] {
		if x != v[0] {
			constant = false
			break
		}
	}
	if constant {
		p.raw = binary.LittleEndian.AppendUint64(p.raw, uint64(v[0]))
		p.end()
		return encConst
	}
	if !float && e.encodeIntDict(v) {
		return encIntDict
	}
	// Frame of reference for values and for deltas; pick the narrower.
	minV, minD := int64(math.MaxInt64), int64(math.MaxInt64)
	for i, x := range v {
		minV = min(minV, x)
		if i > 0 {
			minD = min(minD, x-v[i-1])
		}
	}
	var bitsV, bitsD int
	if !float {
		for i, x := range v {
			bitsV += bits.Len64(uint64(x) - uint64(minV))
			if i > 0 {
				bitsD += bits.Len64(uint64(x-v[i-1]) - uint64(minD))
			}
		}
	}
	delta := !float && bitsD < bitsV
	if cap(e.u64) < n {
		e.u64 = make([]uint64, n)
	}
	u := e.u64[:n]
	var maxU uint64
	base := minV
	if float {
		base = 0
		for i, x := range v {
			u[i] = uint64(x)
		}
		maxU = math.MaxUint64
	} else if delta {
		base = minD
		u[0] = 0
		for i := 1; i < n; i++ {
			u[i] = uint64(v[i]-v[i-1]) - uint64(base)
			maxU = max(maxU, u[i])
		}
	} else {
		for i, x := range v {
			u[i] = uint64(x) - uint64(base)
			maxU = max(maxU, u[i])
		}
	}
	w := (bits.Len64(maxU) + 7) / 8
	flags := byte(0)
	if delta {
		flags |= flagDelta
	}
	p.raw = append(p.raw, flags)
	p.raw = binary.AppendUvarint(p.raw, uint64(w))
	p.raw = binary.AppendVarint(p.raw, base)
	if delta {
		p.raw = binary.AppendVarint(p.raw, v[0])
	}
	p.end()
	appendPlanes(p, u, w)
	if !float && !delta && w > 1 {
		e.packCandidate(u, base, w)
	}
	return encPlanes
}

// maxPackedBits is the widest encPacked row (one 8-byte load reads b bits
// at any bit offset 0..7).
const maxPackedBits = 56

// packBlock is the number of rows per entry of encPacked's escape counts.
const packBlock = 64

// packCandidate writes the encPacked form of u[i] = v[i] - base (w bytes
// at most) into e.alt and sets e.altOK when it is smaller than the raw
// byte planes. The width b minimises the packed bits plus the exceptions
// (an offset byte and w bytes each) and the escape counts, from a
// histogram of the values' bit lengths: log-normal latencies get a b that
// leaves about 1% of the rows as exceptions.
func (e *encoder) packCandidate(u []uint64, base int64, w int) {
	n := len(u)
	// hist[l]: rows with 2^l-1 <= u < 2^(l+1)-1, which are escapes at
	// any width b <= l.
	var hist [65]int
	for _, x := range u {
		if x == math.MaxUint64 {
			hist[64]++
			continue
		}
		hist[bits.Len64(x+1)-1]++
	}
	top := 64
	for hist[top] == 0 {
		top--
	}
	rank := 2 * ((n + packBlock - 1) / packBlock)
	bestB, bestSize := 0, math.MaxInt
	b0 := min(top+1, maxPackedBits)
	above := 0 // escapes at width b
	for l := b0; l <= 64; l++ {
		above += hist[l]
	}
	for b := b0; b >= 1; b-- {
		if b < b0 {
			above += hist[b]
		}
		size := packedLen(n, b) + above*(1+w)
		if above > 0 {
			size += rank
		}
		if size < bestSize {
			bestB, bestSize = b, size
		}
	}
	if bestB == 0 || bestSize+16 >= n*w {
		return
	}
	b := uint(bestB)
	esc := uint64(1)<<b - 1
	p := &e.alt
	p.reset()
	count := 0
	for _, x := range u {
		count += b2i(x >= esc)
	}
	p.raw = binary.AppendUvarint(p.raw, uint64(b))
	p.raw = binary.AppendVarint(p.raw, base)
	p.raw = binary.AppendUvarint(p.raw, uint64(count))
	p.raw = binary.AppendUvarint(p.raw, uint64(w))
	p.endHint(0)
	p.raw = appendPackedBits(p.raw, u, b)
	p.raw = append(p.raw, make([]byte, 7)...)
	p.endHint(0)
	if count > 0 {
		seen := 0
		for i, x := range u {
			if i%packBlock == 0 {
				if count > 0xFFFF {
					p.raw = binary.LittleEndian.AppendUint32(p.raw, uint32(seen))
				} else {
					p.raw = binary.LittleEndian.AppendUint16(p.raw, uint16(seen))
				}
			}
			seen += b2i(x >= esc)
		}
	}
	p.endHint(0)
	for i, x := range u {
		if x >= esc {
			p.raw = append(p.raw, byte(i%packBlock))
		}
	}
	var tmp [8]byte
	for _, x := range u {
		if x >= esc {
			binary.LittleEndian.PutUint64(tmp[:], x)
			p.raw = append(p.raw, tmp[:w]...)
		}
	}
	p.endHint(0)
	e.altOK = true
}

// appendPackedBits appends every u[i] in b (1..56) bits, packed LSB
// first, 2^b-1 (the escape) for those that do not fit in less:
// packedLen(len(u), b) bytes.
func appendPackedBits(dst []byte, u []uint64, b uint) []byte {
	mask := uint64(1)<<b - 1
	var acc uint64
	var nb uint // bits in acc
	for _, x := range u {
		x = min(x, mask)
		acc |= x << nb
		nb += b
		if nb >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			nb -= 64
			acc = x >> (b - nb) // the bits that did not fit (0 when nb is 0)
		}
	}
	for ; nb > 0; nb -= min(nb, 8) {
		dst = append(dst, byte(acc))
		acc >>= 8
	}
	return dst
}

// appendPlanes writes byte planes 0..w-1 of u, one part each.
func appendPlanes(p *partWriter, u []uint64, w int) {
	n := len(u)
	for k := 0; k < w; k++ {
		start := len(p.raw)
		p.raw = growCap(p.raw, n)[:start+n]
		dst := p.raw[start:]
		shift := uint(8 * k)
		for i, x := range u {
			dst[i] = byte(x >> shift)
		}
		p.endHint(hintPlane)
	}
}

// intTable is an open-addressing set of at most 256 int64 values (512
// slots): cheaper than a Go map for the per-row lookups of encodeIntDict.
type intTable struct {
	keys [512]int64
	ids  [512]uint16 // id+1; 0: empty slot
}

// encodeIntDict writes an integer dictionary when v has at most 256
// distinct values.
func (e *encoder) encodeIntDict(v []int64) bool {
	if e.itab == nil {
		e.itab = new(intTable)
	}
	t := e.itab
	clear(t.ids[:])
	values := e.ivals[:0]
	if cap(e.u64) < len(v) {
		e.u64 = make([]uint64, len(v))
	}
	idx := e.u64[:len(v)]
	last, lastID := v[0], uint64(0)
	values = append(values, v[0])
	t.keys[intSlot(v[0])], t.ids[intSlot(v[0])] = v[0], 1
	for i, x := range v {
		if x == last {
			idx[i] = lastID
			continue
		}
		h := intSlot(x)
		for {
			id1 := t.ids[h]
			if id1 == 0 {
				if len(values) == 256 {
					e.ivals = values
					return false
				}
				values = append(values, x)
				t.keys[h], t.ids[h] = x, uint16(len(values))
				lastID = uint64(len(values) - 1)
				break
			}
			if t.keys[h] == x {
				lastID = uint64(id1 - 1)
				break
			}
			h = (h + 1) & 511
		}
		idx[i] = lastID
		last = x
	}
	e.ivals = values
	sortIntDict(values, idx)
	p := &e.pw
	p.raw = binary.AppendUvarint(p.raw, uint64(len(values)))
	for _, x := range values {
		p.raw = binary.AppendVarint(p.raw, x)
	}
	p.end()
	appendIndexes(p, idx, len(values))
	return true
}

// sortIntDict sorts the dictionary values ascending and renumbers the
// indexes idx to match, so that a comparison with a constant selects a
// range of indexes (see IntCompare.keepIntDict).
func sortIntDict(values []int64, idx []uint64) {
	if slices.IsSorted(values) {
		return
	}
	var order [256]uint8
	for i := range values {
		order[i] = uint8(i)
	}
	ord := order[:len(values)]
	slices.SortFunc(ord, func(a, b uint8) int { return cmp.Compare(values[a], values[b]) })
	var remap [256]uint64
	var sorted [256]int64
	for newID, oldID := range ord {
		remap[oldID] = uint64(newID)
		sorted[newID] = values[oldID]
	}
	copy(values, sorted[:len(values)])
	for i, x := range idx {
		idx[i] = remap[uint8(x)]
	}
}

func intSlot(x int64) uint64 { return (uint64(x) * 0x9E3779B97F4A7C15) >> 55 }

func (e *encoder) encodeBools(s colSource) uint8 {
	p := &e.pw
	src := s.c.vals.b
	first := byte(0)
	if s.n > 0 {
		first = src[s.row(0)]
	}
	constant := true
	for i := 0; i < s.n; i++ {
		if src[s.row(i)] != first {
			constant = false
			break
		}
	}
	if constant {
		p.raw = append(p.raw, first)
		p.end()
		return encConst
	}
	nb := (s.n + 7) / 8
	start := len(p.raw)
	p.raw = append(p.raw, make([]byte, nb)...)
	bm := p.raw[start:]
	for i := 0; i < s.n; i++ {
		if src[s.row(i)] != 0 {
			bm[i>>3] |= 1 << (i & 7)
		}
	}
	p.end()
	return encBitmap
}

func (e *encoder) encodeIDs(s colSource) uint8 {
	p := &e.pw
	w := s.c.typ.idWidth()
	src := s.c.vals.b
	if s.n == 0 {
		p.end()
		return encRaw
	}
	first := src[s.row(0)*w : s.row(0)*w+w]
	constant := true
	for i := 1; i < s.n; i++ {
		r := s.row(i)
		if string(src[r*w:r*w+w]) != string(first) {
			constant = false
			break
		}
	}
	if constant {
		p.raw = append(p.raw, first...)
		p.end()
		return encConst
	}
	if s.order == nil {
		p.raw = append(p.raw, src[:s.n*w]...)
	} else {
		for i := 0; i < s.n; i++ {
			r := s.row(i)
			p.raw = append(p.raw, src[r*w:r*w+w]...)
		}
	}
	p.endHint(hintHuff) // random IDs: LZ would only burn CPU
	return encRaw
}

// encodeStrings encodes plain, dictionary or constant, whichever fits.
func (e *encoder) encodeStrings(v [][]byte) uint8 {
	p := &e.pw
	n := len(v)
	if n == 0 {
		p.end()
		p.end()
		return encPlain
	}
	constant := true
	for _, s := range v[1:] {
		if string(s) != string(v[0]) {
			constant = false
			break
		}
	}
	if constant {
		p.raw = binary.AppendUvarint(p.raw, uint64(len(v[0])))
		p.raw = append(p.raw, v[0]...)
		p.end()
		return encConst
	}
	// Dictionary if the strings repeat: probe a sample first.
	if e.dict == nil {
		e.dict = make(map[string]uint32)
	}
	clear(e.dict)
	var entries [][]byte
	sample := min(n, 1024)
	for _, s := range v[:sample] {
		if _, ok := e.dict[bstr(s)]; !ok {
			e.dict[bstr(s)] = uint32(len(entries))
			entries = append(entries, s)
		}
	}
	useDict := len(entries)*2 <= sample
	if useDict {
		clear(e.scache[:])
		e.idx = e.idx[:0]
		var prev []byte
		var prevID uint32
		for i, s := range v {
			if i > 0 && string(s) == string(prev) {
				e.idx = append(e.idx, prevID)
				continue
			}
			slot := &e.scache[strHash(s)]
			if slot.id1 != 0 && string(slot.s) == string(s) {
				e.idx = append(e.idx, slot.id1-1)
				prev, prevID = s, slot.id1-1
				continue
			}
			id, ok := e.dict[bstr(s)]
			if !ok {
				id = uint32(len(entries))
				e.dict[bstr(s)] = id
				entries = append(entries, s)
				if len(entries)*2 > n {
					useDict = false
					break
				}
			}
			slot.s, slot.id1 = s, id+1
			e.idx = append(e.idx, id)
			prev, prevID = s, id
		}
	}
	clear(e.dict)
	clear(e.scache[:]) // do not keep the batch's memory alive
	if !useDict {
		for _, s := range v {
			p.raw = binary.AppendUvarint(p.raw, uint64(len(s)))
		}
		p.endHint(hintPlane)
		for _, s := range v {
			p.raw = append(p.raw, s...)
		}
		p.endHint(hintGeneral) // text: Huffman alone rarely beats LZ here
		return encPlain
	}
	e.appendDict(entries, e.idx)
	return encDict
}

// appendDict writes the dictionary part and the index planes.
func (e *encoder) appendDict(entries [][]byte, idx []uint32) {
	p := &e.pw
	p.raw = binary.AppendUvarint(p.raw, uint64(len(entries)))
	for _, s := range entries {
		p.raw = binary.AppendUvarint(p.raw, uint64(len(s)))
	}
	for _, s := range entries {
		p.raw = append(p.raw, s...)
	}
	p.endHint(hintGeneral)
	if cap(e.u64) < len(idx) {
		e.u64 = make([]uint64, len(idx))
	}
	u := e.u64[:len(idx)]
	for i, x := range idx {
		u[i] = uint64(x)
	}
	appendIndexes(p, u, len(entries))
}

// indexBits is the number of bits of a packed index for a dictionary of n
// entries, or 0 when n > 128 (indexes are then byte planes). Up to 16
// entries, 8/b indexes share a byte and the bytes are Huffman-coded (their
// joint statistics); from 17 to 128 entries the indexes are bit-packed at
// their exact width and stored as they are, so that a filtered scan reads
// the rows it keeps without decoding the others (random access costs at
// most a bit or two per row over Huffman-coded index bytes).
func indexBits(n int) int {
	switch {
	case n <= 2:
		return 1
	case n <= 4:
		return 2
	case n <= 16:
		return 4
	case n <= 128:
		return bits.Len(uint(n - 1))
	}
	return 0
}

// packedAt returns index i of indexes packed b bits each (b <= 8), LSB
// first, in src; the caller checks that src holds packedLen(i+1, b) bytes.
func packedAt(src []byte, i, b int) int {
	o := i * b
	x := int(src[o>>3])
	if o>>3+1 < len(src) {
		x |= int(src[o>>3+1]) << 8
	}
	return x >> (o & 7) & (1<<b - 1)
}

// packedLen is the length of n indexes packed with b bits each.
func packedLen(n, b int) int { return (n*b + 7) / 8 }

// appendIndexes writes the dictionary indexes u (of a dictionary of cnt
// entries): one part of 8/b indexes per byte (LSB first) for small
// dictionaries, so that the Huffman coder sees a quarter or half as many
// symbols, each carrying the joint statistics of its indexes; byte planes
// otherwise.
func appendIndexes(p *partWriter, u []uint64, cnt int) {
	b := indexBits(cnt)
	if b == 0 {
		appendPlanes(p, u, indexWidth(cnt))
		return
	}
	n := len(u)
	m := packedLen(n, b)
	start := len(p.raw)
	p.raw = growCap(p.raw, m)[:start+m]
	dst := p.raw[start:]
	if b > 4 {
		clear(dst)
		for i, x := range u {
			o := i * b
			dst[o>>3] |= byte(x << (o & 7))
			if o&7+b > 8 {
				dst[o>>3+1] |= byte(x >> (8 - o&7))
			}
		}
		p.endHint(0) // kept as is: random access
		return
	}
	per := 8 / b
	full := n / per
	switch b {
	case 4:
		for j := range full {
			x := u[2*j : 2*j+2 : 2*j+2]
			dst[j] = byte(x[0] | x[1]<<4)
		}
	case 2:
		for j := range full {
			x := u[4*j : 4*j+4 : 4*j+4]
			dst[j] = byte(x[0] | x[1]<<2 | x[2]<<4 | x[3]<<6)
		}
	default:
		for j := range full {
			x := u[8*j : 8*j+8 : 8*j+8]
			dst[j] = byte(x[0] | x[1]<<1 | x[2]<<2 | x[3]<<3 | x[4]<<4 | x[5]<<5 | x[6]<<6 | x[7]<<7)
		}
	}
	if full < m {
		var last byte
		for i, x := range u[full*per:] {
			last |= byte(x) << (uint(i * b))
		}
		dst[full] = last
	}
	p.endHint(hintPlane)
}

// indexWidth is the number of index bytes for a dictionary of n entries.
func indexWidth(n int) int {
	if n <= 1 {
		return 1
	}
	return (bits.Len64(uint64(n-1)) + 7) / 8
}

// encodeDictCol encodes a TypeDict column with the hot batch's dictionary
// (entries unused by these rows are dropped).
func (e *encoder) encodeDictCol(s colSource) uint8 {
	c := s.c
	src := i32s(c.vals.b)
	remap := make([]int32, c.ndict)
	for i := range remap {
		remap[i] = -1
	}
	if cap(e.idx) < s.n {
		e.idx = make([]uint32, s.n)
	}
	e.idx = e.idx[:s.n]
	var entries [][]byte
	rows := src[:s.n]
	if s.order != nil {
		rows = s.order[:s.n]
	}
	for i, old := range rows {
		if s.order != nil {
			old = src[old]
		}
		id := remap[old]
		if id < 0 {
			id = int32(len(entries))
			remap[old] = id
			entries = append(entries, c.dictValue(old))
		}
		e.idx[i] = uint32(id)
	}
	if len(entries) == 1 {
		p := &e.pw
		p.raw = binary.AppendUvarint(p.raw, uint64(len(entries[0])))
		p.raw = append(p.raw, entries[0]...)
		p.end()
		return encConst
	}
	e.appendDict(entries, e.idx)
	return encDict
}

// bstr views bytes as a string without copying (map lookups only).
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

package tablestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var errCorrupt = errors.New("tablestore: corrupt column block")

// makeArray wraps buffers into an array and drops the caller's references.
func makeArray(dt arrow.DataType, n int, bufs ...*memory.Buffer) arrow.Array {
	data := array.NewData(dt, n, bufs, nil, 0, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	arr := array.MakeFromData(data)
	data.Release()
	return arr
}

func makeDictArray(n int, idx, dictOffs, dictData *memory.Buffer, ndict int) arrow.Array {
	dd := array.NewData(arrow.BinaryTypes.String, ndict, []*memory.Buffer{nil, dictOffs, dictData}, nil, 0, 0)
	dictOffs.Release()
	dictData.Release()
	data := array.NewDataWithDictionary(DictType, n, []*memory.Buffer{nil, idx}, 0, 0, dd)
	idx.Release()
	dd.Release()
	arr := array.NewDictionaryData(data)
	data.Release()
	return arr
}

// decodeColumn decodes one column of a cold batch of n rows into an Arrow
// array allocated from mem.
func (cd *codec) decodeColumn(mem memory.Allocator, typ ColumnType, cc coldCol, blob []byte, n int) (arrow.Array, error) {
	return cd.decodeColumnRows(mem, typ, cc, blob, n, nil)
}

// decodeColumnRows is decodeColumn for the rows at positions rows
// (ascending, < n) only, or every row when rows is nil. Integer columns
// stored as byte planes, bit-packed (encPacked) or small dictionaries and
// dictionary-encoded strings rebuild only those rows; other encodings decode the whole column
// and keep those rows.
func (cd *codec) decodeColumnRows(mem memory.Allocator, typ ColumnType, cc coldCol, blob []byte, n int, rows []int32) (arrow.Array, error) {
	var partsArr [12][]byte
	var ps colParts
	defer ps.release()
	parts, err := cd.parts(cc, blob, partsArr[:0], &ps)
	if err != nil {
		return nil, err
	}
	if rows == nil {
		return decodeParts(mem, typ, cc.enc, parts, n)
	}
	if arr, ok, err := decodeRows(mem, typ, cc.enc, parts, n, rows); ok || err != nil {
		return arr, err
	}
	arr, err := decodeParts(mem, typ, cc.enc, parts, n)
	if err != nil {
		return nil, err
	}
	out := takeArray(mem, arr, rows)
	arr.Release()
	return out, nil
}

// colParts holds the scratch buffers of a column's decompressed parts.
type colParts struct{ scratch []*[]byte }

func (ps *colParts) release() {
	for _, sp := range ps.scratch {
		putScratch(sp)
	}
	ps.scratch = nil
}

// parts decompresses the parts of a column (appended to dst) into scratch
// buffers that ps holds until ps.release.
func (cd *codec) parts(cc coldCol, blob []byte, dst [][]byte, ps *colParts) ([][]byte, error) {
	for _, p := range cc.parts {
		if p.off < 0 || p.clen < 0 || p.off+p.clen > len(blob) {
			return nil, errCorrupt
		}
		src := blob[p.off : p.off+p.clen]
		if p.comp == compNone {
			dst = append(dst, src)
			continue
		}
		sp := getScratch()
		ps.scratch = append(ps.scratch, sp)
		raw, err := cd.decompress(p.comp, src, p.rawLen, *sp)
		if err != nil {
			return nil, err
		}
		*sp = raw[:0]
		dst = append(dst, raw)
	}
	return dst, nil
}

// decodeRows decodes the rows at positions rows of the encodings that can
// skip the others; ok is false for the rest.
func decodeRows(mem memory.Allocator, typ ColumnType, enc uint8, parts [][]byte, n int, rows []int32) (arrow.Array, bool, error) {
	if n < 0 || n > 1<<30 {
		return nil, true, errCorrupt
	}
	// rows ascend: the first and the last bound them all.
	if len(rows) > 0 && (rows[0] < 0 || int(rows[len(rows)-1]) >= n) {
		return nil, true, fmt.Errorf("tablestore: rows %d..%d of %d", rows[0], rows[len(rows)-1], n)
	}
	k := len(rows)
	switch {
	case (typ == TypeTime || typ == TypeInt64) && enc == encPlanes && len(parts) > 1 && len(parts[0]) > 0 && parts[0][0]&flagDelta == 0:
		hdr := parts[0]
		w, l := binary.Uvarint(hdr[1:])
		if l <= 0 || w > 8 || int(w) != len(parts)-1 {
			return nil, true, errCorrupt
		}
		base, l2 := binary.Varint(hdr[1+l:])
		if l2 <= 0 || 1+l+l2 != len(hdr) || hdr[0] != 0 {
			return nil, true, errCorrupt
		}
		planes := parts[1:]
		for _, p := range planes {
			if len(p) != n {
				return nil, true, errCorrupt
			}
		}
		buf := newBuffer(mem, 8*k)
		out := i64s(buf.Buf())[:k:k]
		gatherPlanes(out, planes, rows, uint64(base))
		return makeArray(typ.ArrowType(), k, nil, buf), true, nil
	case (typ == TypeTime || typ == TypeInt64) && enc == encPacked:
		pk, err := parsePacked(parts, n)
		if err != nil {
			return nil, true, err
		}
		buf := newBuffer(mem, 8*k)
		out := i64s(buf.Buf())[:k:k]
		if err := pk.gather(out, rows); err != nil {
			buf.Release()
			return nil, true, err
		}
		return makeArray(typ.ArrowType(), k, nil, buf), true, nil
	case (typ == TypeTime || typ == TypeInt64) && enc == encIntDict:
		var values [256]int64
		cnt, err := intDictValues(parts, &values)
		if err != nil {
			return nil, true, err
		}
		buf := newBuffer(mem, 8*k)
		out := i64s(buf.Buf())[:k:k]
		b := indexBits(cnt)
		src := parts[1]
		if (b > 0 && len(src) != packedLen(n, b)) || (b == 0 && len(src) != n) {
			buf.Release()
			return nil, true, errCorrupt
		}
		for j, r := range rows {
			var code int
			if b > 0 {
				code = packedAt(src, int(r), b)
			} else {
				code = int(src[r])
			}
			if code >= cnt {
				buf.Release()
				return nil, true, errCorrupt
			}
			out[j] = values[code]
		}
		return makeArray(typ.ArrowType(), k, nil, buf), true, nil
	case (typ == TypeTime || typ == TypeInt64) && enc == encConst:
		buf := newBuffer(mem, 8*k)
		if err := decodeInt64s(i64s(buf.Buf())[:k:k], enc, parts); err != nil {
			buf.Release()
			return nil, true, err
		}
		return makeArray(typ.ArrowType(), k, nil, buf), true, nil
	case typ == TypeDict && enc == encDict:
		entries, err := parseDictEntries(parts)
		if err != nil {
			return nil, true, err
		}
		if cnt := len(entries); indexBits(cnt) == 0 && len(parts) == 2 && len(parts[1]) == n {
			// One byte per index: read the kept rows' bytes only.
			p1 := parts[1]
			ib := newBuffer(mem, 4*k)
			ix := i32s(ib.Buf())[:k:k]
			var m byte
			for j, r := range rows {
				x := p1[r]
				m = max(m, x)
				ix[j] = int32(x)
			}
			if int(m) >= cnt {
				ib.Release()
				return nil, true, errCorrupt
			}
			return dictArray(mem, entries, ib, k), true, nil
		}
		if b := indexBits(len(entries)); b > 4 && len(parts) == 2 && len(parts[1]) == packedLen(n, b) {
			// Bit-packed indexes: read the kept rows' only.
			p1 := parts[1]
			ib := newBuffer(mem, 4*k)
			ix := i32s(ib.Buf())[:k:k]
			m := 0
			for j, r := range rows {
				x := packedAt(p1, int(r), b)
				m = max(m, x)
				ix[j] = int32(x)
			}
			if m >= len(entries) {
				ib.Release()
				return nil, true, errCorrupt
			}
			return dictArray(mem, entries, ib, k), true, nil
		}
		sp := idxPool.Get().(*[]int32)
		defer idxPool.Put(sp)
		if cap(*sp) < n {
			*sp = make([]int32, n)
		}
		all := (*sp)[:n]
		if err := readIndexes(all, parts[1:], len(entries)); err != nil {
			return nil, true, err
		}
		ib := newBuffer(mem, 4*k)
		ix := i32s(ib.Buf())[:k:k]
		for j, r := range rows {
			ix[j] = all[r]
		}
		return dictArray(mem, entries, ib, k), true, nil
	}
	return nil, false, nil
}

// decodeParts decodes the uncompressed parts of a column. It never panics
// on bad input: a malformed column is an error.
func decodeParts(mem memory.Allocator, typ ColumnType, enc uint8, parts [][]byte, n int) (arrow.Array, error) {
	if n < 0 || n > 1<<30 {
		return nil, errCorrupt
	}
	part := func(i int) []byte {
		if i < len(parts) {
			return parts[i]
		}
		return nil
	}
	switch typ {
	case TypeTime, TypeInt64, TypeFloat64:
		buf := newBuffer(mem, 8*n)
		if err := decodeInt64s(i64s(buf.Buf())[:n:n], enc, parts); err != nil {
			buf.Release()
			return nil, err
		}
		return makeArray(typ.ArrowType(), n, nil, buf), nil

	case TypeBool:
		if len(parts) != 1 {
			return nil, errCorrupt
		}
		raw := parts[0]
		nb := (n + 7) / 8
		buf := newBuffer(mem, nb)
		b := buf.Bytes()
		switch enc {
		case encConst:
			if len(raw) != 1 {
				buf.Release()
				return nil, errCorrupt
			}
			fill := byte(0)
			if raw[0] != 0 {
				fill = 0xff
			}
			for i := range b {
				b[i] = fill
			}
		case encBitmap:
			if len(raw) != nb {
				buf.Release()
				return nil, errCorrupt
			}
			copy(b, raw)
		default:
			buf.Release()
			return nil, errCorrupt
		}
		return makeArray(typ.ArrowType(), n, nil, buf), nil

	case TypeTraceID, TypeSpanID:
		if len(parts) != 1 {
			return nil, errCorrupt
		}
		return decodeIDs(mem, typ.idWidth(), enc, parts[0], n)

	case TypeString, TypeDict:
		var entries [][]byte
		var idx []int32
		switch enc {
		case encConst:
			raw := part(0)
			l, k := binary.Uvarint(raw)
			if len(parts) != 1 || k <= 0 || uint64(len(raw)-k) != l {
				return nil, errCorrupt
			}
			entries = [][]byte{raw[k:]}
		case encDict:
			var err error
			if entries, err = parseDictEntries(parts); err != nil {
				return nil, err
			}
			if typ == TypeDict { // indexes straight into the Arrow buffer
				ib := newBuffer(mem, 4*n)
				if err := readIndexes(i32s(ib.Buf())[:n:n], parts[1:], len(entries)); err != nil {
					ib.Release()
					return nil, err
				}
				return dictArray(mem, entries, ib, n), nil
			}
			sp := idxPool.Get().(*[]int32)
			defer idxPool.Put(sp)
			if cap(*sp) < n {
				*sp = make([]int32, n)
			}
			idx = (*sp)[:n]
			if err := readIndexes(idx, parts[1:], len(entries)); err != nil {
				return nil, err
			}
		case encPlain:
			if typ == TypeDict || len(parts) != 2 {
				return nil, errCorrupt
			}
			return decodePlain(mem, parts[0], parts[1], n)
		default:
			return nil, errCorrupt
		}
		if typ == TypeDict {
			return dictArray(mem, entries, nil, n), nil
		}
		return gatherStrings(mem, entries, idx, n), nil
	}
	return nil, fmt.Errorf("tablestore: unknown column type %v", typ)
}

// readPlanes rebuilds u[i] + base from byte planes (every plane has len(u)
// bytes), in one pass over u for up to four planes (the usual widths), two
// passes beyond.
func readPlanes(u []uint64, planes [][]byte, base uint64) error {
	n := len(u)
	for _, p := range planes {
		if len(p) != n {
			return errCorrupt
		}
	}
	switch len(planes) {
	case 0:
		for i := range u {
			u[i] = base
		}
		return nil
	case 1:
		p0 := planes[0][:n]
		for i := range u {
			u[i] = uint64(p0[i]) + base
		}
		return nil
	case 2:
		p0, p1 := planes[0][:n], planes[1][:n]
		for i := range u {
			u[i] = (uint64(p0[i]) | uint64(p1[i])<<8) + base
		}
		return nil
	case 3:
		p0, p1, p2 := planes[0][:n], planes[1][:n], planes[2][:n]
		for i := range u {
			u[i] = (uint64(p0[i]) | uint64(p1[i])<<8 | uint64(p2[i])<<16) + base
		}
		return nil
	}
	p0, p1, p2, p3 := planes[0][:n], planes[1][:n], planes[2][:n], planes[3][:n]
	for i := range u {
		u[i] = uint64(p0[i]) | uint64(p1[i])<<8 | uint64(p2[i])<<16 | uint64(p3[i])<<24
	}
	if len(planes) == 4 {
		for i := range u {
			u[i] += base
		}
		return nil
	}
	for k := 4; k < len(planes); k++ {
		p := planes[k][:n]
		shift := uint(8 * k)
		for i := range u {
			u[i] |= uint64(p[i]) << shift
		}
	}
	for i := range u {
		u[i] += base
	}
	return nil
}

func decodeInt64s(out []int64, enc uint8, parts [][]byte) error {
	n := len(out)
	if len(parts) == 0 {
		return errCorrupt
	}
	hdr := parts[0]
	switch enc {
	case encConst:
		if len(parts) != 1 || len(hdr) != 8 {
			return errCorrupt
		}
		v := int64(binary.LittleEndian.Uint64(hdr))
		for i := range out {
			out[i] = v
		}
		return nil
	case encPlanes:
		if n == 0 {
			return nil
		}
		if len(hdr) < 1 {
			return errCorrupt
		}
		flags := hdr[0]
		p := 1
		w, k := binary.Uvarint(hdr[p:])
		if k <= 0 || w > 8 || int(w) != len(parts)-1 {
			return errCorrupt
		}
		p += k
		base, k := binary.Varint(hdr[p:])
		if k <= 0 {
			return errCorrupt
		}
		p += k
		var first int64
		if flags&flagDelta != 0 {
			first, k = binary.Varint(hdr[p:])
			if k <= 0 {
				return errCorrupt
			}
			p += k
		}
		if p != len(hdr) || flags&^flagDelta != 0 {
			return errCorrupt
		}
		u := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(out))), n)
		if err := readPlanes(u, parts[1:], uint64(base)); err != nil {
			return err
		}
		if flags&flagDelta != 0 {
			prev := first
			out[0] = first
			for i := 1; i < n; i++ {
				prev += out[i]
				out[i] = prev
			}
		}
		return nil
	case encPacked:
		pk, err := parsePacked(parts, n)
		if err != nil {
			return err
		}
		return pk.decode(out)
	case encIntDict:
		cnt, k := binary.Uvarint(hdr)
		if k <= 0 || cnt == 0 || cnt > 256 || len(parts) != 2 {
			return errCorrupt
		}
		p := k
		var values [256]int64
		for i := range int(cnt) {
			v, k := binary.Varint(hdr[p:])
			if k <= 0 {
				return errCorrupt
			}
			values[i] = v
			p += k
		}
		if p != len(hdr) {
			return errCorrupt
		}
		if b := indexBits(int(cnt)); b > 0 {
			src := parts[1]
			if len(src) != packedLen(n, b) {
				return errCorrupt
			}
			if cnt < 1<<b && maxPacked(src, b) >= int(cnt) {
				return errCorrupt
			}
			unpackValues(out, src, b, &values)
			return nil
		}
		if len(parts[1]) != n {
			return errCorrupt
		}
		src := parts[1][:n]
		var maxB byte
		for _, b := range src {
			maxB = max(maxB, b)
		}
		if uint64(maxB) >= cnt {
			return errCorrupt
		}
		for i := range out {
			out[i] = values[src[i]]
		}
		return nil
	}
	return errCorrupt
}

// packedCol is a parsed encPacked column (see encode.go).
type packedCol struct {
	b     uint
	base  uint64
	count int
	xw    int
	data  []byte // packedLen(n, b) + 7 bytes
	rank  []byte // escapes before each block of packBlock rows
	offs  []byte // each exception's row mod packBlock
	exc   []byte // count × xw bytes
	n     int
}

// parsePacked checks the header and the lengths of the parts of an
// encPacked column of n rows.
func parsePacked(parts [][]byte, n int) (packedCol, error) {
	if len(parts) != 4 {
		return packedCol{}, errCorrupt
	}
	hdr := parts[0]
	b, k := binary.Uvarint(hdr)
	if k <= 0 || b == 0 || b > maxPackedBits {
		return packedCol{}, errCorrupt
	}
	p := k
	base, k := binary.Varint(hdr[p:])
	if k <= 0 {
		return packedCol{}, errCorrupt
	}
	p += k
	count, k := binary.Uvarint(hdr[p:])
	if k <= 0 || count > uint64(n) {
		return packedCol{}, errCorrupt
	}
	p += k
	xw, k := binary.Uvarint(hdr[p:])
	if k <= 0 || xw == 0 || xw > 8 || p+k != len(hdr) {
		return packedCol{}, errCorrupt
	}
	pk := packedCol{b: uint(b), base: uint64(base), count: int(count), xw: int(xw),
		data: parts[1], rank: parts[2], n: n}
	rankLen := 0
	if pk.count > 0 {
		rankLen = pk.rankWidth() * ((n + packBlock - 1) / packBlock)
	}
	if len(pk.data) != packedLen(n, int(b))+7 || len(pk.rank) != rankLen || len(parts[3]) != pk.count*(1+pk.xw) {
		return packedCol{}, errCorrupt
	}
	pk.offs, pk.exc = parts[3][:pk.count], parts[3][pk.count:]
	return pk, nil
}

func (pk *packedCol) rankWidth() int {
	if pk.count > 0xFFFF {
		return 4
	}
	return 2
}

// exception returns exception k (k < count).
func (pk *packedCol) exception(k int) uint64 {
	var tmp [8]byte
	copy(tmp[:], pk.exc[k*pk.xw:k*pk.xw+pk.xw])
	return binary.LittleEndian.Uint64(tmp[:])
}

// decode sets out (n values) to every row's value.
func (pk *packedCol) decode(out []int64) error {
	if len(out) != pk.n {
		return errCorrupt
	}
	data := pk.data[:packedLen(pk.n, int(pk.b))+7]
	b, base := pk.b, pk.base
	mask := uint64(1)<<b - 1
	k := 0
	for i := range out {
		o := uint(i) * b
		x := binary.LittleEndian.Uint64(data[o>>3:]) >> (o & 7) & mask
		if x == mask {
			if k >= pk.count || int(pk.offs[k]) != i%packBlock {
				return errCorrupt
			}
			x = pk.exception(k)
			k++
		}
		out[i] = int64(x + base)
	}
	if k != pk.count {
		return errCorrupt
	}
	return nil
}

// gather sets out[j] to the value of row rows[j] (each < n): one load per
// row; an escape's exception is found from its block's count of escapes
// and the rows before it in the block.
func (pk *packedCol) gather(out []int64, rows []int32) error {
	data := pk.data[:packedLen(pk.n, int(pk.b))+7]
	b, base := pk.b, pk.base
	mask := uint64(1)<<b - 1
	for j, r := range rows {
		o := uint(r) * b
		x := binary.LittleEndian.Uint64(data[o>>3:]) >> (o & 7) & mask
		if x == mask {
			var err error
			if x, err = pk.escaped(int(r)); err != nil {
				return err
			}
		}
		out[j] = int64(x + base)
	}
	return nil
}

// escaped returns the exception of row r, an escape: the one of its
// block (from the block's count of escapes before it) with its offset.
func (pk *packedCol) escaped(r int) (uint64, error) {
	blk := r / packBlock
	lo, hi := pk.count, pk.count
	if pk.rankWidth() == 4 {
		if 4*blk+4 > len(pk.rank) {
			return 0, errCorrupt
		}
		lo = int(binary.LittleEndian.Uint32(pk.rank[4*blk:]))
		if 4*blk+8 <= len(pk.rank) {
			hi = int(binary.LittleEndian.Uint32(pk.rank[4*blk+4:]))
		}
	} else {
		if 2*blk+2 > len(pk.rank) {
			return 0, errCorrupt
		}
		lo = int(binary.LittleEndian.Uint16(pk.rank[2*blk:]))
		if 2*blk+4 <= len(pk.rank) {
			hi = int(binary.LittleEndian.Uint16(pk.rank[2*blk+2:]))
		}
	}
	off := byte(r % packBlock)
	for k := lo; k < min(hi, pk.count); k++ {
		if pk.offs[k] == off {
			return pk.exception(k), nil
		}
	}
	return 0, errCorrupt
}

// gatherPlanes sets out[j] to the value of row rows[j] rebuilt from byte
// planes plus base (unrolled for the usual widths).
func gatherPlanes(out []int64, planes [][]byte, rows []int32, base uint64) {
	switch len(planes) {
	case 1:
		p0 := planes[0]
		for j, r := range rows {
			out[j] = int64(uint64(p0[r]) + base)
		}
	case 2:
		p0, p1 := planes[0], planes[1]
		for j, r := range rows {
			out[j] = int64((uint64(p0[r]) | uint64(p1[r])<<8) + base)
		}
	case 3:
		p0, p1, p2 := planes[0], planes[1], planes[2]
		for j, r := range rows {
			out[j] = int64((uint64(p0[r]) | uint64(p1[r])<<8 | uint64(p2[r])<<16) + base)
		}
	case 4:
		p0, p1, p2, p3 := planes[0], planes[1], planes[2], planes[3]
		for j, r := range rows {
			out[j] = int64((uint64(p0[r]) | uint64(p1[r])<<8 | uint64(p2[r])<<16 | uint64(p3[r])<<24) + base)
		}
	case 5:
		p0, p1, p2, p3, p4 := planes[0], planes[1], planes[2], planes[3], planes[4]
		for j, r := range rows {
			out[j] = int64((uint64(p0[r]) | uint64(p1[r])<<8 | uint64(p2[r])<<16 | uint64(p3[r])<<24 | uint64(p4[r])<<32) + base)
		}
	default:
		for j, r := range rows {
			var u uint64
			for pk, p := range planes {
				u |= uint64(p[r]) << (8 * pk)
			}
			out[j] = int64(u + base)
		}
	}
}

// intDictValues reads the dictionary of an encIntDict column into values
// and returns its length.
func intDictValues(parts [][]byte, values *[256]int64) (int, error) {
	if len(parts) != 2 {
		return 0, errCorrupt
	}
	hdr := parts[0]
	cnt, k := binary.Uvarint(hdr)
	if k <= 0 || cnt == 0 || cnt > 256 {
		return 0, errCorrupt
	}
	p := k
	for i := range int(cnt) {
		v, k := binary.Varint(hdr[p:])
		if k <= 0 {
			return 0, errCorrupt
		}
		values[i] = v
		p += k
	}
	if p != len(hdr) {
		return 0, errCorrupt
	}
	return int(cnt), nil
}

// maxPacked is the largest index packed with b bits per index in src (the
// padding bits of the last byte are zero).
func maxPacked(src []byte, b int) int {
	if b > 4 {
		m := 0
		for i := range len(src) * 8 / b {
			m = max(m, packedAt(src, i, b))
		}
		return m
	}
	var seen [256]bool
	for _, c := range src {
		seen[c] = true
	}
	m := 0
	mask := 1<<b - 1
	for c, ok := range seen {
		if !ok {
			continue
		}
		for k := 0; k < 8; k += b {
			m = max(m, c>>k&mask)
		}
	}
	return m
}

// unpackValues sets out[i] = values[index i], the indexes packed b bits each
// (LSB first) in src, through a table of the values of every byte.
func unpackValues(out []int64, src []byte, b int, values *[256]int64) {
	if b > 4 {
		for i := range out {
			out[i] = values[packedAt(src, i, b)]
		}
		return
	}
	per := 8 / b
	mask := 1<<b - 1
	full := len(out) / per
	switch b {
	case 4:
		var pair [256][2]int64
		for c := range pair {
			pair[c] = [2]int64{values[c&15], values[c>>4]}
		}
		for j, c := range src[:full] {
			*(*[2]int64)(out[2*j:]) = pair[c]
		}
	default:
		for j, c := range src[:full] {
			x := int(c)
			o := out[j*per : j*per+per]
			for k := range o {
				o[k] = values[x>>(k*b)&mask]
			}
		}
	}
	if full < len(src) {
		x := int(src[full])
		for i := full * per; i < len(out); i++ {
			out[i] = values[x>>((i-full*per)*b)&mask]
		}
	}
}

const hexDigits = "0123456789abcdef"

func decodeIDs(mem memory.Allocator, w int, enc uint8, raw []byte, n int) (arrow.Array, error) {
	id := func(i int) []byte { return raw[i*w : i*w+w] }
	switch enc {
	case encConst:
		if len(raw) != w {
			return nil, errCorrupt
		}
		id = func(int) []byte { return raw }
	case encRaw:
		if len(raw) != w*n {
			return nil, errCorrupt
		}
	default:
		return nil, errCorrupt
	}
	offs := newBuffer(mem, 4*(n+1))
	data := newBuffer(mem, 2*w*n)
	o := i32s(offs.Buf())
	d := data.Bytes()
	pos := 0
	o[0] = 0
	for i := 0; i < n; i++ {
		v := id(i)
		if !allZero(v) {
			for _, c := range v {
				d[pos] = hexDigits[c>>4]
				d[pos+1] = hexDigits[c&15]
				pos += 2
			}
		}
		o[i+1] = int32(pos)
	}
	data.Resize(pos)
	return makeArray(arrow.BinaryTypes.String, n, nil, offs, data), nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// idxPool holds index scratch for dictionary-encoded string columns.
var idxPool = sync.Pool{New: func() any { return new([]int32) }}

// unpackIndexes reads len(idx) indexes of b bits each (LSB first) from src,
// which holds packedLen(len(idx), b) bytes.
func unpackIndexes(idx []int32, src []byte, b int) {
	if b > 4 {
		for i := range idx {
			idx[i] = int32(packedAt(src, i, b))
		}
		return
	}
	per := 8 / b
	mask := int32(1)<<b - 1
	full := len(idx) / per
	for j, c := range src[:full] {
		x := int32(c)
		o := idx[j*per : j*per+per]
		for k := range o {
			o[k] = x >> (uint(k * b)) & mask
		}
	}
	if full < len(src) {
		x := int32(src[full])
		for i := full * per; i < len(idx); i++ {
			idx[i] = x >> (uint((i - full*per) * b)) & mask
		}
	}
}

// parseDictEntries reads the dictionary part of an encDict column.
func parseDictEntries(parts [][]byte) ([][]byte, error) {
	if len(parts) < 2 || len(parts) > 5 {
		return nil, errCorrupt
	}
	raw := parts[0]
	cnt, k := binary.Uvarint(raw)
	if k <= 0 || cnt == 0 || cnt > uint64(len(raw)) {
		return nil, errCorrupt
	}
	p := k
	start := p
	total := 0
	for range cnt {
		l, k := binary.Uvarint(raw[p:])
		if k <= 0 || l > uint64(len(raw)) {
			return nil, errCorrupt
		}
		p += k
		total += int(l)
		if total > len(raw) {
			return nil, errCorrupt
		}
	}
	if p+total != len(raw) {
		return nil, errCorrupt
	}
	entries := make([][]byte, cnt)
	q := start
	for i := range entries {
		l, k := binary.Uvarint(raw[q:])
		q += k
		entries[i] = raw[p : p+int(l) : p+int(l)]
		p += int(l)
	}
	if len(parts)-1 != indexWidth(int(cnt)) {
		return nil, errCorrupt
	}
	return entries, nil
}

// readIndexes decodes the index parts of an encDict column of cnt entries
// into idx, checking every index.
func readIndexes(idx []int32, parts [][]byte, cnt int) error {
	n := len(idx)
	if b := indexBits(cnt); b > 0 {
		if len(parts) != 1 || len(parts[0]) != packedLen(n, b) {
			return errCorrupt
		}
		if cnt < 1<<b && maxPacked(parts[0], b) >= cnt {
			return errCorrupt
		}
		unpackIndexes(idx, parts[0], b)
		return nil
	}
	for _, p := range parts {
		if len(p) != n {
			return errCorrupt
		}
	}
	var m int32
	switch len(parts) {
	case 1:
		p0 := parts[0][:n]
		for i := range idx {
			x := int32(p0[i])
			idx[i] = x
			m = max(m, x)
		}
	case 2:
		p0, p1 := parts[0][:n], parts[1][:n]
		for i := range idx {
			x := int32(p0[i]) | int32(p1[i])<<8
			idx[i] = x
			m = max(m, x)
		}
	default:
		for i := range idx {
			var x uint64
			for k, p := range parts {
				x |= uint64(p[i]) << (8 * k)
			}
			if x >= uint64(cnt) {
				return errCorrupt
			}
			idx[i] = int32(x)
		}
	}
	if int(m) >= cnt {
		return errCorrupt
	}
	return nil
}

// dictArray builds a dictionary array from its entries and an index buffer
// of n int32 (nil: every row is entry 0); it takes over idx.
func dictArray(mem memory.Allocator, entries [][]byte, idx *memory.Buffer, n int) arrow.Array {
	total := 0
	for _, e := range entries {
		total += len(e)
	}
	doffs := newBuffer(mem, 4*(len(entries)+1))
	ddata := newBuffer(mem, total)
	o := i32s(doffs.Buf())
	d := ddata.Bytes()
	pos := 0
	o[0] = 0
	for i, e := range entries {
		pos += copy(d[pos:], e)
		o[i+1] = int32(pos)
	}
	if idx == nil {
		idx = newBuffer(mem, 4*n)
		clear(idx.Bytes())
	}
	return makeDictArray(n, idx, doffs, ddata, len(entries))
}

// gatherStrings builds a plain string array; idx nil means entry 0 everywhere.
func gatherStrings(mem memory.Allocator, entries [][]byte, idx []int32, n int) arrow.Array {
	total := 0
	if idx == nil {
		total = n * len(entries[0])
	} else {
		for _, x := range idx {
			total += len(entries[x])
		}
	}
	offs := newBuffer(mem, 4*(n+1))
	data := newBuffer(mem, total)
	o := i32s(offs.Buf())
	d := data.Bytes()
	pos := 0
	o[0] = 0
	for i := 0; i < n; i++ {
		e := entries[0]
		if idx != nil {
			e = entries[idx[i]]
		}
		pos += copy(d[pos:], e)
		o[i+1] = int32(pos)
	}
	return makeArray(arrow.BinaryTypes.String, n, nil, offs, data)
}

func decodePlain(mem memory.Allocator, lens, data []byte, n int) (arrow.Array, error) {
	offs := newBuffer(mem, 4*(n+1))
	o := i32s(offs.Buf())
	o[0] = 0
	p := 0
	total := 0
	for i := 0; i < n; i++ {
		l, k := binary.Uvarint(lens[p:])
		if k <= 0 || l > uint64(len(data)) {
			offs.Release()
			return nil, errCorrupt
		}
		p += k
		total += int(l)
		if total > len(data) {
			offs.Release()
			return nil, errCorrupt
		}
		o[i+1] = int32(total)
	}
	if p != len(lens) || total != len(data) {
		offs.Release()
		return nil, errCorrupt
	}
	buf := newBuffer(mem, total)
	copy(buf.Bytes(), data)
	return makeArray(arrow.BinaryTypes.String, n, nil, offs, buf), nil
}

package tablestore

import (
	"encoding/binary"
	"errors"
	"fmt"
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
	var partsArr [12][]byte
	parts := partsArr[:0]
	var scratch []*[]byte
	defer func() {
		for _, sp := range scratch {
			putScratch(sp)
		}
	}()
	for _, p := range cc.parts {
		if p.off < 0 || p.clen < 0 || p.off+p.clen > len(blob) {
			return nil, errCorrupt
		}
		src := blob[p.off : p.off+p.clen]
		if p.comp == compNone {
			parts = append(parts, src)
			continue
		}
		sp := getScratch()
		scratch = append(scratch, sp)
		raw, err := cd.decompress(p.comp, src, p.rawLen, *sp)
		if err != nil {
			return nil, err
		}
		*sp = raw[:0]
		parts = append(parts, raw)
	}
	return decodeParts(mem, typ, cc.enc, parts, n)
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
		var idx []uint32
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
			entries, idx, err = parseDict(parts, n)
			if err != nil {
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
			return dictArray(mem, entries, idx, n), nil
		}
		return gatherStrings(mem, entries, idx, n), nil
	}
	return nil, fmt.Errorf("tablestore: unknown column type %v", typ)
}

// readPlanes rebuilds u from byte planes (every plane has len(u) bytes).
func readPlanes(u []uint64, planes [][]byte) error {
	for i := range u {
		u[i] = 0
	}
	for k, p := range planes {
		if len(p) != len(u) {
			return errCorrupt
		}
		shift := uint(8 * k)
		for i, b := range p {
			u[i] |= uint64(b) << shift
		}
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
		if err := readPlanes(u, parts[1:]); err != nil {
			return err
		}
		if flags&flagDelta != 0 {
			prev := first
			out[0] = first
			for i := 1; i < n; i++ {
				prev += int64(u[i] + uint64(base))
				out[i] = prev
			}
			return nil
		}
		for i := range out {
			out[i] = int64(u[i] + uint64(base))
		}
		return nil
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
			if len(parts[1]) != packedLen(n, b) {
				return errCorrupt
			}
			mask := byte(1)<<b - 1
			per := 8 / b
			for i := range out {
				x := parts[1][i/per] >> (uint(i%per) * uint(b)) & mask
				if uint64(x) >= cnt {
					return errCorrupt
				}
				out[i] = values[x]
			}
			return nil
		}
		if len(parts[1]) != n {
			return errCorrupt
		}
		for i, b := range parts[1] {
			if uint64(b) >= cnt {
				return errCorrupt
			}
			out[i] = values[b]
		}
		return nil
	}
	return errCorrupt
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

// unpackIndexes reads len(idx) indexes of b bits each (LSB first) from src,
// which holds packedLen(len(idx), b) bytes.
func unpackIndexes(idx []uint32, src []byte, b int) {
	per := 8 / b
	mask := uint32(1)<<b - 1
	full := len(idx) / per
	for j, c := range src[:full] {
		x := uint32(c)
		for k := range per {
			idx[j*per+k] = x >> (uint(k * b)) & mask
		}
	}
	if full < len(src) {
		x := uint32(src[full])
		for i := full * per; i < len(idx); i++ {
			idx[i] = x >> (uint((i - full*per) * b)) & mask
		}
	}
}

// parseDict reads an encDict column: the dictionary part, then index planes.
func parseDict(parts [][]byte, n int) ([][]byte, []uint32, error) {
	if len(parts) < 2 || len(parts) > 5 {
		return nil, nil, errCorrupt
	}
	raw := parts[0]
	cnt, k := binary.Uvarint(raw)
	if k <= 0 || cnt == 0 || cnt > uint64(len(raw)) {
		return nil, nil, errCorrupt
	}
	p := k
	lens := make([]int, cnt)
	total := 0
	for i := range lens {
		l, k := binary.Uvarint(raw[p:])
		if k <= 0 || l > uint64(len(raw)) {
			return nil, nil, errCorrupt
		}
		p += k
		lens[i] = int(l)
		total += int(l)
		if total > len(raw) {
			return nil, nil, errCorrupt
		}
	}
	if p+total != len(raw) {
		return nil, nil, errCorrupt
	}
	entries := make([][]byte, cnt)
	for i, l := range lens {
		entries[i] = raw[p : p+l]
		p += l
	}
	if len(parts)-1 != indexWidth(int(cnt)) {
		return nil, nil, errCorrupt
	}
	idx := make([]uint32, n)
	if b := indexBits(int(cnt)); b > 0 {
		if len(parts[1]) != packedLen(n, b) {
			return nil, nil, errCorrupt
		}
		unpackIndexes(idx, parts[1], b)
		for _, x := range idx {
			if uint64(x) >= cnt {
				return nil, nil, errCorrupt
			}
		}
		return entries, idx, nil
	}
	u := make([]uint64, n)
	if err := readPlanes(u, parts[1:]); err != nil {
		return nil, nil, err
	}
	for i, x := range u {
		if x >= cnt {
			return nil, nil, errCorrupt
		}
		idx[i] = uint32(x)
	}
	return entries, idx, nil
}

// dictArray builds a dictionary array; idx nil means every row is entry 0.
func dictArray(mem memory.Allocator, entries [][]byte, idx []uint32, n int) arrow.Array {
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
	ib := newBuffer(mem, 4*n)
	ix := i32s(ib.Buf())
	if idx == nil {
		for i := 0; i < n; i++ {
			ix[i] = 0
		}
	} else {
		for i, x := range idx {
			ix[i] = int32(x)
		}
	}
	return makeDictArray(n, ib, doffs, ddata, len(entries))
}

// gatherStrings builds a plain string array; idx nil means entry 0 everywhere.
func gatherStrings(mem memory.Allocator, entries [][]byte, idx []uint32, n int) arrow.Array {
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

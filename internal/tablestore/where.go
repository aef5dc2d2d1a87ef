package tablestore

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// IntCompare is a comparison of an integer or time column with a constant,
// `Column Op Value` with Op one of == != < <= > >=, that a scan evaluates
// on compressed data where it can: a column of few distinct values is
// compared on its dictionary, then selected by its packed indexes, without
// rebuilding its values.
type IntCompare struct {
	Column string
	Op     string
	Value  int64
}

func (c *IntCompare) valid() bool {
	switch c.Op {
	case "==", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

func (c *IntCompare) match(v int64) bool {
	switch c.Op {
	case "==":
		return v == c.Value
	case "!=":
		return v != c.Value
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case ">":
		return v > c.Value
	}
	return v >= c.Value
}

// grow returns buf with room for n+1 positions.
func growKeep(buf *[]int32, n int) []int32 {
	if cap(*buf) < n+1 {
		*buf = make([]int32, n+1)
	}
	return (*buf)[:n+1]
}

// keepInts returns the positions of vals that match (branch-free loops).
func (c *IntCompare) keepInts(vals []int64, buf *[]int32) []int32 {
	keep := growKeep(buf, len(vals))
	m := 0
	k := c.Value
	switch c.Op {
	case "==":
		for i, v := range vals {
			keep[m] = int32(i)
			m += b2i(v == k)
		}
	case "!=":
		for i, v := range vals {
			keep[m] = int32(i)
			m += b2i(v != k)
		}
	case "<":
		for i, v := range vals {
			keep[m] = int32(i)
			m += b2i(v < k)
		}
	case "<=":
		for i, v := range vals {
			keep[m] = int32(i)
			m += b2i(v <= k)
		}
	case ">":
		for i, v := range vals {
			keep[m] = int32(i)
			m += b2i(v > k)
		}
	default:
		for i, v := range vals {
			keep[m] = int32(i)
			m += b2i(v >= k)
		}
	}
	return keep[:m]
}

func b2i(b bool) int {
	var x int
	if b {
		x = 1
	}
	return x
}

// keepArray applies the comparison to an Int64 or Timestamp array.
func (c *IntCompare) keepArray(arr arrow.Array, buf *[]int32) ([]int32, error) {
	switch a := arr.(type) {
	case *array.Int64:
		return c.keepInts(a.Int64Values(), buf), nil
	case *array.Timestamp:
		ts := a.TimestampValues()
		return c.keepInts(unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(ts))), len(ts)), buf), nil
	}
	return nil, fmt.Errorf("tablestore: %s is not an integer column", c.Column)
}

// keepCold evaluates the comparison on a compressed column of n rows: the
// rows that pass and the column's values at those rows (an array of typ
// allocated from snap.mem, nil when no row passes), so that the column is
// decoded once.
func (c *IntCompare) keepCold(cd *codec, snap *Snapshot, typ ColumnType, cc coldCol, blob []byte, n int, buf *[]int32) ([]int32, arrow.Array, error) {
	if cc.enc == encIntDict || cc.enc == encConst {
		var partsArr [4][]byte
		var ps colParts
		defer ps.release()
		parts, err := cd.parts(cc, blob, partsArr[:0], &ps)
		if err != nil {
			return nil, nil, err
		}
		if cc.enc == encConst {
			var v [1]int64
			if err := decodeInt64s(v[:], encConst, parts); err != nil {
				return nil, nil, err
			}
			if !c.match(v[0]) || n == 0 {
				return growKeep(buf, 0)[:0], nil, nil
			}
			keep := growKeep(buf, n)[:n]
			for i := range keep {
				keep[i] = int32(i)
			}
			vb := newBuffer(snap.mem, 8*n)
			vals := i64s(vb.Buf())[:n:n]
			for i := range vals {
				vals[i] = v[0]
			}
			return keep, makeArray(typ.ArrowType(), n, nil, vb), nil
		}
		keep, err := c.keepIntDict(parts, n, buf)
		if err != nil || len(keep) == 0 {
			return keep, nil, err
		}
		arr, ok, err := decodeRows(snap.mem, typ, cc.enc, parts, n, keep)
		if !ok && err == nil {
			err = errCorrupt
		}
		return keep, arr, err
	}
	arr, err := cd.decodeColumn(snap.mem, typ, cc, blob, n)
	if err != nil {
		return nil, nil, err
	}
	defer arr.Release()
	keep, err := c.keepArray(arr, buf)
	if err != nil || len(keep) == 0 {
		return keep, nil, err
	}
	if len(keep) == n {
		arr.Retain()
		return keep, arr, nil
	}
	return keep, takeArray(snap.mem, arr, keep), nil
}

// keepIntDict selects rows by their dictionary index: the comparison is
// made once per dictionary value.
func (c *IntCompare) keepIntDict(parts [][]byte, n int, buf *[]int32) ([]int32, error) {
	var values [256]int64
	cnt, err := intDictValues(parts, &values)
	if err != nil {
		return nil, err
	}
	var tab [256]int
	for i := range cnt {
		tab[i] = b2i(c.match(values[i]))
	}
	src := parts[1]
	b := indexBits(cnt)
	keep := growKeep(buf, n)
	m := 0
	if b == 4 && len(src) == packedLen(n, b) {
		if lo, hi, invert, ok := c.indexRange(values[:cnt]); ok {
			return keepNibbleRange(keep, src, n, cnt, lo, hi, invert)
		}
	}
	switch {
	case b == 0:
		if len(src) != n {
			return nil, errCorrupt
		}
		var mx byte
		for i, x := range src {
			mx = max(mx, x)
			keep[m] = int32(i)
			m += tab[x]
		}
		if int(mx) >= cnt {
			return nil, errCorrupt
		}
	case b == 4:
		if len(src) != packedLen(n, b) {
			return nil, errCorrupt
		}
		// One lookup per byte (two rows): bit 0 and 1 tell whether each
		// row passes, bit 2 that an index is past the dictionary.
		var pair [256]uint8
		for x := range pair {
			lo, hi := x&15, x>>4
			v := uint8(tab[lo] | tab[hi]<<1)
			if lo >= cnt || hi >= cnt {
				v |= 4
			}
			pair[x] = v
		}
		var bad uint8
		full := n / 2
		for j, x := range src[:full] {
			v := pair[x]
			bad |= v
			if v&3 == 0 { // most bytes: neither row passes
				continue
			}
			keep[m] = int32(2 * j)
			m += int(v & 1)
			keep[m] = int32(2*j + 1)
			m += int(v >> 1 & 1)
		}
		if full < len(src) {
			v := pair[src[full]]
			bad |= v
			keep[m] = int32(2 * full)
			m += int(v & 1)
		}
		if bad&4 != 0 {
			return nil, errCorrupt
		}
	default:
		if len(src) != packedLen(n, b) || (cnt < 1<<b && maxPacked(src, b) >= cnt) {
			return nil, errCorrupt
		}
		for i := range n {
			keep[m] = int32(i)
			m += tab[packedAt(src, i, b)]
		}
	}
	return keep[:m], nil
}

// indexRange returns the dictionary indexes that pass when values ascend:
// [lo, hi), or every index outside it when invert. ok is false when the
// values do not ascend strictly.
func (c *IntCompare) indexRange(values []int64) (lo, hi int, invert, ok bool) {
	for i := 1; i < len(values); i++ {
		if values[i] <= values[i-1] {
			return 0, 0, false, false
		}
	}
	below, upTo := 0, 0 // values < c.Value, values <= c.Value
	for _, v := range values {
		below += b2i(v < c.Value)
		upTo += b2i(v <= c.Value)
	}
	switch c.Op {
	case "==":
		return below, upTo, false, true
	case "!=":
		return below, upTo, true, true
	case "<":
		return 0, below, false, true
	case "<=":
		return 0, upTo, false, true
	case ">":
		return upTo, len(values), false, true
	}
	return below, len(values), false, true
}

// keepNibbleRange appends to keep[:0] the rows (of n) whose 4-bit index,
// packed two per byte in src, is in [lo, hi) (outside it when invert),
// sixteen rows per 64-bit word: each index gets a byte lane, where adding
// 0x80-a sets bit 7 exactly when the index is >= a.
func keepNibbleRange(keep []int32, src []byte, n, cnt, lo, hi int, invert bool) ([]int32, error) {
	const ones, low, top = 0x0101010101010101, 0x0F0F0F0F0F0F0F0F, 0x8080808080808080
	addLo := uint64(0x80-lo) * ones
	addHi := uint64(0x80-hi) * ones
	addCnt := uint64(0x80-cnt) * ones
	var flip uint64
	if invert {
		flip = top
	}
	m := 0
	words := n / 16
	var bad uint64
	for i := range words {
		w := binary.LittleEndian.Uint64(src[8*i:])
		ev, od := w&low, w>>4&low
		bad |= (ev + addCnt) | (od + addCnt)
		pe := ((ev+addLo)&^(ev+addHi)&top ^ flip) >> 7
		po := ((od+addLo)&^(od+addHi)&top ^ flip) >> 6
		// Two positions without branches (a word rarely has more).
		x := pe | po
		base := int32(16 * i)
		t := bits.TrailingZeros64(x)
		keep[m] = base + int32(2*(t>>3)+t&1)
		m += b2i(x != 0)
		x &= x - 1
		t = bits.TrailingZeros64(x)
		keep[m] = base + int32(2*(t>>3)+t&1)
		m += b2i(x != 0)
		x &= x - 1
		for ; x != 0; x &= x - 1 {
			t := bits.TrailingZeros64(x)
			keep[m] = base + int32(2*(t>>3)+t&1)
			m++
		}
	}
	if bad&top != 0 {
		return nil, errCorrupt
	}
	for r := 16 * words; r < n; r++ {
		x := int(src[r/2]) >> (4 * (r & 1)) & 15
		if x >= cnt {
			return nil, errCorrupt
		}
		keep[m] = int32(r)
		m += b2i((x >= lo && x < hi) != invert)
	}
	return keep[:m], nil
}

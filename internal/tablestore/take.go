package tablestore

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// takeArray copies the rows at positions rows of an array the store
// produced into a new array allocated from mem.
func takeArray(mem memory.Allocator, arr arrow.Array, rows []int32) arrow.Array {
	k := len(rows)
	switch a := arr.(type) {
	case *array.Int64:
		buf := newBuffer(mem, 8*k)
		dst, src := i64s(buf.Buf()), a.Int64Values()
		for j, r := range rows {
			dst[j] = src[r]
		}
		return makeArray(a.DataType(), k, nil, buf)
	case *array.Timestamp:
		buf := newBuffer(mem, 8*k)
		dst, src := i64s(buf.Buf()), a.TimestampValues()
		for j, r := range rows {
			dst[j] = int64(src[r])
		}
		return makeArray(a.DataType(), k, nil, buf)
	case *array.Float64:
		buf := newBuffer(mem, 8*k)
		dst, src := f64s(buf.Buf()), a.Float64Values()
		for j, r := range rows {
			dst[j] = src[r]
		}
		return makeArray(a.DataType(), k, nil, buf)
	case *array.Boolean:
		buf := newBuffer(mem, (k+7)/8)
		bm := buf.Bytes()
		clear(bm)
		for j, r := range rows {
			if a.Value(int(r)) {
				bm[j>>3] |= 1 << (j & 7)
			}
		}
		return makeArray(a.DataType(), k, nil, buf)
	case *array.String:
		total := 0
		for _, r := range rows {
			total += len(a.Value(int(r)))
		}
		offs := newBuffer(mem, 4*(k+1))
		data := newBuffer(mem, total)
		o, d := i32s(offs.Buf()), data.Bytes()
		pos := 0
		o[0] = 0
		for j, r := range rows {
			pos += copy(d[pos:], a.Value(int(r)))
			o[j+1] = int32(pos)
		}
		return makeArray(arrow.BinaryTypes.String, k, nil, offs, data)
	case *array.Dictionary:
		dict := a.Dictionary().(*array.String)
		entries := make([][]byte, dict.Len())
		for i := range entries {
			entries[i] = []byte(dict.Value(i))
		}
		idx := a.Indices().(*array.Int32).Int32Values()
		ib := newBuffer(mem, 4*k)
		ix := i32s(ib.Buf())
		for j, r := range rows {
			ix[j] = idx[r]
		}
		return dictArray(mem, entries, ib, k)
	}
	panic(fmt.Sprintf("tablestore: take of %T", arr))
}

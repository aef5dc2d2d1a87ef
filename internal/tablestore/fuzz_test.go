package tablestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeParts feeds arbitrary bytes to the column parser: it must
// return an array or an error, never panic, and never leak. The input's
// first byte is the number of parts, the next ones their lengths.
func FuzzDecodeParts(f *testing.F) {
	f.Add(uint8(TypeInt64), encIntDict, []byte{2, 3, 2, 2, 4, 0, 1}, 2)
	f.Add(uint8(TypeInt64), encPlanes, []byte{2, 3, 0, 1, 0, 5, 6}, 2)
	f.Add(uint8(TypeString), encDict, []byte{2, 5, 2, 1, 1, 'a', 'b', 0, 1, 1}, 3)
	f.Add(uint8(TypeDict), encConst, []byte{1, 2, 1, 'x'}, 4)
	f.Add(uint8(TypeString), encPlain, []byte{2, 2, 1, 2, 'a', 'b', 'c'}, 2)
	f.Add(uint8(TypeTraceID), encRaw, append([]byte{1, 32}, make([]byte, 32)...), 2)
	f.Add(uint8(TypeBool), encBitmap, []byte{1, 1, 5}, 3)
	f.Add(uint8(TypeFloat64), encConst, append([]byte{1, 8}, make([]byte, 8)...), 1)
	// encPacked: rows 1, 20 (an escape of 4 bits: exception at offset 1), 3
	// (typ-1: the target reads the type as typ%TypeSpanID + 1).
	f.Add(uint8(TypeInt64)-1, encPacked, []byte{4, 4, 9, 2, 4, 0, 1, 1, 0xf1, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 20}, 3)
	f.Fuzz(func(t *testing.T, typ, enc uint8, raw []byte, n int) {
		if n < 0 || n > 1<<16 || len(raw) == 0 {
			return
		}
		np := int(raw[0] % 10)
		raw = raw[1:]
		var parts [][]byte
		for i := 0; i < np; i++ {
			l := len(raw)
			if i < np-1 && len(raw) > 0 {
				l = min(int(raw[0]), len(raw)-1)
				raw = raw[1:]
			}
			parts = append(parts, raw[:l])
			raw = raw[l:]
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		ct := ColumnType(typ%uint8(TypeSpanID) + 1)
		arr, err := decodeParts(mem, ct, enc, parts, n)
		if err == nil {
			require.Equal(t, n, arr.Len())
			// Corrupt blocks may hold invalid UTF-8; the structure must be sound.
			if err := array.ValidateFull(arr); err != nil && !strings.Contains(err.Error(), "utf8") {
				t.Fatal(err)
			}
			arr.Release()
		}
		// The row-selective decoders and the compressed-data comparison
		// take the same input: an array or an error, never a panic.
		rows := []int32{0, int32(n / 3), int32(n - 1), int32(n)}
		if n > 1 {
			rows = rows[:3]
		}
		if arr, ok, err := decodeRows(mem, ct, enc, parts, n, rows); ok && err == nil {
			require.Equal(t, len(rows), arr.Len())
			arr.Release()
		}
		var buf []int32
		if keep, err := (&IntCompare{Op: ">=", Value: 1}).keepIntDict(parts, n, &buf); err == nil {
			require.LessOrEqual(t, len(keep), n)
		}
		mem.AssertSize(t, 0)
	})
}

// FuzzColumnRoundTrip derives column values from the input, stores them
// through a hot batch, compacts them and checks that scans return them.
func FuzzColumnRoundTrip(f *testing.F) {
	f.Add([]byte("hello world, hello world"), uint8(0))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, uint8(1))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, uint8(2))
	f.Add([]byte("encPacked: log-normal-like values"), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		if len(data) > 4096 {
			return
		}
		n := len(data)/8 + 1
		packed := mode&4 != 0 // enough distinct values for encPacked
		if packed {
			n = 300 + len(data)
		}
		rows := make([]row, n)
		clk := newFakeClock()
		base := clk.NS() - 1e9
		word := func(i int) uint64 {
			var b [8]byte
			copy(b[:], data[min(len(data), 8*i):])
			return binary.LittleEndian.Uint64(b[:])
		}
		for i := range rows {
			w := word(i)
			r := &rows[i]
			r.T = base + int64(i)
			r.Seq = int64(w)
			if mode%2 == 1 {
				r.Seq = int64(w % 3)
			}
			if packed { // 22 bits, 1/64 of the rows far above
				w ^= uint64(i) * 0x9E3779B97F4A7C15
				r.Seq = int64(w & 0x3FFFFF)
				if w>>58 == 0 {
					r.Seq = int64(w >> 20)
				}
			}
			r.F = math.Float64frombits(w)
			if r.F != r.F { // NaN != NaN: compare bits below instead
				r.F = 0
			}
			r.B = w&1 == 1
			lo, hi := min(i, len(data)), min(len(data), i+int(w%7))
			r.S = string(data[lo:hi])
			r.D = string(data[lo:min(hi, lo+1)])
			if w%3 != 0 {
				r.TID = "0102030405060708090a0b0c0d0e0f10"
				r.SID = "1112131415161718"
			}
		}
		comp := []Compression{CompressionZstd, CompressionLZ4, CompressionNone}[int(mode)%3]
		s, _, _ := newTestStore(t, Config{Now: clk.Now, Compression: comp}, testSchema)
		tb := s.Table("t")
		_, err := tb.Append(batchOf(rows...))
		require.NoError(t, err)
		for i := range rows { // invalid UTF-8 is stored with U+FFFD
			rows[i].S = strings.ToValidUTF8(rows[i].S, "\uFFFD")
			rows[i].D = strings.ToValidUTF8(rows[i].D, "\uFFFD")
		}
		require.Equal(t, rows, scanRows(t, tb, ScanOptions{}))
		s.Flush()
		require.Equal(t, rows, scanRows(t, tb, ScanOptions{}))
		// A filtered scan decodes the other columns for the kept rows only.
		var want []row
		for _, r := range rows {
			if r.B {
				want = append(want, r)
			}
		}
		var got []row
		require.NoError(t, tb.Scan(context.Background(), ScanOptions{FilterColumns: []string{"b"},
			Filter: keepTrueB}, func(rec arrow.RecordBatch) error {
			got = append(got, rowsOf(rec)...)
			return nil
		}))
		require.Equal(t, want, got)
	})
}

// FuzzDecompress feeds arbitrary bytes to every part decompressor (raw,
// zstd, lz4, Huffman, sparse): a block or an error, never a panic; and
// checks that what compress writes decompresses to its input.
func FuzzDecompress(f *testing.F) {
	f.Add(uint8(compSparse), []byte{0, 2, 3, 7, 0, 9}, 10)
	f.Add(uint8(compHuff), []byte{1, 1, 5, 7}, 5)
	f.Add(uint8(compZstd), []byte{0x28, 0xb5, 0x2f, 0xfd}, 4)
	f.Add(uint8(compLZ4), []byte{0x10, 'a'}, 1)
	cd, err := newCodec(CompressionZstd)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, comp uint8, data []byte, rawLen int) {
		if rawLen < 0 || rawLen > 1<<20 {
			return
		}
		if out, err := cd.decompress(comp%5, data, rawLen, nil); err == nil && comp%5 != compNone {
			require.Len(t, out, rawLen)
		}
		// Round trip: the data as a part, stretched so that the sparse
		// and Huffman coders get a chance.
		src := make([]byte, 0, 8*len(data))
		for _, c := range data {
			src = append(src, c, 0, 0, 0, 0, 0, 0, c&3)
		}
		for _, hint := range []uint8{0, hintGeneral, hintHuff, hintRuns, hintPlane, hintBoth} {
			enc, kind := cd.compress(nil, src, hint)
			dec, err := cd.decompress(kind, enc, len(src), nil)
			require.NoError(t, err)
			require.True(t, bytes.Equal(src, dec), "hint %d kind %d", hint, kind)
		}
	})
}

package tablestore

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPackedIndexesRoundTrip checks the bit-packed dictionary indexes of
// small dictionaries (1, 2, 4 bits; 5 to 7 bits up to 128 entries) and the
// byte planes of larger ones,
// for row counts that do not fill the last byte.
func TestPackedIndexesRoundTrip(t *testing.T) {
	for _, cnt := range []int{1, 2, 3, 4, 5, 16, 17, 20, 33, 64, 65, 100, 128, 129, 300} {
		for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 1000} {
			u := make([]uint64, n)
			for i := range u {
				u[i] = uint64((i*7 + i/3) % cnt)
			}
			var p partWriter
			appendIndexes(&p, u, cnt)
			require.Len(t, p.ends, indexWidth(cnt))
			parts := make([][]byte, 0, len(p.ends))
			start := 0
			for _, end := range p.ends {
				parts = append(parts, p.raw[start:end])
				start = end
			}
			if b := indexBits(cnt); b > 0 {
				require.Len(t, parts[0], packedLen(n, b))
			}
			idx := make([]int32, n)
			require.NoError(t, readIndexes(idx, parts, cnt))
			for i := range u {
				require.Equal(t, int32(u[i]), idx[i], "cnt %d n %d row %d", cnt, n, i)
			}
			if cnt > 1 && indexBits(cnt) > 0 && cnt < 1<<indexBits(cnt) {
				// An index past the dictionary is an error, not a crash.
				bad := append([]byte(nil), parts[0]...)
				bad[0] |= byte(1<<indexBits(cnt) - 1)
				require.ErrorIs(t, readIndexes(idx, [][]byte{bad}, cnt), errCorrupt)
			}
		}
	}
}

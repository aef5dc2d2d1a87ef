package tablestore

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeepNibbleRange checks the 16-rows-per-word comparison of packed
// dictionary indexes against the one-row-at-a-time reference, for every
// operator and constant, sorted and unsorted dictionaries.
func TestKeepNibbleRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cnt := range []int{5, 9, 16} {
		values := make([]int64, cnt)
		for i := range values {
			values[i] = int64(100 * (i + 1))
		}
		for _, n := range []int{1, 15, 16, 17, 33, 1000, 1001} {
			idx := make([]uint64, n)
			for i := range idx {
				idx[i] = uint64(rng.IntN(cnt))
			}
			for _, sorted := range []bool{true, false} {
				vals := append([]int64(nil), values...)
				if !sorted {
					rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
				}
				var pw partWriter
				pw.raw = binaryAppendIntDict(pw.raw, vals)
				pw.end()
				appendIndexes(&pw, idx, cnt)
				parts := [][]byte{pw.raw[:pw.ends[0]], pw.raw[pw.ends[0]:pw.ends[1]]}
				for _, op := range []string{"==", "!=", "<", "<=", ">", ">="} {
					for _, v := range []int64{0, 100, 150, 300, int64(100 * cnt), 5000} {
						c := &IntCompare{Op: op, Value: v}
						var want []int32
						for i, x := range idx {
							if c.match(vals[x]) {
								want = append(want, int32(i))
							}
						}
						var buf []int32
						got, err := c.keepIntDict(parts, n, &buf)
						require.NoError(t, err)
						if len(want) == 0 {
							require.Empty(t, got)
						} else {
							require.Equal(t, want, got, "cnt %d n %d sorted %v %s %d", cnt, n, sorted, op, v)
						}
					}
				}
			}
		}
	}
}

func binaryAppendIntDict(b []byte, vals []int64) []byte {
	b = binary.AppendUvarint(b, uint64(len(vals)))
	for _, v := range vals {
		b = binary.AppendVarint(b, v)
	}
	return b
}

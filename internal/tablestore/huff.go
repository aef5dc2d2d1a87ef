package tablestore

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/klauspost/compress/huff0"
)

// Pure Huffman coding (no LZ matching) of byte planes and dictionary
// indices: low-entropy random bytes (20 client IPs, 64 ports) are where LZ
// coders find many short, useless matches and end up storing the data raw.
//
// Format: uvarint chunk count, then per chunk of at most huffChunk bytes:
// mode byte (0 raw, 1 run of one byte, 2 huff0 4X), uvarint raw length, then
// the byte (mode 1), or uvarint compressed length + table and streams
// (mode 2), or the raw bytes (mode 0).

const huffChunk = 128 << 10

const (
	huffRaw uint8 = iota
	huffRLE
	huffHuff
)

type huffState struct {
	s   huff0.Scratch
	out []byte
}

var huffPool = sync.Pool{New: func() any { return new(huffState) }}

// huffEncode returns the encoded form of src in a buffer owned by st.
func (st *huffState) encode(src []byte) []byte {
	out := st.out[:0]
	chunks := (len(src) + huffChunk - 1) / huffChunk
	out = binary.AppendUvarint(out, uint64(chunks))
	for len(src) > 0 {
		c := src[:min(len(src), huffChunk)]
		src = src[len(c):]
		st.s.Reuse = huff0.ReusePolicyNone
		st.s.Out = st.s.Out[:0]
		enc, _, err := huff0.Compress4X(c, &st.s)
		switch {
		case err == nil:
			out = append(out, huffHuff)
			out = binary.AppendUvarint(out, uint64(len(c)))
			out = binary.AppendUvarint(out, uint64(len(enc)))
			out = append(out, enc...)
		case errors.Is(err, huff0.ErrUseRLE):
			out = append(out, huffRLE)
			out = binary.AppendUvarint(out, uint64(len(c)))
			out = append(out, c[0])
		default:
			out = append(out, huffRaw)
			out = binary.AppendUvarint(out, uint64(len(c)))
			out = append(out, c...)
		}
	}
	st.out = out
	return out
}

// huffDecode decodes src into dst (which must have room for rawLen bytes).
func huffDecode(src []byte, rawLen int, dst []byte) ([]byte, error) {
	out := growCap(dst[:0], rawLen)
	chunks, k := binary.Uvarint(src)
	if k <= 0 || chunks > uint64(rawLen/huffChunk+1) {
		return nil, errCorrupt
	}
	src = src[k:]
	st := huffPool.Get().(*huffState)
	defer huffPool.Put(st)
	for range chunks {
		if len(src) < 2 {
			return nil, errCorrupt
		}
		mode := src[0]
		l, k := binary.Uvarint(src[1:])
		if k <= 0 || l > huffChunk || len(out)+int(l) > rawLen {
			return nil, errCorrupt
		}
		src = src[1+k:]
		n := int(l)
		switch mode {
		case huffRaw:
			if len(src) < n {
				return nil, errCorrupt
			}
			out = append(out, src[:n]...)
			src = src[n:]
		case huffRLE:
			if len(src) < 1 {
				return nil, errCorrupt
			}
			b := src[0]
			src = src[1:]
			start := len(out)
			out = out[:start+n]
			for i := start; i < len(out); i++ {
				out[i] = b
			}
		case huffHuff:
			cl, k := binary.Uvarint(src)
			if k <= 0 || cl > uint64(len(src)-k) {
				return nil, errCorrupt
			}
			data := src[k : k+int(cl)]
			src = src[k+int(cl):]
			s, rest, err := huff0.ReadTable(data, &st.s)
			if err != nil {
				return nil, errCorrupt
			}
			start := len(out)
			got, err := s.Decoder().Decompress4X(out[start:start:start+n], rest)
			if err != nil || len(got) != n {
				return nil, errCorrupt
			}
			out = out[:start+n]
			if n > 0 && &got[0] != &out[start] {
				copy(out[start:], got)
			}
		default:
			return nil, errCorrupt
		}
	}
	if len(out) != rawLen || len(src) != 0 {
		return nil, errCorrupt
	}
	return out, nil
}

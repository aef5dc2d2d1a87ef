package tablestore

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression of one stored column block.
const (
	compNone uint8 = iota
	compZstd
	compLZ4
	compHuff
	compSparse
)

// codec compresses and decompresses column blocks. One zstd encoder and one
// zstd decoder are shared by the whole store (both are safe for concurrent
// EncodeAll / DecodeAll); lz4 compressors are pooled.
type codec struct {
	kind   Compression
	zenc   *zstd.Encoder
	zdec   *zstd.Decoder
	lz4    sync.Pool // *lz4.Compressor
	minLen int
}

func newCodec(kind Compression) (*codec, error) {
	c := &codec{kind: kind, minLen: 64}
	var err error
	switch kind {
	case CompressionZstd:
		c.zenc, err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false),
			zstd.WithZeroFrames(true))
		if err != nil {
			return nil, err
		}
	case CompressionLZ4:
		c.lz4.New = func() any { return new(lz4.Compressor) }
	}
	// Decoders for every codec are available: cold batches carry their own
	// compression tag, so a store can read what another config wrote.
	c.zdec, err = zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithDecoderLowmem(false),
		zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		if c.zenc != nil {
			_ = c.zenc.Close()
		}
		return nil, err
	}
	return c, nil
}

func (c *codec) close() {
	if c.zenc != nil {
		_ = c.zenc.Close()
	}
	if c.zdec != nil {
		c.zdec.Close()
	}
}

// Hints for compress: which coders may pay off for a part.
const (
	hintGeneral uint8 = 1 << iota // LZ (zstd/lz4): text, repeated runs
	hintHuff                      // pure Huffman: byte planes, indices
	hintRuns                      // LZ only if the bytes change rarely
	hintBoth    = hintGeneral | hintHuff
	hintPlane   = hintHuff | hintRuns
)

// looksRandom reports whether a sample of b has a flat byte histogram (no
// byte value twice as frequent as average): entropy coding cannot help.
func looksRandom(b []byte) bool {
	if len(b) > 8<<10 {
		b = b[:8<<10]
	}
	if len(b) < 4096 {
		return false
	}
	var h [256]int
	for _, c := range b {
		h[c]++
	}
	limit := 2 * len(b) / 256
	for _, n := range h {
		if n > limit {
			return false
		}
	}
	return true
}

// fewChanges reports whether consecutive bytes differ in less than 1/8 of
// the positions of a sample (long runs, where LZ beats Huffman).
func fewChanges(b []byte) bool {
	if len(b) > 16<<10 {
		b = b[:16<<10]
	}
	changes := 0
	limit := len(b) / 8
	for i := 1; i < len(b); i++ {
		if b[i] != b[i-1] {
			changes++
			if changes > limit {
				return false
			}
		}
	}
	return true
}

// lzMinLen is the smallest part worth an LZ coder: below it the per-call
// setup costs more CPU than the few bytes it could save per batch.
const lzMinLen = 1024

// compress appends the compressed form of src to dst, using the coders the
// hint allows and keeping the smallest result. It returns compNone (and
// appends src itself) when nothing saves at least 1/16, or for hint 0
// (parts kept as they are for random access).
func (c *codec) compress(dst, src []byte, hint uint8) ([]byte, uint8) {
	if len(src) < c.minLen || c.kind == CompressionNone || hint == 0 {
		return append(dst, src...), compNone
	}
	start := len(dst)
	bestLen := len(src) - len(src)/16
	var hst *huffState
	var hbuf []byte
	if hint&hintGeneral == 0 && looksRandom(src) {
		if hint&hintRuns == 0 || !fewChanges(src) {
			return append(dst, src...), compNone
		}
	}
	var sparse []byte
	if hint&hintRuns != 0 && fewChanges(src) {
		// Mostly one byte: exceptions only, when that is small (it
		// decodes with a fill and a few stores, far faster than any
		// entropy or LZ decoder); otherwise a candidate like the others.
		sp := getScratch()
		defer putScratch(sp)
		if sb, ok := appendSparse((*sp)[:0], src, bestLen); ok {
			*sp = sb[:0]
			if len(sb) <= len(src)/32 {
				return append(dst, sb...), compSparse
			}
			sparse, bestLen = sb, len(sb)
		}
	}
	if hint&hintHuff != 0 {
		hst = huffPool.Get().(*huffState)
		defer huffPool.Put(hst)
		if h := hst.encode(src); len(h) < bestLen {
			hbuf, bestLen = h, len(h)
		}
	}
	if hint&hintRuns != 0 && fewChanges(src) {
		hint |= hintGeneral
	}
	if hint&hintGeneral != 0 && len(src) >= lzMinLen {
		switch c.kind {
		case CompressionZstd:
			out := c.zenc.EncodeAll(src, dst)
			if len(out)-start < bestLen {
				return out, compZstd
			}
			dst = out[:start]
		case CompressionLZ4:
			bound := lz4.CompressBlockBound(len(src))
			dst = growCap(dst, bound)
			cp := c.lz4.Get().(*lz4.Compressor)
			n, err := cp.CompressBlock(src, dst[start:start+bound])
			c.lz4.Put(cp)
			if err == nil && n > 0 && n < bestLen {
				return dst[:start+n], compLZ4
			}
			dst = dst[:start]
		}
	}
	if hbuf != nil {
		return append(dst, hbuf...), compHuff
	}
	if sparse != nil {
		return append(dst, sparse...), compSparse
	}
	return append(dst, src...), compNone
}

// decompress returns the raw block (rawLen bytes), using scratch as the
// destination when it is large enough. For compNone it returns src itself.
func (c *codec) decompress(comp uint8, src []byte, rawLen int, scratch []byte) ([]byte, error) {
	switch comp {
	case compNone:
		return src, nil
	case compZstd:
		out, err := c.zdec.DecodeAll(src, growCap(scratch[:0], rawLen))
		if err != nil {
			return nil, err
		}
		if len(out) != rawLen {
			return nil, fmt.Errorf("tablestore: zstd block: got %d bytes, want %d", len(out), rawLen)
		}
		return out, nil
	case compHuff:
		return huffDecode(src, rawLen, scratch)
	case compSparse:
		return sparseDecode(src, rawLen, scratch)
	case compLZ4:
		if rawLen == 0 {
			// lz4's decoder faults on an empty destination; compress
			// never writes an empty part as lz4 anyway.
			return nil, errCorrupt
		}
		out := growCap(scratch[:0], rawLen)[:rawLen]
		n, err := lz4.UncompressBlock(src, out)
		if err != nil {
			return nil, err
		}
		if n != rawLen {
			return nil, fmt.Errorf("tablestore: lz4 block: got %d bytes, want %d", n, rawLen)
		}
		return out, nil
	}
	return nil, fmt.Errorf("tablestore: unknown compression %d", comp)
}

// growCap returns b with capacity for at least n more bytes.
func growCap(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// scratch buffers for encoding/decoding.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func getScratch() *[]byte  { return scratchPool.Get().(*[]byte) }
func putScratch(b *[]byte) { *b = (*b)[:0]; scratchPool.Put(b) }

// Sparse blocks (compSparse): a part that is mostly one byte, stored as
// that byte and its exceptions: [byte] [uvarint count] then count times
// [uvarint gap] [byte], where gap is the position of the exception minus
// the position after the previous one (the first: its position).

// appendSparse appends the sparse form of src to dst, unless it would not
// be shorter than limit (ok false).
func appendSparse(dst, src []byte, limit int) ([]byte, bool) {
	if len(src) == 0 {
		return dst, false
	}
	// The most frequent byte of a sample.
	var h [256]int
	for _, c := range src[:min(len(src), 4096)] {
		h[c]++
	}
	def := 0
	for c, k := range h {
		if k > h[def] {
			def = c
		}
	}
	d := byte(def)
	count := 0
	for _, c := range src {
		count += b2i(c != d)
	}
	if 1+binary.MaxVarintLen64+2*count >= limit {
		return dst, false
	}
	start := len(dst)
	dst = append(dst, d)
	dst = binary.AppendUvarint(dst, uint64(count))
	next := 0
	for i, c := range src {
		if c != d {
			dst = binary.AppendUvarint(dst, uint64(i-next))
			dst = append(dst, c)
			next = i + 1
		}
	}
	return dst, len(dst)-start < limit
}

// sparseDecode decodes a sparse block of rawLen bytes into scratch (or a
// new buffer when it is too small).
func sparseDecode(src []byte, rawLen int, scratch []byte) ([]byte, error) {
	if len(src) < 2 {
		return nil, errCorrupt
	}
	count, k := binary.Uvarint(src[1:])
	if k <= 0 || count > uint64(rawLen) || count > uint64(len(src)) {
		return nil, errCorrupt
	}
	out := growCap(scratch[:0], rawLen)[:rawLen]
	fillBytes(out, src[0])
	p := 1 + k
	at := uint64(0)
	for range count {
		gap, k := binary.Uvarint(src[p:])
		if k <= 0 || gap >= uint64(rawLen)-at || p+k >= len(src) {
			return nil, errCorrupt
		}
		at += gap
		out[at] = src[p+k]
		at++
		p += k + 1
	}
	if p != len(src) {
		return nil, errCorrupt
	}
	return out, nil
}

// fillBytes sets every byte of b to c (by doubling copies).
func fillBytes(b []byte, c byte) {
	if c == 0 {
		clear(b)
		return
	}
	if len(b) == 0 {
		return
	}
	b[0] = c
	for k := 1; k < len(b); k *= 2 {
		copy(b[k:], b[:k])
	}
}

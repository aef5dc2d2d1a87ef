package tracer

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ringProgram returns a socket filter that writes one record of size bytes
// (every 64-bit word holding size) into m, or with discard reserves size
// bytes and discards them.
func ringProgram(t *testing.T, m *ebpf.Map, size int, discard bool) *ebpf.Program {
	t.Helper()
	var insns asm.Instructions
	if discard {
		insns = asm.Instructions{
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.Mov.Imm(asm.R2, int32(size)),
			asm.Mov.Imm(asm.R3, 0),
			asm.FnRingbufReserve.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.Mov.Reg(asm.R1, asm.R0),
			asm.Mov.Imm(asm.R2, 0),
			asm.FnRingbufDiscard.Call(),
		}
	} else {
		insns = append(insns, asm.Mov.Imm(asm.R1, int32(size)))
		for off := 0; off < size; off += 8 {
			insns = append(insns, asm.StoreMem(asm.RFP, int16(off-size), asm.R1, asm.DWord))
		}
		insns = append(insns,
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, int32(-size)),
			asm.Mov.Imm(asm.R3, int32(size)),
			asm.Mov.Imm(asm.R4, 0),
			asm.FnRingbufOutput.Call(),
		)
	}
	insns = append(insns, asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return())
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "MIT", Instructions: insns})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// onePageRing returns a one-page BPF ring buffer map, closed by the test's
// cleanup (it skips without root unless CI is set).
func onePageRing(t *testing.T) *ebpf.Map {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv("CI") == "" {
		t.Skip("needs root to create BPF maps and programs")
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	require.NoError(t, err, "creating a BPF ring buffer (as root, on a kernel with BPF)")
	t.Cleanup(func() { m.Close() })
	return m
}

// TestRingInPlace writes records of several sizes (and discarded ones)
// through a real one-page ring many times over, so records wrap around its
// end, and reads them in place: every record comes back once, in order,
// whole, and the room given back lets the kernel write the next ones.
func TestRingInPlace(t *testing.T) {
	m := onePageRing(t)
	r, err := newRing(m)
	require.NoError(t, err)
	defer r.close()
	assert.Equal(t, os.Getpagesize(), r.size())

	sizes := []int{8, 40, 96, 256, 504}
	progs := make([]*ebpf.Program, len(sizes))
	for i, s := range sizes {
		progs[i] = ringProgram(t, m, s, false)
	}
	discard := ringProgram(t, m, 64, true)
	packet := make([]byte, 64)

	_, ok, err := r.next()
	require.NoError(t, err)
	assert.False(t, ok, "empty ring")

	var want []int
	written := 0
	for round := 0; round < 200; round++ {
		// A few records (at most ~1 KiB with headers), every tenth
		// round one discarded in between, then read them all back.
		want = want[:0]
		for j := 0; j < 3; j++ {
			i := (round + j*2) % len(sizes)
			_, err := progs[i].Run(&ebpf.RunOptions{Data: packet})
			require.NoError(t, err)
			want = append(want, sizes[i])
			written += sizes[i]
			if j == 1 && round%10 == 9 {
				_, err := discard.Run(&ebpf.RunOptions{Data: packet})
				require.NoError(t, err)
			}
		}
		assert.Positive(t, r.available())
		for _, size := range want {
			sample, ok, err := r.next()
			require.NoError(t, err)
			require.True(t, ok, "round %d: record of %d bytes missing", round, size)
			require.Len(t, sample, size, "round %d", round)
			for off := 0; off < size; off += 8 {
				require.EqualValues(t, size, binary.LittleEndian.Uint64(sample[off:]), "round %d offset %d", round, off)
			}
			r.release(sample)
		}
		_, ok, err = r.next()
		require.NoError(t, err)
		require.False(t, ok, "round %d: an extra record", round)
		assert.Zero(t, r.available())
	}
	assert.Greater(t, written, 20*r.size(), "the records wrapped around the ring many times")

	// skipAll drops what waits.
	_, err = progs[4].Run(&ebpf.RunOptions{Data: packet})
	require.NoError(t, err)
	r.skipAll()
	assert.Zero(t, r.available())
	_, ok, err = r.next()
	require.NoError(t, err)
	assert.False(t, ok)
}

// BenchmarkRingRead compares reading records in place (ring) with
// cilium/ebpf's ringbuf.Reader copying them, on a real ring the kernel
// fills with 256-byte records; fill_only is the cost of the filling, which
// the other two include.
func BenchmarkRingRead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	const recs = 1000
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 1 << 20})
	require.NoError(b, err)
	defer m.Close()
	t := &testing.T{}
	prog := ringProgram(t, m, 256, false)
	packet := make([]byte, 64)
	fill := func() {
		_, err := prog.Run(&ebpf.RunOptions{Data: packet, Repeat: recs})
		require.NoError(b, err)
	}
	var sum byte
	b.Run("fill_only", func(b *testing.B) {
		r, err := newRing(m)
		require.NoError(b, err)
		defer r.close()
		for i := 0; i < b.N; i += recs {
			fill()
			r.skipAll()
		}
	})
	b.Run("in_place", func(b *testing.B) {
		r, err := newRing(m)
		require.NoError(b, err)
		defer r.close()
		for i := 0; i < b.N; i += recs {
			fill()
			for {
				s, ok, _ := r.next()
				if !ok {
					break
				}
				sum += s[len(s)-1]
				r.release(s)
			}
		}
	})
	b.Run("cilium_ReadInto", func(b *testing.B) {
		rd, err := ringbuf.NewReader(m)
		require.NoError(b, err)
		defer rd.Close()
		rd.SetDeadline(time.Unix(0, 1))
		var rec ringbuf.Record
		for i := 0; i < b.N; i += recs {
			fill()
			for rd.ReadInto(&rec) == nil {
				sum += rec.RawSample[len(rec.RawSample)-1]
			}
		}
	})
	_ = sum
}

package tracer

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKickWaiter writes records into a real ring from BPF and checks that
// a waiter blocked on the empty ring wakes for them, consumes them all,
// waits again, and stops when interrupted; and that it waits in the Go
// poller (a read deadline, which only polled files have, ends a wait).
func TestKickWaiter(t *testing.T) {
	m := onePageRing(t)
	prog := ringProgram(t, m, 8, false)
	packet := make([]byte, 64)

	k, err := newKickWaiter(m)
	require.NoError(t, err)

	// In the poller: a deadline in the past ends the wait at once.
	require.NoError(t, k.file.SetReadDeadline(time.Now().Add(-time.Second)))
	n, err := k.wait()
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Zero(t, n)
	assert.False(t, k.closed.Load())
	require.NoError(t, k.file.SetReadDeadline(time.Time{}))

	type result struct {
		n   int
		err error
	}
	got := make(chan result, 16)
	go func() {
		for {
			n, err := k.wait()
			got <- result{n, err}
			if err != nil {
				return
			}
		}
	}()

	select {
	case r := <-got:
		t.Fatalf("wait returned %d, %v with nothing in the ring", r.n, r.err)
	case <-time.After(100 * time.Millisecond):
	}

	for round := 0; round < 3; round++ {
		for i := 0; i < 3; i++ {
			_, err := prog.Run(&ebpf.RunOptions{Data: packet})
			require.NoError(t, err)
		}
		total := 0
		for total < 3 {
			select {
			case r := <-got:
				require.NoError(t, r.err)
				require.Positive(t, r.n)
				total += r.n
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: the waiter did not wake for the records (%d of 3 seen)", round, total)
			}
		}
		assert.Equal(t, 3, total, "round %d: every record consumed once", round)
		// The positions in the ring's pages (r.cons is the waiter's).
		assert.Equal(t, atomic.LoadUint64(k.ring.prodPos), atomic.LoadUint64(k.ring.consPos),
			"round %d: the room was given back", round)
	}

	require.NoError(t, k.interrupt())
	select {
	case r := <-got:
		assert.Error(t, r.err)
		assert.True(t, k.closed.Load())
	case <-time.After(10 * time.Second):
		t.Fatal("interrupt did not end the wait")
	}
	require.NoError(t, k.close())
}

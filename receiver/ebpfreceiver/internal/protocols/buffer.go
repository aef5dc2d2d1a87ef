package protocols

// Buffer holds the not yet parsed bytes of one direction of a connection.
// It is bounded: past Max bytes, or after a gap, its content is dropped and
// Lost is set, so the parser resynchronises on the next message start.
type Buffer struct {
	b []byte
	// Lost: bytes are missing before the buffer's content (a gap, an
	// overflow, or a connection caught mid-stream): the content may not
	// begin on a message boundary.
	Lost bool
	// StartNs is the time of the chunk that brought the buffer's first
	// byte (or of the last chunk, for bytes left after a message).
	StartNs int64
	lastNs  int64
	// Max bounds the buffered bytes (DefaultMax when zero).
	Max int
}

// DefaultMax is Buffer.Max's default.
const DefaultMax = 64 << 10

// Append adds a chunk that arrived at ts.
func (b *Buffer) Append(p []byte, ts int64) {
	max := b.Max
	if max <= 0 {
		max = DefaultMax
	}
	if len(b.b) == 0 {
		b.StartNs = ts
	}
	b.lastNs = ts
	if len(b.b)+len(p) > max {
		b.b = b.b[:0]
		b.Lost = true
		b.StartNs = ts
		if len(p) > max {
			return
		}
	}
	b.b = append(b.b, p...)
}

// Skip records n missing bytes: the content is dropped, Lost is set.
func (b *Buffer) Skip() {
	b.b = b.b[:0]
	b.Lost = true
}

// Bytes is the buffered content; valid until the next call.
func (b *Buffer) Bytes() []byte { return b.b }

// Len is the number of buffered bytes.
func (b *Buffer) Len() int { return len(b.b) }

// LastNs is the time of the last chunk appended.
func (b *Buffer) LastNs() int64 { return b.lastNs }

// Consume drops the first n bytes (a parsed message); what is left is
// dated by the last chunk.
func (b *Buffer) Consume(n int) {
	if n >= len(b.b) {
		b.b = b.b[:0]
		return
	}
	k := copy(b.b, b.b[n:])
	b.b = b.b[:k]
	b.StartNs = b.lastNs
}

// Reset empties the buffer and releases a large backing array.
func (b *Buffer) Reset() {
	if cap(b.b) > 4<<10 {
		b.b = nil
	}
	b.b = b.b[:0]
	b.Lost = false
}

// Discard drops from b the *n bytes still to be skipped (the rest of a
// message too large to keep), lowers *n by what it dropped, and returns
// what is left of b.
func Discard(n *int, b []byte) []byte {
	if *n <= 0 {
		return b
	}
	if *n >= len(b) {
		*n -= len(b)
		return nil
	}
	b = b[*n:]
	*n = 0
	return b
}

// Oldest returns the key and value of m's entry with the smallest start
// (the request to give up on when a map of pending requests is full);
// false when m is empty.
func Oldest[K comparable, V any](m map[K]V, start func(V) int64) (k K, v V, ok bool) {
	for mk, mv := range m {
		if !ok || start(mv) < start(v) {
			k, v, ok = mk, mv, true
		}
	}
	return k, v, ok
}

// Queue is a bounded FIFO of pending requests.
type Queue[T any] struct {
	items []T
	head  int
	// Max bounds the queue (64 when zero); Push beyond it drops the oldest
	// and returns it.
	Max int
}

// Push appends v; when the queue is full the oldest item is removed and
// returned with true.
func (q *Queue[T]) Push(v T) (old T, dropped bool) {
	max := q.Max
	if max <= 0 {
		max = 64
	}
	if q.Len() >= max {
		old, dropped = q.Pop()
	}
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.items = append(q.items, v)
	return old, dropped
}

// Len is the number of items.
func (q *Queue[T]) Len() int { return len(q.items) - q.head }

// Peek returns the oldest item.
func (q *Queue[T]) Peek() (v T, ok bool) {
	if q.Len() == 0 {
		return v, false
	}
	return q.items[q.head], true
}

// PeekPtr returns a pointer to the oldest item (nil when empty), valid
// until the next Push or Pop.
func (q *Queue[T]) PeekPtr() *T {
	if q.Len() == 0 {
		return nil
	}
	return &q.items[q.head]
}

// Pop removes and returns the oldest item.
func (q *Queue[T]) Pop() (v T, ok bool) {
	if q.Len() == 0 {
		return v, false
	}
	var zero T
	v = q.items[q.head]
	q.items[q.head] = zero
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 32 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v, true
}

// Clear removes every item.
func (q *Queue[T]) Clear() {
	clear(q.items)
	q.items, q.head = q.items[:0], 0
}

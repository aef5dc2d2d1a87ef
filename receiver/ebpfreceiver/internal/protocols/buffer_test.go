package protocols

import "testing"

// Discard skips the rest of a large message across chunks.
func TestDiscard(t *testing.T) {
	n := 5
	if got := Discard(&n, []byte("abc")); len(got) != 0 || n != 2 {
		t.Fatalf("got %q, %d left; want nothing, 2 left", got, n)
	}
	if got := string(Discard(&n, []byte("dexyz"))); got != "xyz" || n != 0 {
		t.Fatalf("got %q, %d left; want xyz, 0 left", got, n)
	}
	if got := string(Discard(&n, []byte("next"))); got != "next" {
		t.Fatalf("nothing to skip: got %q", got)
	}
}

// Oldest picks the entry that started first.
func TestOldest(t *testing.T) {
	m := map[int]int64{1: 30, 2: 10, 3: 20}
	k, v, ok := Oldest(m, func(v int64) int64 { return v })
	if !ok || k != 2 || v != 10 {
		t.Fatalf("got %d %d %v, want 2 10 true", k, v, ok)
	}
	if _, _, ok := Oldest(map[int]int64{}, func(v int64) int64 { return v }); ok {
		t.Fatal("empty map")
	}
}

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

package tablestoreexporter

import (
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// FuzzAppendJSON checks that attribute values of any content encode to
// valid JSON that decodes back to the (UTF-8-sanitised) input.
func FuzzAppendJSON(f *testing.F) {
	f.Add("plain", "k")
	f.Add("quote \" backslash \\ newline \n tab \t nul \x00", "a\"b")
	f.Add("bad utf8 \xff\xfe and \u2028", "\xc3")
	f.Fuzz(func(t *testing.T, s, k string) {
		m := pcommon.NewMap()
		m.PutStr(k, s)
		m.PutEmptySlice("list").AppendEmpty().SetStr(s)
		out := appendJSONMap(nil, m)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q", out)
		}
		var back map[string]any
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if k != "list" {
			if got := back[strings.ToValidUTF8(k, "\uFFFD")]; got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})
}

// TestPlain8: the word test agrees with a byte-by-byte one on every byte
// value in every lane.
func TestPlain8(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for lane := range 8 {
		for c := range 256 {
			w := []byte("abcdefgh")
			w[lane] = byte(c)
			if got := plain8(le64(string(w))); got != plain(byte(c)) {
				t.Fatalf("byte %#x in lane %d: plain8 %v", c, lane, got)
			}
		}
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	s := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 " +
		strings.Repeat("x", 400)
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], s)
	}
}

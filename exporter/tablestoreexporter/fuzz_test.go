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

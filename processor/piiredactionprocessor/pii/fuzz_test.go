package pii

import (
	"strings"
	"testing"
)

// FuzzRedact: the detector never panics, every match lies inside the
// string, and what it returns holds no detection any more (redacting twice
// changes nothing).
func FuzzRedact(f *testing.F) {
	for _, cases := range goldens {
		for _, g := range cases {
			f.Add(g.in)
		}
	}
	f.Add("a@b.co 4111111111111111 ::1 00:11:22:33:44:55 +14155552671")
	f.Fuzz(func(t *testing.T, s string) {
		ms := Find(s, All, nil)
		last := 0
		for _, m := range ms {
			if m.Start < last || m.End <= m.Start || m.End > len(s) {
				t.Fatalf("bad match %+v in %q (%v)", m, s, ms)
			}
			last = m.End
		}
		out, changed := Redact(s, All, nil)
		if changed != (len(ms) > 0) {
			t.Fatalf("changed=%v with %d matches", changed, len(ms))
		}
		// A second pass finds nothing new, except where a token now
		// borders text that used to be glued to the detected value.
		for _, m := range Find(out, All, nil) {
			if !strings.Contains(out[max(0, m.Start-2):m.Start], ">") && !strings.Contains(out[m.End:min(len(out), m.End+2)], "<") {
				t.Fatalf("second pass finds %q in %q (from %q)", out[m.Start:m.End], out, s)
			}
		}
		// Every detected value is gone: the output is the input with the
		// matched spans cut out and tokens put in.
		rest := out
		prev := 0
		for _, m := range ms {
			keep := s[prev:m.Start]
			if !strings.HasPrefix(rest, keep+m.Category.Token()) {
				t.Fatalf("output %q does not replace %+v of %q", out, m, s)
			}
			rest = rest[len(keep)+len(m.Category.Token()):]
			prev = m.End
		}
		if rest != s[prev:] {
			t.Fatalf("output tail %q, want %q", rest, s[prev:])
		}
	})
}

// FuzzValidators runs the single-category parsers at every offset.
func FuzzValidators(f *testing.F) {
	f.Add("4111 1111 1111 1111")
	f.Add("DE89 3704 0044 0532 0130 00")
	f.Add("2001:db8::1")
	f.Add("49-015420-323751-8")
	f.Fuzz(func(t *testing.T, s string) {
		for c := Category(0); c < NumCategories; c++ {
			for _, m := range Find(s, Of(c), nil) {
				if m.Category != c || m.End > len(s) {
					t.Fatalf("%s: %+v in %q", c.Name(), m, s)
				}
			}
		}
	})
}

package pii

import (
	"fmt"
	"strings"
	"testing"
)

type golden struct {
	in   string
	want string // "" = unchanged
}

// goldens holds, per category, values that must be redacted (with the
// expected output) and near misses that must stay.
var goldens = map[Category][]golden{
	Email: {
		{"mail john.doe@example.com now", "mail <REDACTED_EMAIL> now"},
		{"to=Jane_Roe+tag@mail.example.co.uk&x=1", "to=<REDACTED_EMAIL>&x=1"},
		{"email=john.doe%40example.com&next=1", "email=<REDACTED_EMAIL>&next=1"},
		{"<a@b.io>", "<<REDACTED_EMAIL>>"},
		{"user@localhost", ""},
		{"@example.com", ""},
		{"a@b.c", ""},
		{"git@github", ""},
		{"price 3@5.00", ""},
	},
	CreditCard: {
		{"card 4111 1111 1111 1111 exp 12/29", "card <REDACTED_CC_NUMBER> exp 12/29"},
		{"4111-1111-1111-1111", "<REDACTED_CC_NUMBER>"},
		{"cc=5500000000000004;", "cc=<REDACTED_CC_NUMBER>;"},
		{"amex 3782 822463 10005", "amex <REDACTED_CC_NUMBER>"},
		{"6011111111111117", "<REDACTED_CC_NUMBER>"},
		{"4111 1111 1111 1111 2024", "<REDACTED_CC_NUMBER> 2024"},
		{"card 4111 1111 1111 1112", ""}, // Luhn fails
		{"id 1234567812345670", ""},      // Luhn ok, no issuer starts with 1
		{"ts 1700000000123", ""},         // epoch millis
		{"41111111111111111111", ""},     // 20 digits
		{"4111-1111 1111-1111", ""},      // mixed separators: not one number
		{"order 4111111111111111x", ""},  // glued to a word
		{"v4111111111111111", ""},        // glued to a word
		{"5500 0000 0000 0005", ""},      // Luhn fails
		{"4111.1111.1111.1111", ""},      // dots are not card separators
		{"value 0.4111111111111111", ""}, // a decimal fraction
		{"34343434343434343", ""},        // Amex prefix, wrong length
	},
	IBAN: {
		{"iban DE89 3704 0044 0532 0130 00.", "iban <REDACTED_IBAN>."},
		{"DE89370400440532013000", "<REDACTED_IBAN>"},
		{"to GB82WEST12345698765432 ok", "to <REDACTED_IBAN> ok"},
		{"GB82 WEST 1234 5698 7654 32", "<REDACTED_IBAN>"},
		{"DE89 3704 0044 0532 0130 01", ""}, // checksum
		{"DE89370400440532013000123", ""},   // too long for DE
		{"XX89370400440532013000", ""},      // no such country
		{"GB82WEST1234569876543", ""},       // too short for GB
	},
	SSN: {
		{"ssn 123-45-6789", "ssn <REDACTED_SSN>"},
		{"ssn: 536 22 1234.", "ssn: <REDACTED_SSN>."},
		{"000-12-3456", ""},
		{"666-12-3456", ""},
		{"912-34-5678", ""},
		{"123-00-4567", ""},
		{"123-45-0000", ""},
		{"078-05-1120", ""},
		{"123-45-67890", ""},
		{"123-45-6789-1", ""},
		{"123456789", ""}, // bare: too ambiguous
	},
	IMEI: {
		{"imei 490154203237518", "imei <REDACTED_IMEI>"},
		{"49-015420-323751-8", "<REDACTED_IMEI>"},
		{"imeisv 35-209900-176148-23", "imeisv <REDACTED_IMEI>"},
		{"35209900-176148-1", "<REDACTED_IMEI>"},
		{"35209900-176148-2", ""}, // Luhn fails
		{"490154203237517", ""},   // Luhn fails
		{"49015420323751", ""},    // 14 digits
	},
	Phone: {
		{"call +1 415 555 2671", "call <REDACTED_PHONE_NUMBER>"},
		{"tel:+14155552671", "tel:<REDACTED_PHONE_NUMBER>"},
		{"+44 20 7946 0958", "<REDACTED_PHONE_NUMBER>"},
		{"+1 (415) 555-2671", "<REDACTED_PHONE_NUMBER>"},
		{"(415) 555-2671", "<REDACTED_PHONE_NUMBER>"},
		{"415-555-2671", "<REDACTED_PHONE_NUMBER>"},
		{"415.555.2671", "<REDACTED_PHONE_NUMBER>"},
		{"020 7946 0958", "<REDACTED_PHONE_NUMBER>"},
		{"06 12 34 56 78", "<REDACTED_PHONE_NUMBER>"},
		{"0044 20 7946 0958", "<REDACTED_PHONE_NUMBER>"},
		{"2024-01-15 10:30:00", ""},
		{"2024-01-15T10:30:00+01:00", ""},
		{"20240115103000", ""},
		{"1700000000", ""},
		{"123-456-7890", ""}, // area code cannot start with 1
		{"tz +0100", ""},
		{"1.5e+10", ""},
		{"+12", ""},
		{"05-10-2024", ""},
	},
	IPv4: {
		{"from 192.168.1.10:8080", "from <REDACTED_IPV4>:8080"},
		{"ip=10.0.0.1.", "ip=<REDACTED_IPV4>."},
		{"http://172.16.254.1/x", "http://<REDACTED_IPV4>/x"},
		{"10.0.0.256", ""},
		{"1.2.3.4.5", ""},
		{"v1.2.3.4", ""},
		{"1.2.3", ""},
		{"lib-1.2.3.4-rc1", ""},
		{"01.02.03.04", ""},
		{"version 2.10.1.3a", ""},
	},
	IPv6: {
		{"addr 2001:db8:85a3::8a2e:370:7334 up", "addr <REDACTED_IPV6> up"},
		{"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "<REDACTED_IPV6>"},
		{"[::1]:8080", "[<REDACTED_IPV6>]:8080"},
		{"fe80::1", "<REDACTED_IPV6>"},
		{"::ffff:192.0.2.128", "<REDACTED_IPV6>"},
		{"at 10:30:00", ""},
		{"dead::beef", ""},
		{"std::string", ""},
		{"1:2:3:4:5:6:7", ""},
		{"1::2::3", ""},
	},
	MACAddress: {
		{"mac 00:1A:2B:3C:4D:5E", "mac <REDACTED_MAC_ADDR>"},
		{"00-1a-2b-3c-4d-5e", "<REDACTED_MAC_ADDR>"},
		{"001a.2b3c.4d5e", "<REDACTED_MAC_ADDR>"},
		{"00:1A:2B:3C:4D", ""},
		{"00:1A:2B:3C:4D:5E:6F:70:81", ""},
		{"00:1A-2B:3C:4D:5E", ""},
		{"0g:1A:2B:3C:4D:5E", ""},
	},
	JWT: {
		{"token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "token=<REDACTED_JWT>"},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "<REDACTED_JWT>"},
		{"eyJub3QiOiJhIGp3dCJ9.eyJ4IjoxfQ.abc", ""}, // header without alg
		{"eyJhbGciOiJIUzI1NiJ9.aGVsbG8.abc", ""},    // payload is not JSON
		{"eyJhbGciOiJIUzI1NiJ9", ""},                // header only
	},
	Auth: {
		{"Authorization: Bearer abc123def456ghi", "Authorization: Bearer <REDACTED_AUTH_TOKEN>"},
		{"authorization: bearer mF_9.B5f-4.1JqM", "authorization: bearer <REDACTED_AUTH_TOKEN>"},
		{"Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic <REDACTED_AUTH_TOKEN>"},
		{"use Bearer authentication.", ""},
		{"Bearer token", ""},
		{"Basic aGVsbG8gd29ybGQ=", ""}, // "hello world": no colon
		{"Basic usage of this API", ""},
	},
	APIKey: {
		{"key AKIAIOSFODNN7EXAMPLE", "key <REDACTED_API_KEY>"},
		{"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "<REDACTED_API_KEY>"},
		{"GH=ghp_16C7e42F292c6912E7710c838347Ae178B4a;", "GH=<REDACTED_API_KEY>;"},
		{"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "<REDACTED_API_KEY>"},
		{"xoxb-1234567890-abcdefghij", "<REDACTED_API_KEY>"},
		{"AIzaSyA-1234567890abcdefghijklmnopqrstu", "<REDACTED_API_KEY>"},
		{"AKIAIOSFODNN7EXAMPL", ""},   // 19 characters
		{"AKIAIOSFODNN7EXAMPLEX", ""}, // 21 characters
		{"ghp_short", ""},
		{"sk_live_short", ""},
		{"task-runner sk-learn", ""},
	},
}

func TestGolden(t *testing.T) {
	for cat, cases := range goldens {
		for _, g := range cases {
			want := g.want
			if want == "" {
				want = g.in
			}
			var counts Counts
			got, _ := Redact(g.in, All, &counts)
			if got != want {
				t.Errorf("%s: Redact(%q) = %q, want %q", cat.Name(), g.in, got, want)
				continue
			}
			if g.want != "" && counts[cat] == 0 {
				t.Errorf("%s: Redact(%q) counted %v", cat.Name(), g.in, counts)
			}
			// Only this category on: same result for positives, and a
			// near miss must stay a miss on its own too.
			got, _ = Redact(g.in, Of(cat), nil)
			if g.want != "" && got != want {
				t.Errorf("%s alone: Redact(%q) = %q, want %q", cat.Name(), g.in, got, want)
			}
			if g.want == "" && got != g.in {
				t.Errorf("%s alone: Redact(%q) = %q, want unchanged", cat.Name(), g.in, got)
			}
		}
	}
}

func TestCategoryOff(t *testing.T) {
	in := "john@example.com 4111 1111 1111 1111"
	got, _ := Redact(in, All&^Of(Email), nil)
	if got != "john@example.com <REDACTED_CC_NUMBER>" {
		t.Fatal(got)
	}
	if got, changed := Redact(in, 0, nil); changed || got != in {
		t.Fatal(got)
	}
}

func TestLongestMatchWins(t *testing.T) {
	// A phone-looking prefix inside a card, an IPv4 inside an IPv6, a JWT
	// inside a bearer credential: one token, named after the longest.
	for in, want := range map[string]string{
		"::ffff:10.0.0.1":       "<REDACTED_IPV6>",
		"x 4111 1111 1111 1111": "x <REDACTED_CC_NUMBER>",
		"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c": "Bearer <REDACTED_AUTH_TOKEN>",
		"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.": "Bearer <REDACTED_JWT>",
		"+1 415 555 2671 192.168.14.7":                "<REDACTED_PHONE_NUMBER> <REDACTED_IPV4>",
		"mail 10.0.0.1@example.com":                   "mail <REDACTED_EMAIL>",
	} {
		if got, _ := Redact(in, All, nil); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoAllocWhenClean(t *testing.T) {
	in := strings.Repeat("GET /api/v1/users/{id} HTTP/1.1 status=200 took 12.5ms from frontend; ", 8)
	n := testing.AllocsPerRun(100, func() {
		if _, changed := Redact(in, All, nil); changed {
			t.Fatal("changed")
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per clean string", n)
	}
	dirty := in + " john@example.com"
	n = testing.AllocsPerRun(100, func() { Redact(dirty, All, nil) })
	if n > 1 {
		t.Fatalf("%v allocations per dirty string, want 1", n)
	}
}

func TestParseCategory(t *testing.T) {
	for _, n := range Names() {
		c, ok := ParseCategory(n)
		if !ok || c.Name() != n {
			t.Fatal(n)
		}
	}
	if _, ok := ParseCategory("nope"); ok {
		t.Fatal("nope")
	}
}

// TestTelemetryStays: everyday telemetry values that look a bit like PII
// come through unchanged.
func TestTelemetryStays(t *testing.T) {
	for _, s := range []string{
		"123e4567-e89b-12d3-a456-426614174000",
		"4bf92f3577b34da6a3ce929d0e0e4736",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e",
		"v0.165.0", "1.2.3", "go1.26.0", "otelcol-ebpf/0.1.0-dev",
		"2026-11-25T19:53:18.123456789Z", "2026-11-25 19:53:18,123", "Wed, 25 Nov 2026 19:53:18 GMT",
		"12.5ms", "1764100398", "1764100398123456789", "1048576",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36",
		"SELECT * FROM users WHERE id = 42 LIMIT 10",
		"shop-7d9f8b6c5d-x2k4q", "$1,234.56", "/var/lib/kubelet/pods/123e4567-e89b-12d3-a456-426614174000/volumes",
		"GET /api/v1/users/{id}", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"std::vector<int>::iterator", "a::b::c", "12:30:45.123", "ETag: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"",
		"0x7ffd5c3b2a10", "main.go:42", "10:30", "5-4-3-2-1", "+1", "(555)",
		"Accept: text/html,application/xhtml+xml;q=0.9", "bearer_token_name", "Basic",
	} {
		if got, changed := Redact(s, All, nil); changed {
			t.Errorf("Redact(%q) = %q, want unchanged", s, got)
		}
	}
}

// adversarial are long inputs that would make a naive scanner quadratic
// (every word start re-reading the rest of the string).
var adversarial = []string{
	strings.Repeat("1:", 50000),
	strings.Repeat("0111 ", 50000),
	strings.Repeat("eyJhbGciOiJub25lIn0-", 20000),
	strings.Repeat("eyJhbGciOiJub25lIn0.eyJhbGciOiJub25lIn0-", 10000),
	strings.Repeat("a.", 50000) + "@",
	"x@" + strings.Repeat("a.", 50000),
	strings.Repeat("+1 ", 50000),
	strings.Repeat("Bearer ", 50000),
	strings.Repeat("1.1.1.1 ", 20000),
	strings.Repeat("a@b.co ", 20000),
	strings.Repeat("ff:", 50000),
}

func TestAdversarialInputs(t *testing.T) {
	for _, s := range adversarial {
		out, _ := Redact(s, All, nil)
		if again, _ := Redact(out, All, nil); len(again) > len(out) {
			t.Fatalf("second pass grew the output")
		}
	}
}

func BenchmarkAdversarial(b *testing.B) {
	for _, s := range adversarial {
		b.Run(fmt.Sprintf("%.12q", s), func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				Redact(s, All, nil)
			}
		})
	}
}

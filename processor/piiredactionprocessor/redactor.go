package piiredactionprocessor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/pii"
)

// Redacted replaces whole values (always-redact keys, payload keys).
const Redacted = "REDACTED"

// Counters beyond the detector's categories.
const (
	ruleKey     = int(pii.NumCategories) + iota // always_redact_keys
	rulePayload                                 // mode full payload keys
	ruleHash                                    // hashed values
	numCounters
)

var counterNames = func() [numCounters]string {
	var n [numCounters]string
	for c := pii.Category(0); c < pii.NumCategories; c++ {
		n[c] = c.Name()
	}
	n[ruleKey] = "key_rule"
	n[rulePayload] = "payload"
	n[ruleHash] = "hash"
	return n
}()

// tally counts redactions while one batch is processed; keys collects
// the top-level keys that changed when summary is debug.
type tally struct {
	n       [numCounters]int64
	summary bool
	keys    []string
	count   int
}

func (t *tally) addCounts(c *pii.Counts) {
	for i, v := range c {
		t.n[i] += int64(v)
	}
}

// redactor applies the configuration to values. It is shared by the
// signals and safe for concurrent use.
type redactor struct {
	mode    string
	set     pii.Set
	keys    *keyRules
	summary bool
	hmacKey []byte
	macs    sync.Pool
}

func newRedactor(cfg *Config) (*redactor, error) {
	r := &redactor{
		mode:    cfg.Mode,
		set:     cfg.categorySet(),
		keys:    newKeyRules(cfg),
		summary: cfg.Summary == "debug",
	}
	if len(cfg.Hash.Keys) > 0 {
		k, err := cfg.Hash.secret()
		if err != nil {
			return nil, err
		}
		r.hmacKey = k
		r.macs.New = func() any { return hmac.New(sha256.New, r.hmacKey) }
	}
	return r, nil
}

func (r *redactor) hashValue(s string) string {
	m := r.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(s))
	var sum [sha256.Size]byte
	out := m.Sum(sum[:0])
	r.macs.Put(m)
	return HashPrefix + hex.EncodeToString(out)
}

// HashPrefix starts every hashed value.
const HashPrefix = "hmac-sha256:"

// str redacts detected PII in a string.
func (r *redactor) str(s string, t *tally) (string, bool) {
	if r.set == 0 || len(s) < 3 {
		return s, false
	}
	var c pii.Counts
	out, changed := pii.Redact(s, r.set, &c)
	if changed {
		t.addCounts(&c)
	}
	return out, changed
}

// attrs redacts a map of attributes; top-level changed keys go to the
// summary.
func (r *redactor) attrs(m pcommon.Map, t *tally) {
	for k, v := range m.All() {
		if r.value(k, v, t) && t.summary {
			t.count++
			if !slices.Contains(t.keys, k) {
				t.keys = append(t.keys, k)
			}
		}
	}
}

// value applies key's rules to v and reports whether v changed.
func (r *redactor) value(key string, v pcommon.Value, t *tally) bool {
	switch r.keys.action(key) {
	case actNever:
		return false
	case actHash:
		if r.hmacKey == nil || v.Type() == pcommon.ValueTypeEmpty || v.Type() == pcommon.ValueTypeStr && v.Str() == "" {
			return false
		}
		v.SetStr(r.hashValue(v.AsString()))
		t.n[ruleHash]++
		return true
	case actAlways:
		return r.replaceWhole(v, t, ruleKey)
	case actPayload:
		return r.replaceWhole(v, t, rulePayload)
	case actSQL:
		if v.Type() == pcommon.ValueTypeStr {
			s, changed := scrubSQL(v.Str())
			if changed {
				t.n[rulePayload]++
			}
			s2, changed2 := r.str(s, t)
			if changed || changed2 {
				v.SetStr(s2)
				return true
			}
			return false
		}
	case actURL:
		if v.Type() == pcommon.ValueTypeStr {
			s, changed := scrubURLQuery(v.Str())
			if changed {
				t.n[rulePayload]++
			}
			s2, changed2 := r.str(s, t)
			if changed || changed2 {
				v.SetStr(s2)
				return true
			}
			return false
		}
	}
	return r.scanValue(v, t)
}

func (r *redactor) replaceWhole(v pcommon.Value, t *tally, counter int) bool {
	if v.Type() == pcommon.ValueTypeEmpty || v.Type() == pcommon.ValueTypeStr && (v.Str() == "" || v.Str() == Redacted) {
		return false
	}
	v.SetStr(Redacted)
	t.n[counter]++
	return true
}

// scanValue detects PII in a value of any type (nested maps and slices
// are walked, their keys' rules applied).
func (r *redactor) scanValue(v pcommon.Value, t *tally) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s, ok := r.str(v.Str(), t); ok {
			v.SetStr(s)
			return true
		}
	case pcommon.ValueTypeMap:
		changed := false
		for k, e := range v.Map().All() {
			if r.value(k, e, t) {
				changed = true
			}
		}
		return changed
	case pcommon.ValueTypeSlice:
		changed := false
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			if r.scanValue(sl.At(i), t) {
				changed = true
			}
		}
		return changed
	case pcommon.ValueTypeInt:
		// Card numbers and IMEIs fit in an int64; smaller numbers are
		// not PII on their own.
		if n := v.Int(); mayBeCardOrIMEI(n) {
			if s, ok := r.str(strconv.FormatInt(n, 10), t); ok {
				v.SetStr(s)
				return true
			}
		}
	case pcommon.ValueTypeBytes:
		b := v.Bytes()
		if b.Len() > 0 {
			if s, ok := r.str(string(b.AsRaw()), t); ok {
				v.SetEmptyBytes().FromRaw([]byte(s))
				return true
			}
		}
	}
	return false
}

// mayBeCardOrIMEI: n has 15 digits (IMEI) or 13-19 digits starting with
// 2-6 (card issuers). Anything else (counts, sizes, nanosecond timestamps)
// is not formatted at all.
func mayBeCardOrIMEI(n int64) bool {
	if n < 0 {
		return false
	}
	digits, first := 0, n
	for first >= 10 {
		first /= 10
		digits++
	}
	digits++
	return digits == 15 || digits >= 13 && first >= 2 && first <= 6
}

// body redacts a log record body: in mode full a string or bytes body is
// payload and replaced whole; structured bodies are walked.
func (r *redactor) body(v pcommon.Value, t *tally) bool {
	if r.mode == ModeFull && (v.Type() == pcommon.ValueTypeStr || v.Type() == pcommon.ValueTypeBytes) {
		return r.replaceWhole(v, t, rulePayload)
	}
	return r.scanValue(v, t)
}

// putSummary records the redacted keys (never values) on a span or log
// record when summary is debug.
func putSummary(attrs pcommon.Map, t *tally) {
	if !t.summary || t.count == 0 {
		return
	}
	slices.Sort(t.keys)
	s := attrs.PutEmptySlice("redaction.redacted.keys")
	for _, k := range t.keys {
		s.AppendEmpty().SetStr(k)
	}
	attrs.PutInt("redaction.redacted.count", int64(t.count))
	t.keys = t.keys[:0]
	t.count = 0
}

// scrubSQL replaces the literals of SQL text (quoted strings and numbers
// that are not part of identifiers or placeholders) by `?`.
func scrubSQL(q string) (string, bool) {
	var b strings.Builder
	last := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			j := i + 1
			for j < len(q) {
				if q[j] == '\'' {
					if j+1 < len(q) && q[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				if q[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(q) {
				j = len(q) - 1
			}
			b.WriteString(q[last:i])
			b.WriteByte('?')
			last = j + 1
			i = j
		case c >= '0' && c <= '9':
			if i > 0 {
				p := q[i-1]
				if p == '_' || p == '$' || p == '@' || p == ':' || p == '.' || p >= 'a' && p <= 'z' || p >= 'A' && p <= 'Z' || p >= '0' && p <= '9' {
					continue
				}
			}
			j := i
			for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.' || q[j] == 'e' || q[j] == 'E' || q[j] == 'x' || q[j] == 'X' || q[j] >= 'a' && q[j] <= 'f' || q[j] >= 'A' && q[j] <= 'F') {
				j++
			}
			b.WriteString(q[last:i])
			b.WriteByte('?')
			last = j
			i = j - 1
		}
	}
	if last == 0 {
		return q, false
	}
	b.WriteString(q[last:])
	return b.String(), true
}

// scrubURLQuery replaces the query string of a URL (between '?' and '#')
// by REDACTED.
func scrubURLQuery(u string) (string, bool) {
	q := strings.IndexByte(u, '?')
	if q < 0 || q == len(u)-1 {
		return u, false
	}
	end := len(u)
	if h := strings.IndexByte(u[q:], '#'); h >= 0 {
		end = q + h
	}
	if end == q+1 {
		return u, false
	}
	return u[:q+1] + Redacted + u[end:], true
}

package tablestoreexporter

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// appendJSONMap appends m as a JSON object, keys in the map's order.
func appendJSONMap(b []byte, m pcommon.Map) []byte {
	b = append(b, '{')
	first := true
	m.Range(func(k string, v pcommon.Value) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONValue(b, v)
		return true
	})
	return append(b, '}')
}

// appendJSONValue appends v as JSON. Bytes become base64 strings, NaN and
// infinities become strings ("NaN", "+Inf", "-Inf"), empty values null.
func appendJSONValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendJSONFloat(b, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		return append(b, '"')
	case pcommon.ValueTypeMap:
		return appendJSONMap(b, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = append(b, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, s.At(i))
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Inf"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

const hexChars = "0123456789abcdef"

// appendJSONString appends s as a JSON string; each run of invalid UTF-8
// bytes becomes one U+FFFD (as strings.ToValidUTF8 does).
// plain8 reports whether none of the 8 bytes of w needs escaping in a JSON
// string or is non-ASCII: each test is exact for a whole word (zero-byte
// and less-than tricks on byte lanes; no carry reaches a lane that decides).
func plain8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	ctl := (w - 0x20*ones) &^ w & highs // some byte < 0x20 (or >= 0x80: caught below)
	q := w ^ '"'*ones
	quote := (q - ones) &^ q & highs
	bs := w ^ '\\'*ones
	back := (bs - ones) &^ bs & highs
	return (ctl | quote | back | w&highs) == 0
}

// le64 is the little-endian word of s's first 8 bytes (one load).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	bad := false // the previous byte was invalid
	for i := 0; i < len(s); {
		// Eight plain ASCII bytes at a time (headers and bodies are
		// mostly that): no control byte, quote, backslash or non-ASCII.
		if i+8 <= len(s) && plain8(le64(s[i:])) {
			bad = false
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			bad = false
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexChars[c>>4], hexChars[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			if !bad {
				b = append(b, "\ufffd"...)
			}
			bad = true
			i++
			start = i
			continue
		}
		bad = false
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexChars[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

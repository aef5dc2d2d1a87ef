package http1

import "strings"

// IDPlaceholder replaces identifier segments in Route.
const IDPlaceholder = "{id}"

// Route turns a URL path into a low-cardinality route template by
// replacing the path segments that look like identifiers with "{id}":
//
//   - numbers, and digit groups with separators ("42", "2024-01-15", "1.2.3")
//   - UUIDs, with or without dashes
//   - hex strings of 16 characters or more (hashes, object ids)
//   - mixed letters and digits that read like an id ("ab12cd34", "user12345":
//     8 characters or more, at least 2 digits, digits at least a quarter)
//   - long base64-ish tokens (20+ characters mixing upper case, lower case
//     and digits, or 32+ characters with letters and digits)
//   - e-mail addresses
//
// Version segments ("v1", "v2beta1", "v1.2") and words are kept. A segment
// with a short file extension keeps it: "/img/<hash>.png" → "/img/{id}.png".
// A query string, if present, is removed. When nothing changes the result
// is path itself (no allocation).
//
//	Route("/users/123/orders/9f86d081884c7d659a2feaa0c55ad015") == "/users/{id}/orders/{id}"
func Route(path string) string {
	var buf [128]byte
	b, changed := AppendRoute(buf[:0], path)
	if !changed {
		if i := strings.IndexAny(path, "?#"); i >= 0 {
			return path[:i]
		}
		return path
	}
	return string(b)
}

// AppendRoute appends Route(path) to dst and reports whether any segment
// was templated. It lets a caller build the route (or "METHOD route") in a
// reused buffer and intern it, so a repeated route costs no allocation.
func AppendRoute(dst []byte, path string) ([]byte, bool) {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	changed := false
	copied := 0 // path[:copied] is in dst
	for start := 0; start <= len(path); {
		end := strings.IndexByte(path[start:], '/')
		if end < 0 {
			end = len(path)
		} else {
			end += start
		}
		if ext, ok := templateSegment(path[start:end]); ok {
			dst = append(dst, path[copied:start]...)
			dst = append(dst, IDPlaceholder...)
			dst = append(dst, ext...)
			copied = end
			changed = true
		}
		start = end + 1
	}
	return append(dst, path[copied:]...), changed
}

// templateSegment reports whether seg (or its stem before a short file
// extension) is an identifier, and returns the extension to keep.
func templateSegment(seg string) (ext string, ok bool) {
	if len(seg) == 0 {
		return "", false
	}
	if e := fileExt(seg); e > 0 && isID(seg[:len(seg)-e]) {
		return seg[len(seg)-e:], true
	}
	return "", isID(seg)
}

// fileExt returns the length of a ".ext" suffix of 1–5 letters/digits
// starting with a letter, or 0.
func fileExt(seg string) int {
	i := strings.LastIndexByte(seg, '.')
	if i <= 0 || len(seg)-i-1 < 1 || len(seg)-i-1 > 5 {
		return 0
	}
	ext := seg[i+1:]
	if !isLetter(ext[0]) {
		return 0
	}
	for j := 1; j < len(ext); j++ {
		if !isLetter(ext[j]) && !isDigit(ext[j]) {
			return 0
		}
	}
	return len(seg) - i
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isHex(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func isID(s string) bool {
	n := len(s)
	if n == 0 || isVersion(s) {
		return false
	}
	var digits, lower, upper, hex, seps, b64, other, at int
	for i := 0; i < n; i++ {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
		case 'a' <= c && c <= 'z':
			lower++
		case 'A' <= c && c <= 'Z':
			upper++
		case c == '-' || c == '_' || c == '.' || c == ':' || c == ',':
			seps++
		case c == '+' || c == '=' || c == '~' || c == '%':
			b64++
		case c == '@':
			at++
		default:
			other++
		}
		if isHex(c) {
			hex++
		}
	}
	letters := lower + upper
	switch {
	case digits == n:
		return true
	case digits > 0 && digits+seps == n && isDigit(s[0]):
		return true // 2024-01-15, 1.2.3, 10:30
	case isUUID(s):
		return true
	case hex == n && n >= 16:
		return true
	case at == 1 && strings.IndexByte(s[strings.IndexByte(s, '@'):], '.') > 0 && other == 0:
		return true // e-mail address
	}
	if other > 0 || at > 0 {
		return false
	}
	if b64 == 0 && n >= 8 && digits >= 2 && letters > 0 && digits*4 >= n {
		return true
	}
	if n >= 20 && digits > 0 && lower > 0 && upper > 0 {
		return true
	}
	if n >= 32 && digits > 0 && letters > 0 {
		return true
	}
	return false
}

// isUUID: 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// isVersion matches v1, v2, v10, v1.2, v2_1, v1beta1, v2alpha, V3.
func isVersion(s string) bool {
	if len(s) < 2 || len(s) > 12 || (s[0] != 'v' && s[0] != 'V') || !isDigit(s[1]) {
		return false
	}
	i := 2
	for i < len(s) && (isDigit(s[i]) || ((s[i] == '.' || s[i] == '_') && i+1 < len(s) && isDigit(s[i+1]))) {
		i++
	}
	for i < len(s) && 'a' <= s[i] && s[i] <= 'z' {
		i++
	}
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i == len(s)
}

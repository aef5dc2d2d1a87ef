package http1

import (
	"bytes"
	"sort"
)

// methods are the request methods the parser recognises when it looks for a
// message start in the middle of a stream, longest first so that a suffix
// match prefers PROPPATCH to PATCH and UNLOCK to LOCK.
var methods = []string{
	"MKCALENDAR", "MKACTIVITY", "PROPPATCH", "UNSUBSCRIBE",
	"PROPFIND", "CHECKOUT", "SUBSCRIBE",
	"OPTIONS", "CONNECT",
	"DELETE", "SEARCH", "REPORT", "UNLOCK", "UNLINK", "REBIND", "UNBIND", "NOTIFY",
	"PATCH", "TRACE", "MKCOL", "MERGE", "PURGE", "QUERY",
	"POST", "HEAD", "COPY", "MOVE", "LOCK", "LINK", "BIND",
	"GET", "PUT", "ACL",
}

func init() {
	// Keep the longest-first order the suffix match relies on.
	sort.SliceStable(methods, func(i, j int) bool { return len(methods[i]) > len(methods[j]) })
}

// lookupMethod returns the interned name of a known method, or "".
func lookupMethod(b []byte) string {
	switch string(b) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "HEAD":
		return "HEAD"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "OPTIONS":
		return "OPTIONS"
	case "CONNECT":
		return "CONNECT"
	case "TRACE":
		return "TRACE"
	}
	if len(b) < 3 || len(b) > 11 {
		return ""
	}
	for _, m := range methods {
		if string(b) == m {
			return m
		}
	}
	return ""
}

// versions interns "1.0" ... "1.9".
var versions = [10]string{"1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9"}

const maxMethodLen = 20

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isMethodChar: methods are tokens; in practice upper-case letters, '-', '_'.
func isMethodChar(c byte) bool { return ('A' <= c && c <= 'Z') || c == '-' || c == '_' }

// isTargetChar: visible ASCII, and (leniently) any byte >= 0x80.
func isTargetChar(c byte) bool { return c > 0x20 && c != 0x7f }

// tchar per RFC 9110 token.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-32] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// trimEOL strips a trailing "\n" or "\r\n".
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// versionSuffix reports whether line ends with " HTTP/1.d" and returns the
// index of that space and the minor digit.
func versionSuffix(line []byte) (sp int, minor byte, ok bool) {
	n := len(line)
	if n < 9 {
		return 0, 0, false
	}
	s := line[n-9:]
	if s[0] != ' ' || string(s[1:8]) != "HTTP/1." || !isDigit(s[8]) {
		return 0, 0, false
	}
	return n - 9, s[8] - '0', true
}

// parseRequestLine validates "METHOD SP target SP HTTP/1.d" (line without
// EOL). With known set, the method must be a known one.
func parseRequestLine(line []byte, known bool) (mEnd, tStart, tEnd int, minor byte, ok bool) {
	lim := len(line)
	if lim > maxMethodLen+1 {
		lim = maxMethodLen + 1
	}
	mEnd = bytes.IndexByte(line[:lim], ' ')
	if mEnd <= 0 {
		return
	}
	for _, c := range line[:mEnd] {
		if !isMethodChar(c) {
			return
		}
	}
	if known && lookupMethod(line[:mEnd]) == "" {
		return
	}
	tEnd, minor, ok = versionSuffix(line)
	if !ok {
		return
	}
	ok = false
	tStart = mEnd + 1
	if tEnd <= tStart {
		return
	}
	for _, c := range line[tStart:tEnd] {
		if !isTargetChar(c) {
			return
		}
	}
	ok = true
	return
}

// parseStatusLine validates "HTTP/1.d SP NNN [SP reason]" (line without EOL).
func parseStatusLine(line []byte) (code int, reasonStart int, minor byte, ok bool) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || !isDigit(line[7]) || line[8] != ' ' ||
		!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) || line[9] == '0' {
		return
	}
	code = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	minor = line[7] - '0'
	reasonStart = len(line)
	if len(line) > 12 {
		if line[12] != ' ' {
			return
		}
		reasonStart = 13
		for _, c := range line[13:] {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				return
			}
		}
	}
	ok = true
	return
}

// findStart looks for a message start in one complete line (EOL included)
// found while resynchronising. It returns the offset where the start line
// begins and its kind, or -1. A request line must use a known method; its
// method may be preceded by other bytes on the line (the end of a previous
// body without a newline), and so may a status line.
func findStart(line []byte, kind Kind) (int, Kind) {
	line = trimEOL(line)
	best, bk := -1, KindUnknown
	if kind != KindRequest {
		from := 0
		for {
			i := bytes.Index(line[from:], []byte("HTTP/1."))
			if i < 0 {
				break
			}
			i += from
			if _, _, _, ok := parseStatusLine(line[i:]); ok {
				best, bk = i, KindResponse
				break
			}
			from = i + 1
		}
	}
	if kind != KindResponse {
		if sp2, _, ok := versionSuffix(line); ok {
			sp1 := bytes.LastIndexByte(line[:sp2], ' ')
			if sp1 >= 0 && sp1+1 < sp2 {
				pre := line[:sp1]
				for _, m := range methods {
					if bytes.HasSuffix(pre, []byte(m)) {
						off := sp1 - len(m)
						if _, _, _, _, ok := parseRequestLine(line[off:], true); ok && (best < 0 || off < best) {
							best, bk = off, KindRequest
						}
						break
					}
				}
			}
		}
	}
	return best, bk
}

// LooksLikeRequest reports whether b, the first bytes of a stream or chunk,
// start like an HTTP/1.x request: a known method, a space and a plausible
// request-target; when b holds the whole request line its version must be
// HTTP/1.x as well.
func LooksLikeRequest(b []byte) bool {
	lim := len(b)
	if lim > maxMethodLen+1 {
		lim = maxMethodLen + 1
	}
	sp := bytes.IndexByte(b[:lim], ' ')
	if sp <= 0 || lookupMethod(b[:sp]) == "" {
		return false
	}
	rest := b[sp+1:]
	if len(rest) == 0 || !isTargetChar(rest[0]) {
		return false
	}
	for i, c := range rest {
		if c == ' ' {
			v := rest[i+1:]
			const want = "HTTP/1."
			for j := 0; j < len(v) && j < len(want); j++ {
				if v[j] != want[j] {
					return false
				}
			}
			if len(v) > 7 && !isDigit(v[7]) {
				return false
			}
			if len(v) > 8 && v[8] != '\r' && v[8] != '\n' {
				return false
			}
			return true
		}
		if !isTargetChar(c) {
			return false
		}
	}
	return true
}

// LooksLikeResponse reports whether b starts like an HTTP/1.x status line
// ("HTTP/1.1 200").
func LooksLikeResponse(b []byte) bool {
	if len(b) < 12 || string(b[:7]) != "HTTP/1." || !isDigit(b[7]) || b[8] != ' ' ||
		b[9] < '1' || b[9] > '9' || !isDigit(b[10]) || !isDigit(b[11]) {
		return false
	}
	return len(b) == 12 || b[12] == ' ' || b[12] == '\r' || b[12] == '\n'
}

// Sniff classifies the first bytes of a stream. It returns KindRequest or
// KindResponse when b starts like one (see LooksLikeRequest and
// LooksLikeResponse). Otherwise it returns KindUnknown, and more reports
// whether b is too short to tell but could still be the beginning of a
// message start.
func Sniff(b []byte) (k Kind, more bool) {
	if LooksLikeRequest(b) {
		return KindRequest, false
	}
	if LooksLikeResponse(b) {
		return KindResponse, false
	}
	if len(b) >= 12 {
		return KindUnknown, false
	}
	// Prefix of "HTTP/1.d NNN"?
	const pat = "HTTP/1.d nnn"
	resp := true
	for i, c := range b {
		switch pat[i] {
		case 'd', 'n':
			if !isDigit(c) {
				resp = false
			}
		default:
			if c != pat[i] {
				resp = false
			}
		}
		if !resp {
			break
		}
	}
	if resp {
		return KindUnknown, true
	}
	// Prefix of "METHOD " or exactly "METHOD "?
	if sp := bytes.IndexByte(b, ' '); sp >= 0 {
		return KindUnknown, sp == len(b)-1 && lookupMethod(b[:sp]) != ""
	}
	for _, m := range methods {
		if len(b) <= len(m) && string(b) == m[:len(b)] {
			return KindUnknown, true
		}
	}
	return KindUnknown, false
}

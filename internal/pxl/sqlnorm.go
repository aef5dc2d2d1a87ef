package pxl

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// normalizeSQL replaces literals (quoted strings and numbers) of a query by
// placeholders and returns Pixie's JSON {"query","params","error"}. pg
// selects $1, $2, … placeholders, otherwise MySQL's "?".
func normalizeSQL(q string, pg bool) string {
	var sb strings.Builder
	params := []string{}
	ph := func() { // after the literal was appended to params
		if pg {
			sb.WriteString("$" + strconv.Itoa(len(params)))
		} else {
			sb.WriteByte('?')
		}
	}
	errMsg := ""
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || (c == '"' && !pg):
			j := i + 1
			var lit strings.Builder
			closed := false
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						lit.WriteByte(c)
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				if q[j] == '\\' && !pg && j+1 < len(q) {
					lit.WriteByte(q[j+1])
					j += 2
					continue
				}
				lit.WriteByte(q[j])
				j++
			}
			if !closed {
				errMsg = "unterminated string literal"
				sb.WriteString(q[i:])
				i = len(q)
				continue
			}
			params = append(params, lit.String())
			ph()
			i = j
		case (c >= '0' && c <= '9') || (c == '.' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9'):
			if i > 0 && (isIdentByte(q[i-1]) || q[i-1] == '$') {
				sb.WriteByte(c) // part of an identifier or a placeholder
				i++
				continue
			}
			j := i
			for j < len(q) && ((q[j] >= '0' && q[j] <= '9') || q[j] == '.' || q[j] == 'e' || q[j] == 'E' ||
				((q[j] == '+' || q[j] == '-') && (q[j-1] == 'e' || q[j-1] == 'E'))) {
				j++
			}
			params = append(params, q[i:j])
			ph()
			i = j
		case isIdentByte(c):
			j := i
			for j < len(q) && isIdentByte(q[j]) {
				j++
			}
			sb.WriteString(q[i:j])
			i = j
		default:
			sb.WriteByte(c)
			i++
		}
	}
	b, _ := json.Marshal(map[string]any{"query": sb.String(), "params": params, "error": errMsg})
	return string(b)
}

// uriParse returns the parts of a URL as JSON (scheme, host, port, path,
// query, fragment), or {"error": ...}.
func uriParse(s string) string {
	u, err := url.Parse(s)
	var m map[string]string
	if err != nil {
		m = map[string]string{"error": err.Error()}
	} else {
		m = map[string]string{"scheme": u.Scheme, "host": u.Hostname(), "port": u.Port(), "path": u.Path,
			"query": u.RawQuery, "fragment": u.Fragment}
		for k, v := range m {
			if v == "" {
				delete(m, k)
			}
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// pathTemplate turns a request path into an endpoint template: the query
// string is dropped and segments that look like IDs (numbers, UUIDs, long
// hex or mixed letter-digit tokens) become "*": /users/42/orders?x=1 →
// /users/*/orders.
func pathTemplate(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if looksLikeID(s) {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func looksLikeID(s string) bool {
	if s == "" {
		return false
	}
	digits, letters, hex := 0, 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
			letters++
		case (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z'):
			letters++
			hex = false
		default:
			if c != '-' && c != '_' {
				return false
			}
			hex = false
		}
	}
	switch {
	case digits == len(s):
		return true
	case uuidRe.MatchString(s):
		return true
	case hex && len(s) >= 8 && digits > 0:
		return true
	case len(s) >= 16 && digits > 0 && letters > 0:
		return true
	}
	return false
}

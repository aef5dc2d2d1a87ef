package protocols

import "strings"

// NormalizeSQL replaces the literals of a query (quoted strings, numbers)
// by "?", keeps placeholders ($1, ?, :name) and identifiers, drops comments
// and collapses white space. With dq, double-quoted text is a string literal
// (MySQL) rather than an identifier (PostgreSQL). The result is capped at
// MaxText bytes.
func NormalizeSQL(q string, dq bool) string {
	var sb strings.Builder
	sb.Grow(min(len(q), MaxText))
	space := false
	put := func(s string) {
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteString(s)
	}
	for i := 0; i < len(q) && sb.Len() < MaxText; {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			space = true
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-', c == '#' && dq:
			for i < len(q) && q[i] != '\n' {
				i++
			}
			space = true
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				i = len(q)
			} else {
				i += j + 4
			}
			space = true
		case c == '\'' || c == '"' && dq:
			i = skipQuoted(q, i, dq)
			put("?")
		case c == '"' || c == '`':
			j := strings.IndexByte(q[i+1:], c)
			end := len(q)
			if j >= 0 {
				end = i + j + 2
			}
			put(q[i:end])
			i = end
		case c == '$' && i+1 < len(q) && isDigit(q[i+1]):
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			put(q[i:j])
			i = j
		case c == '$' && i+1 < len(q) && (q[i+1] == '$' || isIdentStart(q[i+1])):
			// PostgreSQL dollar quoting: $$...$$ or $tag$...$tag$.
			j := strings.IndexByte(q[i+1:], '$')
			if j < 0 {
				put(q[i:])
				i = len(q)
				break
			}
			tag := q[i : i+j+2]
			if !validTag(tag) {
				put("$")
				i++
				break
			}
			k := strings.Index(q[i+len(tag):], tag)
			if k < 0 {
				i = len(q)
			} else {
				i += len(tag) + k + len(tag)
			}
			put("?")
		case isDigit(c) || c == '.' && i+1 < len(q) && isDigit(q[i+1]):
			j := i
			if c == '0' && i+1 < len(q) && (q[i+1] == 'x' || q[i+1] == 'X') {
				j += 2
				for j < len(q) && isHexDigit(q[j]) {
					j++
				}
			} else {
				for j < len(q) && (isDigit(q[j]) || q[j] == '.') {
					j++
				}
				if j < len(q) && (q[j] == 'e' || q[j] == 'E') {
					k := j + 1
					if k < len(q) && (q[k] == '+' || q[k] == '-') {
						k++
					}
					if k < len(q) && isDigit(q[k]) {
						j = k
						for j < len(q) && isDigit(q[j]) {
							j++
						}
					}
				}
			}
			put("?")
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(q) && isIdentPart(q[j]) {
				j++
			}
			put(q[i:j])
			i = j
		default:
			put(q[i : i+1])
			i++
		}
	}
	return Cap(sb.String(), MaxText)
}

func validTag(tag string) bool {
	for i := 1; i < len(tag)-1; i++ {
		if !isIdentPart(tag[i]) {
			return false
		}
	}
	return true
}

// skipQuoted returns the index after the literal starting at q[i].
func skipQuoted(q string, i int, backslash bool) int {
	quote := q[i]
	j := i + 1
	for j < len(q) {
		switch {
		case q[j] == '\\' && backslash:
			j += 2
			continue
		case q[j] == quote:
			if j+1 < len(q) && q[j+1] == quote {
				j += 2
				continue
			}
			return j + 1
		}
		j++
	}
	return len(q)
}

func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isHexDigit(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// SQLOperation returns the first keyword of a query, upper case ("SELECT"),
// skipping comments and parentheses; "" when there is none.
func SQLOperation(q string) string {
	w, _ := nextWord(q)
	return strings.ToUpper(w)
}

// SQLSummary returns a low-cardinality summary of a query for span names
// and db.query.summary: the operation and the table it works on when easy
// to find ("SELECT users", "INSERT orders", "UPDATE accounts"), else the
// operation alone ("BEGIN"); "" for an empty query.
func SQLSummary(q string) string {
	op, rest := nextWord(q)
	if op == "" {
		return ""
	}
	op = strings.ToUpper(op)
	var after string // keyword after which the table name comes
	switch op {
	case "SELECT", "DELETE":
		after = "FROM"
	case "INSERT", "REPLACE":
		after = "INTO"
	case "UPDATE":
		if t, _ := nextWord(rest); t != "" {
			return op + " " + t
		}
		return op
	case "WITH":
		// WITH x AS (...) SELECT ... : summarise the main statement.
		return op
	default:
		// Two-word operations (CREATE TABLE, ALTER INDEX...) keep both.
		if w, _ := nextWord(rest); op == "CREATE" || op == "DROP" || op == "ALTER" || op == "TRUNCATE" {
			if w != "" {
				return op + " " + strings.ToUpper(w)
			}
		}
		return op
	}
	for {
		var w string
		w, rest = nextWord(rest)
		if w == "" {
			return op
		}
		if strings.EqualFold(w, after) {
			if t, _ := nextWord(rest); t != "" {
				return op + " " + t
			}
			return op
		}
	}
}

// nextWord returns the next identifier-like word (letters, digits, _, $,
// dots, quotes stripped) of q and the rest, skipping anything else.
func nextWord(q string) (string, string) {
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			for i < len(q) && q[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return "", ""
			}
			i += j + 4
			continue
		case c == '\'':
			i = skipQuoted(q, i, false)
			continue
		case isIdentStart(c) || c == '"' || c == '`':
			j := i
			for j < len(q) && (isIdentPart(q[j]) || q[j] == '.' || q[j] == '"' || q[j] == '`') {
				j++
			}
			w := strings.Trim(q[i:j], "\"`")
			if len(w) > 64 {
				w = w[:64]
			}
			return Cap(w, 64), q[j:]
		}
		i++
	}
	return "", ""
}

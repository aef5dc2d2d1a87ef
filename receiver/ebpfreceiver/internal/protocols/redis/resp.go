package redis

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/protocols"
)

const (
	maxLine   = 64 << 10 // longest header or simple-string line kept
	maxLeaves = 16       // leaf values kept per message
	maxLeaf   = 64       // bytes kept per leaf value
	maxDepth  = 64
)

// value is what a reader keeps of one RESP message: its type, the first
// leaf values (strings, numbers) and whether it is an error.
type value struct {
	typ    byte // '+', '-', ':', '$', '*', '%', '>', ... or 'i' for an inline command
	leaves []string
	nulls  int
	size   int // total leaves seen
	isErr  bool
	agg    bool // an aggregate (array, map, set, push)
}

// reader is a streaming RESP2/RESP3 parser: it walks values as bytes
// arrive, keeping only a line buffer and the first leaves, so replies of
// any size pass in bounded memory.
type reader struct {
	line     []byte
	stack    []int // elements left in each open aggregate
	bulkLeft int   // bytes of a bulk string still to read (CRLF included)
	bulkLen  int   // its length
	bulkBuf  []byte
	attr     bool // an attribute precedes the top-level value
	v        value
	started  bool
	bad      bool // not RESP: the caller resynchronises
}

func (r *reader) reset() {
	r.line = r.line[:0]
	r.stack = r.stack[:0]
	r.bulkLeft = 0
	r.attr = false
	r.started = false
	r.v = value{leaves: r.v.leaves[:0]}
	r.bad = false
}

// feed parses b; it returns the bytes used and whether a message ended
// there (then the caller handles r.v and calls next).
func (r *reader) feed(b []byte) (used int, done bool) {
	for used < len(b) {
		if r.bulkLeft > 0 {
			k := min(r.bulkLeft, len(b)-used)
			// Keep the first maxLeaf data bytes (not the CRLF).
			if pos := r.bulkLen + 2 - r.bulkLeft; pos < min(r.bulkLen, maxLeaf) {
				end := min(r.bulkLen, maxLeaf) - pos
				r.bulkBuf = append(r.bulkBuf, b[used:used+min(k, end)]...)
			}
			r.bulkLeft -= k
			used += k
			if r.bulkLeft == 0 {
				r.leafBytes(r.bulkBuf)
				if r.elementDone() {
					return used, true
				}
			}
			continue
		}
		i := bytes.IndexByte(b[used:], '\n')
		var line []byte
		if i < 0 {
			if len(r.line)+len(b)-used > maxLine {
				r.bad = true
				return len(b), false
			}
			r.line = append(r.line, b[used:]...)
			return len(b), false
		}
		if len(r.line) > 0 {
			r.line = append(r.line, b[used:used+i+1]...)
			line = r.line
		} else {
			line = b[used : used+i+1]
		}
		used += i + 1
		d := r.header(line)
		r.line = r.line[:0]
		if r.bad {
			return used, false
		}
		if d {
			return used, true
		}
	}
	return used, false
}

func (r *reader) leaf(s string) { r.leafN(s, maxLeaf) }

func (r *reader) leafN(s string, n int) {
	r.v.size++
	if len(r.v.leaves) < maxLeaves {
		r.v.leaves = append(r.v.leaves, protocols.Cap(s, n))
	}
}

// leafBytes is leaf for bytes: only kept leaves are converted to strings.
func (r *reader) leafBytes(b []byte) {
	if len(r.v.leaves) >= maxLeaves {
		r.v.size++
		return
	}
	r.leaf(string(b))
}

// header handles one CRLF-terminated line; it reports the end of a message.
func (r *reader) header(line []byte) bool {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		if !r.started {
			return false // stray blank line between inline commands
		}
		r.bad = true
		return false
	}
	t := line[0]
	rest := line[1:]
	if !r.started {
		r.started = true
		r.v.typ = t
	}
	switch t {
	case '+', ':', ',', '#', '(', '_':
		if t == '_' {
			r.v.nulls++
		}
		r.leafBytes(rest)
		return r.elementDone()
	case '-':
		r.v.isErr = true
		r.leafN(string(rest), 512)
		return r.elementDone()
	case '$', '!', '=':
		n, err := strconv.Atoi(string(rest))
		if err != nil || n < -1 {
			r.bad = true
			return false
		}
		if n > 512<<20 {
			r.bad = true // larger than Redis allows
			return false
		}
		if t == '!' {
			r.v.isErr = true
		}
		if n == -1 {
			r.v.nulls++
			r.leaf("<NULL>")
			return r.elementDone()
		}
		r.bulkLeft = n + 2
		r.bulkLen = n
		r.bulkBuf = r.bulkBuf[:0]
		return false
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(string(rest))
		if err != nil || n < -1 {
			r.bad = true
			return false
		}
		if len(r.stack) == 0 && r.v.size == 0 {
			r.v.agg = true
		}
		if t == '%' || t == '|' {
			n *= 2
		}
		if t == '|' && len(r.stack) == 0 {
			r.attr = true
		}
		if n <= 0 {
			if n < 0 {
				r.v.nulls++
			}
			return r.elementDone()
		}
		if len(r.stack) >= maxDepth {
			r.bad = true
			return false
		}
		r.stack = append(r.stack, n)
		return false
	}
	if len(r.stack) == 0 && isLetter(t) {
		// An inline command: words separated by blanks.
		r.v.typ = 'i'
		for _, w := range strings.Fields(string(line)) {
			r.leaf(w)
		}
		return true
	}
	r.bad = true
	return false
}

// elementDone counts a finished element; it reports the end of the
// top-level value.
func (r *reader) elementDone() bool {
	for len(r.stack) > 0 {
		top := len(r.stack) - 1
		r.stack[top]--
		if r.stack[top] > 0 {
			return false
		}
		r.stack = r.stack[:top]
	}
	if r.attr {
		// The attribute map is over; the value it annotates follows.
		r.attr = false
		r.v = value{leaves: r.v.leaves[:0]}
		r.started = false
		return false
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// render formats a reply as Pixie shows it: the scalar, or a JSON-like
// list of the first leaves.
func (v *value) render() string {
	if !v.agg {
		if len(v.leaves) == 0 {
			return ""
		}
		return v.leaves[0]
	}
	var sb strings.Builder
	sb.WriteByte('[')
	for i, l := range v.leaves {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Quote(l))
	}
	if v.size > len(v.leaves) {
		sb.WriteString(", ...")
	}
	sb.WriteByte(']')
	return protocols.Cap(sb.String(), protocols.MaxText)
}

package pii

import "strings"

// Match is one detection: s[Start:End] is of Category.
type Match struct {
	Start, End int
	Category   Category
}

const (
	cDigit uint8 = 1 << iota
	cUpper
	cLower
	cHex    // 0-9 a-f A-F
	cLocal  // e-mail local part: alnum . _ % + -
	cB64URL // alnum - _
	cTok68  // RFC 7235 token68: alnum - . _ ~ + /
	cAlnum  = cDigit | cUpper | cLower
)

var class [256]uint8

func init() {
	for c := 0; c < 256; c++ {
		var k uint8
		switch {
		case c >= '0' && c <= '9':
			k = cDigit | cHex
		case c >= 'A' && c <= 'Z':
			k = cUpper
			if c <= 'F' {
				k |= cHex
			}
		case c >= 'a' && c <= 'z':
			k = cLower
			if c <= 'f' {
				k |= cHex
			}
		}
		if k&cAlnum != 0 {
			k |= cLocal | cB64URL | cTok68
		}
		switch c {
		case '.', '_', '%', '+', '-':
			k |= cLocal
		}
		switch c {
		case '-', '_':
			k |= cB64URL
		}
		switch c {
		case '-', '.', '_', '~', '+', '/':
			k |= cTok68
		}
		class[c] = k
	}
	for c := 0; c < 256; c++ {
		startable[c] = class[c]&(cDigit|cUpper|cHex) != 0
	}
	for _, c := range "ebsrgx" {
		startable[c] = true
	}
}

func isDigit(c byte) bool { return class[c]&cDigit != 0 }
func isAlnum(c byte) bool { return class[c]&cAlnum != 0 }
func isHex(c byte) bool   { return class[c]&cHex != 0 }
func isUpper(c byte) bool { return class[c]&cUpper != 0 }

const (
	numericSet = 1<<CreditCard | 1<<SSN | 1<<IMEI | 1<<Phone | 1<<IPv4
	hexSet     = 1<<IPv6 | 1<<MACAddress
)

// Find appends to dst the detections of the categories in set, overlapping
// detections merged (the merged span is named after the longest one), in
// order, and returns the extended slice.
func Find(s string, set Set, dst []Match) []Match {
	sc := scanner{s: s, set: set}
	sc.scan()
	return append(dst, sc.resolve()...)
}

// Redact returns s with every detection of the categories in set replaced
// by its category's token, adding the number of replacements to counts
// (which may be nil). It allocates only when something was replaced.
func Redact(s string, set Set, counts *Counts) (string, bool) {
	sc := scanner{s: s, set: set}
	sc.scan()
	ms := sc.resolve()
	if len(ms) == 0 {
		return s, false
	}
	return Replace(s, ms, counts), true
}

// Replace builds s with every match (as returned by Find) replaced by its
// token, adding to counts (which may be nil).
func Replace(s string, ms []Match, counts *Counts) string {
	size := len(s)
	for _, m := range ms {
		size += len(m.Category.Token()) - (m.End - m.Start)
	}
	var b strings.Builder
	b.Grow(size)
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m.Start])
		b.WriteString(m.Category.Token())
		last = m.End
		if counts != nil {
			counts[m.Category]++
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// Contains reports whether s holds a detection of a category in set.
func Contains(s string, set Set) bool {
	sc := scanner{s: s, set: set}
	sc.scan()
	return sc.n > 0 || len(sc.more) > 0
}

// scanner keeps its first matches in an array of its own so that a scan
// that finds little does not allocate.
type scanner struct {
	s    string
	set  Set
	n    int
	arr  [16]Match
	more []Match // all matches once arr overflowed

	runStart, runEnd int // the last base64url run measured (JWT)
}

func (sc *scanner) add(start, end int, c Category) {
	if end <= start {
		return
	}
	m := Match{Start: start, End: end, Category: c}
	if sc.more == nil && sc.n < len(sc.arr) {
		sc.arr[sc.n] = m
		sc.n++
		return
	}
	if sc.more == nil {
		sc.more = append(make([]Match, 0, 2*len(sc.arr)), sc.arr[:]...)
	}
	sc.more = append(sc.more, m)
}

func (sc *scanner) scan() {
	s, set := sc.s, sc.set
	for i := 0; i < len(s); {
		c := s[i]
		if class[c]&cAlnum != 0 {
			if startable[c] {
				sc.wordStart(i, c)
			}
			// skip the rest of the word
			for i++; i < len(s) && class[s[i]]&cAlnum != 0; i++ {
			}
			continue
		}
		switch c {
		case '@':
			if set.Has(Email) {
				sc.email(i, 1)
			}
		case '%':
			if set.Has(Email) && i+2 < len(s) && s[i+1] == '4' && s[i+2] == '0' {
				sc.email(i, 3)
			}
		case '+':
			if set.Has(Phone) {
				sc.phoneE164(i)
			}
		case '(':
			if set.Has(Phone) {
				sc.phoneParen(i)
			}
		case ':':
			if set.Has(IPv6) && i+1 < len(s) && s[i+1] == ':' && (i == 0 || !isAlnum(s[i-1]) && s[i-1] != ':') {
				if e, ok := parseIPv6(s, i); ok {
					sc.add(i, e, IPv6)
				}
			}
		}
		i++
	}
}

// startable marks the characters a detection can begin with at a word
// start: digits, hex letters, upper case (IBAN country codes, AWS keys,
// "Bearer") and the first letters of eyJ..., bearer/basic and the API key
// prefixes. Other words are skipped whole.
// Filled by init, after class.
var startable [256]bool

func (sc *scanner) wordStart(i int, c byte) {
	s, set := sc.s, sc.set
	if isDigit(c) {
		if set&numericSet != 0 && numBoundaryBefore(s, i) {
			sc.numeric(i)
		}
	} else {
		switch c {
		case 'e':
			if set.Has(JWT) {
				sc.jwt(i)
			}
		case 'B', 'b':
			if set.Has(Auth) {
				sc.auth(i)
			}
		}
		if set.Has(APIKey) {
			switch c {
			case 'A', 's', 'r', 'g', 'x':
				sc.apiKey(i)
			}
		}
		if set.Has(IBAN) && isUpper(c) {
			sc.iban(i)
		}
	}
	if set&hexSet != 0 && isHex(c) && hexBoundaryBefore(s, i) {
		if set.Has(IPv6) {
			if e, ok := parseIPv6(s, i); ok {
				sc.add(i, e, IPv6)
			}
		}
		if set.Has(MACAddress) {
			if e, ok := parseMAC(s, i); ok {
				sc.add(i, e, MACAddress)
			}
		}
	}
}

// resolve sorts the new matches by start and merges overlapping ones; a
// merged span takes the category of its longest member (ties: the lower
// category).
func (sc *scanner) resolve() []Match {
	ms := sc.more
	if ms == nil {
		ms = sc.arr[:sc.n]
	}
	if len(ms) <= 1 {
		return ms
	}
	// Insertion sort: the scan appends in almost ascending order.
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && less(ms[j], ms[j-1]); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	out := 0
	cur := ms[0]
	best := ms[0]
	for _, m := range ms[1:] {
		if m.Start < cur.End {
			if m.End > cur.End {
				cur.End = m.End
			}
			if better(m, best) {
				best = m
			}
			continue
		}
		cur.Category = best.Category
		ms[out] = cur
		out++
		cur, best = m, m
	}
	cur.Category = best.Category
	ms[out] = cur
	out++
	return ms[:out]
}

func less(a, b Match) bool {
	if a.Start != b.Start {
		return a.Start < b.Start
	}
	return a.End > b.End
}

func better(a, b Match) bool {
	la, lb := a.End-a.Start, b.End-b.Start
	if la != lb {
		return la > lb
	}
	return a.Category < b.Category
}

// hexBoundaryBefore: an IPv6 or MAC address may start at i (not inside a
// longer colon, dot or dash separated run of hex groups).
func hexBoundaryBefore(s string, i int) bool {
	if i < 2 {
		return true
	}
	switch s[i-1] {
	case ':':
		return !isHex(s[i-2]) && s[i-2] != ':'
	case '.', '-':
		return !isAlnum(s[i-2])
	case '_':
		return false
	}
	return true
}

// numBoundaryBefore: a number may start at i (not inside a word, a dotted
// number or a dashed token).
func numBoundaryBefore(s string, i int) bool {
	if i == 0 {
		return true
	}
	p := s[i-1]
	if isAlnum(p) || p == '_' {
		return false
	}
	if p == '.' && i >= 2 && isDigit(s[i-2]) {
		return false
	}
	return true
}

// numBoundaryAfter: a number may end at j.
func numBoundaryAfter(s string, j int) bool {
	if j >= len(s) {
		return true
	}
	c := s[j]
	if isAlnum(c) || c == '_' {
		return false
	}
	if (c == '.' || c == ',') && j+1 < len(s) && isDigit(s[j+1]) {
		return false
	}
	return true
}

func digitRun(s string, i int) int {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j - i
}

func (sc *scanner) numeric(i int) {
	s, set := sc.s, sc.set
	r := digitRun(s, i)
	if set.Has(IPv4) && r <= 3 {
		if e, ok := parseIPv4(s, i); ok && ipv4Boundary(s, i, e) {
			sc.add(i, e, IPv4)
		}
	}
	if set.Has(CreditCard) {
		if e := parseCard(s, i); e > 0 {
			sc.add(i, e, CreditCard)
		}
	}
	if set.Has(IMEI) {
		if e := parseIMEI(s, i, r); e > 0 {
			sc.add(i, e, IMEI)
		}
	}
	if set.Has(SSN) && r == 3 {
		if e := parseSSN(s, i); e > 0 {
			sc.add(i, e, SSN)
		}
	}
	if set.Has(Phone) {
		if e := parsePhoneNational(s, i, r); e > 0 {
			sc.add(i, e, Phone)
		}
	}
}

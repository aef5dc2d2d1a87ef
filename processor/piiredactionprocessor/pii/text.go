package pii

// email handles an '@' (n == 1) or "%40" (n == 3) at a: the local part is
// read backwards (at most 64 characters), the domain forwards (labels of
// letters, digits and dashes, at least two, the last one 2+ letters).
func (sc *scanner) email(a, n int) {
	s := sc.s
	k := a
	for k > 0 && a-k < 64 && class[s[k-1]]&cLocal != 0 {
		k--
	}
	for k < a && s[k] == '.' {
		k++
	}
	if k == a || s[a-1] == '.' {
		return
	}
	j := a + n
	labels := 0
	end := 0
	for {
		st := j
		alpha := true
		for j < len(s) && (isAlnum(s[j]) || s[j] == '-') {
			if !(isUpper(s[j]) || class[s[j]]&cLower != 0) {
				alpha = false
			}
			j++
		}
		if j == st || s[st] == '-' || s[j-1] == '-' || j-st > 63 {
			break
		}
		labels++
		if labels >= 2 && alpha && j-st >= 2 {
			end = j
		}
		if j+1 < len(s) && s[j] == '.' && isAlnum(s[j+1]) {
			j++
			continue
		}
		break
	}
	if end == 0 {
		return
	}
	sc.add(k, end, Email)
}

// ibanLengths maps a country code to its IBAN length (SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
	"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
	"LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
	"NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
	"RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
	"SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// iban reads an IBAN at i, compact or printed in groups of four separated
// by single spaces, of exactly its country's length and with a valid mod-97
// check.
func (sc *scanner) iban(i int) {
	s := sc.s
	if i+15 > len(s) || !isUpper(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
		return
	}
	want, ok := ibanLengths[s[i:i+2]]
	if !ok {
		return
	}
	var b [34]byte
	n := 0
	j := i
	for n < want && j < len(s) {
		c := s[j]
		if c == ' ' && n > 0 && n%4 == 0 && j+1 < len(s) && isAlnum(s[j+1]) && s[j-1] != ' ' {
			j++
			continue
		}
		if !isDigit(c) && !isUpper(c) {
			break
		}
		b[n] = c
		n++
		j++
	}
	if n != want || (j < len(s) && isAlnum(s[j])) {
		return
	}
	// Move the first four characters to the end; letters count as 10..35.
	rem := 0
	for k := 0; k < n; k++ {
		c := b[(k+4)%n]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	if rem == 1 {
		sc.add(i, j, IBAN)
	}
}

var b64val [256]int8

func init() {
	for i := range b64val {
		b64val[i] = -1
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := 0; i < len(std); i++ {
		b64val[std[i]] = int8(i)
	}
	b64val['+'], b64val['/'] = 62, 63 // standard
	b64val['-'], b64val['_'] = 62, 63 // URL-safe
}

// b64decode decodes unpadded base64 (either alphabet) into dst, returning
// the number of bytes written, or -1.
func b64decode(dst []byte, src string) int {
	n := 0
	var acc uint32
	bits := 0
	for i := 0; i < len(src); i++ {
		v := b64val[src[i]]
		if v < 0 {
			return -1
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if n == len(dst) {
				return -1
			}
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return n
}

func containsBytes(b []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == sub {
			return true
		}
	}
	return false
}

// jwt reads header.payload.signature in base64url whose header decodes to a
// JSON object naming an "alg" and whose payload decodes to a JSON object.
func (sc *scanner) jwt(i int) {
	s := sc.s
	if i+10 > len(s) || s[i+1] != 'y' || s[i+2] != 'J' {
		return
	}
	// header: at most 1024 characters, then '.'
	j := sc.b64RunEnd(i)
	if j-i < 10 || j-i > 1024 || j >= len(s) || s[j] != '.' {
		return
	}
	hdr := s[i:j]
	// payload and signature: whole base64url runs (remembered, so that
	// the headers of other candidates inside one run cost nothing)
	pe := sc.b64RunEnd(j + 1)
	if pe-(j+1) < 4 || pe >= len(s) || s[pe] != '.' {
		return
	}
	pay := s[j+1 : pe]
	se := sc.b64RunEnd(pe + 1)
	var buf [768]byte
	n := b64decode(buf[:], hdr)
	if n < 0 || !containsBytes(buf[:n], `"alg"`) {
		return
	}
	if m := b64decode(buf[:3], pay[:4]); m != 3 || buf[0] != '{' {
		return
	}
	sc.add(i, se, JWT)
}

// b64RunEnd returns the end of the base64url run starting at p, caching
// the last run so that a run is scanned once however many candidates
// start inside it.
func (sc *scanner) b64RunEnd(p int) int {
	if p >= sc.runStart && p < sc.runEnd {
		return sc.runEnd
	}
	s := sc.s
	j := p
	for j < len(s) && class[s[j]]&cB64URL != 0 {
		j++
	}
	if j > p {
		sc.runStart, sc.runEnd = p, j
	}
	return j
}

func hasPrefixFold(s string, i int, p string) bool {
	if i+len(p) > len(s) {
		return false
	}
	for k := 0; k < len(p); k++ {
		c := s[i+k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[k] {
			return false
		}
	}
	return true
}

// auth reads the credentials of "Bearer <token>" and "Basic <base64>"
// (any case). A bearer token needs 8+ token68 characters with a digit or
// 20+ characters of mixed case; a basic credential must decode to
// printable "user:password".
func (sc *scanner) auth(i int) {
	s := sc.s
	var basic bool
	var j int
	switch {
	case hasPrefixFold(s, i, "bearer"):
		j = i + 6
	case hasPrefixFold(s, i, "basic"):
		j = i + 5
		basic = true
	default:
		return
	}
	if j >= len(s) || s[j] != ' ' {
		return
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	st := j
	digit, upper, lower := false, false, false
	for j < len(s) && class[s[j]]&cTok68 != 0 {
		k := class[s[j]]
		digit = digit || k&cDigit != 0
		upper = upper || k&cUpper != 0
		lower = lower || k&cLower != 0
		j++
	}
	for j > st && s[j-1] == '.' { // sentence punctuation
		j--
	}
	body := j
	for j < len(s) && s[j] == '=' {
		j++
	}
	if body-st < 8 || (j < len(s) && isAlnum(s[j])) {
		return
	}
	if basic {
		var buf [384]byte
		raw := s[st:body]
		if len(raw) > 512 {
			return
		}
		n := b64decode(buf[:], raw)
		if n < 3 {
			return
		}
		colon := false
		for _, c := range buf[:n] {
			if c < 0x20 || c == 0x7f {
				return
			}
			colon = colon || c == ':'
		}
		if !colon {
			return
		}
	} else if !digit && !(body-st >= 20 && upper && lower) {
		return
	}
	sc.add(st, j, Auth)
}

// apiKey reads well-known secret shapes: AWS access key ids, Google API
// keys, Stripe secret/restricted keys, OpenAI-style sk- keys, GitHub and
// GitLab tokens, Slack tokens.
func (sc *scanner) apiKey(i int) {
	s := sc.s
	rest := func(j, min, max int, extra bool, lowerOK bool) int {
		k := j
		for k < len(s) && k-j < max+1 {
			c := s[k]
			cl := class[c]
			if cl&(cDigit|cUpper) != 0 || (lowerOK && cl&cLower != 0) || (extra && (c == '_' || c == '-')) {
				k++
				continue
			}
			break
		}
		n := k - j
		if n < min || n > max || (k < len(s) && (isAlnum(s[k]) || s[k] == '_')) {
			return 0
		}
		return k
	}
	var e int
	switch s[i] {
	case 'A':
		if i+4 <= len(s) {
			switch s[i : i+4] {
			case "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA":
				e = rest(i+4, 16, 16, false, false)
			case "AIza":
				e = rest(i+4, 35, 35, true, true)
			}
		}
	case 's', 'r':
		switch {
		case hasPrefix(s, i, "sk_live_"), hasPrefix(s, i, "sk_test_"), hasPrefix(s, i, "rk_live_"), hasPrefix(s, i, "rk_test_"):
			e = rest(i+8, 16, 247, false, true)
		case hasPrefix(s, i, "sk-"):
			e = rest(i+3, 32, 256, true, true)
		}
	case 'g':
		switch {
		case hasPrefix(s, i, "ghp_"), hasPrefix(s, i, "gho_"), hasPrefix(s, i, "ghu_"), hasPrefix(s, i, "ghs_"), hasPrefix(s, i, "ghr_"):
			e = rest(i+4, 36, 36, false, true)
		case hasPrefix(s, i, "github_pat_"):
			e = rest(i+11, 22, 255, true, true)
		case hasPrefix(s, i, "glpat-"):
			e = rest(i+6, 20, 64, true, true)
		}
	case 'x':
		if hasPrefix(s, i, "xox") && i+5 <= len(s) && s[i+4] == '-' {
			switch s[i+3] {
			case 'a', 'b', 'p', 'r', 's':
				e = rest(i+5, 10, 255, true, true)
			}
		}
	}
	if e > 0 {
		sc.add(i, e, APIKey)
	}
}

func hasPrefix(s string, i int, p string) bool {
	return len(s)-i >= len(p) && s[i:i+len(p)] == p
}

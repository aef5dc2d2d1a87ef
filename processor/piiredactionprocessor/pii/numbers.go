package pii

// parseIPv4 reads a dotted quad at i: four decimal octets 0-255 without
// leading zeros.
func parseIPv4(s string, i int) (int, bool) {
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(s) || s[j] != '.' {
				return 0, false
			}
			j++
		}
		k := j
		v := 0
		for k < len(s) && isDigit(s[k]) && k-j < 4 {
			v = v*10 + int(s[k]-'0')
			k++
		}
		n := k - j
		if n == 0 || n > 3 || v > 255 || (n > 1 && s[j] == '0') {
			return 0, false
		}
		j = k
	}
	return j, true
}

// ipv4Boundary rejects dotted quads that are part of longer dotted or
// dashed tokens (version strings such as 1.2.3.4.5 or lib-1.2.3.4-rc1).
func ipv4Boundary(s string, i, e int) bool {
	if i > 0 && s[i-1] == '-' {
		return false
	}
	if !numBoundaryAfter(s, e) {
		return false
	}
	if e < len(s) && (s[e] == '-' || s[e] == '.' && e+1 < len(s) && isAlnum(s[e+1])) {
		return false
	}
	return true
}

func luhn(d []byte) bool {
	sum := 0
	dbl := false
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k])
		if dbl {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		dbl = !dbl
	}
	return sum%10 == 0
}

// cardBrandOK checks the issuer prefix and the length that goes with it.
func cardBrandOK(d []byte) bool {
	n := len(d)
	p1 := int(d[0])
	p2 := p1*10 + int(d[1])
	p3 := p2*10 + int(d[2])
	p4 := p3*10 + int(d[3])
	switch {
	case p1 == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p4 == 6011, p2 == 65, p3 >= 644 && p3 <= 649: // Discover
		return n >= 16 && n <= 19
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16 && n <= 19
	case p2 == 36, p2 == 38, p2 == 39, p3 >= 300 && p3 <= 305: // Diners
		return n >= 14 && n <= 19
	case p2 == 62: // UnionPay
		return n >= 16 && n <= 19
	case p2 == 50, p2 >= 56 && p2 <= 69: // Maestro
		return n >= 13 && n <= 19
	}
	return false
}

// parseCard reads 13-19 digits at i, contiguous or in groups of 3-6 split
// by one kind of separator (space or dash), and returns the end of the
// longest prefix of groups that is a Luhn-valid number of a known issuer,
// or 0.
func parseCard(s string, i int) int {
	var d [19]byte
	n := 0
	j := i
	var sep byte
	best := 0
	for {
		g := 0
		for j < len(s) && isDigit(s[j]) {
			if n == len(d) {
				return best
			}
			d[n] = s[j] - '0'
			n++
			g++
			j++
		}
		if sep != 0 && (g < 3 || g > 6) {
			return best
		}
		if n >= 13 && numBoundaryAfter(s, j) && luhn(d[:n]) && cardBrandOK(d[:n]) {
			best = j
		}
		if j+1 >= len(s) || !isDigit(s[j+1]) || (s[j] != ' ' && s[j] != '-') {
			return best
		}
		if sep == 0 {
			if g < 3 || g > 6 {
				return best
			}
			sep = s[j]
		} else if s[j] != sep {
			return best
		}
		j++
	}
}

// parseIMEI reads an IMEI (15 digits, Luhn) or IMEISV (16 digits), either
// contiguous (IMEI only: a bare 16-digit number is too common to call an
// IMEISV) or grouped 2-6-6-1(2) / 8-6-1(2) with spaces or dashes.
func parseIMEI(s string, i, r int) int {
	var d [16]byte
	if r == 15 {
		for k := 0; k < 15; k++ {
			d[k] = s[i+k] - '0'
		}
		if luhn(d[:15]) && numBoundaryAfter(s, i+15) {
			return i + 15
		}
		return 0
	}
	var shape [4]int
	ng := 0
	switch r {
	case 2:
		shape, ng = [4]int{2, 6, 6, 0}, 4
	case 8:
		shape, ng = [4]int{8, 6, 0, 0}, 3
	default:
		return 0
	}
	n, j := 0, i
	var sep byte
	for gi := 0; gi < ng; gi++ {
		if gi > 0 {
			if j >= len(s) || (s[j] != ' ' && s[j] != '-') || (sep != 0 && s[j] != sep) {
				return 0
			}
			sep = s[j]
			j++
		}
		g := digitRun(s, j)
		if gi == ng-1 {
			if g != 1 && g != 2 {
				return 0
			}
		} else if g != shape[gi] {
			return 0
		}
		for k := 0; k < g; k++ {
			d[n] = s[j+k] - '0'
			n++
		}
		j += g
	}
	if !numBoundaryAfter(s, j) {
		return 0
	}
	if n == 15 && !luhn(d[:15]) {
		return 0
	}
	return j
}

// parseSSN reads a US social security number AAA-GG-SSSS (dashes or
// spaces) and applies the SSA's rules: area not 000, 666 or 9xx, group not
// 00, serial not 0000, and not the two numbers famously printed in ads.
func parseSSN(s string, i int) int {
	j := i + 3
	if j+8 > len(s) {
		return 0
	}
	sep := s[j]
	if sep != '-' && sep != ' ' {
		return 0
	}
	if !isDigit(s[j+1]) || !isDigit(s[j+2]) || s[j+3] != sep {
		return 0
	}
	for k := j + 4; k < j+8; k++ {
		if !isDigit(s[k]) {
			return 0
		}
	}
	e := j + 8
	if !numBoundaryAfter(s, e) || (e < len(s) && s[e] == sep && e+1 < len(s) && isDigit(s[e+1])) {
		return 0
	}
	area := s[i : i+3]
	group := s[j+1 : j+3]
	serial := s[j+4 : j+8]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return 0
	}
	if area == "078" && group == "05" && serial == "1120" || area == "219" && group == "09" && serial == "9999" {
		return 0
	}
	return e
}

// parsePhoneNational reads common national forms: North American
// NXX-NXX-XXXX (dashes, dots or spaces, N = 2-9), and trunk-prefixed
// numbers starting with 0 in groups of 2-5 digits (020 7946 0958,
// 06 12 34 56 78) with 10-11 digits, or 00-prefixed international numbers
// with up to 15 digits after 00. Bare digit runs are never phone numbers
// here: they are too often timestamps or ids.
func parsePhoneNational(s string, i, r int) int {
	if i >= 2 && (s[i-1] == ' ' || s[i-1] == '-' || s[i-1] == '.') && isAlnum(s[i-2]) {
		return 0 // the tail of a longer grouped number or code
	}
	if r == 3 && s[i] >= '2' {
		j := i + 3
		if j+9 > len(s) {
			return 0
		}
		sep := s[j]
		if sep != '-' && sep != '.' && sep != ' ' {
			return 0
		}
		if s[j+1] < '2' || !isDigit(s[j+1]) || digitRun(s, j+1) != 3 || s[j+4] != sep || digitRun(s, j+5) != 4 {
			return 0
		}
		e := j + 9
		if !numBoundaryAfter(s, e) || (e < len(s) && s[e] == sep && e+1 < len(s) && isDigit(s[e+1])) {
			return 0
		}
		return e
	}
	if s[i] != '0' || r < 2 || r > 5 {
		return 0
	}
	intl := r >= 2 && s[i+1] == '0'
	j := i + r
	n := r
	groups := 1
	var sep byte
	for n <= 17 && j+1 < len(s) && (s[j] == ' ' || s[j] == '-' || s[j] == '.') && isDigit(s[j+1]) {
		if sep != 0 && s[j] != sep {
			break
		}
		g := digitRun(s, j+1)
		if g < 2 || g > 5 {
			break
		}
		if intl && groups == 1 && s[j+1] == '0' {
			return 0 // no trunk 0 after an international prefix
		}
		sep = s[j]
		n += g
		groups++
		j += 1 + g
	}
	if groups < 2 || !numBoundaryAfter(s, j) {
		return 0
	}
	if intl {
		if n-2 < 8 || n-2 > 15 || s[i+2] == '0' {
			return 0
		}
		return j
	}
	if n < 10 || n > 11 {
		return 0
	}
	return j
}

// phoneE164 reads +CC... : '+', a digit 1-9, then 8-15 digits in all,
// optionally grouped with spaces, dashes, dots or an area code in
// parentheses.
func (sc *scanner) phoneE164(i int) {
	s := sc.s
	if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '+') {
		return
	}
	j := i + 1
	if j >= len(s) || s[j] < '1' || s[j] > '9' {
		return
	}
	n := 0
	best := 0
	for j < len(s) && n <= 15 {
		c := s[j]
		if isDigit(c) {
			n++
			j++
			if n >= 8 && n <= 15 && (j == len(s) || !isDigit(s[j])) && numBoundaryAfter(s, j) {
				best = j // the longest grouping that ends cleanly wins
			}
			continue
		}
		// up to two separator characters between digit groups
		k := j
		for k < len(s) && k-j < 2 && (s[k] == ' ' || s[k] == '-' || s[k] == '.' || s[k] == '(' || s[k] == ')') {
			k++
		}
		if k == j || k >= len(s) || !isDigit(s[k]) {
			break
		}
		j = k
	}
	if best > 0 {
		sc.add(i, best, Phone)
	}
}

// phoneParen reads (NXX) NXX-XXXX.
func (sc *scanner) phoneParen(i int) {
	s := sc.s
	j := i + 1
	if j+4 > len(s) || s[j] < '2' || digitRun(s, j) != 3 || s[j+3] != ')' {
		return
	}
	j += 4
	if j < len(s) && s[j] == ' ' {
		j++
	}
	if j+8 > len(s) || s[j] < '2' || digitRun(s, j) != 3 {
		return
	}
	j += 3
	if s[j] != '-' && s[j] != ' ' && s[j] != '.' {
		return
	}
	j++
	if digitRun(s, j) != 4 {
		return
	}
	j += 4
	if !numBoundaryAfter(s, j) {
		return
	}
	sc.add(i, j, Phone)
}

package pii

// parseIPv6 reads an IPv6 address at i: eight groups of 1-4 hex digits, or
// fewer with one "::", optionally ending in a dotted IPv4 address. Shapes
// that are more often something else are refused: clock times (10:30:00)
// have too few groups, and a compressed form needs a digit or three groups
// so that words such as "dead::beef" stay.
func parseIPv6(s string, i int) (int, bool) {
	j := i
	groups := 0
	dbl := false
	digit := false
	if j+1 < len(s) && s[j] == ':' && s[j+1] == ':' {
		dbl = true
		j += 2
	}
	end := j
	for j < len(s) && groups <= 8 {
		k := j
		for k < len(s) && isHex(s[k]) && k-j < 5 {
			if isDigit(s[k]) {
				digit = true
			}
			k++
		}
		h := k - j
		if h == 0 {
			break
		}
		if k < len(s) && s[k] == '.' && groups <= 6 && (dbl || groups == 6) {
			if e, ok := parseIPv4(s, j); ok {
				groups += 2
				end = e
				digit = true
				break
			}
		}
		if h > 4 {
			return 0, false
		}
		groups++
		end = k
		j = k
		if j+1 < len(s) && s[j] == ':' && s[j+1] == ':' {
			if dbl {
				return 0, false
			}
			dbl = true
			j += 2
			end = j
			continue
		}
		if j+1 < len(s) && s[j] == ':' && isHex(s[j+1]) {
			j++
			continue
		}
		break
	}
	if groups > 8 || end < len(s) && (isAlnum(s[end]) || s[end] == '_') {
		return 0, false
	}
	if dbl {
		if groups > 7 {
			return 0, false
		}
		if s[i] == ':' {
			if groups < 1 || !digit && groups < 3 {
				return 0, false
			}
		} else if groups < 2 || !digit && groups < 3 {
			return 0, false
		}
		return end, true
	}
	return end, groups == 8
}

// parseMAC reads six hex pairs split by ':' or '-' (one kind), or the dotted
// form aabb.ccdd.eeff.
func parseMAC(s string, i int) (int, bool) {
	if i+14 <= len(s) && s[i+4] == '.' {
		for g := 0; g < 3; g++ {
			b := i + g*5
			if !isHex(s[b]) || !isHex(s[b+1]) || !isHex(s[b+2]) || !isHex(s[b+3]) {
				return 0, false
			}
			if g < 2 && s[b+4] != '.' {
				return 0, false
			}
		}
		return macEnd(s, i+14, '.')
	}
	if i+17 > len(s) {
		return 0, false
	}
	sep := s[i+2]
	if sep != ':' && sep != '-' {
		return 0, false
	}
	for g := 0; g < 6; g++ {
		b := i + g*3
		if !isHex(s[b]) || !isHex(s[b+1]) {
			return 0, false
		}
		if g < 5 && s[b+2] != sep {
			return 0, false
		}
	}
	return macEnd(s, i+17, sep)
}

func macEnd(s string, e int, sep byte) (int, bool) {
	if e < len(s) && (isAlnum(s[e]) || s[e] == '_' || s[e] == sep && e+1 < len(s) && isHex(s[e+1])) {
		return 0, false
	}
	return e, true
}

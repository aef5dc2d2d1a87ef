package pxl

// preprocess blanks out what Starlark does not accept but PxL scripts
// contain: `import x` / `from x import y` statements (replaced by `pass`)
// and type annotations of function parameters and return values. Blanked
// bytes become spaces (newlines are kept), so every position in the result
// is the position in the source.
func preprocess(src []byte) []byte {
	out, _ := preprocessDepth(src)
	return out
}

// preprocessDepth is preprocess that also reports the deepest bracket
// nesting, so that absurd nesting is refused before the parser recurses.
func preprocessDepth(src []byte) ([]byte, int) {
	out := append([]byte(nil), src...)
	p := &prep{b: out}
	p.run()
	return out, p.maxDepth
}

type prep struct {
	b        []byte
	i        int
	maxDepth int
}

func (p *prep) blank(from, to int) {
	for k := from; k < to && k < len(p.b); k++ {
		if p.b[k] != '\n' {
			p.b[k] = ' '
		}
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80
}

// skipString moves past a string literal starting at p.i.
func (p *prep) skipString() {
	b := p.b
	q := b[p.i]
	if p.i+2 < len(b) && b[p.i+1] == q && b[p.i+2] == q {
		p.i += 3
		for p.i < len(b) {
			if b[p.i] == '\\' {
				p.i += 2
				continue
			}
			if p.i+2 < len(b) && b[p.i] == q && b[p.i+1] == q && b[p.i+2] == q {
				p.i += 3
				return
			}
			p.i++
		}
		return
	}
	p.i++
	for p.i < len(b) && b[p.i] != '\n' {
		if b[p.i] == '\\' {
			p.i += 2
			continue
		}
		if b[p.i] == q {
			p.i++
			return
		}
		p.i++
	}
}

// skipTrivia moves past comments and strings; it reports whether it moved.
func (p *prep) skipTrivia() bool {
	switch p.b[p.i] {
	case '#':
		for p.i < len(p.b) && p.b[p.i] != '\n' {
			p.i++
		}
		return true
	case '\'', '"':
		p.skipString()
		return true
	}
	return false
}

func (p *prep) run() {
	b := p.b
	lineStart := true // only blanks and indentation since the last newline
	depth := 0
	for p.i < len(b) {
		c := b[p.i]
		switch {
		case c == '\n':
			if depth == 0 {
				lineStart = true
			}
			p.i++
		case c == ' ' || c == '\t' || c == '\r':
			p.i++
		case c == '#' || c == '\'' || c == '"':
			p.skipTrivia()
			lineStart = false
		case isIdentByte(c):
			start := p.i
			for p.i < len(b) && isIdentByte(b[p.i]) {
				p.i++
			}
			word := string(b[start:p.i])
			if lineStart && depth == 0 && (word == "import" || word == "from") {
				end := p.i
				for end < len(b) && b[end] != '\n' && b[end] != ';' {
					end++
				}
				if end < len(b) && b[end] == ';' {
					end++
				}
				// "pass" keeps the statement's place (import px; x = 1).
				semi := b[end-1] == ';'
				p.blank(start, end)
				copy(b[start:], "pass")
				if semi {
					b[start+4] = ';'
				}
				p.i = end
				continue
			}
			if word == "def" && (start == 0 || !isIdentByte(b[start-1])) {
				p.def()
			}
			lineStart = false
		default:
			switch c {
			case '(', '[', '{':
				depth++
				p.maxDepth = max(p.maxDepth, depth)
			case ')', ']', '}':
				if depth > 0 {
					depth--
				}
			}
			p.i++
			lineStart = false
		}
	}
}

// def handles the header of a def after the keyword: it blanks parameter
// annotations (": type" up to the next "," "=" or ")" at the parameter
// list's level) and the return annotation ("-> type" up to the ":").
func (p *prep) def() {
	b := p.b
	for p.i < len(b) && b[p.i] != '(' && b[p.i] != '\n' {
		p.i++
	}
	if p.i >= len(b) || b[p.i] != '(' {
		return
	}
	p.i++
	depth, ann := 1, -1
	for p.i < len(b) && depth > 0 {
		if p.skipTrivia() {
			continue
		}
		c := b[p.i]
		switch {
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth == 0 && ann >= 0 {
				p.blank(ann, p.i)
				ann = -1
			}
		case depth == 1 && c == ':' && ann < 0:
			ann = p.i
		case depth == 1 && (c == ',' || c == '=') && ann >= 0:
			p.blank(ann, p.i)
			ann = -1
		}
		p.i++
	}
	// return annotation
	j := p.i
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	if j+1 < len(b) && b[j] == '-' && b[j+1] == '>' {
		k, d := j, 0
		for k < len(b) {
			c := b[k]
			if c == '(' || c == '[' || c == '{' {
				d++
			} else if c == ')' || c == ']' || c == '}' {
				d--
			} else if c == ':' && d == 0 {
				break
			} else if c == '\n' {
				return
			}
			k++
		}
		p.blank(j, k)
		p.i = k
	}
}

package pxl

// RedactedValue is what a restricted column reads as.
const RedactedValue = "REDACTED"

// redacted overwrites the scan's restricted string columns with the
// constant RedactedValue right above the scan (Options.Redact): every
// operator, filter and function sees only the constant, and the planner
// prunes the stored column from the scan.
func (e *Engine) redacted(s *scanNode) node {
	if e.opts.Redact == nil {
		return s
	}
	var n node = s
	for _, f := range s.out {
		if f.t == TypeString && e.opts.Redact(s.table, f.name) {
			n = newMap(n, f.name, &lit{constString(RedactedValue)})
		}
	}
	return n
}

package pxl

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
)

// Expr is a typed column expression, checked when it is built.
type Expr interface {
	Type() Type
	String() string
	eval(f *frame) (*vec, error)
	refs(set map[string]bool)
}

type colRef struct {
	name string
	t    Type
	from []field // the columns of the DataFrame it was taken from
}

func (c *colRef) Type() Type               { return c.t }
func (c *colRef) String() string           { return c.name }
func (c *colRef) refs(set map[string]bool) { set[c.name] = true }
func (c *colRef) eval(f *frame) (*vec, error) {
	v := f.col(c.name)
	if v == nil {
		return nil, fmt.Errorf("column %q not found", c.name)
	}
	return v, nil
}

type lit struct{ v *vec }

func (l *lit) Type() Type                { return l.v.t }
func (l *lit) String() string            { return strconv.Quote(l.v.text(0)) }
func (l *lit) refs(map[string]bool)      {}
func (l *lit) eval(*frame) (*vec, error) { return l.v, nil }

type binExpr struct {
	op   string
	l, r Expr
	t    Type
}

func (b *binExpr) Type() Type { return b.t }
func (b *binExpr) String() string {
	return "(" + b.l.String() + " " + b.op + " " + b.r.String() + ")"
}
func (b *binExpr) refs(set map[string]bool) { b.l.refs(set); b.r.refs(set) }

func isCmp(op string) bool {
	switch op {
	case "==", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// newBinary type-checks a binary operation.
func newBinary(op string, l, r Expr) (Expr, error) {
	lt, rt := l.Type(), r.Type()
	bad := fmt.Errorf("cannot apply %s to %s and %s", op, lt, rt)
	var t Type
	switch {
	case op == "&" || op == "|":
		if lt != TypeBool || rt != TypeBool {
			return nil, bad
		}
		t = TypeBool
	case isCmp(op):
		switch {
		case lt.numeric() && rt.numeric():
		case lt == rt && lt == TypeString:
		case lt == rt && lt == TypeBool && (op == "==" || op == "!="):
		default:
			return nil, bad
		}
		t = TypeBool
	case op == "+" && lt == TypeString && rt == TypeString:
		t = TypeString
	default:
		if !lt.numeric() || !rt.numeric() {
			return nil, bad
		}
		switch {
		case op == "/":
			t = TypeFloat64
		case lt == TypeFloat64 || rt == TypeFloat64:
			t = TypeFloat64
		case lt == TypeTime && rt == TypeTime && op == "-":
			t = TypeInt64
		case (lt == TypeTime || rt == TypeTime) && (op == "+" || op == "-"):
			t = TypeTime
		default:
			t = TypeInt64
		}
		if op == "%" && t == TypeFloat64 {
			t = TypeFloat64
		}
	}
	return &binExpr{op: op, l: l, r: r, t: t}, nil
}

// loop2 applies f row by row, broadcasting constants.
func loop2[A, B, R any](x []A, xc bool, y []B, yc bool, n int, f func(A, B) R) []R {
	out := make([]R, n)
	switch {
	case xc && yc:
		v := f(x[0], y[0])
		for i := range out {
			out[i] = v
		}
	case xc:
		a := x[0]
		for i := range out {
			out[i] = f(a, y[i])
		}
	case yc:
		b := y[0]
		for i := range out {
			out[i] = f(x[i], b)
		}
	default:
		y = y[:n]
		for i := range out {
			out[i] = f(x[i], y[i])
		}
	}
	return out
}

func cmpFn[T cmp.Ordered](op string) func(a, b T) bool {
	switch op {
	case "==":
		return func(a, b T) bool { return a == b }
	case "!=":
		return func(a, b T) bool { return a != b }
	case "<":
		return func(a, b T) bool { return a < b }
	case "<=":
		return func(a, b T) bool { return a <= b }
	case ">":
		return func(a, b T) bool { return a > b }
	default:
		return func(a, b T) bool { return a >= b }
	}
}

func intFn(op string) func(a, b int64) int64 {
	switch op {
	case "+":
		return func(a, b int64) int64 { return a + b }
	case "-":
		return func(a, b int64) int64 { return a - b }
	case "*":
		return func(a, b int64) int64 { return a * b }
	case "//":
		return func(a, b int64) int64 {
			if b == 0 {
				return 0
			}
			q := a / b
			if (a%b != 0) && ((a < 0) != (b < 0)) {
				q--
			}
			return q
		}
	default: // %
		return func(a, b int64) int64 {
			if b == 0 {
				return 0
			}
			m := a % b
			if m != 0 && ((m < 0) != (b < 0)) {
				m += b
			}
			return m
		}
	}
}

func floatFn(op string) func(a, b float64) float64 {
	switch op {
	case "+":
		return func(a, b float64) float64 { return a + b }
	case "-":
		return func(a, b float64) float64 { return a - b }
	case "*":
		return func(a, b float64) float64 { return a * b }
	case "/":
		return func(a, b float64) float64 { return a / b }
	case "//":
		return func(a, b float64) float64 { return math.Floor(a / b) }
	default:
		return func(a, b float64) float64 { return a - b*math.Floor(a/b) }
	}
}

func (b *binExpr) eval(f *frame) (*vec, error) {
	x, err := b.l.eval(f)
	if err != nil {
		return nil, err
	}
	y, err := b.r.eval(f)
	if err != nil {
		return nil, err
	}
	n, kc := f.n, x.konst && y.konst
	if kc {
		n = 1
	}
	out := &vec{t: b.t, konst: kc}
	lt, rt := x.t, y.t
	switch {
	case b.op == "&":
		out.B = loop2(x.B, x.konst, y.B, y.konst, n, func(a, c bool) bool { return a && c })
	case b.op == "|":
		out.B = loop2(x.B, x.konst, y.B, y.konst, n, func(a, c bool) bool { return a || c })
	case isCmp(b.op):
		switch {
		case lt == TypeString:
			out.B = loop2(x.S, x.konst, y.S, y.konst, n, cmpFn[string](b.op))
		case lt == TypeBool:
			eq := b.op == "=="
			out.B = loop2(x.B, x.konst, y.B, y.konst, n, func(a, c bool) bool { return (a == c) == eq })
		case lt == TypeFloat64 || rt == TypeFloat64:
			out.B = loop2(x.floats(), x.konst, y.floats(), y.konst, n, cmpFn[float64](b.op))
		default:
			out.B = loop2(x.I, x.konst, y.I, y.konst, n, cmpFn[int64](b.op))
		}
	case b.t == TypeString:
		out.S = loop2(x.S, x.konst, y.S, y.konst, n, func(a, c string) string { return a + c })
	case b.t == TypeFloat64:
		out.F = loop2(x.floats(), x.konst, y.floats(), y.konst, n, floatFn(b.op))
	default:
		out.I = loop2(x.I, x.konst, y.I, y.konst, n, intFn(b.op))
	}
	return out, nil
}

type unExpr struct {
	op string
	x  Expr
}

func newUnary(op string, x Expr) (Expr, error) {
	switch {
	case op == "~" && x.Type() == TypeBool:
	case op == "-" && (x.Type() == TypeInt64 || x.Type() == TypeFloat64):
	default:
		return nil, fmt.Errorf("cannot apply unary %s to %s", op, x.Type())
	}
	return &unExpr{op: op, x: x}, nil
}

func (u *unExpr) Type() Type               { return u.x.Type() }
func (u *unExpr) String() string           { return u.op + u.x.String() }
func (u *unExpr) refs(set map[string]bool) { u.x.refs(set) }
func (u *unExpr) eval(f *frame) (*vec, error) {
	x, err := u.x.eval(f)
	if err != nil {
		return nil, err
	}
	out := &vec{t: x.t, konst: x.konst}
	switch x.t {
	case TypeBool:
		out.B = make([]bool, len(x.B))
		for i, v := range x.B {
			out.B[i] = !v
		}
	case TypeFloat64:
		out.F = make([]float64, len(x.F))
		for i, v := range x.F {
			out.F[i] = -v
		}
	default:
		out.I = make([]int64, len(x.I))
		for i, v := range x.I {
			out.I[i] = -v
		}
	}
	return out, nil
}

package pxl

import "go.starlark.net/syntax"

// Names of the builtins the rewrite calls.
const (
	binopName = "__pxl_binop"
	unopName  = "__pxl_unop"
)

// rewrittenOps are the binary operators Starlark cannot overload.
var rewrittenOps = map[syntax.Token]string{
	syntax.EQL: "==", syntax.NEQ: "!=", syntax.LT: "<", syntax.LE: "<=",
	syntax.GT: ">", syntax.GE: ">=", syntax.AMP: "&", syntax.PIPE: "|",
}

// rewriteFile replaces `x OP y` for the operators above by
// `__pxl_binop("OP", x, y)` and `~x` by `__pxl_unop("~", x)`. The new call
// sits at the operator's position, so errors point at the operator.
func rewriteFile(f *syntax.File) {
	for _, s := range f.Stmts {
		rwStmt(s)
	}
}

func rwStmts(ss []syntax.Stmt) {
	for _, s := range ss {
		rwStmt(s)
	}
}

func rwStmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		s.LHS = rw(s.LHS)
		s.RHS = rw(s.RHS)
		if op, ok := augmentedOps[s.Op]; ok {
			// x op= y -> x op= __pxl_grow("op", x, y): the size of the
			// result is checked, the assignment is unchanged (x is
			// evaluated once more, as an operand of the check).
			s.RHS = call(sizeGrowName, s.OpPos, op, s.LHS, s.RHS)
		}
	case *syntax.DefStmt:
		rwParams(s.Params)
		rwStmts(s.Body)
	case *syntax.ExprStmt:
		s.X = rw(s.X)
	case *syntax.ForStmt:
		s.X = rw(s.X)
		rwStmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = rw(s.Cond)
		rwStmts(s.Body)
	case *syntax.IfStmt:
		s.Cond = rw(s.Cond)
		rwStmts(s.True)
		rwStmts(s.False)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = rw(s.Result)
		}
	}
}

// rwParams rewrites default values only (a parameter `x=1` is a BinaryExpr).
func rwParams(ps []syntax.Expr) {
	for _, p := range ps {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = rw(b.Y)
		}
	}
}

func rwList(xs []syntax.Expr) {
	for i, x := range xs {
		xs[i] = rw(x)
	}
}

func call(name string, pos syntax.Position, op string, args ...syntax.Expr) *syntax.CallExpr {
	lit := &syntax.Literal{Token: syntax.STRING, TokenPos: pos, Raw: `"` + op + `"`, Value: op}
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: name},
		Lparen: pos,
		Args:   append([]syntax.Expr{lit}, args...),
		Rparen: pos,
	}
}

func rw(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		e.X = rw(e.X)
		e.Y = rw(e.Y)
		if op, ok := rewrittenOps[e.Op]; ok {
			return call(binopName, e.OpPos, op, e.X, e.Y)
		}
		if op, ok := sizedOps[e.Op]; ok {
			return call(sizeOpName, e.OpPos, op, e.X, e.Y)
		}
		return e
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = rw(e.X)
		}
		if e.Op == syntax.TILDE {
			return call(unopName, e.OpPos, "~", e.X)
		}
		return e
	case *syntax.CallExpr:
		e.Fn = rw(e.Fn)
		for i, a := range e.Args {
			if b, ok := a.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ { // keyword argument
				b.Y = rw(b.Y)
				continue
			}
			e.Args[i] = rw(a)
		}
		return e
	case *syntax.ParenExpr:
		e.X = rw(e.X)
		return e
	case *syntax.DotExpr:
		e.X = rw(e.X)
		return e
	case *syntax.IndexExpr:
		e.X = rw(e.X)
		e.Y = rw(e.Y)
		return e
	case *syntax.SliceExpr:
		e.X = rw(e.X)
		for _, p := range []*syntax.Expr{&e.Lo, &e.Hi, &e.Step} {
			if *p != nil {
				*p = rw(*p)
			}
		}
		return e
	case *syntax.ListExpr:
		rwList(e.List)
		return e
	case *syntax.TupleExpr:
		rwList(e.List)
		return e
	case *syntax.DictExpr:
		for _, x := range e.List {
			if de, ok := x.(*syntax.DictEntry); ok {
				de.Key = rw(de.Key)
				de.Value = rw(de.Value)
			}
		}
		return e
	case *syntax.CondExpr:
		e.Cond = rw(e.Cond)
		e.True = rw(e.True)
		e.False = rw(e.False)
		return e
	case *syntax.LambdaExpr:
		rwParams(e.Params)
		e.Body = rw(e.Body)
		return e
	case *syntax.Comprehension:
		e.Body = rw(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.X = rw(c.X)
			case *syntax.IfClause:
				c.Cond = rw(c.Cond)
			}
		}
		return e
	}
	return e
}

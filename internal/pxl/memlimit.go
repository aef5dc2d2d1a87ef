package pxl

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Script memory. Starlark bounds steps, not memory: one step can build a
// huge value (`[0] * 10**9`, `list(range(10**9))`, `s = s + s` in a short
// loop). The rewrite routes the operators that make a value bigger than
// their operands (+, *, % and their augmented forms) through sizeOp, and
// the predeclared list, tuple, dict, sorted, zip, enumerate and reversed
// through checked wrappers: each estimates the size of the value it is
// about to build (strings 1 byte per byte, list and tuple elements 16
// bytes, dict entries 64 bytes) and charges it to the query's budget
// (Options.MaxScriptMemory) before building it. Growth one element per
// step (append, comprehensions) stays bounded by the step limit.

// Names of the builtins the rewrite calls for size checks.
const (
	sizeOpName   = "__pxl_sizeop"
	sizeGrowName = "__pxl_grow"
)

// sizedOps are the binary operators whose result is checked.
var sizedOps = map[syntax.Token]string{syntax.PLUS: "+", syntax.STAR: "*", syntax.PERCENT: "%"}

// augmentedOps are the augmented assignments whose result is checked.
var augmentedOps = map[syntax.Token]string{syntax.PLUS_EQ: "+", syntax.STAR_EQ: "*", syntax.PERCENT_EQ: "%"}

var sizeTokens = map[string]syntax.Token{"+": syntax.PLUS, "*": syntax.STAR, "%": syntax.PERCENT}

// memLocal is the thread-local key of a query's *memBudget.
const memLocal = "pxl.memory"

// memBudget is what a script may still allocate through checked operations.
type memBudget struct {
	limit, used int64
}

// charge counts n bytes, or fails when the budget would be exceeded.
func charge(th *starlark.Thread, n int64, what string) error {
	b, _ := th.Local(memLocal).(*memBudget)
	if b == nil || n <= 0 {
		return nil
	}
	if n > b.limit-b.used {
		return fmt.Errorf("script memory limit: %s would need about %d MiB, and the script has %d MiB of its %d MiB left (a script builds plans; data stays in the store)",
			what, n>>20, (b.limit-b.used)>>20, b.limit>>20)
	}
	b.used += n
	return nil
}

// valueSize estimates the bytes of a value of length n of x's kind.
func valueSize(x starlark.Value, n int64) int64 {
	switch x.(type) {
	case starlark.String, starlark.Bytes:
		return n
	case *starlark.Dict:
		return 64 * n
	}
	return 16 * n
}

// seqLen is the length of strings, bytes and sequences (-1 otherwise).
func seqLen(x starlark.Value) int64 {
	switch v := x.(type) {
	case starlark.String:
		return int64(len(v))
	case starlark.Bytes:
		return int64(len(v))
	case starlark.Sequence:
		return int64(v.Len())
	}
	return -1
}

// resultSize estimates the size of x op y before it is computed (0: small
// or unknown before the fact).
func resultSize(op string, x, y starlark.Value) int64 {
	lx, ly := seqLen(x), seqLen(y)
	switch op {
	case "+":
		if lx >= 0 && ly >= 0 {
			return valueSize(x, lx+ly)
		}
	case "*":
		seq, n := x, y
		if lx < 0 {
			seq, n = y, x
		}
		l := seqLen(seq)
		k, ok := n.(starlark.Int)
		if l < 0 || !ok {
			return 0
		}
		times, ok := k.Int64()
		if !ok {
			return 1 << 62
		}
		if times <= 0 || l == 0 {
			return 0
		}
		if l > (1<<62)/times {
			return 1 << 62
		}
		return valueSize(seq, l*times)
	}
	return 0
}

// sizeOp implements the rewritten x + y, x * y and x % y: the size of the
// result is charged to the script's budget first (after the fact for %,
// whose operands are already within it).
func sizeOp(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("internal error: bad operator call")
	}
	op := string(args[0].(starlark.String))
	x, y := args[1], args[2]
	if n := resultSize(op, x, y); n > 0 {
		if err := charge(th, n, fmt.Sprintf("the result of %s %s %s", x.Type(), op, y.Type())); err != nil {
			return nil, err
		}
	}
	v, err := starlark.Binary(sizeTokens[op], x, y)
	if err != nil {
		return nil, err
	}
	if op == "%" {
		if l := seqLen(v); l > 0 {
			if err := charge(th, valueSize(v, l), "the result of %"); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// sizeGrow implements the check of an augmented assignment `x op= y`
// (rewritten to `x op= __pxl_grow(op, x, y)`): it charges the size of the
// result and returns y, so the assignment itself (in place for lists) is
// unchanged.
func sizeGrow(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("internal error: bad operator call")
	}
	op := string(args[0].(starlark.String))
	x, y := args[1], args[2]
	if n := resultSize(op, x, y); n > 0 {
		if err := charge(th, n, fmt.Sprintf("the result of %s %s= %s", x.Type(), op, y.Type())); err != nil {
			return nil, err
		}
	}
	return y, nil
}

// checkedBuiltins wraps the universe's builtins that build a value as long
// as an iterable argument: its length is charged first (an iterable
// without a length, such as a dict's items, is not checked).
func checkedBuiltins() starlark.StringDict {
	out := starlark.StringDict{}
	for _, name := range []string{"list", "tuple", "dict", "sorted", "zip", "enumerate", "reversed"} {
		orig := starlark.Universe[name].(*starlark.Builtin)
		perElem := int64(16)
		if name == "dict" {
			perElem = 64
		} else if name == "zip" || name == "enumerate" {
			perElem = 48 // a tuple per element
		}
		out[name] = starlark.NewBuiltin(name, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var n int64
			for _, a := range args {
				if s, ok := a.(starlark.Sequence); ok {
					n = max(n, int64(s.Len()))
				}
			}
			if n > 0 {
				if err := charge(th, perElem*n, fmt.Sprintf("%s() of %d elements", name, n)); err != nil {
					return nil, err
				}
			}
			return starlark.Call(th, orig, args, kw)
		})
	}
	return out
}

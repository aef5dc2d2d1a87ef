package pxl

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/syntax"
)

func TestPreprocessKeepsPositions(t *testing.T) {
	src := "import px\n" +
		"from px import foo\n" +
		"def f(start_time: str, n: int = 5, d: Dict[str, int] = {'a': 1}) -> px.DataFrame:\n" +
		"    s = 'import x: y'  # def g(a: int)\n" +
		"    return n\n" +
		"x = lambda a: a\n"
	out := string(preprocess([]byte(src)))
	require.Len(t, out, len(src))
	assert.Equal(t, strings.Count(src, "\n"), strings.Count(out, "\n"))
	lines := strings.Split(out, "\n")
	assert.Equal(t, "pass", strings.TrimSpace(lines[0]))
	assert.Equal(t, "pass", strings.TrimSpace(lines[1]))
	assert.Equal(t, "def f(start_time     , n      = 5, d                 = {'a': 1})                :", lines[2])
	assert.Equal(t, "    s = 'import x: y'  # def g(a: int)", lines[3])
	assert.Equal(t, "x = lambda a: a", lines[5])
	_, err := parse("t.pxl", src)
	require.NoError(t, err)
}

func TestInlineImport(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, "import px; df = px.DataFrame('http_events'); px.display(df.agg(n=('latency', px.count)))")
	assert.Equal(t, [][]any{{int64(12)}}, res.Tables[0].Rows)
}

func TestRewriteOperators(t *testing.T) {
	f, err := parse("t.pxl", "y = (a >= 500) & ~(b == 'x') | c\nz = a + 1 < 2\n")
	require.NoError(t, err)
	s := f.Stmts[0].(*syntax.AssignStmt)
	c, ok := s.RHS.(*syntax.CallExpr)
	require.True(t, ok, "| becomes a call")
	assert.Equal(t, binopName, c.Fn.(*syntax.Ident).Name)
	assert.Equal(t, "|", c.Args[0].(*syntax.Literal).Value)
	assert.Equal(t, int32(1), c.Lparen.Line)
	assert.Equal(t, int32(30), c.Lparen.Col, "call sits at the operator")
	and := c.Args[1].(*syntax.CallExpr)
	assert.Equal(t, "&", and.Args[0].(*syntax.Literal).Value)
	not := and.Args[2].(*syntax.CallExpr)
	assert.Equal(t, unopName, not.Fn.(*syntax.Ident).Name)
	z := f.Stmts[1].(*syntax.AssignStmt).RHS.(*syntax.CallExpr)
	assert.Equal(t, "<", z.Args[0].(*syntax.Literal).Value)
	// + keeps Starlark's meaning; it is only routed through the size check.
	plus := z.Args[1].(*syntax.CallExpr)
	assert.Equal(t, sizeOpName, plus.Fn.(*syntax.Ident).Name)
	assert.Equal(t, "+", plus.Args[0].(*syntax.Literal).Value)
}

func TestPlainStarlarkStillWorks(t *testing.T) {
	s := fixture(t)
	res := mustRun(t, s, `
import px
n = 0
for i in range(10):
    if i % 2 == 0 and not (i > 6) or i == 9:
        n += 1
flags = 6 & 3 | 8
ok = n == 5 and flags == 10 and 'a' < 'b' and [1] != [2]
df = px.DataFrame('http_events', start_time='-5m')
df.n = n
df.ok = ok
df = df.head(1)[['n', 'ok']]
px.display(df)
`)
	assert.Equal(t, [][]any{{int64(5), true}}, res.Tables[0].Rows)
}

func TestErrorsHavePositions(t *testing.T) {
	s := fixture(t)
	cases := []struct {
		name, script, want string
		line, col          int
	}{
		{"unknown function", "import px\ndf = px.DataFrame('http_events')\ndf.x = px.men(df.latency)\n",
			"px.men is not a PxL function; did you mean px.mean?", 3, 10},
		{"unknown column", "import px\ndf = px.DataFrame('http_events')\ndf = df[df.resp_stats >= 500]\n",
			`column "resp_stats" not found`, 3, 11},
		{"type error", "import px\ndf = px.DataFrame('http_events')\ndf = df[df.req_path >= 500]\n",
			"cannot apply >= to STRING and INT64", 3, 21},
		{"arith type error", "import px\ndf = px.DataFrame('http_events')\ndf.x = df.req_path * 2\n",
			"cannot apply * to STRING and INT64", 3, 20},
		{"syntax error", "import px\ndf = px.DataFrame('http_events'\n", "got end of file", 3, 1},
		{"unknown table", "import px\ndf = px.DataFrame('http_event')\npx.display(df)\n",
			`did you mean "http_events"?`, 2, 18},
		{"undefined name", "import px\npx.display(dff)\n", "undefined: dff", 2, 12},
		{"non-bool filter", "import px\ndf = px.DataFrame('http_events')\ndf = df[df.latency]\n",
			"a filter must be BOOLEAN", 3, 8},
		{"bad agg", "import px\ndf = px.DataFrame('http_events')\ndf = df.groupby('service').agg(x=('req_path', px.mean))\n",
			"px.mean needs a numeric column", 3, 31},
		{"deep nesting", "x = " + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500) + "\n", "nest 500 deep", 0, 0},
		{"nothing displayed", "import px\ndf = px.DataFrame('http_events')\n", "displays nothing", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, s, c.script)
			require.Error(t, err)
			var pe *Error
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, pe.Msg, c.want)
			assert.Equal(t, c.line, pe.Line, "line of %v", err)
			assert.Equal(t, c.col, pe.Col, "column of %v", err)
		})
	}
}

package pxl

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary scripts through preprocessing, parsing and a
// bounded run: nothing may panic or hang, preprocessing must keep every
// position, and failures must be *Error values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"import px\ndf = px.DataFrame('http_events', start_time='-5m')\ndf = df[df.resp_status >= 500]\npx.display(df)\n",
		"def f(a: int, b: str = 'x') -> px.DataFrame:\n    return a\n",
		"import px\ndf = px.DataFrame('http_events')\ndf = df[(df.latency > 1) & ~(df.req_path == '/')]\npx.display(df.groupby('service').agg(q=('latency', px.quantiles)))\n",
		"x = (1 | 2) & 3 == ~4\n",
		"'''unterminated",
	} {
		f.Add(s)
	}
	store := fixture(f)
	e := New(store, Options{Now: func() time.Time { return testNow }, MaxSteps: 20_000, Timeout: time.Second, MaxRows: 50})
	f.Fuzz(func(t *testing.T, script string) {
		pp := preprocess([]byte(script))
		if len(pp) != len(script) || bytes.Count(pp, []byte("\n")) != bytes.Count([]byte(script), []byte("\n")) {
			t.Fatalf("preprocess moved positions: %q -> %q", script, pp)
		}
		_, err := e.Run(context.Background(), Query{Script: script})
		var pe *Error
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("error is %T, not *Error: %v", err, err)
		}
	})
}

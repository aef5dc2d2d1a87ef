package pxl

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// scalarFunc is a row-wise function (a Pixie scalar UDF).
type scalarFunc struct {
	name  string
	doc   string
	check func(ts []Type) (Type, error)
	eval  func(args []*vec, n int) *vec
}

type callExpr struct {
	fn   *scalarFunc
	args []Expr
	t    Type
}

func (c *callExpr) Type() Type { return c.t }
func (c *callExpr) String() string {
	parts := make([]string, len(c.args))
	for i, a := range c.args {
		parts[i] = a.String()
	}
	return "px." + c.fn.name + "(" + strings.Join(parts, ", ") + ")"
}
func (c *callExpr) refs(set map[string]bool) {
	for _, a := range c.args {
		a.refs(set)
	}
}
func (c *callExpr) eval(f *frame) (*vec, error) {
	vs := make([]*vec, len(c.args))
	allConst := true
	for i, a := range c.args {
		v, err := a.eval(f)
		if err != nil {
			return nil, err
		}
		vs[i] = v
		allConst = allConst && v.konst
	}
	n := f.n
	if allConst {
		n = 1
	}
	out := c.fn.eval(vs, n)
	out.konst = allConst
	return out, nil
}

func newCall(fn *scalarFunc, args []Expr) (Expr, error) {
	ts := make([]Type, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	t, err := fn.check(ts)
	if err != nil {
		return nil, fmt.Errorf("px.%s: %w", fn.name, err)
	}
	return &callExpr{fn: fn, args: args, t: t}, nil
}

// sig builds a checker for fixed argument types; TypeInvalid accepts any
// numeric type, and a result of TypeInvalid means "the first argument's type".
func sig(res Type, params ...Type) func([]Type) (Type, error) {
	return func(ts []Type) (Type, error) {
		if len(ts) != len(params) {
			return 0, fmt.Errorf("takes %d arguments, got %d", len(params), len(ts))
		}
		for i, p := range params {
			ok := ts[i] == p || (p == TypeInvalid && ts[i].numeric()) || (p == TypeInt64 && ts[i] == TypeTime)
			if !ok {
				want := p.String()
				if p == TypeInvalid {
					want = "a number"
				}
				return 0, fmt.Errorf("argument %d is %s, want %s", i+1, ts[i], want)
			}
		}
		if res == TypeInvalid {
			return ts[0], nil
		}
		return res, nil
	}
}

func map1[A, R any](x []A, konst bool, n int, f func(A) R) []R {
	out := make([]R, n)
	if konst {
		v := f(x[0])
		for i := range out {
			out[i] = v
		}
		return out
	}
	for i := range out {
		out[i] = f(x[i])
	}
	return out
}

func strFunc(name, doc string, res Type, f func(string) any) *scalarFunc {
	return &scalarFunc{name: name, doc: doc, check: sig(res, TypeString), eval: func(a []*vec, n int) *vec {
		out := newVec(res, 0)
		switch res {
		case TypeString:
			out.S = map1(a[0].S, a[0].konst, n, func(s string) string { return f(s).(string) })
		case TypeInt64:
			out.I = map1(a[0].S, a[0].konst, n, func(s string) int64 { return f(s).(int64) })
		case TypeFloat64:
			out.F = map1(a[0].S, a[0].konst, n, func(s string) float64 { return f(s).(float64) })
		case TypeBool:
			out.B = map1(a[0].S, a[0].konst, n, func(s string) bool { return f(s).(bool) })
		}
		return out
	}}
}

// pluckValue returns key of a JSON object, and whether it was there.
func pluckValue(doc, key string) (any, bool) {
	var m map[string]any
	if json.Unmarshal([]byte(doc), &m) != nil {
		return nil, false
	}
	v, ok := m[key]
	return v, ok
}

func pluckString(doc, key string) string {
	v, ok := pluckValue(doc, key)
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func pluckFloat(doc, key string) float64 {
	v, _ := pluckValue(doc, key)
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

// regexCache compiles each pattern once per evaluation; a bad pattern
// matches nothing.
type regexCache map[string]*regexp.Regexp

func (c regexCache) get(p string) *regexp.Regexp {
	r, ok := c[p]
	if !ok {
		r, _ = regexp.Compile(p)
		if len(c) < 1024 {
			c[p] = r
		}
	}
	return r
}

// scalarFuncs are the row-wise px functions.
var scalarFuncs = map[string]*scalarFunc{}

func init() {
	add := func(f *scalarFunc) { scalarFuncs[f.name] = f }
	add(&scalarFunc{name: "bin", doc: "bin(x, size): x rounded down to a multiple of size",
		check: sig(TypeInvalid, TypeInt64, TypeInt64),
		eval: func(a []*vec, n int) *vec {
			mod := intFn("%")
			return &vec{t: a[0].t, I: loop2(a[0].I, a[0].konst, a[1].I, a[1].konst, n, func(x, s int64) int64 { return x - mod(x, s) })}
		}})
	add(&scalarFunc{name: "select", doc: "select(cond, a, b): a where cond is true, else b",
		check: func(ts []Type) (Type, error) {
			if len(ts) != 3 {
				return 0, fmt.Errorf("takes 3 arguments, got %d", len(ts))
			}
			if ts[0] != TypeBool {
				return 0, fmt.Errorf("condition is %s, want BOOLEAN", ts[0])
			}
			if ts[1] != ts[2] {
				return 0, fmt.Errorf("branches differ: %s and %s", ts[1], ts[2])
			}
			return ts[1], nil
		},
		eval: func(a []*vec, n int) *vec {
			c, x, y := a[0], a[1], a[2]
			out := newVec(x.t, n)
			for i := range n {
				src := y
				if c.boolAt(i) {
					src = x
				}
				j := idx(src, i)
				switch x.t {
				case TypeInt64, TypeTime:
					out.I = append(out.I, src.I[j])
				case TypeFloat64:
					out.F = append(out.F, src.F[j])
				case TypeString:
					out.S = append(out.S, src.S[j])
				case TypeBool:
					out.B = append(out.B, src.B[j])
				}
			}
			return out
		}})
	add(&scalarFunc{name: "contains", doc: "contains(s, sub): s contains sub", check: sig(TypeBool, TypeString, TypeString),
		eval: func(a []*vec, n int) *vec {
			return &vec{t: TypeBool, B: loop2(a[0].S, a[0].konst, a[1].S, a[1].konst, n, strings.Contains)}
		}})
	add(&scalarFunc{name: "find", doc: "find(s, sub): index of sub in s, -1 if absent", check: sig(TypeInt64, TypeString, TypeString),
		eval: func(a []*vec, n int) *vec {
			return &vec{t: TypeInt64, I: loop2(a[0].S, a[0].konst, a[1].S, a[1].konst, n, func(s, sub string) int64 { return int64(strings.Index(s, sub)) })}
		}})
	add(&scalarFunc{name: "substring", doc: "substring(s, pos, length): length bytes of s from pos", check: sig(TypeString, TypeString, TypeInt64, TypeInt64),
		eval: func(a []*vec, n int) *vec {
			out := make([]string, n)
			for i := range out {
				s, p, l := a[0].strAt(i), a[1].intAt(i), a[2].intAt(i)
				p = max(0, min(p, int64(len(s))))
				e := max(p, min(int64(len(s)), p+max(0, l)))
				out[i] = s[p:e]
			}
			return &vec{t: TypeString, S: out}
		}})
	add(strFunc("length", "length(s): length of s in bytes", TypeInt64, func(s string) any { return int64(len(s)) }))
	add(strFunc("tolower", "tolower(s)", TypeString, func(s string) any { return strings.ToLower(s) }))
	add(strFunc("toupper", "toupper(s)", TypeString, func(s string) any { return strings.ToUpper(s) }))
	add(strFunc("trim", "trim(s): s without leading and trailing white space", TypeString, func(s string) any { return strings.TrimSpace(s) }))
	add(strFunc("upid_to_pid", "upid_to_pid(upid): the process ID of a upid", TypeInt64, func(s string) any {
		p, _, _ := strings.Cut(s, ":")
		v, _ := strconv.ParseInt(p, 10, 64)
		return v
	}))
	add(strFunc("uri_parse", "uri_parse(url): JSON of scheme, host, port, path, query, fragment", TypeString, func(s string) any { return uriParse(s) }))
	add(strFunc("normalize_pgsql", "normalize_pgsql(query): JSON {query with $n placeholders, params, error}", TypeString, func(s string) any { return normalizeSQL(s, true) }))
	add(strFunc("normalize_mysql", "normalize_mysql(query): JSON {query with ? placeholders, params, error}", TypeString, func(s string) any { return normalizeSQL(s, false) }))
	add(strFunc("path_template", "path_template(path): endpoint template, ID-like segments as * (/users/*/orders)", TypeString, func(s string) any { return pathTemplate(s) }))
	pluck := func(name string, res Type) *scalarFunc {
		return &scalarFunc{name: name, doc: name + "(json, key): the value of key in a JSON object", check: sig(res, TypeString, TypeString),
			eval: func(a []*vec, n int) *vec {
				out := newVec(res, 0)
				switch res {
				case TypeString:
					out.S = loop2(a[0].S, a[0].konst, a[1].S, a[1].konst, n, pluckString)
				case TypeFloat64:
					out.F = loop2(a[0].S, a[0].konst, a[1].S, a[1].konst, n, pluckFloat)
				case TypeInt64:
					out.I = loop2(a[0].S, a[0].konst, a[1].S, a[1].konst, n, func(d, k string) int64 {
						f := pluckFloat(d, k)
						if math.IsNaN(f) {
							return 0
						}
						return int64(f)
					})
				}
				return out
			}}
	}
	add(pluck("pluck", TypeString))
	add(pluck("pluck_float64", TypeFloat64))
	add(pluck("pluck_int64", TypeInt64))
	math1 := func(name, doc string, f func(float64) float64) {
		add(&scalarFunc{name: name, doc: doc, check: sig(TypeFloat64, TypeInvalid), eval: func(a []*vec, n int) *vec {
			return &vec{t: TypeFloat64, F: map1(a[0].floats(), a[0].konst, n, f)}
		}})
	}
	math1("ceil", "ceil(x): smallest integer value >= x", math.Ceil)
	math1("floor", "floor(x): largest integer value <= x", math.Floor)
	math1("round", "round(x): x rounded half away from zero", math.Round)
	math1("sqrt", "sqrt(x)", math.Sqrt)
	math1("log", "log(x): natural logarithm", math.Log)
	add(&scalarFunc{name: "abs", doc: "abs(x): absolute value", check: sig(TypeInvalid, TypeInvalid),
		eval: func(a []*vec, n int) *vec {
			if a[0].t == TypeFloat64 {
				return &vec{t: TypeFloat64, F: map1(a[0].F, a[0].konst, n, math.Abs)}
			}
			return &vec{t: a[0].t, I: map1(a[0].I, a[0].konst, n, func(i int64) int64 { return max(i, -i) })}
		}})
	add(&scalarFunc{name: "atoi", doc: "atoi(s, default): s as an integer, default when it is not one", check: sig(TypeInt64, TypeString, TypeInt64),
		eval: func(a []*vec, n int) *vec {
			return &vec{t: TypeInt64, I: loop2(a[0].S, a[0].konst, a[1].I, a[1].konst, n, func(s string, d int64) int64 {
				v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
				if err != nil {
					return d
				}
				return v
			})}
		}})
	add(&scalarFunc{name: "itoa", doc: "itoa(i): i as a string", check: sig(TypeString, TypeInt64),
		eval: func(a []*vec, n int) *vec {
			return &vec{t: TypeString, S: map1(a[0].I, a[0].konst, n, func(i int64) string { return strconv.FormatInt(i, 10) })}
		}})
	add(&scalarFunc{name: "regex_match", doc: "regex_match(pattern, s): s matches the RE2 pattern entirely", check: sig(TypeBool, TypeString, TypeString),
		eval: func(a []*vec, n int) *vec {
			re := regexCache{}
			return &vec{t: TypeBool, B: loop2(a[0].S, a[0].konst, a[1].S, a[1].konst, n, func(p, s string) bool {
				r := re.get("^(?:" + p + ")$")
				return r != nil && r.MatchString(s)
			})}
		}})
	add(&scalarFunc{name: "replace", doc: "replace(pattern, s, replacement): RE2 matches of pattern in s replaced ($1 refers to groups)",
		check: sig(TypeString, TypeString, TypeString, TypeString),
		eval: func(a []*vec, n int) *vec {
			re := regexCache{}
			out := make([]string, n)
			for i := range out {
				s := a[1].strAt(i)
				if r := re.get(a[0].strAt(i)); r != nil {
					s = r.ReplaceAllString(s, a[2].strAt(i))
				}
				out[i] = s
			}
			return &vec{t: TypeString, S: out}
		}})
	// Metadata lookups that need a metadata service (none yet): they
	// type-check and return "" so that Pixie scripts run unchanged.
	for _, name := range []string{"ip_to_pod_id", "ip_to_service_id", "pod_id_to_pod_name", "pod_id_to_namespace",
		"pod_id_to_node_name", "pod_id_to_service_name", "pod_id_to_service_id", "pod_id_to_deployment_name",
		"service_id_to_service_name", "pod_name_to_namespace", "pod_name_to_service_name", "pod_name_to_pod_id",
		"service_name_to_namespace", "container_id_to_pod_name"} {
		add(strFunc(name, name+"(s): \"\" until a metadata service fills it", TypeString, func(string) any { return "" }))
	}
	add(strFunc("nslookup", "nslookup(ip): the ip itself (no resolver yet)", TypeString, func(s string) any { return s }))
	add(strFunc("upid_to_string", "upid_to_string(upid): the upid as text", TypeString, func(s string) any { return s }))
	// Semantic type casts of Pixie: values pass unchanged.
	for _, name := range []string{"Service", "Pod", "Namespace", "Node", "Container", "Bytes", "Percent", "Time", "UPID"} {
		add(&scalarFunc{name: name, doc: name + "(x): semantic type annotation; returns x",
			check: func(ts []Type) (Type, error) {
				if len(ts) != 1 {
					return 0, fmt.Errorf("takes 1 argument, got %d", len(ts))
				}
				return ts[0], nil
			},
			eval: func(a []*vec, n int) *vec { return a[0].expand(n) }})
	}
	add(&scalarFunc{name: "int64", doc: "int64(x): x as an integer", check: sig(TypeInt64, TypeInvalid),
		eval: func(a []*vec, n int) *vec {
			if a[0].t == TypeFloat64 {
				return &vec{t: TypeInt64, I: map1(a[0].F, a[0].konst, n, func(f float64) int64 { return int64(f) })}
			}
			return &vec{t: TypeInt64, I: map1(a[0].I, a[0].konst, n, func(i int64) int64 { return i })}
		}})
	add(&scalarFunc{name: "float64", doc: "float64(x): x as a float", check: sig(TypeFloat64, TypeInvalid),
		eval: func(a []*vec, n int) *vec {
			return &vec{t: TypeFloat64, F: map1(a[0].floats(), a[0].konst, n, func(f float64) float64 { return f })}
		}})
}

package pxl

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
)

// aggFunc is a Pixie aggregate (UDA).
type aggFunc struct {
	name  string
	doc   string
	check func(t Type) (Type, error)
}

var aggFuncs = map[string]*aggFunc{}

func init() {
	any := func(t Type) (Type, error) { return t, nil }
	num := func(res Type) func(Type) (Type, error) {
		return func(t Type) (Type, error) {
			if t == TypeBool && res != TypeString { // true counts 1, as in Pixie
				t = TypeInt64
			}
			if t != TypeInt64 && t != TypeFloat64 && t != TypeTime {
				return 0, fmt.Errorf("needs a numeric column, got %s", t)
			}
			if res == TypeInvalid {
				if t == TypeTime {
					return TypeInt64, nil
				}
				return t, nil
			}
			return res, nil
		}
	}
	for _, a := range []*aggFunc{
		{name: "count", doc: "number of rows", check: func(Type) (Type, error) { return TypeInt64, nil }},
		{name: "sum", doc: "sum of the values", check: num(TypeInvalid)},
		{name: "mean", doc: "arithmetic mean", check: num(TypeFloat64)},
		{name: "min", doc: "smallest value", check: any},
		{name: "max", doc: "largest value", check: any},
		{name: "any", doc: "one of the values (the first seen)", check: any},
		{name: "quantiles", doc: "JSON {p01,p10,p25,p50,p75,p90,p99}: nearest-rank quantiles from a DDSketch (1% relative accuracy)", check: num(TypeString)},
	} {
		aggFuncs[a.name] = a
	}
}

// quantileKeys are Pixie's keys of px.quantiles, in order.
var quantileKeys = []struct {
	key string
	q   float64
}{{"p01", 0.01}, {"p10", 0.10}, {"p25", 0.25}, {"p50", 0.50}, {"p75", 0.75}, {"p90", 0.90}, {"p99", 0.99}}

// nearestRank converts q into the quantile DDSketch needs to return the
// nearest-rank value (the ceil(q*n)-th smallest; p99 of three values is the
// largest): the sketch itself returns the value at rank floor(q*(n-1)).
func nearestRank(q, n float64) float64 {
	if n <= 1 {
		return q
	}
	k := math.Ceil(q*n) - 1
	return math.Min(1, math.Max(0, k/(n-1)+1e-9))
}

// aggregate computes fn over col for rows grouped by gid (ngroups groups;
// first[g] is the first row of group g).
func aggregate(fn *aggFunc, col *vec, gid []int32, ngroups int, first []int32) (*vec, error) {
	switch fn.name {
	case "count":
		c := make([]int64, ngroups)
		for _, g := range gid {
			c[g]++
		}
		return &vec{t: TypeInt64, I: c}, nil
	case "any":
		return col.take(first), nil
	case "sum", "mean":
		if col.t == TypeBool {
			iv := &vec{t: TypeInt64, I: make([]int64, len(col.B))}
			for i, b := range col.B {
				if b {
					iv.I[i] = 1
				}
			}
			col = iv
		}
		cnt := make([]int64, ngroups)
		for _, g := range gid {
			cnt[g]++
		}
		if col.t == TypeFloat64 || fn.name == "mean" {
			s := make([]float64, ngroups)
			if col.t == TypeFloat64 {
				for i, g := range gid {
					s[g] += col.F[i]
				}
			} else {
				for i, g := range gid {
					s[g] += float64(col.I[i])
				}
			}
			if fn.name == "mean" {
				for g := range s {
					if cnt[g] > 0 {
						s[g] /= float64(cnt[g])
					}
				}
			}
			return &vec{t: TypeFloat64, F: s}, nil
		}
		s := make([]int64, ngroups)
		for i, g := range gid {
			s[g] += col.I[i]
		}
		return &vec{t: TypeInt64, I: s}, nil
	case "min", "max":
		isMin := fn.name == "min"
		out := col.take(first) // start from each group's first value
		switch col.t {
		case TypeInt64, TypeTime:
			for i, g := range gid {
				if v := col.I[i]; (v < out.I[g]) == isMin && v != out.I[g] {
					out.I[g] = v
				}
			}
		case TypeFloat64:
			for i, g := range gid {
				if v := col.F[i]; (v < out.F[g]) == isMin && v != out.F[g] {
					out.F[g] = v
				}
			}
		case TypeString:
			for i, g := range gid {
				if v := col.S[i]; (v < out.S[g]) == isMin && v != out.S[g] {
					out.S[g] = v
				}
			}
		case TypeBool:
			for i, g := range gid {
				if col.B[i] != isMin {
					out.B[g] = col.B[i]
				}
			}
		}
		return out, nil
	case "quantiles":
		sk := make([]*ddsketch.DDSketch, ngroups)
		for g := range sk {
			s, err := newSketch()
			if err != nil {
				return nil, err
			}
			sk[g] = s
		}
		vals := col.floats()
		for i, g := range gid {
			// DDSketch rejects values beyond its range; clamp negatives to 0.
			sketchAdd(sk[g], vals[i])
		}
		out := make([]string, ngroups)
		for g, s := range sk {
			m := make(map[string]float64, len(quantileKeys))
			n := s.GetCount()
			for _, k := range quantileKeys {
				v, err := s.GetValueAtQuantile(nearestRank(k.q, n))
				if err != nil {
					v = 0
				}
				m[k.key] = v
			}
			b, _ := json.Marshal(m) // keys sorted: p01 … p99
			out[g] = string(b)
		}
		return &vec{t: TypeString, S: out}, nil
	}
	return nil, fmt.Errorf("unknown aggregate %s", fn.name)
}

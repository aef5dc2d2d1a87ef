package pxl

import (
	"fmt"
	"strconv"
	"time"
)

// Type is the value type of a column.
type Type uint8

// Column value types, named as in Pixie.
const (
	TypeInvalid Type = iota
	TypeBool
	TypeInt64
	TypeFloat64
	TypeString
	TypeTime
)

// String returns Pixie's name of the type.
func (t Type) String() string {
	switch t {
	case TypeBool:
		return "BOOLEAN"
	case TypeInt64:
		return "INT64"
	case TypeFloat64:
		return "FLOAT64"
	case TypeString:
		return "STRING"
	case TypeTime:
		return "TIME64NS"
	}
	return "INVALID"
}

func (t Type) numeric() bool { return t == TypeInt64 || t == TypeFloat64 || t == TypeTime }

// vec is one column of values. Int64 and time columns use I. A constant
// vec holds one value that stands for every row.
type vec struct {
	t     Type
	I     []int64
	F     []float64
	S     []string
	B     []bool
	konst bool
}

func newVec(t Type, capHint int) *vec {
	v := &vec{t: t}
	switch t {
	case TypeInt64, TypeTime:
		v.I = make([]int64, 0, capHint)
	case TypeFloat64:
		v.F = make([]float64, 0, capHint)
	case TypeString:
		v.S = make([]string, 0, capHint)
	case TypeBool:
		v.B = make([]bool, 0, capHint)
	}
	return v
}

func (v *vec) len() int {
	switch v.t {
	case TypeInt64, TypeTime:
		return len(v.I)
	case TypeFloat64:
		return len(v.F)
	case TypeString:
		return len(v.S)
	case TypeBool:
		return len(v.B)
	}
	return 0
}

// take gathers the rows idx (a constant stays constant).
func (v *vec) take(idx []int32) *vec {
	if v.konst {
		return v
	}
	o := &vec{t: v.t}
	switch v.t {
	case TypeInt64, TypeTime:
		o.I = gather(v.I, idx)
	case TypeFloat64:
		o.F = gather(v.F, idx)
	case TypeString:
		o.S = gather(v.S, idx)
	case TypeBool:
		o.B = gather(v.B, idx)
	}
	return o
}

func gather[T any](s []T, idx []int32) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

// slice returns rows [lo, hi).
func (v *vec) slice(lo, hi int) *vec {
	if v.konst {
		return v
	}
	o := &vec{t: v.t}
	switch v.t {
	case TypeInt64, TypeTime:
		o.I = v.I[lo:hi]
	case TypeFloat64:
		o.F = v.F[lo:hi]
	case TypeString:
		o.S = v.S[lo:hi]
	case TypeBool:
		o.B = v.B[lo:hi]
	}
	return o
}

// expand turns a constant into n rows.
func (v *vec) expand(n int) *vec {
	if !v.konst {
		return v
	}
	o := &vec{t: v.t}
	switch v.t {
	case TypeInt64, TypeTime:
		o.I = fill(v.I[0], n)
	case TypeFloat64:
		o.F = fill(v.F[0], n)
	case TypeString:
		o.S = fill(v.S[0], n)
	case TypeBool:
		o.B = fill(v.B[0], n)
	}
	return o
}

func fill[T any](x T, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = x
	}
	return s
}

// appendVec appends the rows of o (same type, not constant).
func (v *vec) appendVec(o *vec) {
	switch v.t {
	case TypeInt64, TypeTime:
		v.I = append(v.I, o.I...)
	case TypeFloat64:
		v.F = append(v.F, o.F...)
	case TypeString:
		v.S = append(v.S, o.S...)
	case TypeBool:
		v.B = append(v.B, o.B...)
	}
}

// appendZero appends n zero values.
func (v *vec) appendZero(n int) {
	switch v.t {
	case TypeInt64, TypeTime:
		v.I = append(v.I, make([]int64, n)...)
	case TypeFloat64:
		v.F = append(v.F, make([]float64, n)...)
	case TypeString:
		v.S = append(v.S, make([]string, n)...)
	case TypeBool:
		v.B = append(v.B, make([]bool, n)...)
	}
}

// value returns row i as a JSON-friendly Go value (time as RFC 3339).
func (v *vec) value(i int) any {
	if v.konst {
		i = 0
	}
	switch v.t {
	case TypeInt64:
		return v.I[i]
	case TypeTime:
		return time.Unix(0, v.I[i]).UTC().Format(time.RFC3339Nano)
	case TypeFloat64:
		return v.F[i]
	case TypeString:
		return v.S[i]
	case TypeBool:
		return v.B[i]
	}
	return nil
}

// text formats row i for keys and CSV-like output.
func (v *vec) text(i int) string {
	if v.konst {
		i = 0
	}
	switch v.t {
	case TypeInt64:
		return strconv.FormatInt(v.I[i], 10)
	case TypeTime:
		return time.Unix(0, v.I[i]).UTC().Format(time.RFC3339Nano)
	case TypeFloat64:
		return strconv.FormatFloat(v.F[i], 'g', -1, 64)
	case TypeString:
		return v.S[i]
	case TypeBool:
		return strconv.FormatBool(v.B[i])
	}
	return ""
}

// floats returns the values as float64 (ints converted).
func (v *vec) floats() []float64 {
	if v.t == TypeFloat64 {
		return v.F
	}
	out := make([]float64, len(v.I))
	for i, x := range v.I {
		out[i] = float64(x)
	}
	return out
}

func constInt(t Type, x int64) *vec  { return &vec{t: t, I: []int64{x}, konst: true} }
func constFloat(x float64) *vec      { return &vec{t: TypeFloat64, F: []float64{x}, konst: true} }
func constString(x string) *vec      { return &vec{t: TypeString, S: []string{x}, konst: true} }
func constBool(x bool) *vec          { return &vec{t: TypeBool, B: []bool{x}, konst: true} }
func (v *vec) String() string        { return fmt.Sprintf("vec(%s, %d)", v.t, v.len()) }
func (v *vec) strAt(i int) string    { return v.S[idx(v, i)] }
func (v *vec) intAt(i int) int64     { return v.I[idx(v, i)] }
func (v *vec) floatAt(i int) float64 { return v.F[idx(v, i)] }
func (v *vec) boolAt(i int) bool     { return v.B[idx(v, i)] }
func idx(v *vec, i int) int {
	if v.konst {
		return 0
	}
	return i
}

// frame is a table of equal-length columns.
type frame struct {
	names []string
	cols  []*vec
	n     int
}

func (f *frame) col(name string) *vec {
	if f == nil {
		return nil
	}
	for i, n := range f.names {
		if n == name {
			return f.cols[i]
		}
	}
	return nil
}

func (f *frame) take(idx []int32) *frame {
	o := &frame{names: f.names, cols: make([]*vec, len(f.cols)), n: len(idx)}
	for i, c := range f.cols {
		o.cols[i] = c.take(idx)
	}
	return o
}

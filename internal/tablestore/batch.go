package tablestore

import (
	"fmt"
	"unsafe"
)

// Batch is a set of rows in column form, built by a producer and handed to
// Table.Append. Build it row by row with the typed Append methods and
// EndRow: a column not set in a row gets its zero value, a value of the
// wrong type is ignored; both count as an error of the batch (Errors), never
// a crash. A Batch is not safe for concurrent use; Reset it to reuse its
// memory. Append may reorder and filter the batch's rows.
type Batch struct {
	schema *Schema
	types  []ColumnType
	n      int
	cols   []bcol
	errs   int64

	arena     []byte // backing store of AppendStringBytes (never moved)
	arenaKeep []byte // chunk reused after Reset
	arenaUsed int    // bytes handed out since Reset
}

type bcol struct {
	i64 []int64 // time, int64
	f64 []float64
	b   []bool
	s   []string // string, dict
	id  []byte   // trace/span IDs, width bytes per row
}

// NewBatch returns an empty batch for the schema with room for capHint rows.
func NewBatch(s *Schema, capHint int) *Batch {
	b := &Batch{schema: s, types: make([]ColumnType, s.NumColumns()), cols: make([]bcol, s.NumColumns())}
	for i, c := range s.columns {
		b.types[i] = c.Type
		col := &b.cols[i]
		switch c.Type {
		case TypeTime, TypeInt64:
			col.i64 = make([]int64, 0, capHint)
		case TypeFloat64:
			col.f64 = make([]float64, 0, capHint)
		case TypeBool:
			col.b = make([]bool, 0, capHint)
		case TypeString, TypeDict:
			col.s = make([]string, 0, capHint)
		case TypeTraceID, TypeSpanID:
			col.id = make([]byte, 0, capHint*c.Type.idWidth())
		}
	}
	return b
}

// Schema is the batch's schema.
func (b *Batch) Schema() *Schema { return b.schema }

// Len is the number of complete rows.
func (b *Batch) Len() int { return b.n }

// Errors is the number of bad values seen (missing, wrong type, bad ID
// width) since the last Reset.
func (b *Batch) Errors() int64 { return b.errs }

// AddErrors counts n more bad values (for producers that detect them).
func (b *Batch) AddErrors(n int64) { b.errs += n }

// Reset empties the batch, keeping its memory. Strings handed to the batch
// with AppendStringBytes must not be used after Reset.
func (b *Batch) Reset() {
	for i := range b.cols {
		c := &b.cols[i]
		c.i64 = c.i64[:0]
		c.f64 = c.f64[:0]
		c.b = c.b[:0]
		clear(c.s)
		c.s = c.s[:0]
		c.id = c.id[:0]
	}
	b.n = 0
	b.errs = 0
	// The store copied every string at Append: the arena can be reused.
	if b.arenaUsed > cap(b.arenaKeep) {
		b.arenaKeep = make([]byte, 0, b.arenaUsed)
	}
	b.arena = b.arenaKeep[:0]
	b.arenaUsed = 0
}

// AppendTime sets a TypeTime column of the current row (ns since epoch).
func (b *Batch) AppendTime(col int, ns int64) {
	if b.types[col] != TypeTime {
		b.errs++
		return
	}
	b.cols[col].i64 = append(b.cols[col].i64, ns)
}

// AppendInt sets a TypeInt64 column of the current row.
func (b *Batch) AppendInt(col int, v int64) {
	if b.types[col] != TypeInt64 {
		b.errs++
		return
	}
	b.cols[col].i64 = append(b.cols[col].i64, v)
}

// AppendFloat sets a TypeFloat64 column of the current row.
func (b *Batch) AppendFloat(col int, v float64) {
	if b.types[col] != TypeFloat64 {
		b.errs++
		return
	}
	b.cols[col].f64 = append(b.cols[col].f64, v)
}

// AppendBool sets a TypeBool column of the current row.
func (b *Batch) AppendBool(col int, v bool) {
	if b.types[col] != TypeBool {
		b.errs++
		return
	}
	b.cols[col].b = append(b.cols[col].b, v)
}

// AppendString sets a TypeString or TypeDict column of the current row. The
// string is referenced, not copied, until Append copies it into the store.
func (b *Batch) AppendString(col int, v string) {
	if t := b.types[col]; t != TypeString && t != TypeDict {
		b.errs++
		return
	}
	b.cols[col].s = append(b.cols[col].s, v)
}

// AppendStringBytes is AppendString for bytes the caller reuses: they are
// copied into the batch's arena (no allocation per row).
func (b *Batch) AppendStringBytes(col int, v []byte) {
	if t := b.types[col]; t != TypeString && t != TypeDict {
		b.errs++
		return
	}
	b.cols[col].s = append(b.cols[col].s, b.arenaString(v))
}

func (b *Batch) arenaString(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	b.arenaUsed += len(v)
	if cap(b.arena)-len(b.arena) < len(v) {
		size := 64 << 10
		if len(v) > size/4 {
			size = len(v)
		}
		b.arena = make([]byte, 0, size) // old chunks stay alive through the strings
		if b.arenaKeep == nil {
			b.arenaKeep = b.arena
		}
	}
	start := len(b.arena)
	b.arena = append(b.arena, v...)
	s := b.arena[start:len(b.arena):len(b.arena)]
	return unsafe.String(unsafe.SliceData(s), len(s))
}

// AppendID sets a TypeTraceID (16 bytes) or TypeSpanID (8 bytes) column of
// the current row. A wrong length is an error and stores a zero ID.
func (b *Batch) AppendID(col int, id []byte) {
	w := b.types[col].idWidth()
	if w == 0 {
		b.errs++
		return
	}
	c := &b.cols[col]
	if len(id) != w {
		b.errs++
		c.id = append(c.id, make([]byte, w)...)
		return
	}
	c.id = append(c.id, id...)
}

// colLen is the number of values set in column i.
func (b *Batch) colLen(i int) int {
	c := &b.cols[i]
	switch b.types[i] {
	case TypeTime, TypeInt64:
		return len(c.i64)
	case TypeFloat64:
		return len(c.f64)
	case TypeBool:
		return len(c.b)
	case TypeString, TypeDict:
		return len(c.s)
	case TypeTraceID, TypeSpanID:
		return len(c.id) / b.types[i].idWidth()
	}
	return 0
}

// EndRow completes the current row: columns not set get their zero value,
// columns set more than once keep their first value; both count as errors.
func (b *Batch) EndRow() {
	want := b.n + 1
	for i := range b.cols {
		if l := b.colLen(i); l != want {
			b.errs++
			b.fixLen(i, want)
		}
	}
	b.n = want
}

func (b *Batch) fixLen(i, want int) {
	c := &b.cols[i]
	switch b.types[i] {
	case TypeTime, TypeInt64:
		for len(c.i64) < want {
			c.i64 = append(c.i64, 0)
		}
		c.i64 = c.i64[:want]
	case TypeFloat64:
		for len(c.f64) < want {
			c.f64 = append(c.f64, 0)
		}
		c.f64 = c.f64[:want]
	case TypeBool:
		for len(c.b) < want {
			c.b = append(c.b, false)
		}
		c.b = c.b[:want]
	case TypeString, TypeDict:
		for len(c.s) < want {
			c.s = append(c.s, "")
		}
		c.s = c.s[:want]
	case TypeTraceID, TypeSpanID:
		w := b.types[i].idWidth()
		for len(c.id) < want*w {
			c.id = append(c.id, 0)
		}
		c.id = c.id[:want*w]
	}
}

// Times returns the time_ column (read-only view).
func (b *Batch) Times() []int64 { return b.cols[0].i64[:b.n] }

// check verifies that every column has exactly Len values.
func (b *Batch) check() error {
	for i := range b.cols {
		if l := b.colLen(i); l != b.n {
			return fmt.Errorf("tablestore: batch for %q: column %q has %d values, want %d (call EndRow after each row)",
				b.schema.name, b.schema.columns[i].Name, l, b.n)
		}
	}
	return nil
}

// keep compacts the batch to the rows whose keep flag is true, in order.
func (b *Batch) keep(keep []bool) {
	for i := range b.cols {
		c := &b.cols[i]
		switch b.types[i] {
		case TypeTime, TypeInt64:
			c.i64 = filterSlice(c.i64, keep)
		case TypeFloat64:
			c.f64 = filterSlice(c.f64, keep)
		case TypeBool:
			c.b = filterSlice(c.b, keep)
		case TypeString, TypeDict:
			old := len(c.s)
			c.s = filterSlice(c.s, keep)
			clear(c.s[len(c.s):old])
		case TypeTraceID, TypeSpanID:
			w := b.types[i].idWidth()
			j := 0
			for r, k := range keep {
				if k {
					copy(c.id[j*w:], c.id[r*w:(r+1)*w])
					j++
				}
			}
			c.id = c.id[:j*w]
		}
	}
	n := 0
	for _, k := range keep {
		if k {
			n++
		}
	}
	b.n = n
}

func filterSlice[T any](s []T, keep []bool) []T {
	j := 0
	for i, k := range keep {
		if k {
			s[j] = s[i]
			j++
		}
	}
	return s[:j]
}

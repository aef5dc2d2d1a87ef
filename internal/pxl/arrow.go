package pxl

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

func arrowType(t Type) arrow.DataType {
	switch t {
	case TypeBool:
		return arrow.FixedWidthTypes.Boolean
	case TypeInt64:
		return arrow.PrimitiveTypes.Int64
	case TypeFloat64:
		return arrow.PrimitiveTypes.Float64
	case TypeTime:
		return tablestore.TimeType
	}
	return arrow.BinaryTypes.String
}

// WriteArrow writes the table (its rows up to the row limit) as one Arrow
// IPC stream; the schema's metadata holds the table name under "name".
func (t *Table) WriteArrow(w io.Writer) error {
	if len(t.vecs) != len(t.Columns) {
		return fmt.Errorf("table %s has no columnar data", t.Name)
	}
	mem := memory.NewGoAllocator()
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(t.types[i])}
	}
	md := arrow.NewMetadata([]string{"name"}, []string{t.Name})
	schema := arrow.NewSchema(fields, &md)
	n := len(t.Rows)
	cols := make([]arrow.Array, len(t.vecs))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, v := range t.vecs {
		var v2 *vec
		if v == nil {
			v2 = newVec(t.types[i], n)
			v2.appendZero(n)
		} else {
			v2 = v.expand(n).slice(0, n)
		}
		switch t.types[i] {
		case TypeBool:
			b := array.NewBooleanBuilder(mem)
			b.AppendValues(v2.B, nil)
			cols[i] = b.NewArray()
			b.Release()
		case TypeInt64:
			b := array.NewInt64Builder(mem)
			b.AppendValues(v2.I, nil)
			cols[i] = b.NewArray()
			b.Release()
		case TypeTime:
			b := array.NewTimestampBuilder(mem, tablestore.TimeType)
			for _, x := range v2.I {
				b.Append(arrow.Timestamp(x))
			}
			cols[i] = b.NewArray()
			b.Release()
		case TypeFloat64:
			b := array.NewFloat64Builder(mem)
			b.AppendValues(v2.F, nil)
			cols[i] = b.NewArray()
			b.Release()
		default:
			b := array.NewStringBuilder(mem)
			b.AppendValues(v2.S, nil)
			cols[i] = b.NewArray()
			b.Release()
		}
	}
	rec := array.NewRecordBatch(schema, cols, int64(n))
	defer rec.Release()
	wr := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := wr.Write(rec); err != nil {
		_ = wr.Close()
		return err
	}
	return wr.Close()
}

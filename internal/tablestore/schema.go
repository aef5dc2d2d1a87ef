package tablestore

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// ColumnType is the storage type of a column.
type ColumnType uint8

const (
	// TypeTime is int64 nanoseconds since the Unix epoch; Arrow timestamp[ns, tz=UTC].
	TypeTime ColumnType = iota + 1
	// TypeInt64 is a signed 64-bit integer; Arrow int64.
	TypeInt64
	// TypeFloat64 is a float64; Arrow float64.
	TypeFloat64
	// TypeBool is a boolean; Arrow bool.
	TypeBool
	// TypeString is a UTF-8 string; Arrow utf8. Cold batches dictionary-encode
	// it when that is smaller, but scans return plain utf8.
	TypeString
	// TypeDict is a low-cardinality UTF-8 string, dictionary-encoded from the
	// moment it is appended; Arrow dictionary<values=utf8, indices=int32>.
	TypeDict
	// TypeTraceID is a 16-byte trace ID stored raw; Arrow utf8 holding 32
	// lowercase hex digits, or "" when the ID is all zeros.
	TypeTraceID
	// TypeSpanID is an 8-byte span ID stored raw; Arrow utf8 holding 16
	// lowercase hex digits, or "" when the ID is all zeros.
	TypeSpanID
)

// String returns the type's name.
func (t ColumnType) String() string {
	switch t {
	case TypeTime:
		return "time"
	case TypeInt64:
		return "int64"
	case TypeFloat64:
		return "float64"
	case TypeBool:
		return "bool"
	case TypeString:
		return "string"
	case TypeDict:
		return "dict"
	case TypeTraceID:
		return "trace_id"
	case TypeSpanID:
		return "span_id"
	}
	return fmt.Sprintf("ColumnType(%d)", uint8(t))
}

// idWidth is the raw width of an ID column (0 for other types).
func (t ColumnType) idWidth() int {
	switch t {
	case TypeTraceID:
		return 16
	case TypeSpanID:
		return 8
	}
	return 0
}

// fixedWidth is the byte width of a value in the hot value buffer.
func (t ColumnType) fixedWidth() int {
	switch t {
	case TypeTime, TypeInt64, TypeFloat64:
		return 8
	case TypeBool:
		return 1
	case TypeDict:
		return 4
	case TypeTraceID:
		return 16
	case TypeSpanID:
		return 8
	}
	return 0 // strings: offsets are handled separately
}

// DictType is the Arrow type of TypeDict columns.
var DictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// TimeType is the Arrow type of TypeTime columns.
var TimeType = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}

// ArrowType is the Arrow data type scans return for a column of this type.
func (t ColumnType) ArrowType() arrow.DataType {
	switch t {
	case TypeTime:
		return TimeType
	case TypeInt64:
		return arrow.PrimitiveTypes.Int64
	case TypeFloat64:
		return arrow.PrimitiveTypes.Float64
	case TypeBool:
		return arrow.FixedWidthTypes.Boolean
	case TypeString, TypeTraceID, TypeSpanID:
		return arrow.BinaryTypes.String
	case TypeDict:
		return DictType
	}
	return nil
}

// Column describes one column of a table.
type Column struct {
	Name string
	Type ColumnType
	Desc string
}

// TimeColumn is the name of the first column of every table.
const TimeColumn = "time_"

// Schema is the fixed schema of a table.
type Schema struct {
	name    string
	columns []Column
	index   map[string]int
	arrow   *arrow.Schema
}

// NewSchema validates and builds a schema. The first column must be
// `time_` of TypeTime; names must be unique and non-empty.
func NewSchema(name string, cols []Column) (*Schema, error) {
	if name == "" {
		return nil, errors.New("tablestore: schema needs a name")
	}
	if len(cols) == 0 || cols[0].Name != TimeColumn || cols[0].Type != TypeTime {
		return nil, fmt.Errorf("tablestore: table %q: first column must be %q of type time", name, TimeColumn)
	}
	s := &Schema{name: name, columns: append([]Column(nil), cols...), index: make(map[string]int, len(cols))}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		if c.Name == "" {
			return nil, fmt.Errorf("tablestore: table %q: column %d has no name", name, i)
		}
		if _, dup := s.index[c.Name]; dup {
			return nil, fmt.Errorf("tablestore: table %q: duplicate column %q", name, c.Name)
		}
		if c.Type.ArrowType() == nil {
			return nil, fmt.Errorf("tablestore: table %q: column %q has unknown type %v", name, c.Name, c.Type)
		}
		s.index[c.Name] = i
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.ArrowType(), Nullable: false}
	}
	md := arrow.NewMetadata([]string{"table"}, []string{name})
	s.arrow = arrow.NewSchema(fields, &md)
	return s, nil
}

// MustSchema is NewSchema that panics on error (for built-in schemas).
func MustSchema(name string, cols []Column) *Schema {
	s, err := NewSchema(name, cols)
	if err != nil {
		panic(err)
	}
	return s
}

// Name is the table name.
func (s *Schema) Name() string { return s.name }

// Columns returns the columns (do not modify).
func (s *Schema) Columns() []Column { return s.columns }

// NumColumns is the number of columns.
func (s *Schema) NumColumns() int { return len(s.columns) }

// Column returns column i.
func (s *Schema) Column(i int) Column { return s.columns[i] }

// Index returns the index of the named column, or -1.
func (s *Schema) Index(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// Arrow returns the Arrow schema scans produce when all columns are read.
func (s *Schema) Arrow() *arrow.Schema { return s.arrow }

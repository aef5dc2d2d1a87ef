package tablestore

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// StringValue returns row i of a string column as scans produce it: a plain
// utf8 array (TypeString, IDs) or a dictionary array (TypeDict). It returns
// "" for other array types.
func StringValue(arr arrow.Array, i int) string {
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Dictionary:
		if d, ok := a.Dictionary().(*array.String); ok {
			return d.Value(a.GetValueIndex(i))
		}
	}
	return ""
}

// Provider is implemented by the `table_store` extension: other components
// find the store through host.GetExtensions() and this interface.
// TableStore returns nil before the extension started or after it shut down.
type Provider interface {
	TableStore() *Store
}

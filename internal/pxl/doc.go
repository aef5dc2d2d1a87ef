// Package pxl runs PxL, Pixie's pandas-like query language, against the
// Arrow tables of internal/tablestore.
//
// A script is parsed with go.starlark.net after two source-preserving
// passes: `import px` lines and type annotations on function parameters are
// blanked out (replaced by spaces, so every line:column stays exact), and the
// syntax tree is rewritten so that comparison and boolean operators
// (`==`, `!=`, `<`, `<=`, `>`, `>=`, `&`, `|`, `~`) call a builtin that
// builds a column expression when an operand is a column (Starlark cannot
// overload them). Arithmetic is overloaded directly by the column value.
//
// Running the script builds a plan, not data: px.DataFrame is a scan,
// df[expr] a filter, df.x = expr a map, df[['a','b']] a projection,
// groupby().agg() an aggregation, head(n) a limit, merge a hash join and
// append a union. px.display registers a plan as an output table. The
// plan is then pruned (only the columns used are read from the store) and
// executed column by column over the store's record batches.
//
// Every query is bounded: a Starlark step limit, a wall-clock timeout,
// cancellation through the context, a cap on rows scanned and on groups,
// and a maximum number of rows per output table. Errors carry the line and
// column of the script position that caused them.
package pxl

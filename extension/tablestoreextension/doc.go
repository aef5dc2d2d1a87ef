// Package tablestoreextension implements the `table_store` extension: it
// owns the in-memory Arrow table store (internal/tablestore), its retention
// (time and bytes, with per-table shares of the byte budget), reports the
// store's metrics with the component's MeterProvider, and serves HTTP on
// 127.0.0.1:9099 by default (confighttp, loopback only unless configured):
//
//	GET  /healthz       {"status":"ok"}
//	GET  /v1/tables     table names, schemas, row counts, bytes, time ranges
//	POST /v1/query      run PxL (alias /v1/pxl): JSON {"script", "name",
//	                    "func", "args"} or the raw script; answers
//	                    {"tables":[{"name","columns","rows"}]} or
//	                    {"error":{"message","line","column"}} (400);
//	                    "format":"arrow" (or ?format=arrow) answers one
//	                    Arrow IPC stream per table instead
//	GET  /v1/scripts    the bundled scripts (px/http_data, …)
//	GET  /v1/functions  the px functions
//
// Queries run with internal/pxl's default limits (10000 rows per table,
// 30 s, step and memory caps), at most two at a time. The
// `table_store` exporter finds the store through host.GetExtensions() and
// the tablestore.Provider interface.
package tablestoreextension

// Package tablestoreextension implements the `table_store` extension: it
// owns the in-memory Arrow table store (internal/tablestore), its retention
// (time and bytes, with per-table shares of the byte budget), reports the
// store's metrics with the component's MeterProvider, and serves HTTP on
// 127.0.0.1:9099 by default (confighttp, loopback only unless configured):
//
//	GET /healthz    {"status":"ok"}
//	GET /v1/tables  table names, schemas, row counts, bytes, time ranges
//
// A later issue adds the PxL query endpoint to the same server. The
// `table_store` exporter finds the store through host.GetExtensions() and
// the tablestore.Provider interface.
package tablestoreextension

// Package tablestoreexporter implements the `table_store` exporter: it maps
// OTel signals to rows of the in-memory table store owned by the
// `table_store` extension, which it finds through host.GetExtensions() (the
// Jaeger v2 pattern: a storage extension plus an exporter that writes to it).
//
// Mapping:
//
//   - Spans of the ebpf receiver (instrumentation scope
//     github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver, or the
//     scopes listed in http_events_scopes) become rows of Pixie's
//     `http_events` table: time_ is the span end (Pixie stamps the response),
//     latency is end - start, trace_role 2 for SERVER and 1 for CLIENT spans,
//     remote/local address and port from network.peer.* / network.local.*
//     (falling back to client.* / server.*), req_path is url.path plus
//     "?"+url.query, headers are JSON objects {"name":"v1, v2"} built from
//     http.{request,response}.header.<name>, resp_message is the reason
//     phrase of the status code, content_type is 1 when a content-type
//     header mentions json. The scope filter keeps spans that applications
//     report about the same request (with their own SDK) from being counted
//     twice; "*" in http_events_scopes instead maps every SERVER or CLIENT
//     span that has http.request.method.
//   - Every span (ebpf ones included, unless skip_http_events_in_spans) is a
//     row of the generic `spans` table, every metric data point a row of
//     `metrics`, every log record a row of `logs`.
//
// Bad input never fails a request: missing or wrong-typed fields get
// defaults and are counted as errors of the table (the extension's
// table_store.errors metric).
package tablestoreexporter

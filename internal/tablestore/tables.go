package tablestore

// Names of the built-in tables.
const (
	TableHTTPEvents = "http_events"
	TableSpans      = "spans"
	TableMetrics    = "metrics"
	TableLogs       = "logs"
)

// Column indexes of http_events. The first 22 columns are Pixie's
// http_events columns with Pixie's names and value types; the rest are
// OTel-derived extras.
const (
	HTTPTime = iota
	HTTPUPID
	HTTPRemoteAddr
	HTTPRemotePort
	HTTPLocalAddr
	HTTPLocalPort
	HTTPTraceRole
	HTTPEncrypted
	HTTPMajorVersion
	HTTPMinorVersion
	HTTPContentType
	HTTPReqHeaders
	HTTPReqMethod
	HTTPReqPath
	HTTPReqBody
	HTTPReqBodySize
	HTTPRespHeaders
	HTTPRespStatus
	HTTPRespMessage
	HTTPRespBody
	HTTPRespBodySize
	HTTPLatency
	HTTPTraceID
	HTTPSpanID
	HTTPService
	HTTPPod
	HTTPNamespace
	HTTPContainerID
	HTTPPID
	HTTPExe
)

// HTTPEventsSchema is Pixie's http_events table plus OTel-derived extras.
//
// upid is Pixie's UINT128 unique process ID, stored as the string
// "<pid>:<process start time in ns since epoch>" ("<pid>:0" when the start
// time is unknown).
var HTTPEventsSchema = MustSchema(TableHTTPEvents, []Column{
	{TimeColumn, TypeTime, "when the response completed (span end), ns since epoch"},
	{"upid", TypeDict, "unique process ID: \"<pid>:<start_time_ns>\""},
	{"remote_addr", TypeDict, "IP of the remote end"},
	{"remote_port", TypeInt64, "port of the remote end"},
	{"local_addr", TypeDict, "IP of the local end"},
	{"local_port", TypeInt64, "port of the local end"},
	{"trace_role", TypeInt64, "1 client, 2 server, 0 unknown"},
	{"encrypted", TypeBool, "the traffic was TLS"},
	{"major_version", TypeInt64, "HTTP major version"},
	{"minor_version", TypeInt64, "HTTP minor version"},
	{"content_type", TypeInt64, "0 unknown, 1 JSON"},
	{"req_headers", TypeString, "request headers, JSON object"},
	{"req_method", TypeDict, "request method"},
	{"req_path", TypeString, "request path with query string"},
	{"req_body", TypeString, "request body (possibly truncated)"},
	{"req_body_size", TypeInt64, "request body size in bytes"},
	{"resp_headers", TypeString, "response headers, JSON object"},
	{"resp_status", TypeInt64, "response status code"},
	{"resp_message", TypeDict, "response reason phrase"},
	{"resp_body", TypeString, "response body (possibly truncated)"},
	{"resp_body_size", TypeInt64, "response body size in bytes"},
	{"latency", TypeInt64, "request latency in ns"},
	{"trace_id", TypeTraceID, "OTel trace ID (hex)"},
	{"span_id", TypeSpanID, "OTel span ID (hex)"},
	{"service", TypeDict, "resource service.name, else process.executable.name"},
	{"pod", TypeDict, "k8s.pod.name, else k8s.pod.uid"},
	{"namespace", TypeDict, "k8s.namespace.name"},
	{"container_id", TypeDict, "container.id"},
	{"pid", TypeInt64, "process.pid"},
	{"exe", TypeDict, "process.executable.name"},
})

// Column indexes of spans.
const (
	SpanTime = iota
	SpanEndTime
	SpanTraceID
	SpanSpanID
	SpanParentSpanID
	SpanName
	SpanKind
	SpanStatusCode
	SpanStatusMessage
	SpanService
	SpanScope
	SpanResource
	SpanAttributes
	SpanDuration
)

// SpansSchema is the generic table every OTLP span lands in.
var SpansSchema = MustSchema(TableSpans, []Column{
	{TimeColumn, TypeTime, "span start, ns since epoch"},
	{"end_time", TypeTime, "span end"},
	{"trace_id", TypeTraceID, "trace ID (hex)"},
	{"span_id", TypeSpanID, "span ID (hex)"},
	{"parent_span_id", TypeSpanID, "parent span ID (hex, \"\" for a root span)"},
	{"name", TypeDict, "span name"},
	{"kind", TypeDict, "Unspecified, Internal, Server, Client, Producer, Consumer"},
	{"status_code", TypeDict, "Unset, Ok, Error"},
	{"status_message", TypeString, "status message"},
	{"service", TypeDict, "resource service.name, else process.executable.name"},
	{"scope", TypeDict, "instrumentation scope name"},
	{"resource", TypeDict, "resource attributes, JSON object"},
	{"attributes", TypeString, "span attributes, JSON object"},
	{"duration_ns", TypeInt64, "end - start in ns"},
})

// Column indexes of metrics.
const (
	MetricTime = iota
	MetricStartTime
	MetricName
	MetricType
	MetricUnit
	MetricValue
	MetricCount
	MetricSum
	MetricBuckets
	MetricTemporality
	MetricMonotonic
	MetricAttributes
	MetricService
	MetricScope
	MetricResource
)

// MetricsSchema is the generic table every OTLP metric data point lands in
// (one row per data point).
var MetricsSchema = MustSchema(TableMetrics, []Column{
	{TimeColumn, TypeTime, "data point timestamp, ns since epoch"},
	{"start_time", TypeTime, "data point start timestamp (cumulative series), 0 if absent"},
	{"name", TypeDict, "metric name"},
	{"type", TypeDict, "gauge, sum, histogram, exponential_histogram, summary"},
	{"unit", TypeDict, "metric unit"},
	{"value", TypeFloat64, "gauge/sum value; histogram and summary: the sum"},
	{"count", TypeInt64, "histogram/summary count, 0 otherwise"},
	{"sum", TypeFloat64, "histogram/summary sum, 0 otherwise"},
	{"buckets", TypeString, "histogram buckets / summary quantiles, JSON (\"\" otherwise)"},
	{"temporality", TypeDict, "Cumulative, Delta or \"\""},
	{"is_monotonic", TypeBool, "sum is monotonic"},
	{"attributes", TypeDict, "data point attributes, JSON object"},
	{"service", TypeDict, "resource service.name, else process.executable.name"},
	{"scope", TypeDict, "instrumentation scope name"},
	{"resource", TypeDict, "resource attributes, JSON object"},
})

// Column indexes of logs.
const (
	LogTime = iota
	LogSeverity
	LogSeverityNumber
	LogBody
	LogAttributes
	LogService
	LogScope
	LogResource
	LogTraceID
	LogSpanID
)

// LogsSchema is the generic table every OTLP log record lands in.
var LogsSchema = MustSchema(TableLogs, []Column{
	{TimeColumn, TypeTime, "log timestamp (observed timestamp if absent), ns since epoch"},
	{"severity", TypeDict, "severity text (derived from the number if absent)"},
	{"severity_number", TypeInt64, "OTel severity number"},
	{"body", TypeString, "body: the string, or JSON for other values"},
	{"attributes", TypeString, "log attributes, JSON object"},
	{"service", TypeDict, "resource service.name, else process.executable.name"},
	{"scope", TypeDict, "instrumentation scope name"},
	{"resource", TypeDict, "resource attributes, JSON object"},
	{"trace_id", TypeTraceID, "trace ID (hex)"},
	{"span_id", TypeSpanID, "span ID (hex)"},
})

// DefaultSchemas returns the built-in tables in a fixed order.
func DefaultSchemas() []*Schema {
	return []*Schema{HTTPEventsSchema, SpansSchema, MetricsSchema, LogsSchema, StackTracesSchema,
		ProcessStatsSchema, ConnStatsSchema, PGSQLEventsSchema, MySQLEventsSchema, RedisEventsSchema,
		DNSEventsSchema, KafkaEventsSchema}
}

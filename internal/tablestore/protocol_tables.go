package tablestore

// Names of Pixie's protocol tables, filled from the ebpf receiver's
// database, cache, DNS and messaging spans.
const (
	TableDNSEvents   = "dns_events"
	TablePGSQLEvents = "pgsql_events"
	TableMySQLEvents = "mysql_events"
	TableRedisEvents = "redis_events"
	TableKafkaEvents = "kafka_events.beta"
)

// Column indexes shared by the protocol tables: Pixie's leading columns,
// then the table's own columns from ProtoPayload on, then (see
// ProtoTailIndex) latency and the OTel-derived extras.
const (
	ProtoTime = iota
	ProtoUPID
	ProtoRemoteAddr
	ProtoRemotePort
	ProtoLocalAddr
	ProtoLocalPort
	ProtoTraceRole
	ProtoEncrypted
	ProtoPayload
)

// Offsets from ProtoTailIndex of the columns after a protocol table's own.
const (
	TailLatency = iota
	TailTraceID
	TailSpanID
	TailService
	TailPod
	TailNamespace
	TailContainerID
	TailPID
	TailExe
	numTail
)

// ProtoTailIndex is the index of the latency column of a protocol table.
func ProtoTailIndex(s *Schema) int { return len(s.Columns()) - numTail }

func protocolSchema(name string, own []Column) *Schema {
	cols := []Column{
		{TimeColumn, TypeTime, "when the response completed (span end), ns since epoch"},
		{"upid", TypeDict, "unique process ID: \"<pid>:<start_time_ns>\""},
		{"remote_addr", TypeDict, "IP of the remote end"},
		{"remote_port", TypeInt64, "port of the remote end"},
		{"local_addr", TypeDict, "IP of the local end"},
		{"local_port", TypeInt64, "port of the local end"},
		{"trace_role", TypeInt64, "1 client, 2 server, 0 unknown"},
		{"encrypted", TypeBool, "the traffic was TLS"},
	}
	cols = append(cols, own...)
	cols = append(cols,
		Column{"latency", TypeInt64, "request latency in ns"},
		Column{"trace_id", TypeTraceID, "OTel trace ID (hex)"},
		Column{"span_id", TypeSpanID, "OTel span ID (hex)"},
		Column{"service", TypeDict, "resource service.name, else process.executable.name"},
		Column{"pod", TypeDict, "k8s.pod.name, else k8s.pod.uid"},
		Column{"namespace", TypeDict, "k8s.namespace.name"},
		Column{"container_id", TypeDict, "container.id"},
		Column{"pid", TypeInt64, "process.pid"},
		Column{"exe", TypeDict, "process.executable.name"},
	)
	return MustSchema(name, cols)
}

// Pixie's protocol tables with Pixie's column names and value types (see
// protocol_tables.go's column comments), plus the extras of http_events.
var (
	PGSQLEventsSchema = protocolSchema(TablePGSQLEvents, []Column{
		{"req_cmd", TypeDict, "request message: Query, Execute, Parse, Bind"},
		{"req", TypeString, "query text (Execute: query and parameters)"},
		{"resp", TypeString, "command tag (\"SELECT 1\") or \"ERROR: message\""},
	})
	MySQLEventsSchema = protocolSchema(TableMySQLEvents, []Column{
		{"req_cmd", TypeInt64, "command byte: 3 COM_QUERY, 22 COM_STMT_PREPARE, 23 COM_STMT_EXECUTE"},
		{"req_body", TypeString, "query text"},
		{"resp_status", TypeInt64, "0 unknown, 1 none, 2 OK, 3 error"},
		{"resp_body", TypeString, "\"Resultset rows = N\", affected rows, or the error message"},
	})
	RedisEventsSchema = protocolSchema(TableRedisEvents, []Column{
		{"req_cmd", TypeDict, "command (\"GET\", \"CLIENT SETNAME\", \"PUSH PUB\")"},
		{"req_args", TypeString, "arguments, JSON array"},
		{"resp", TypeString, "reply"},
	})
	DNSEventsSchema = protocolSchema(TableDNSEvents, []Column{
		{"req_header", TypeString, "query header, JSON"},
		{"req_body", TypeString, "queries, JSON"},
		{"resp_header", TypeString, "response header, JSON"},
		{"resp_body", TypeString, "answers, JSON"},
	})
	KafkaEventsSchema = protocolSchema(TableKafkaEvents, []Column{
		{"req_cmd", TypeInt64, "API key (0 Produce, 1 Fetch, ...)"},
		{"client_id", TypeDict, "client id of the request header"},
		{"req_body", TypeString, "request summary, JSON"},
		{"resp", TypeString, "response summary, JSON"},
	})
)

// ProtocolSchemas returns the protocol tables in a fixed order.
func ProtocolSchemas() []*Schema {
	return []*Schema{PGSQLEventsSchema, MySQLEventsSchema, RedisEventsSchema, DNSEventsSchema, KafkaEventsSchema}
}

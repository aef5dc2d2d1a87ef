package tablestore

// Names of the tables filled from the ebpf receiver's metrics and
// conn_stats events.
const (
	TableProcessStats = "process_stats"
	TableConnStats    = "conn_stats"
)

// Column indexes of process_stats (Pixie's columns first).
const (
	ProcTime = iota
	ProcUPID
	ProcMajorFaults
	ProcMinorFaults
	ProcCPUUTimeNs
	ProcCPUKTimeNs
	ProcNumThreads
	ProcVSizeBytes
	ProcRSSBytes
	ProcRCharBytes
	ProcWCharBytes
	ProcReadBytes
	ProcWriteBytes
	ProcService
	ProcPod
	ProcNamespace
	ProcContainerID
	ProcPID
	ProcExe
)

// ProcessStatsSchema is Pixie's process_stats table (cumulative counters
// and gauges per process per report) plus resource extras.
var ProcessStatsSchema = MustSchema(TableProcessStats, []Column{
	{TimeColumn, TypeTime, "when the sample was taken, ns since epoch"},
	{"upid", TypeDict, "unique process ID: \"<pid>:<start_time_ns>\""},
	{"major_faults", TypeInt64, "page faults that needed I/O, cumulative"},
	{"minor_faults", TypeInt64, "page faults without I/O, cumulative"},
	{"cpu_utime_ns", TypeInt64, "CPU time in user mode, ns, cumulative"},
	{"cpu_ktime_ns", TypeInt64, "CPU time in kernel mode, ns, cumulative"},
	{"num_threads", TypeInt64, "threads"},
	{"vsize_bytes", TypeInt64, "virtual memory size"},
	{"rss_bytes", TypeInt64, "resident set size"},
	{"rchar_bytes", TypeInt64, "bytes through read-like syscalls, cumulative"},
	{"wchar_bytes", TypeInt64, "bytes through write-like syscalls, cumulative"},
	{"read_bytes", TypeInt64, "bytes read from storage, cumulative"},
	{"write_bytes", TypeInt64, "bytes written to storage, cumulative"},
	{"service", TypeDict, "resource service.name, else process.executable.name"},
	{"pod", TypeDict, "k8s.pod.name, else k8s.pod.uid"},
	{"namespace", TypeDict, "k8s.namespace.name"},
	{"container_id", TypeDict, "container.id"},
	{"pid", TypeInt64, "process.pid"},
	{"exe", TypeDict, "process.executable.name"},
})

// Column indexes of conn_stats (Pixie's columns first).
const (
	ConnTime = iota
	ConnUPID
	ConnRemoteAddr
	ConnRemotePort
	ConnTraceRole
	ConnAddrFamily
	ConnProtocol
	ConnSSL
	ConnOpen
	ConnClose
	ConnActive
	ConnBytesSent
	ConnBytesRecv
	ConnProtocolName
	ConnRetransmits
	ConnService
	ConnPod
	ConnNamespace
	ConnPID
)

// ConnStatsSchema is Pixie's conn_stats table: one row per connection per
// report while it is active, with cumulative counters.
var ConnStatsSchema = MustSchema(TableConnStats, []Column{
	{TimeColumn, TypeTime, "report time, ns since epoch"},
	{"upid", TypeDict, "unique process ID: \"<pid>:<start_time_ns>\""},
	{"remote_addr", TypeDict, "IP of the remote end"},
	{"remote_port", TypeInt64, "port of the remote end"},
	{"trace_role", TypeInt64, "1 client, 2 server, 0 unknown"},
	{"addr_family", TypeInt64, "Pixie's SockAddrFamily: 1 IPv4, 2 IPv6"},
	{"protocol", TypeInt64, "Pixie's traffic protocol: 0 unknown, 1 HTTP, 2 HTTP/2, 3 MySQL, 5 PostgreSQL, 6 DNS, 7 Redis, 10 Kafka"},
	{"ssl", TypeBool, "the connection is TLS"},
	{"conn_open", TypeInt64, "connections opened (1 per connection)"},
	{"conn_close", TypeInt64, "connections closed (1 once closed)"},
	{"conn_active", TypeInt64, "conn_open - conn_close"},
	{"bytes_sent", TypeInt64, "bytes sent, cumulative"},
	{"bytes_recv", TypeInt64, "bytes received, cumulative"},
	{"protocol_name", TypeDict, "protocol name (http1, pgsql, …, unknown)"},
	{"retransmits", TypeInt64, "TCP segments retransmitted, cumulative"},
	{"service", TypeDict, "resource service.name, else process.executable.name"},
	{"pod", TypeDict, "k8s.pod.name, else k8s.pod.uid"},
	{"namespace", TypeDict, "k8s.namespace.name"},
	{"pid", TypeInt64, "process.pid"},
})

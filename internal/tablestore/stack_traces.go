package tablestore

// TableStackTraces is Pixie's table of sampled CPU stacks.
const TableStackTraces = "stack_traces.beta"

// Column indexes of stack_traces.beta. The first five are Pixie's columns
// with Pixie's names and value types; the rest are OTel-derived extras
// (the same as http_events'), so that df.ctx[...] works.
const (
	StackTime = iota
	StackUPID
	StackTraceID
	StackTrace
	StackCount
	StackService
	StackPod
	StackNamespace
	StackContainerID
	StackPID
	StackExe
)

// StackTracesSchema is Pixie's stack_traces.beta: one row per distinct
// stack of a process per profile (report interval).
var StackTracesSchema = MustSchema(TableStackTraces, []Column{
	{TimeColumn, TypeTime, "end of the sampling interval, ns since epoch"},
	{"upid", TypeDict, "unique process ID: \"<pid>:<start_time_ns>\""},
	{"stack_trace_id", TypeInt64, "hash of stack_trace (stable across intervals)"},
	{"stack_trace", TypeString, "folded stack, root first, frames joined by ';', kernel frames prefixed \"[k] \""},
	{"count", TypeInt64, "samples of this stack in the interval"},
	{"service", TypeDict, "resource service.name, else process.executable.name"},
	{"pod", TypeDict, "k8s.pod.name, else k8s.pod.uid"},
	{"namespace", TypeDict, "k8s.namespace.name"},
	{"container_id", TypeDict, "container.id"},
	{"pid", TypeInt64, "process.pid"},
	{"exe", TypeDict, "process.executable.name"},
})

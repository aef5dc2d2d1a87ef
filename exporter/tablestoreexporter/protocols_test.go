package tablestoreexporter

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// protocolTraces is what the ebpf receiver emits for a PostgreSQL client
// query, a MySQL server error, a Redis command, a DNS lookup and a Kafka
// produce of one process.
func protocolTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutInt("process.pid", 4242)
	ra.PutStr("process.executable.name", "shop")
	ra.PutStr("service.name", "shop")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(EBPFScope + "/protocols")
	add := func(name string, kind ptrace.SpanKind, errored bool, kv ...any) {
		s := ss.Spans().AppendEmpty()
		s.SetName(name)
		s.SetKind(kind)
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetStartTimestamp(t0)
		s.SetEndTimestamp(t0 + 2_000_000)
		if errored {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
		a := s.Attributes()
		for i := 0; i < len(kv); i += 2 {
			switch v := kv[i+1].(type) {
			case string:
				a.PutStr(kv[i].(string), v)
			case int:
				a.PutInt(kv[i].(string), int64(v))
			}
		}
		if kind == ptrace.SpanKindClient {
			a.PutStr("client.address", "10.0.0.1")
			a.PutInt("client.port", 40000)
			a.PutStr("network.peer.address", "10.0.0.3")
			a.PutInt("network.peer.port", 5432)
		} else {
			a.PutStr("server.address", "10.0.0.1")
			a.PutInt("server.port", 3306)
			a.PutStr("network.peer.address", "10.0.0.9")
			a.PutInt("network.peer.port", 51000)
		}
	}
	add("SELECT users", ptrace.SpanKindClient, false, "db.system.name", "postgresql", "db.query.text", "SELECT name FROM users WHERE id = $1",
		"pixie.req_cmd", "Execute", "pixie.req_body", "query=[SELECT name FROM users WHERE id = $1] params=[$1 = '1']", "pixie.resp_body", "SELECT 1")
	add("SELECT nosuchtable", ptrace.SpanKindServer, true, "db.system.name", "mariadb", "db.query.text", "SELECT * FROM nosuchtable",
		"db.response.status_code", "1146", "pixie.req_cmd", "3", "pixie.req_body", "SELECT * FROM nosuchtable", "pixie.resp_body", "Table 'shop.nosuchtable' doesn't exist")
	add("GET", ptrace.SpanKindClient, false, "db.system.name", "redis", "db.query.text", "GET user:1",
		"pixie.req_cmd", "GET", "pixie.req_body", `["user:1"]`, "pixie.resp_body", "alice")
	add("DNS A", ptrace.SpanKindClient, false, "dns.question.name", "shop.test", "pixie.req_cmd", "A",
		"pixie.req_header", `{"txid":1}`, "pixie.req_body", `{"queries":[{"name":"shop.test","type":"A"}]}`,
		"pixie.resp_header", `{"txid":1,"qr":1}`, "pixie.resp_body", `{"answers":[{"name":"shop.test","type":"A","addr":"10.1.2.3"}]}`)
	add("send orders", ptrace.SpanKindClient, false, "messaging.system", "kafka", "messaging.destination.name", "orders",
		"messaging.client.id", "app-1", "pixie.req_cmd", "0", "pixie.req_body", `{"api":"Produce"}`, "pixie.resp_body", `{"error_code":0}`)
	// An SDK span with database conventions only.
	add("SELECT t", ptrace.SpanKindClient, false, "db.system.name", "postgresql", "db.query.text", "SELECT 1 FROM t")
	// Not a protocol span.
	add("internal", ptrace.SpanKindInternal, false, "db.system.name", "postgresql")
	return td
}

func TestProtocolTablesGolden(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	store, err := tablestore.New(tablestore.Config{
		MaxBytes: 256 << 20, Now: func() time.Time { return fixedNow }, Allocator: mem,
		MaintenanceInterval: -1, LateTolerance: time.Hour, MaxFuture: 24 * time.Hour,
		BatchBytes: 1 << 20,
	}, tablestore.DefaultSchemas()...)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, store.Close())
		mem.AssertSize(t, 0)
	})
	e := startExporter(t, createDefaultConfig().(*Config), store)
	require.NoError(t, e.ConsumeTraces(context.Background(), protocolTraces()))
	for _, name := range []string{tablestore.TablePGSQLEvents, tablestore.TableMySQLEvents, tablestore.TableRedisEvents,
		tablestore.TableDNSEvents, tablestore.TableKafkaEvents} {
		checkGolden(t, name, dumpTable(t, store.Table(name)))
	}
	require.Empty(t, dumpTable(t, store.Table(tablestore.TableHTTPEvents)), "protocol spans are not http_events")
}

// Without the protocol tables in the store, protocol spans only go to spans.
func TestProtocolTablesAbsent(t *testing.T) {
	store := newStore(t)
	e := startExporter(t, createDefaultConfig().(*Config), store)
	require.NoError(t, e.ConsumeTraces(context.Background(), protocolTraces()))
	require.Len(t, dumpTable(t, store.Table(tablestore.TableSpans)), 7)
}

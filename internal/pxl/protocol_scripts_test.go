package pxl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// protoRow is one row of a protocol table: the leading columns, then the
// table's own columns in order (strings or int64s).
type protoRow struct {
	ago     time.Duration
	role    int64
	remote  string
	latency int64
	own     []any
}

func appendProto(tb testing.TB, s *tablestore.Store, table string, rows []protoRow) {
	tb.Helper()
	t := s.Table(table)
	b := t.NewBatch(len(rows))
	for _, r := range rows {
		b.AppendTime(tablestore.ProtoTime, testNow.Add(-r.ago).UnixNano())
		b.AppendString(tablestore.ProtoUPID, "42:0")
		b.AppendString(tablestore.ProtoRemoteAddr, r.remote)
		b.AppendInt(tablestore.ProtoRemotePort, 5432)
		b.AppendInt(tablestore.ProtoTraceRole, r.role)
		for i, v := range r.own {
			switch v := v.(type) {
			case string:
				b.AppendString(tablestore.ProtoPayload+i, v)
			case int:
				b.AppendInt(tablestore.ProtoPayload+i, int64(v))
			}
		}
		tail := tablestore.ProtoTailIndex(b.Schema())
		b.AppendInt(tail+tablestore.TailLatency, r.latency)
		b.AppendString(tail+tablestore.TailService, "shop")
		b.AppendInt(tail+tablestore.TailPID, 42)
		b.EndRow()
	}
	_, err := t.Append(b)
	require.NoError(tb, err)
}

func protocolFixture(tb testing.TB) *tablestore.Store {
	s, err := tablestore.New(tablestore.Config{
		Now: func() time.Time { return testNow }, MaintenanceInterval: -1, CompactInline: true, MaxBytes: 512 << 20,
	}, tablestore.DefaultSchemas()...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	ms := int64(time.Millisecond)
	appendProto(tb, s, tablestore.TablePGSQLEvents, []protoRow{
		{60 * time.Second, 1, "10.0.0.3", 2 * ms, []any{"Query", "SELECT name FROM users WHERE id = 1", "SELECT 1"}},
		{50 * time.Second, 1, "10.0.0.3", 4 * ms, []any{"Query", "SELECT name FROM users WHERE id = 2", "SELECT 1"}},
		{40 * time.Second, 2, "10.0.0.9", 1 * ms, []any{"Query", "SELECT * FROM nosuchtable", "ERROR: relation \"nosuchtable\" does not exist"}},
	})
	appendProto(tb, s, tablestore.TableMySQLEvents, []protoRow{
		{45 * time.Second, 1, "10.0.0.4", 3 * ms, []any{3, "SELECT name FROM users WHERE id > 0", 2, "Resultset rows = 2"}},
		{35 * time.Second, 1, "10.0.0.4", 1 * ms, []any{3, "SELECT * FROM nosuchtable", 3, "Table 'shop.nosuchtable' doesn't exist"}},
	})
	appendProto(tb, s, tablestore.TableRedisEvents, []protoRow{
		{30 * time.Second, 1, "10.0.0.5", ms / 2, []any{"SET", `["user:1", "alice"]`, "OK"}},
		{29 * time.Second, 1, "10.0.0.5", ms / 4, []any{"GET", `["user:1"]`, "alice"}},
	})
	appendProto(tb, s, tablestore.TableDNSEvents, []protoRow{
		{20 * time.Second, 1, "127.0.0.53", ms, []any{`{"txid":1,"qr":0}`, `{"queries":[{"name":"shop.test","type":"A"}]}`,
			`{"txid":1,"qr":1}`, `{"answers":[{"name":"shop.test","type":"A","addr":"10.1.2.3"}]}`}},
	})
	appendProto(tb, s, tablestore.TableKafkaEvents, []protoRow{
		{10 * time.Second, 1, "10.0.0.6", 5 * ms, []any{0, "app-1", `{"api":"Produce","topic":"orders"}`, `{"error_code":0}`}},
	})
	return s
}

// TestProtocolScripts runs the bundled protocol scripts against a store
// holding rows in the protocol tables.
func TestProtocolScripts(t *testing.T) {
	s := protocolFixture(t)
	e := New(s, Options{Now: func() time.Time { return testNow }})
	var files []string
	for _, n := range []string{"dns_data", "kafka_data", "mysql_data", "pgsql_data", "redis_data", "sql_queries"} {
		files = append(files, filepath.Join("scripts", "px", n+".pxl"))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pxl")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NotEmpty(t, leadingComment(string(src)))
			res, err := e.Run(context.Background(), Query{Script: string(src), Filename: "px/" + name})
			require.NoError(t, err)
			require.Len(t, res.Tables, 1)
			require.NotEmpty(t, res.Tables[0].Rows)
			checkGolden(t, "protocols_"+name, res)
		})
	}
}

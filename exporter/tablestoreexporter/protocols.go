package tablestoreexporter

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/ptrace"

	ts "github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// Span attributes the ebpf receiver sets for Pixie's columns that have no
// semantic convention.
const (
	attrReqCmd     = "pixie.req_cmd"
	attrReqBody    = "pixie.req_body"
	attrRespBody   = "pixie.resp_body"
	attrReqHeader  = "pixie.req_header"
	attrRespHeader = "pixie.resp_header"
)

// protocolTable says which of Pixie's protocol tables a span belongs in
// ("" for none): client or server spans of PostgreSQL, MySQL/MariaDB,
// Redis, DNS or Kafka, from the ebpf receiver or any OTLP source.
func protocolTable(span ptrace.Span) string {
	if k := span.Kind(); k != ptrace.SpanKindClient && k != ptrace.SpanKindServer && k != ptrace.SpanKindConsumer {
		return ""
	}
	a := span.Attributes()
	if v, ok := a.Get("db.system.name"); ok {
		switch v.AsString() {
		case "postgresql":
			return ts.TablePGSQLEvents
		case "mysql", "mariadb":
			return ts.TableMySQLEvents
		case "redis":
			return ts.TableRedisEvents
		}
		return ""
	}
	if v, ok := a.Get("messaging.system"); ok && v.AsString() == "kafka" {
		return ts.TableKafkaEvents
	}
	if _, ok := a.Get("dns.question.name"); ok {
		return ts.TableDNSEvents
	}
	return ""
}

// protocolRows appends the spans of td that belong in protocol tables to
// those tables (the ones the store has) and returns the flush errors.
func (e *tableExporter) protocolRows(m *mapper, td ptrace.Traces) error {
	var batches map[string]*ts.Batch
	var tables map[string]*ts.Table
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var r resInfo
		resolved := false
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				name := protocolTable(span)
				if name == "" {
					continue
				}
				b := batches[name]
				if b == nil {
					t := e.store.Table(name)
					if t == nil {
						continue // the store was built without this table
					}
					if batches == nil {
						batches, tables = map[string]*ts.Batch{}, map[string]*ts.Table{}
					}
					b = t.NewBatch(64)
					batches[name], tables[name] = b, t
				}
				if !resolved {
					r = m.resource(rs.Resource())
					resolved = true
				}
				m.protocolRow(&r, span, name, b)
			}
		}
	}
	var errs []error
	for name, b := range batches {
		if err := e.flush(tables[name], b); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// protoAttrs are the span attributes the protocol tables read.
type protoAttrs struct {
	peerAddr, clientAddr, srvAddr            string
	peerPort, clientPort, srvPort            int64
	reqCmd, req, resp, reqHeader, respHeader string
	query, status, clientID                  string
}

func (m *mapper) protocolRow(r *resInfo, span ptrace.Span, table string, b *ts.Batch) {
	var errs int64
	var a protoAttrs
	for k, v := range span.Attributes().All() {
		switch k {
		case "network.peer.address":
			a.peerAddr = v.AsString()
		case "network.peer.port":
			a.peerPort = m.int(v, &errs)
		case "client.address":
			a.clientAddr = v.AsString()
		case "client.port":
			a.clientPort = m.int(v, &errs)
		case "server.address":
			a.srvAddr = v.AsString()
		case "server.port":
			a.srvPort = m.int(v, &errs)
		case attrReqCmd:
			a.reqCmd = v.AsString()
		case attrReqBody:
			a.req = v.AsString()
		case attrRespBody:
			a.resp = v.AsString()
		case attrReqHeader:
			a.reqHeader = v.AsString()
		case attrRespHeader:
			a.respHeader = v.AsString()
		case "db.query.text":
			a.query = v.AsString()
		case "db.response.status_code":
			a.status = v.AsString()
		case "messaging.client.id":
			a.clientID = v.AsString()
		}
	}
	start, end := span.StartTimestamp(), span.EndTimestamp()
	b.AppendTime(ts.ProtoTime, m.rowTime(&errs, end, start))
	b.AppendString(ts.ProtoUPID, r.upid)
	b.AppendString(ts.ProtoRemoteAddr, a.peerAddr)
	b.AppendInt(ts.ProtoRemotePort, a.peerPort)
	role := int64(0)
	localAddr, localPort := "", int64(0)
	switch span.Kind() {
	case ptrace.SpanKindClient, ptrace.SpanKindConsumer:
		role, localAddr, localPort = 1, a.clientAddr, a.clientPort
	case ptrace.SpanKindServer:
		role, localAddr, localPort = 2, a.srvAddr, a.srvPort
	}
	b.AppendString(ts.ProtoLocalAddr, localAddr)
	b.AppendInt(ts.ProtoLocalPort, localPort)
	b.AppendInt(ts.ProtoTraceRole, role)
	b.AppendBool(ts.ProtoEncrypted, false)
	if a.req == "" {
		a.req = a.query // spans from other sources: the query text
	}
	errored := span.Status().Code() == ptrace.StatusCodeError
	p := ts.ProtoPayload
	switch table {
	case ts.TablePGSQLEvents:
		b.AppendString(p, a.reqCmd)
		b.AppendString(p+1, a.req)
		b.AppendString(p+2, a.resp)
	case ts.TableMySQLEvents:
		cmd, _ := strconv.ParseInt(a.reqCmd, 10, 64)
		b.AppendInt(p, cmd)
		b.AppendString(p+1, a.req)
		st := int64(2) // OK
		switch {
		case a.status != "" || errored && a.resp != "":
			st = 3
		case errored:
			st = 1 // no response
		}
		b.AppendInt(p+2, st)
		b.AppendString(p+3, a.resp)
	case ts.TableRedisEvents:
		b.AppendString(p, a.reqCmd)
		b.AppendString(p+1, a.req)
		b.AppendString(p+2, a.resp)
	case ts.TableDNSEvents:
		b.AppendString(p, a.reqHeader)
		b.AppendString(p+1, a.req)
		b.AppendString(p+2, a.respHeader)
		b.AppendString(p+3, a.resp)
	case ts.TableKafkaEvents:
		cmd, _ := strconv.ParseInt(a.reqCmd, 10, 64)
		b.AppendInt(p, cmd)
		b.AppendString(p+1, a.clientID)
		b.AppendString(p+2, a.req)
		b.AppendString(p+3, a.resp)
	}
	tail := ts.ProtoTailIndex(b.Schema())
	dur := int64(0)
	if start != 0 && end >= start {
		dur = int64(end - start)
	} else {
		errs++
	}
	b.AppendInt(tail+ts.TailLatency, dur)
	tid, sid := span.TraceID(), span.SpanID()
	b.AppendID(tail+ts.TailTraceID, tid[:])
	b.AppendID(tail+ts.TailSpanID, sid[:])
	b.AppendString(tail+ts.TailService, r.service)
	b.AppendString(tail+ts.TailPod, r.pod)
	b.AppendString(tail+ts.TailNamespace, r.namespace)
	b.AppendString(tail+ts.TailContainerID, r.containerID)
	b.AppendInt(tail+ts.TailPID, r.pid)
	b.AppendString(tail+ts.TailExe, r.exe)
	b.AddErrors(errs + r.errs)
	b.EndRow()
}

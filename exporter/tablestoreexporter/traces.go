package tablestoreexporter

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	ts "github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

const (
	reqHeaderPrefix  = "http.request.header."
	respHeaderPrefix = "http.response.header."
)

// traces maps every span to a spans row and the ebpf receiver's HTTP spans
// to http_events rows.
func (m *mapper) traces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var r resInfo
		resolved := false
		httpRows, spanRows := false, false
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := scopeOf(ss.Scope())
			inScope := m.e.scopes[scope]
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if !resolved {
					r = m.resource(rs.Resource())
					resolved = true
				}
				isHTTP := false
				if m.http != nil && (inScope || m.e.anyScope) {
					kind := span.Kind()
					if inScope || ((kind == ptrace.SpanKindServer || kind == ptrace.SpanKindClient) && hasAttr(span.Attributes(), "http.request.method")) {
						m.httpRow(&r, span)
						isHTTP, httpRows = true, true
					}
				}
				if m.spans != nil && !(isHTTP && m.e.cfg.SkipHTTPEventsInSpans) {
					m.spanRow(&r, scope, span)
					spanRows = true
				}
			}
		}
		if r.errs > 0 {
			if httpRows {
				m.http.AddErrors(r.errs)
			}
			if spanRows {
				m.spans.AddErrors(r.errs)
			}
		}
		if httpRows && !r.hasPID {
			m.http.AddErrors(1)
		}
	}
}

func hasAttr(a pcommon.Map, k string) bool {
	_, ok := a.Get(k)
	return ok
}

func (m *mapper) spanRow(r *resInfo, scope string, span ptrace.Span) {
	b := m.spans
	var errs int64
	start, end := span.StartTimestamp(), span.EndTimestamp()
	b.AppendTime(ts.SpanTime, m.rowTime(&errs, start, end))
	b.AppendTime(ts.SpanEndTime, int64(end))
	tid, sid, pid := span.TraceID(), span.SpanID(), span.ParentSpanID()
	b.AppendID(ts.SpanTraceID, tid[:])
	b.AppendID(ts.SpanSpanID, sid[:])
	b.AppendID(ts.SpanParentSpanID, pid[:])
	b.AppendString(ts.SpanName, span.Name())
	b.AppendString(ts.SpanKind, span.Kind().String())
	b.AppendString(ts.SpanStatusCode, span.Status().Code().String())
	b.AppendString(ts.SpanStatusMessage, span.Status().Message())
	b.AppendString(ts.SpanService, r.service)
	b.AppendString(ts.SpanScope, scope)
	b.AppendString(ts.SpanResource, r.json)
	m.buf = appendJSONMap(m.buf[:0], span.Attributes())
	b.AppendStringBytes(ts.SpanAttributes, m.buf)
	dur := int64(0)
	if start != 0 && end >= start {
		dur = int64(end - start)
	} else {
		errs++
	}
	b.AppendInt(ts.SpanDuration, dur)
	b.AddErrors(errs)
	b.EndRow()
}

// httpAttrs are the span attributes http_events needs, read in one pass.
type httpAttrs struct {
	method, path, query, scheme, version     string
	peerAddr, localAddr, clientAddr, srvAddr string
	peerPort, localPort, clientPort, srvPort int64
	status, reqSize, respSize                int64
	hasMethod, hasReqSize, hasRespSize, tls  bool
	reqBody, respBody                        string
}

func (m *mapper) httpRow(r *resInfo, span ptrace.Span) {
	b := m.http
	var errs int64
	var a httpAttrs
	m.reqH, m.respH = m.reqH[:0], m.respH[:0]
	for k, v := range span.Attributes().All() {
		switch k {
		case "http.request.method":
			a.method, a.hasMethod = m.str(v, &errs), true
		case "url.path":
			a.path = m.str(v, &errs)
		case "url.query":
			a.query = m.str(v, &errs)
		case "url.scheme":
			a.scheme = m.str(v, &errs)
		case "http.response.status_code":
			a.status = m.int(v, &errs)
		case "network.protocol.version":
			a.version = m.str(v, &errs)
		case "network.peer.address":
			a.peerAddr = m.str(v, &errs)
		case "network.peer.port":
			a.peerPort = m.int(v, &errs)
		case "network.local.address":
			a.localAddr = m.str(v, &errs)
		case "network.local.port":
			a.localPort = m.int(v, &errs)
		case "client.address":
			a.clientAddr = m.str(v, &errs)
		case "client.port":
			a.clientPort = m.int(v, &errs)
		case "server.address":
			a.srvAddr = m.str(v, &errs)
		case "server.port":
			a.srvPort = m.int(v, &errs)
		case "http.request.body.size":
			a.reqSize, a.hasReqSize = m.int(v, &errs), true
		case "http.response.body.size":
			a.respSize, a.hasRespSize = m.int(v, &errs), true
		case "http.request.body":
			a.reqBody = m.str(v, &errs)
		case "http.response.body":
			a.respBody = m.str(v, &errs)
		default:
			switch {
			case strings.HasPrefix(k, reqHeaderPrefix):
				m.reqH = append(m.reqH, header{k[len(reqHeaderPrefix):], v})
			case strings.HasPrefix(k, respHeaderPrefix):
				m.respH = append(m.respH, header{k[len(respHeaderPrefix):], v})
			case strings.HasPrefix(k, "tls."):
				a.tls = true
			}
		}
	}
	if !a.hasMethod {
		errs++
	}
	start, end := span.StartTimestamp(), span.EndTimestamp()
	b.AppendTime(ts.HTTPTime, m.rowTime(&errs, end, start))
	b.AppendString(ts.HTTPUPID, r.upid)

	role := int64(0)
	remoteAddr, remotePort, localAddr, localPort := a.peerAddr, a.peerPort, a.localAddr, a.localPort
	switch span.Kind() {
	case ptrace.SpanKindServer:
		role = 2
		if remoteAddr == "" {
			remoteAddr, remotePort = a.clientAddr, a.clientPort
		}
		if localAddr == "" {
			localAddr, localPort = a.srvAddr, a.srvPort
		}
	case ptrace.SpanKindClient:
		role = 1
		if remoteAddr == "" {
			remoteAddr, remotePort = a.srvAddr, a.srvPort
		}
		if localAddr == "" {
			localAddr, localPort = a.clientAddr, a.clientPort
		}
	default:
		errs++
	}
	b.AppendString(ts.HTTPRemoteAddr, remoteAddr)
	b.AppendInt(ts.HTTPRemotePort, remotePort)
	b.AppendString(ts.HTTPLocalAddr, localAddr)
	b.AppendInt(ts.HTTPLocalPort, localPort)
	b.AppendInt(ts.HTTPTraceRole, role)
	b.AppendBool(ts.HTTPEncrypted, a.tls || strings.EqualFold(a.scheme, "https"))
	major, minor := protoVersion(a.version)
	b.AppendInt(ts.HTTPMajorVersion, major)
	b.AppendInt(ts.HTTPMinorVersion, minor)
	contentType := int64(0)
	if isJSON(m.respH) || isJSON(m.reqH) {
		contentType = 1
	}
	b.AppendInt(ts.HTTPContentType, contentType)
	m.buf = appendHeaders(m.buf[:0], m.reqH)
	b.AppendStringBytes(ts.HTTPReqHeaders, m.buf)
	b.AppendString(ts.HTTPReqMethod, a.method)
	if a.query != "" {
		m.buf = append(append(append(m.buf[:0], a.path...), '?'), a.query...)
		b.AppendStringBytes(ts.HTTPReqPath, m.buf)
	} else {
		b.AppendString(ts.HTTPReqPath, a.path)
	}
	b.AppendString(ts.HTTPReqBody, a.reqBody)
	if !a.hasReqSize {
		a.reqSize = int64(len(a.reqBody))
	}
	b.AppendInt(ts.HTTPReqBodySize, a.reqSize)
	m.buf = appendHeaders(m.buf[:0], m.respH)
	b.AppendStringBytes(ts.HTTPRespHeaders, m.buf)
	b.AppendInt(ts.HTTPRespStatus, a.status)
	b.AppendString(ts.HTTPRespMessage, statusText(a.status))
	b.AppendString(ts.HTTPRespBody, a.respBody)
	if !a.hasRespSize {
		a.respSize = int64(len(a.respBody))
	}
	b.AppendInt(ts.HTTPRespBodySize, a.respSize)
	latency := int64(0)
	if start != 0 && end >= start {
		latency = int64(end - start)
	} else {
		errs++
	}
	b.AppendInt(ts.HTTPLatency, latency)
	tid, sid := span.TraceID(), span.SpanID()
	b.AppendID(ts.HTTPTraceID, tid[:])
	b.AppendID(ts.HTTPSpanID, sid[:])
	b.AppendString(ts.HTTPService, r.service)
	b.AppendString(ts.HTTPPod, r.pod)
	b.AppendString(ts.HTTPNamespace, r.namespace)
	b.AppendString(ts.HTTPContainerID, r.containerID)
	b.AppendInt(ts.HTTPPID, r.pid)
	b.AppendString(ts.HTTPExe, r.exe)
	b.AddErrors(errs)
	b.EndRow()
}

// protoVersion splits "1.1" / "2" / "HTTP/1.0" into major and minor
// versions (0, 0 when unknown).
func protoVersion(v string) (major, minor int64) {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "HTTP/"), "http/")
	digit := func(s string) (int64, bool) {
		if len(s) != 1 || s[0] < '0' || s[0] > '9' {
			return 0, false
		}
		return int64(s[0] - '0'), true
	}
	ma, mi, _ := strings.Cut(v, ".")
	major, ok := digit(ma)
	if !ok {
		return 0, 0
	}
	if mi == "" {
		return major, 0
	}
	minor, ok = digit(mi)
	if !ok {
		return 0, 0
	}
	return major, minor
}

// statusText is the reason phrase Pixie stores in resp_message.
func statusText(code int64) string {
	if code <= 0 || code > 999 {
		return ""
	}
	return http.StatusText(int(code))
}

// appendHeaders writes headers as a JSON object {"name":"v1, v2"}; values
// of repeated headers (string slices) are joined with ", ".
func appendHeaders(b []byte, hs []header) []byte {
	if len(hs) == 0 {
		return append(b, "{}"...)
	}
	b = append(b, '{')
	for i, h := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, h.name)
		b = append(b, ':')
		b = appendJSONString(b, headerValue(h.v))
	}
	return append(b, '}')
}

func headerValue(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		if s.Len() == 1 {
			return s.At(0).AsString()
		}
		parts := make([]string, s.Len())
		for i := range parts {
			parts[i] = s.At(i).AsString()
		}
		return strings.Join(parts, ", ")
	}
	return v.AsString()
}

func isJSON(hs []header) bool {
	for _, h := range hs {
		if h.name == "content-type" && containsFold(headerValue(h.v), "json") {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the lower-case ASCII word w,
// ignoring ASCII case, without allocating.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		j := 0
		for ; j < len(w); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != w[j] {
				break
			}
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

package piiredactionprocessor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-ebpf/otelcol-ebpf/processor/piiredactionprocessor/internal/metadata"
)

const (
	email   = "jane.doe@example.com"
	card    = "4111 1111 1111 1111"
	payload = `{"user":"jane.doe@example.com","card":"4111 1111 1111 1111"}`
	clean   = `{"user":"<REDACTED_EMAIL>","card":"<REDACTED_CC_NUMBER>"}`
)

func newTestProcessor(t *testing.T, cfg *Config) (*piiProcessor, *componenttest.Telemetry) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := newProcessor(tel.NewTelemetrySettings(), cfg)
	require.NoError(t, err)
	return p, tel
}

func defaultCfg() *Config { return createDefaultConfig().(*Config) }

// putPayload fills a map with PII in a flat value, a nested map and a
// slice.
func putPayload(m pcommon.Map) {
	m.PutStr("http.request.body", payload)
	m.PutStr("note", "mail "+email)
	n := m.PutEmptyMap("nested")
	n.PutStr("deep", "card "+card)
	n.PutEmptySlice("list").AppendEmpty().SetStr(email)
	m.PutInt("cc_int", 4111111111111111)
	m.PutInt("count", 42)
	m.PutStr("user.password", "hunter2")
	m.PutStr("server.address", "10.1.2.3")
}

func checkPayload(t *testing.T, where string, m pcommon.Map) {
	t.Helper()
	get := func(k string) string {
		v, ok := m.Get(k)
		require.True(t, ok, "%s: %s missing", where, k)
		return v.AsString()
	}
	assert.Equal(t, clean, get("http.request.body"), where)
	assert.Equal(t, "mail <REDACTED_EMAIL>", get("note"), where)
	n, _ := m.Get("nested")
	d, _ := n.Map().Get("deep")
	assert.Equal(t, "card <REDACTED_CC_NUMBER>", d.Str(), where)
	l, _ := n.Map().Get("list")
	assert.Equal(t, "<REDACTED_EMAIL>", l.Slice().At(0).Str(), where)
	assert.Equal(t, "<REDACTED_CC_NUMBER>", get("cc_int"), where)
	assert.Equal(t, "42", get("count"), where)
	assert.Equal(t, Redacted, get("user.password"), where)
	assert.Equal(t, "<REDACTED_IPV4>", get("server.address"), where)
}

func TestTracesEverywhere(t *testing.T) {
	p, tel := newTestProcessor(t, defaultCfg())
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	putPayload(rs.Resource().Attributes())
	ss := rs.ScopeSpans().AppendEmpty()
	putPayload(ss.Scope().Attributes())
	sp := ss.Spans().AppendEmpty()
	sp.SetName("GET /users/" + email)
	sp.Status().SetMessage("card " + card + " declined")
	putPayload(sp.Attributes())
	ev := sp.Events().AppendEmpty()
	ev.SetName("sent to " + email)
	putPayload(ev.Attributes())
	putPayload(sp.Links().AppendEmpty().Attributes())

	td, err := p.processTraces(context.Background(), td)
	require.NoError(t, err)
	checkPayload(t, "resource", rs.Resource().Attributes())
	checkPayload(t, "scope", ss.Scope().Attributes())
	checkPayload(t, "span", sp.Attributes())
	checkPayload(t, "event", ev.Attributes())
	checkPayload(t, "link", sp.Links().At(0).Attributes())
	assert.Equal(t, "GET /users/<REDACTED_EMAIL>", sp.Name())
	assert.Equal(t, "card <REDACTED_CC_NUMBER> declined", sp.Status().Message())
	assert.Equal(t, "sent to <REDACTED_EMAIL>", ev.Name())
	_, hasSummary := sp.Attributes().Get("redaction.redacted.keys")
	assert.False(t, hasSummary)
	assert.Equal(t, 1, td.SpanCount())

	// 5 maps × (2 emails in payload/note + list, ...) — check per category.
	got := counts(t, tel)
	assert.Equal(t, int64(5*3+2), got["email/traces"]) // body, note, list per map; name, event name
	assert.Equal(t, int64(5*3+1), got["credit_card/traces"])
	assert.Equal(t, int64(5), got["key_rule/traces"])
	assert.Equal(t, int64(5), got["ipv4/traces"])
}

func counts(t *testing.T, tel *componenttest.Telemetry) map[string]int64 {
	t.Helper()
	m, err := tel.GetMetric("otelcol_pii_redaction_redactions")
	require.NoError(t, err)
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		c, _ := dp.Attributes.Value("category")
		s, _ := dp.Attributes.Value("signal")
		out[c.AsString()+"/"+s.AsString()] += dp.Value
	}
	return out
}

func TestLogsEverywhere(t *testing.T) {
	p, tel := newTestProcessor(t, defaultCfg())
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	putPayload(rl.Resource().Attributes())
	sl := rl.ScopeLogs().AppendEmpty()
	putPayload(sl.Scope().Attributes())
	lr := sl.LogRecords().AppendEmpty()
	lr.Body().SetStr("login by " + email)
	putPayload(lr.Attributes())
	lr2 := sl.LogRecords().AppendEmpty()
	putPayload(lr2.Body().SetEmptyMap())
	lr3 := sl.LogRecords().AppendEmpty()
	s := lr3.Body().SetEmptySlice()
	s.AppendEmpty().SetStr(card)
	putPayload(s.AppendEmpty().SetEmptyMap())
	lr4 := sl.LogRecords().AppendEmpty()
	lr4.Body().SetEmptyBytes().FromRaw([]byte("bytes " + email))

	_, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	checkPayload(t, "resource", rl.Resource().Attributes())
	checkPayload(t, "scope", sl.Scope().Attributes())
	checkPayload(t, "record", lr.Attributes())
	assert.Equal(t, "login by <REDACTED_EMAIL>", lr.Body().Str())
	checkPayload(t, "map body", lr2.Body().Map())
	assert.Equal(t, "<REDACTED_CC_NUMBER>", lr3.Body().Slice().At(0).Str())
	checkPayload(t, "slice body", lr3.Body().Slice().At(1).Map())
	assert.Equal(t, "bytes <REDACTED_EMAIL>", string(lr4.Body().Bytes().AsRaw()))
	assert.Positive(t, counts(t, tel)["email/logs"])
}

func TestMetricsEverywhere(t *testing.T) {
	p, tel := newTestProcessor(t, defaultCfg())
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	putPayload(rm.Resource().Attributes())
	sm := rm.ScopeMetrics().AppendEmpty()
	putPayload(sm.Scope().Attributes())
	var maps []pcommon.Map
	g := sm.Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	maps = append(maps, g.Attributes(), g.Exemplars().AppendEmpty().FilteredAttributes())
	su := sm.Metrics().AppendEmpty().SetEmptySum().DataPoints().AppendEmpty()
	maps = append(maps, su.Attributes(), su.Exemplars().AppendEmpty().FilteredAttributes())
	h := sm.Metrics().AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty()
	maps = append(maps, h.Attributes(), h.Exemplars().AppendEmpty().FilteredAttributes())
	eh := sm.Metrics().AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	maps = append(maps, eh.Attributes(), eh.Exemplars().AppendEmpty().FilteredAttributes())
	sy := sm.Metrics().AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty()
	maps = append(maps, sy.Attributes())
	for _, m := range maps {
		putPayload(m)
	}
	_, err := p.processMetrics(context.Background(), md)
	require.NoError(t, err)
	checkPayload(t, "resource", rm.Resource().Attributes())
	checkPayload(t, "scope", sm.Scope().Attributes())
	for i, m := range maps {
		checkPayload(t, "datapoint/exemplar "+string(rune('0'+i)), m)
	}
	assert.Equal(t, int64(11*3), counts(t, tel)["email/metrics"])
}

func TestProfilesDictionary(t *testing.T) {
	p, tel := newTestProcessor(t, defaultCfg())
	pd := pprofile.NewProfiles()
	dict := pd.Dictionary()
	strs := dict.StringTable()
	strs.Append("", "thread.name", "user.password", "process.command_line")
	at := dict.AttributeTable()
	a1 := at.AppendEmpty()
	a1.SetKeyStrindex(1)
	a1.Value().SetStr("worker for " + email)
	a2 := at.AppendEmpty()
	a2.SetKeyStrindex(2)
	a2.Value().SetStr("hunter2")
	a3 := at.AppendEmpty()
	a3.SetKeyStrindex(3)
	a3.Value().SetStr("app --token=ghp_16C7e42F292c6912E7710c838347Ae178B4a")
	rp := pd.ResourceProfiles().AppendEmpty()
	putPayload(rp.Resource().Attributes())
	sp := rp.ScopeProfiles().AppendEmpty()
	putPayload(sp.Scope().Attributes())

	_, err := p.processProfiles(context.Background(), pd)
	require.NoError(t, err)
	assert.Equal(t, "worker for <REDACTED_EMAIL>", a1.Value().Str())
	assert.Equal(t, Redacted, a2.Value().Str())
	assert.Equal(t, "app --token=<REDACTED_API_KEY>", a3.Value().Str())
	checkPayload(t, "resource", rp.Resource().Attributes())
	checkPayload(t, "scope", sp.Scope().Attributes())
	assert.Equal(t, int64(1), counts(t, tel)["api_key/profiles"])
}

func TestFullMode(t *testing.T) {
	cfg := defaultCfg()
	cfg.Mode = ModeFull
	cfg.NeverTouchKeys = []string{"server.address"}
	cfg.Summary = "debug"
	p, tel := newTestProcessor(t, cfg)
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	a := sp.Attributes()
	a.PutStr("http.request.body", "hello")
	a.PutStr("http.request.header.x-trace", "abc")
	a.PutStr("url.query", "q=secret")
	a.PutStr("url.full", "https://shop.example/cart?user=jane&card=4111#top")
	a.PutStr("db.query.text", "SELECT * FROM users WHERE email = 'jane@example.com' AND id = 42 AND t = $1")
	a.PutStr("url.path", "/users/jane.doe@example.com")
	a.PutStr("server.address", "10.1.2.3")
	a.PutStr("http.request.method", "GET")

	_, err := p.processTraces(context.Background(), td)
	require.NoError(t, err)
	want := map[string]string{
		"http.request.body":           Redacted,
		"http.request.header.x-trace": Redacted,
		"url.query":                   Redacted,
		"url.full":                    "https://shop.example/cart?REDACTED#top",
		"db.query.text":               "SELECT * FROM users WHERE email = ? AND id = ? AND t = $1",
		"url.path":                    "/users/<REDACTED_EMAIL>",
		"server.address":              "10.1.2.3",
		"http.request.method":         "GET",
	}
	for k, w := range want {
		v, _ := a.Get(k)
		assert.Equal(t, w, v.Str(), k)
	}
	keys, ok := a.Get("redaction.redacted.keys")
	require.True(t, ok)
	var ks []string
	for _, v := range keys.Slice().All() {
		ks = append(ks, v.Str())
	}
	assert.Equal(t, []string{"db.query.text", "http.request.body", "http.request.header.x-trace", "url.full", "url.path", "url.query"}, ks)
	n, _ := a.Get("redaction.redacted.count")
	assert.Equal(t, int64(6), n.Int())
	for _, v := range keys.Slice().All() {
		assert.NotContains(t, v.Str(), "jane")
	}
	c := counts(t, tel)
	assert.Equal(t, int64(5), c["payload/traces"])
	assert.Equal(t, int64(1), c["email/traces"])

	// Log bodies are payload in mode full.
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("anything at all")
	_, err = p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	assert.Equal(t, Redacted, lr.Body().Str())
	ks2, _ := lr.Attributes().Get("redaction.redacted.keys")
	assert.Equal(t, "body", ks2.Slice().At(0).Str())
}

func TestHashAndNeverTouch(t *testing.T) {
	t.Setenv("PII_TEST_HMAC_KEY", testKey)
	cfg := defaultCfg()
	cfg.Hash = HashConfig{Keys: []string{"enduser.id", "user.*"}, KeyEnv: "PII_TEST_HMAC_KEY"}
	cfg.NeverTouchKeys = []string{"client.address", "user.safe"}
	p, tel := newTestProcessor(t, cfg)
	mk := func() (ptrace.Traces, pcommon.Map) {
		td := ptrace.NewTraces()
		a := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
		a.PutStr("enduser.id", email)
		a.PutInt("user.number", 12345)
		a.PutStr("user.safe", email)
		a.PutStr("client.address", "192.168.7.7")
		return td, a
	}
	td1, a1 := mk()
	td2, a2 := mk()
	_, err := p.processTraces(context.Background(), td1)
	require.NoError(t, err)
	_, err = p.processTraces(context.Background(), td2)
	require.NoError(t, err)
	h1, _ := a1.Get("enduser.id")
	h2, _ := a2.Get("enduser.id")
	assert.True(t, strings.HasPrefix(h1.Str(), HashPrefix))
	assert.Len(t, h1.Str(), len(HashPrefix)+64)
	assert.Equal(t, h1.Str(), h2.Str(), "joinable: same value, same hash")
	assert.NotContains(t, h1.Str(), "jane")
	n, _ := a1.Get("user.number")
	assert.True(t, strings.HasPrefix(n.Str(), HashPrefix))
	assert.NotEqual(t, h1.Str(), n.Str())
	safe, _ := a1.Get("user.safe")
	assert.Equal(t, email, safe.Str())
	ca, _ := a1.Get("client.address")
	assert.Equal(t, "192.168.7.7", ca.Str())
	assert.Equal(t, int64(4), counts(t, tel)["hash/traces"])

	// A different key gives different hashes.
	t.Setenv("PII_TEST_HMAC_KEY", testKey+"-other")
	p2, _ := newTestProcessor(t, cfg)
	td3, a3 := mk()
	_, err = p2.processTraces(context.Background(), td3)
	require.NoError(t, err)
	h3, _ := a3.Get("enduser.id")
	assert.NotEqual(t, h1.Str(), h3.Str())
}

func TestModeOffAndCategoriesOff(t *testing.T) {
	cfg := defaultCfg()
	cfg.Mode = ModeOff
	p, _ := newTestProcessor(t, cfg)
	td := ptrace.NewTraces()
	a := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
	a.PutStr("note", email)
	a.PutStr("password", "x")
	_, err := p.processTraces(context.Background(), td)
	require.NoError(t, err)
	v, _ := a.Get("note")
	assert.Equal(t, email, v.Str())

	cfg = defaultCfg()
	cfg.Categories = map[string]bool{"email": false}
	p, _ = newTestProcessor(t, cfg)
	a.PutStr("card", card)
	_, err = p.processTraces(context.Background(), td)
	require.NoError(t, err)
	v, _ = a.Get("note")
	assert.Equal(t, email, v.Str())
	v, _ = a.Get("card")
	assert.Equal(t, "<REDACTED_CC_NUMBER>", v.Str())
	v, _ = a.Get("password")
	assert.Equal(t, Redacted, v.Str())
}

// TestThroughFactory runs a batch through the processorhelper wrapper.
func TestThroughFactory(t *testing.T) {
	sink := new(consumertest.TracesSink)
	var set processor.Settings = processortest.NewNopSettings(metadata.Type)
	tp, err := NewFactory().CreateTraces(context.Background(), set, defaultCfg(), sink)
	require.NoError(t, err)
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes().PutStr("http.response.body", payload)
	require.NoError(t, tp.ConsumeTraces(context.Background(), td))
	require.Len(t, sink.AllTraces(), 1)
	v, _ := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("http.response.body")
	assert.Equal(t, clean, v.Str())
}

func TestScrubSQL(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1": "SELECT ?",
		"select * from t where a='it''s' and b=3.5": "select * from t where a=? and b=?",
		"insert into t2 values ($1, $2)":            "insert into t2 values ($1, $2)",
		"select col1 from tab9":                     "select col1 from tab9",
		"unterminated 'abc":                         "unterminated ?",
	} {
		got, _ := scrubSQL(in)
		assert.Equal(t, want, got, in)
	}
}

func TestMayBeCardOrIMEI(t *testing.T) {
	assert.True(t, mayBeCardOrIMEI(4111111111111111))
	assert.True(t, mayBeCardOrIMEI(490154203237518))
	assert.False(t, mayBeCardOrIMEI(1764000000000000000)) // ns timestamp
	assert.False(t, mayBeCardOrIMEI(42))
	assert.False(t, mayBeCardOrIMEI(-4111111111111111))
}

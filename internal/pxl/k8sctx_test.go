package pxl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// k8sFixture: http_events rows of two pods (names from k8s_attributes), one
// pod known only by its uid, and a host process; spans rows whose resource
// carries the same attributes.
func k8sFixture(t *testing.T) *tablestore.Store {
	s := newTestStore(t)
	h := s.Table(tablestore.TableHTTPEvents)
	b := h.NewBatch(8)
	for i, r := range []struct{ svc, pod, ns string }{
		{"web", "web-7d9f8b6c5-x2k4q", "shop"},
		{"web", "web-7d9f8b6c5-x2k4q", "shop"},
		{"postgres", "postgres-0", "shop"},
		{"nginx", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", ""},
		{"sshd", "", ""},
	} {
		b.AppendTime(tablestore.HTTPTime, testNow.Add(-time.Duration(60-i)*time.Second).UnixNano())
		b.AppendString(tablestore.HTTPUPID, "42:0")
		b.AppendInt(tablestore.HTTPRespStatus, 200)
		b.AppendString(tablestore.HTTPService, r.svc)
		b.AppendString(tablestore.HTTPPod, r.pod)
		b.AppendString(tablestore.HTTPNamespace, r.ns)
		b.EndRow()
	}
	_, err := h.Append(b)
	require.NoError(t, err)

	sp := s.Table(tablestore.TableSpans)
	b = sp.NewBatch(2)
	for i, r := range []struct{ svc, res string }{
		{"checkout", `{"service.name":"checkout","k8s.pod.name":"checkout-1","k8s.namespace.name":"shop","k8s.node.name":"node-a"}`},
		{"batch-job", `{"service.name":"batch-job"}`},
	} {
		b.AppendTime(tablestore.SpanTime, testNow.Add(-time.Duration(30-i)*time.Second).UnixNano())
		b.AppendString(tablestore.SpanName, "GET /")
		b.AppendString(tablestore.SpanService, r.svc)
		b.AppendString(tablestore.SpanResource, r.res)
		b.EndRow()
	}
	_, err = sp.Append(b)
	require.NoError(t, err)
	return s
}

func TestCtxKubernetes(t *testing.T) {
	t.Setenv("KUBE_NODE_NAME", "node-a")
	s := k8sFixture(t)
	res := mustRun(t, s, `
import px
df = px.DataFrame('http_events', start_time='-5m')
df.pod = df.ctx['pod']
df.pod_name = df.ctx['pod_name']
df.svc = df.ctx['service']
df.ns = df.ctx['namespace']
df.node = df.ctx['node']
px.display(df[['pod', 'pod_name', 'svc', 'ns', 'node']], 'rows')

shop = px.DataFrame('http_events', start_time='-5m')
shop = shop[shop.ctx['pod'] == 'shop/web-7d9f8b6c5-x2k4q']
shop = shop.groupby('service').agg(n=('resp_status', px.count))
px.display(shop, 'filtered')

up = px.DataFrame('http_events', start_time='-5m')
up.pod = px.upid_to_pod_name(up.upid)
up.ns = px.upid_to_namespace(up.upid)
up.svc = px.upid_to_service_name(up.upid)
up.node = px.upid_to_node_name(up.upid)
px.display(up[['pod', 'ns', 'svc', 'node']].head(1), 'upid')

sp = px.DataFrame('spans', start_time='-5m')
sp.pod = sp.ctx['pod']
sp.svc = sp.ctx['service']
sp.ns = sp.ctx['namespace']
px.display(sp[['pod', 'svc', 'ns']], 'spans')
`)
	require.Len(t, res.Tables, 4)
	assert.Equal(t, [][]any{
		{"shop/web-7d9f8b6c5-x2k4q", "shop/web-7d9f8b6c5-x2k4q", "shop/web", "shop", "node-a"},
		{"shop/web-7d9f8b6c5-x2k4q", "shop/web-7d9f8b6c5-x2k4q", "shop/web", "shop", "node-a"},
		{"shop/postgres-0", "shop/postgres-0", "shop/postgres", "shop", "node-a"},
		// Name not resolved (no k8s_attributes): the uid, as the store keeps it.
		{"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "nginx", "", "node-a"},
		// Not in Kubernetes: bare names, as Pixie shows them.
		{"", "", "sshd", "", "node-a"},
	}, res.Tables[0].Rows)
	assert.Equal(t, [][]any{{"web", int64(2)}}, res.Tables[1].Rows)
	assert.Equal(t, [][]any{{"shop/web-7d9f8b6c5-x2k4q", "shop", "shop/web", "node-a"}}, res.Tables[2].Rows)
	// Generic tables: pod and namespace from the resource attributes.
	assert.Equal(t, [][]any{
		{"shop/checkout-1", "shop/checkout", "shop"},
		{"", "batch-job", ""},
	}, res.Tables[3].Rows)
}

package pxl

import (
	"os"
	"strings"
)

// Kubernetes metadata behind df.ctx[...].
//
// The table_store exporter fills the pod, namespace and service columns from
// the resource (k8s.pod.name, else k8s.pod.uid; k8s.namespace.name;
// service.name), which the ebpf receiver (k8s.pod.uid and container.id from
// the cgroup) and the k8s_attributes processor (names, by pod uid or
// container id) provide. ctx formats them as Pixie does: pods and services
// as "<namespace>/<name>"; a process outside Kubernetes keeps its bare name.

// ctxResourceAttrs: for tables without the column (spans, metrics, logs),
// the resource attribute that holds it, read from the JSON resource column.
var ctxResourceAttrs = map[string]string{
	"pod": "k8s.pod.name", "namespace": "k8s.namespace.name", "service": "service.name",
	"container_id": "container.id", "exe": "process.executable.name",
}

// ctxExpr is the expression of ctx column col over a frame with fields fs
// (df.ctx[...] and px.upid_to_*); nil when the table does not hold it.
func ctxExpr(fs []field, col string) Expr {
	ref := func(col string) Expr {
		if i := fieldIndex(fs, col); i >= 0 {
			return &colRef{name: col, t: fs[i].t, from: fs}
		}
		attr, ok := ctxResourceAttrs[col]
		if i := fieldIndex(fs, "resource"); ok && i >= 0 && fs[i].t == TypeString {
			return &callExpr{fn: scalarFuncs["pluck"], args: []Expr{&colRef{name: "resource", t: TypeString, from: fs}, &lit{constString(attr)}}, t: TypeString}
		}
		return nil
	}
	e := ref(col)
	switch {
	case e != nil && (col == "pod" || col == "service"):
		if ns := ref("namespace"); ns != nil && e.Type() == TypeString {
			return &callExpr{fn: namespacedFunc, args: []Expr{ns, e}, t: TypeString}
		}
	case e == nil && col == "node":
		// One store per node: what it holds was seen on this node.
		return &lit{constString(localNodeName())}
	}
	return e
}

// namespacedFunc joins a namespace and a name as Pixie shows pods and
// services: "<namespace>/<name>", or the name alone without a namespace.
var namespacedFunc = &scalarFunc{name: "namespaced", doc: "namespaced(namespace, name): namespace/name, or name",
	check: sig(TypeString, TypeString, TypeString),
	eval: func(a []*vec, n int) *vec {
		out := make([]string, n)
		var lastNS, lastName, last string
		for i := range out {
			ns, name := a[0].strAt(i), a[1].strAt(i)
			if ns == "" || name == "" || strings.Contains(name, "/") {
				out[i] = name
				continue
			}
			if ns != lastNS || name != lastName {
				lastNS, lastName, last = ns, name, ns+"/"+name
			}
			out[i] = last
		}
		return &vec{t: TypeString, S: out}
	}}

// localNodeName is this node's Kubernetes name: $KUBE_NODE_NAME (the
// DaemonSet sets it from spec.nodeName), else the host name.
func localNodeName() string {
	if n := os.Getenv("KUBE_NODE_NAME"); n != "" {
		return n
	}
	h, _ := os.Hostname()
	return h
}

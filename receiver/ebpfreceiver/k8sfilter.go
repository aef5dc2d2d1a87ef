package ebpfreceiver

import (
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
)

// Kubernetes scoping (filter.include_namespaces, exclude_namespaces,
// include_pods, exclude_pods).
//
// A process's pod comes from its cgroup path (procinfo's PodUID). The pod's
// namespace and name come from the kubelet's pod log directories,
// <pods_dir>/<namespace>_<name>_<uid>, which every kubelet node has (the
// kubelet creates the directory before it starts the pod's containers) and
// which need neither the API server nor the kubelet API. Namespace and pod
// names are DNS labels/subdomains, so they never hold '_'.

// defaultPodsDir is where the kubelet keeps one directory per pod.
const defaultPodsDir = "/var/log/pods"

// podRefreshEvery bounds how often an unknown pod uid rereads the directory.
const podRefreshEvery = time.Second

// podRef is a pod's namespace and name.
type podRef struct{ namespace, name string }

// podIndex maps pod uids to their namespace and name, from the directory
// names under dir. Safe for concurrent use.
type podIndex struct {
	dir string
	now func() time.Time

	mu    sync.Mutex
	byUID map[string]podRef
	last  time.Time
}

var (
	podIndexesMu sync.Mutex
	podIndexes   = map[string]*podIndex{}
)

// podIndexFor returns the shared index of dir ("" means /var/log/pods).
func podIndexFor(dir string) *podIndex {
	if dir == "" {
		dir = defaultPodsDir
	}
	podIndexesMu.Lock()
	defer podIndexesMu.Unlock()
	ix := podIndexes[dir]
	if ix == nil {
		ix = &podIndex{dir: dir, now: time.Now, byUID: map[string]podRef{}}
		podIndexes[dir] = ix
	}
	return ix
}

// lookup returns the pod of uid. An unknown uid rereads the directory, at
// most once per podRefreshEvery (a pod started since the last read).
func (ix *podIndex) lookup(uid string) (podRef, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if p, ok := ix.byUID[uid]; ok {
		return p, true
	}
	if now := ix.now(); ix.last.IsZero() || now.Sub(ix.last) >= podRefreshEvery {
		ix.last = now
		ix.reload()
	}
	p, ok := ix.byUID[uid]
	return p, ok
}

// reload rereads the directory; pods that are gone are forgotten. Called
// with mu held.
func (ix *podIndex) reload() {
	ents, err := os.ReadDir(ix.dir)
	if err != nil {
		return // not a kubelet node, or not mounted: every lookup misses
	}
	m := make(map[string]podRef, len(ents))
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		ns, rest, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		name, uid, ok := strings.Cut(rest, "_")
		if !ok || ns == "" || name == "" || uid == "" {
			continue
		}
		m[uid] = podRef{namespace: ns, name: name}
	}
	ix.byUID = m
}

// hasK8sRules reports whether the namespace or pod rules are set.
func (c *FilterConfig) hasK8sRules() bool {
	return len(c.IncludeNamespaces)+len(c.ExcludeNamespaces)+len(c.IncludePods)+len(c.ExcludePods) > 0
}

// hasProcessRules reports whether any per-process rule (executable,
// container, cgroup, namespace, pod) is set: keepProcess has work to do.
func (c *FilterConfig) hasProcessRules() bool {
	return len(c.IncludeExecutables)+len(c.ExcludeExecutables)+len(c.IncludeContainers)+
		len(c.ExcludeContainers)+len(c.IncludeCgroups)+len(c.ExcludeCgroups) > 0 || c.hasK8sRules()
}

// validateK8sFilter checks the namespace names and pod patterns.
func validateK8sFilter(c FilterConfig) error {
	var errs []string
	for _, ns := range append(append([]string{}, c.IncludeNamespaces...), c.ExcludeNamespaces...) {
		if ns == "" || strings.ContainsAny(ns, "/_*?[") {
			errs = append(errs, fmt.Sprintf("filter: %q is not a namespace name", ns))
		}
	}
	for _, p := range append(append([]string{}, c.IncludePods...), c.ExcludePods...) {
		if _, err := path.Match(p, ""); err != nil || p == "" || strings.Count(p, "/") > 1 {
			errs = append(errs, fmt.Sprintf("filter: bad pod pattern %q (a glob on the pod name, or on namespace/name)", p))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// keepPod applies the namespace and pod rules to one process. A process
// outside any pod (or whose pod is not in pods_dir) has no namespace and no
// pod name: include rules drop it, exclude rules keep it.
func keepPod(c *FilterConfig, in *procinfo.Info) bool {
	if !c.hasK8sRules() {
		return true
	}
	var p podRef
	if in.PodUID != "" {
		p, _ = podIndexFor(c.PodsDir).lookup(in.PodUID)
	}
	if p.name == "" {
		return len(c.IncludeNamespaces)+len(c.IncludePods) == 0
	}
	for _, ns := range c.ExcludeNamespaces {
		if ns == p.namespace {
			return false
		}
	}
	for _, pat := range c.ExcludePods {
		if podMatch(pat, p) {
			return false
		}
	}
	if len(c.IncludeNamespaces) > 0 {
		found := false
		for _, ns := range c.IncludeNamespaces {
			found = found || ns == p.namespace
		}
		if !found {
			return false
		}
	}
	if len(c.IncludePods) > 0 {
		found := false
		for _, pat := range c.IncludePods {
			found = found || podMatch(pat, p)
		}
		if !found {
			return false
		}
	}
	return true
}

// podMatch matches a glob against the pod name, or against
// "namespace/name" when the pattern holds a '/'.
func podMatch(pat string, p podRef) bool {
	s := p.name
	if strings.Contains(pat, "/") {
		s = p.namespace + "/" + p.name
	}
	ok, _ := path.Match(pat, s)
	return ok
}

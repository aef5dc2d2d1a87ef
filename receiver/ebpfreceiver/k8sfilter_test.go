package ebpfreceiver

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// fakeNode is a fake /proc and /var/log/pods: processes in pods (cgroup
// paths of the systemd and cgroupfs drivers) and on the host.
type fakeNode struct {
	t             *testing.T
	proc, podsDir string
	procs         *procinfo.Reader
	nextPID       uint32
	pods          int
	pidByName     map[string]uint32
}

func newFakeNode(t *testing.T) *fakeNode {
	d := t.TempDir()
	n := &fakeNode{t: t, proc: filepath.Join(d, "proc"), podsDir: filepath.Join(d, "var", "log", "pods"),
		nextPID: 100, pidByName: map[string]uint32{}}
	for _, p := range []string{n.proc, n.podsDir} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n.procs = procinfo.NewReader(n.proc, 0)
	return n
}

// pod creates the kubelet's log directory of a pod (as the kubelet does,
// with a container subdirectory) and returns its uid.
func (n *fakeNode) pod(ns, name string) string {
	n.pods++
	uid := "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f" + strconv.Itoa(n.pods%10)
	dir := filepath.Join(n.podsDir, ns+"_"+name+"_"+uid)
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		n.t.Fatal(err)
	}
	return uid
}

// process creates /proc/<pid>/{comm,cgroup} for exe in cgroup.
func (n *fakeNode) process(exe, cgroup string) uint32 {
	n.nextPID++
	pid := n.nextPID
	d := filepath.Join(n.proc, strconv.Itoa(int(pid)))
	if err := os.MkdirAll(d, 0o755); err != nil {
		n.t.Fatal(err)
	}
	must(n.t, os.WriteFile(filepath.Join(d, "comm"), []byte(exe+"\n"), 0o644))
	must(n.t, os.WriteFile(filepath.Join(d, "cgroup"), []byte("0::"+cgroup+"\n"), 0o644))
	n.pidByName[exe] = pid
	return pid
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// systemd driver: dashes of the uid become underscores in the slice name.
func systemdCgroup(uid string) string {
	u := strings.ReplaceAll(uid, "-", "_")
	return "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + u +
		".slice/cri-containerd-" + strings.Repeat("ab", 32) + ".scope"
}

// cgroupfs driver.
func cgroupfsCgroup(uid string) string {
	return "/kubepods/besteffort/pod" + uid + "/" + strings.Repeat("cd", 32)
}

func TestK8sFilter(t *testing.T) {
	n := newFakeNode(t)
	web := n.pod("shop", "web-7d9f8b6c5-x2k4q")
	db := n.pod("shop", "postgres-0")
	dns := n.pod("kube-system", "coredns-5d78c9869d-abcde")
	n.process("nginx", systemdCgroup(web))
	n.process("postgres", cgroupfsCgroup(db))
	n.process("coredns", systemdCgroup(dns))
	n.process("sshd", "/system.slice/ssh.service")
	// A pod whose log directory is missing (not a kubelet-managed pod).
	n.process("orphan", systemdCgroup("11111111-2222-3333-4444-555555555555"))

	all := []string{"nginx", "postgres", "coredns", "sshd", "orphan"}
	cases := []struct {
		name string
		cfg  FilterConfig
		want []string
	}{
		{"no rules", FilterConfig{}, all},
		{"exclude kube-system", FilterConfig{ExcludeNamespaces: []string{"kube-system"}},
			[]string{"nginx", "postgres", "sshd", "orphan"}},
		{"include shop", FilterConfig{IncludeNamespaces: []string{"shop"}}, []string{"nginx", "postgres"}},
		{"include shop, exclude a pod", FilterConfig{IncludeNamespaces: []string{"shop"}, ExcludePods: []string{"postgres-*"}},
			[]string{"nginx"}},
		{"include pods by name", FilterConfig{IncludePods: []string{"web-*", "coredns-*"}}, []string{"nginx", "coredns"}},
		{"include pods by namespace/name", FilterConfig{IncludePods: []string{"kube-system/*"}}, []string{"coredns"}},
		{"exclude pods by namespace/name", FilterConfig{ExcludePods: []string{"shop/web-*"}},
			[]string{"postgres", "coredns", "sshd", "orphan"}},
		{"excludes win", FilterConfig{IncludeNamespaces: []string{"shop"}, ExcludeNamespaces: []string{"shop"}}, nil},
		{"with executable rules", FilterConfig{ExcludeNamespaces: []string{"kube-system"}, ExcludeExecutables: []string{"sshd"}},
			[]string{"nginx", "postgres", "orphan"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.PodsDir = n.podsDir
			if err := validateK8sFilter(c.cfg); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, exe := range all {
				if keepProcess(c.cfg, n.procs.Get(n.pidByName[exe])) {
					got = append(got, exe)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("kept %v, want %v", got, c.want)
			}
		})
	}
}

// The filter handler drops the connections of excluded pods on Open.
func TestK8sFilterHandler(t *testing.T) {
	n := newFakeNode(t)
	web := n.pod("shop", "web-1")
	sys := n.pod("kube-system", "kube-proxy-abcde")
	webPID := n.process("nginx", systemdCgroup(web))
	sysPID := n.process("kube-proxy", systemdCgroup(sys))

	rec := &recordingHandler{}
	f := newFilterHandler(FilterConfig{ExcludeNamespaces: []string{"kube-system"}, PodsDir: n.podsDir}, n.procs, rec)
	if !f.active {
		t.Fatal("namespace rules must activate the filter")
	}
	f.OnOpen(&sockevent.Open{ID: sockevent.ConnID{PID: webPID, FD: 3}})
	f.OnOpen(&sockevent.Open{ID: sockevent.ConnID{PID: sysPID, FD: 3}})
	if len(rec.opens) != 1 || rec.opens[0] != webPID {
		t.Fatalf("opens passed on: %v, want only pid %d", rec.opens, webPID)
	}
	if f.dropped.Load() != 1 {
		t.Fatalf("dropped %d, want 1", f.dropped.Load())
	}
}

type recordingHandler struct{ opens []uint32 }

func (r *recordingHandler) OnOpen(o *sockevent.Open) { r.opens = append(r.opens, o.ID.PID) }
func (r *recordingHandler) OnData(*sockevent.Data)   {}
func (r *recordingHandler) OnClose(*sockevent.Close) {}

// A pod started after the first lookup is found once the refresh interval
// has passed; a deleted pod is forgotten on the next reload.
func TestPodIndexRefresh(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1000, 0)
	ix := &podIndex{dir: dir, now: func() time.Time { return now }, byUID: map[string]podRef{}}
	uid := "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	if _, ok := ix.lookup(uid); ok {
		t.Fatal("found a pod in an empty directory")
	}
	must(t, os.Mkdir(filepath.Join(dir, "default_late-pod_"+uid), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "not_a_dir_really"), nil, 0o644))
	must(t, os.Mkdir(filepath.Join(dir, "garbage"), 0o755))
	if _, ok := ix.lookup(uid); ok {
		t.Fatal("reread the directory before the refresh interval")
	}
	now = now.Add(podRefreshEvery)
	p, ok := ix.lookup(uid)
	if !ok || p != (podRef{namespace: "default", name: "late-pod"}) {
		t.Fatalf("lookup = %+v, %v", p, ok)
	}
	if len(ix.byUID) != 1 {
		t.Fatalf("index holds %v, want one pod (files and malformed names skipped)", ix.byUID)
	}
	// Missing directory: every lookup misses, nothing panics.
	if _, ok := podIndexFor(filepath.Join(dir, "nope")).lookup(uid); ok {
		t.Fatal("found a pod in a missing directory")
	}
}

func TestK8sFilterValidate(t *testing.T) {
	for _, c := range []FilterConfig{
		{IncludeNamespaces: []string{""}},
		{ExcludeNamespaces: []string{"kube-*"}},
		{IncludePods: []string{"web-["}},
		{ExcludePods: []string{"a/b/c"}},
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.Filter = c
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "filter:") {
			t.Errorf("%+v: err = %v, want a filter error", c, err)
		}
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Filter = FilterConfig{IncludeNamespaces: []string{"shop"}, ExcludePods: []string{"shop/web-*", "debug-?"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

package ebpfreceiver

import (
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/sockevent"
)

// filterHandler applies the user-space part of FilterConfig (executables,
// containers, cgroups, namespaces, pods, ports; pids are filtered in BPF)
// before events reach the parsers. Decisions are made once per connection, on Open.
type filterHandler struct {
	cfg     FilterConfig
	procs   *procinfo.Reader
	next    sockevent.Handler
	active  bool
	skipped map[sockevent.ConnID]struct{}
	dropped atomic.Uint64 // connections filtered out
	// onSkip, when set, hears of every connection filtered out (the
	// receiver mutes it: no payload is copied for it any more).
	onSkip func(sockevent.ConnID)
}

func newFilterHandler(cfg FilterConfig, procs *procinfo.Reader, next sockevent.Handler) *filterHandler {
	f := &filterHandler{
		cfg: cfg, procs: procs, next: next,
		skipped: make(map[sockevent.ConnID]struct{}),
	}
	f.active = len(cfg.IncludePorts)+len(cfg.ExcludePorts) > 0 || cfg.hasProcessRules()
	return f
}

func (f *filterHandler) OnOpen(o *sockevent.Open) {
	// Read the process's /proc entry now, while it surely exists: a
	// short-lived client (curl) may be gone by the time its span is built.
	f.procs.NoteComm(o.ID.PID, o.Comm)
	f.procs.Get(o.ID.PID)
	if f.active && !f.keepConn(o) {
		f.skipped[o.ID] = struct{}{}
		f.dropped.Add(1)
		if f.onSkip != nil {
			f.onSkip(o.ID)
		}
		return
	}
	f.next.OnOpen(o)
}

func (f *filterHandler) OnData(d *sockevent.Data) {
	if f.active {
		if _, skip := f.skipped[d.ID]; skip {
			return
		}
	}
	f.next.OnData(d)
}

func (f *filterHandler) OnClose(c *sockevent.Close) {
	if f.active {
		if _, skip := f.skipped[c.ID]; skip {
			delete(f.skipped, c.ID)
			return
		}
	}
	f.next.OnClose(c)
}

func (f *filterHandler) keepConn(o *sockevent.Open) bool {
	if len(f.cfg.IncludePorts)+len(f.cfg.ExcludePorts) > 0 {
		lp, rp := o.Local.Port(), o.Remote.Port()
		for _, p := range f.cfg.ExcludePorts {
			if p == lp || p == rp {
				return false
			}
		}
		if len(f.cfg.IncludePorts) > 0 {
			in := false
			for _, p := range f.cfg.IncludePorts {
				if p == lp || p == rp {
					in = true
				}
			}
			if !in {
				return false
			}
		}
	}
	if !f.cfg.hasProcessRules() {
		return true
	}
	return keepProcess(f.cfg, f.procs.Get(o.ID.PID))
}

// keepProcess applies the executable, container, cgroup, namespace and pod
// rules to one process.
func keepProcess(cfg FilterConfig, in *procinfo.Info) bool {
	if !keepPod(&cfg, in) {
		return false
	}
	for _, e := range cfg.ExcludeExecutables {
		if e == in.ExeName {
			return false
		}
	}
	for _, c := range cfg.ExcludeContainers {
		if in.ContainerID != "" && strings.HasPrefix(in.ContainerID, c) {
			return false
		}
	}
	for _, p := range cfg.ExcludeCgroups {
		if ok, _ := filepath.Match(p, in.CgroupPath); ok {
			return false
		}
	}
	if len(cfg.IncludeExecutables) > 0 {
		found := false
		for _, e := range cfg.IncludeExecutables {
			if e == in.ExeName {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	if len(cfg.IncludeContainers) > 0 {
		found := false
		for _, c := range cfg.IncludeContainers {
			if in.ContainerID != "" && strings.HasPrefix(in.ContainerID, c) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	if len(cfg.IncludeCgroups) > 0 {
		found := false
		for _, p := range cfg.IncludeCgroups {
			if ok, _ := filepath.Match(p, in.CgroupPath); ok {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

package ebpfreceiver

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver"
)

// One socket tracer per receiver config: the collector creates the receiver
// once per signal (traces, metrics, logs pipelines) with the same *Config,
// and all of them must share the tracer, the parsers and their state, as
// the otlp receiver shares its servers.
var (
	sharedMu sync.Mutex
	shared   = map[*Config]*sharedReceiver{}
)

// sharedReceiver is what the factory returns for every signal: Start
// starts the shared receiver once, Shutdown stops it (the collector shuts
// every pipeline down together), and it can be started again.
type sharedReceiver struct {
	*tracesReceiver
	cfg     *Config
	mu      sync.Mutex
	running bool
}

// sharedFor returns the shared receiver of cfg, creating it on first use;
// set is used only when it is created.
func sharedFor(set receiver.Settings, cfg *Config) *sharedReceiver {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if s, ok := shared[cfg]; ok {
		return s
	}
	r, _ := newTracesReceiver(set, cfg, nil)
	s := &sharedReceiver{tracesReceiver: r, cfg: cfg}
	shared[cfg] = s
	return s
}

func (s *sharedReceiver) Start(ctx context.Context, host component.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	if err := s.tracesReceiver.Start(ctx, host); err != nil {
		return err
	}
	s.running = true
	return nil
}

func (s *sharedReceiver) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sharedMu.Lock()
	if shared[s.cfg] == s {
		delete(shared, s.cfg)
	}
	sharedMu.Unlock()
	if !s.running {
		return nil
	}
	s.running = false
	return s.tracesReceiver.Shutdown(ctx)
}

package ebpfreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/xreceiver"
	"go.uber.org/zap"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/procinfo"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/profiler"
	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/symbolize"
)

// profilesStability is the stability of the profiles signal.
const profilesStability = component.StabilityLevelDevelopment

func createProfiles(_ context.Context, set receiver.Settings, cfg component.Config, next xconsumer.Profiles) (xreceiver.Profiles, error) {
	return newProfilesReceiver(set, cfg.(*Config), next), nil
}

// profilesReceiver runs the CPU profiler: every report interval it drains
// the counted stacks, symbolizes them and sends one profile per process.
type profilesReceiver struct {
	cfg    *Config
	next   xconsumer.Profiles
	logger *zap.Logger

	prof    *profiler.Profiler
	builder *profileBuilder
	last    time.Time

	mu     sync.Mutex // serialises report (loop and Shutdown)
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newProfilesReceiver(set receiver.Settings, cfg *Config, next xconsumer.Profiles) *profilesReceiver {
	return &profilesReceiver{cfg: cfg, next: next, logger: set.Logger}
}

func (r *profilesReceiver) Start(_ context.Context, _ component.Host) error {
	if r.prof != nil {
		return errors.New("ebpf receiver: profiler already started")
	}
	pc := r.cfg.Profiling
	if !pc.Enabled {
		r.logger.Info("ebpf receiver: in a profiles pipeline, but profiling.enabled is false: no profiles")
		return nil
	}
	p, err := profiler.New(profiler.Config{FrequencyHz: pc.FrequencyHz})
	if err != nil {
		return fmt.Errorf("ebpf receiver: %w", err)
	}
	r.prof = p
	host, _ := os.Hostname()
	r.builder = newProfileBuilder(symbolize.New(symbolize.Options{}), procinfo.NewReader("", 0), host, pc.FrequencyHz)
	r.last = time.Now()
	r.logger.Info("ebpf receiver: CPU profiler attached",
		zap.Int("cpus", p.CPUs()), zap.Int("frequency_hz", pc.FrequencyHz),
		zap.Duration("report_interval", pc.ReportInterval), zap.Int("pid_self_excluded", os.Getpid()))

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(pc.ReportInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.report(ctx)
			}
		}
	}()
	return nil
}

// report drains the profiler and sends what it counted.
func (r *profilesReceiver) report(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prof == nil {
		return
	}
	samples, err := r.prof.Drain()
	if err != nil {
		r.logger.Warn("ebpf receiver: reading profiles", zap.Error(err))
		return
	}
	now := time.Now()
	start := r.last
	r.last = now
	if len(samples) == 0 {
		return
	}
	pd := r.builder.build(samples, start, now)
	if err := r.next.ConsumeProfiles(ctx, pd); err != nil {
		r.logger.Debug("ebpf receiver: pipeline refused profiles", zap.Int("samples", pd.SampleCount()), zap.Error(err))
	}
}

// Shutdown sends what was counted since the last report, then detaches the
// profiler and frees its kernel objects.
func (r *profilesReceiver) Shutdown(ctx context.Context) error {
	if r.prof == nil {
		return nil
	}
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	r.report(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, err := r.prof.Stats(); err == nil {
		r.logger.Info("ebpf receiver: CPU profiler stopped",
			zap.Uint64("samples", st.Samples), zap.Uint64("user_stack_errors", st.UserStackErr),
			zap.Uint64("kernel_stack_errors", st.KernelStackErr), zap.Uint64("samples_lost_map_full", st.CountsFull))
	}
	err := r.prof.Close()
	r.prof = nil
	return err
}

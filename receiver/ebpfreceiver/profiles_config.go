package ebpfreceiver

import (
	"errors"
	"fmt"
	"time"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/profiler"
)

// ProfilingConfig configures the continuous CPU profiler. It runs only when
// the receiver is in a `profiles` pipeline (which needs the collector's
// `service.profilesSupport` feature gate).
type ProfilingConfig struct {
	// Enabled turns the profiler on (default true).
	Enabled bool `mapstructure:"enabled"`
	// FrequencyHz is the sampling frequency on every CPU (default 97,
	// 1..1000).
	FrequencyHz int `mapstructure:"frequency_hz"`
	// ReportInterval is how often the counted stacks are read, symbolized
	// and sent down the pipeline as one profile per process (default 10s,
	// 1s..5m). Longer means fewer, larger profiles and less collector CPU;
	// the kernel maps must hold the distinct stacks of one interval.
	ReportInterval time.Duration `mapstructure:"report_interval"`
}

func defaultProfilingConfig() ProfilingConfig {
	return ProfilingConfig{Enabled: true, FrequencyHz: profiler.DefaultFrequencyHz, ReportInterval: 10 * time.Second}
}

// validate checks the profiling section (called by Config.Validate; not
// named Validate so the collector does not report its errors twice).
func (c ProfilingConfig) validate() error {
	var errs []error
	if c.FrequencyHz < 1 || c.FrequencyHz > profiler.MaxFrequencyHz {
		errs = append(errs, fmt.Errorf("profiling.frequency_hz must be between 1 and %d, got %d", profiler.MaxFrequencyHz, c.FrequencyHz))
	}
	if c.ReportInterval < time.Second || c.ReportInterval > 5*time.Minute {
		errs = append(errs, fmt.Errorf("profiling.report_interval must be between 1s and 5m, got %s", c.ReportInterval))
	}
	return errors.Join(errs...)
}

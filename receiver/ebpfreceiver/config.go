package ebpfreceiver

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-ebpf/otelcol-ebpf/receiver/ebpfreceiver/internal/tracer"
)

// Config of the ebpf receiver.
type Config struct {
	// TracefsPath is where tracefs is (or will be) mounted.
	TracefsPath string `mapstructure:"tracefs_path"`
	// MaxChunkBytes caps the payload copied from the kernel per syscall
	// (byte counts are kept beyond it). Default 30720, at most 30720.
	MaxChunkBytes uint32 `mapstructure:"max_chunk_bytes"`
	// RingBufferBytes is the size of the kernel→user ring buffer: a power of
	// two from 64 KiB to 1 GiB. When it is full, events are dropped and counted,
	// never waited for.
	RingBufferBytes int `mapstructure:"ring_buffer_bytes"`
	// FlushInterval: the longest a finished span waits before the spans
	// waiting are handed to the pipeline (checked after each drain of the
	// ring, at least every 200 ms; no timer of its own).
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// MaxPendingSpans bounds the spans waiting for the next flush; once half
	// of it wait they are flushed early, and beyond it spans are dropped
	// and counted (the pipeline does not keep up).
	MaxPendingSpans int `mapstructure:"max_pending_spans"`
	// IdleTimeout: a connection without traffic for this long is forgotten;
	// its unanswered requests become spans without a response.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`

	HTTP   HTTPConfig   `mapstructure:"http"`
	Filter FilterConfig `mapstructure:"filter"`
	// Metrics: RED, process and connection metrics (metrics and logs
	// pipelines).
	Metrics MetricsConfig `mapstructure:"metrics"`
	// Profiling: the continuous CPU profiler (profiles pipelines).
	Profiling ProfilingConfig `mapstructure:"profiling"`
	// TLS: plaintext of OpenSSL/BoringSSL and Go crypto/tls traffic (tls.go).
	TLS TLSConfig `mapstructure:"tls"`
}

// HTTPConfig controls what of HTTP/1.x messages goes into spans.
type HTTPConfig struct {
	// CaptureHeaders adds request and response headers as
	// http.request.header.<name> / http.response.header.<name> attributes.
	CaptureHeaders bool `mapstructure:"capture_headers"`
	// CaptureBodies adds the first MaxBodyBytes of bodies as http.request.body
	// / http.response.body attributes.
	CaptureBodies bool `mapstructure:"capture_bodies"`
	// MaxBodyBytes caps captured bodies (default 512).
	MaxBodyBytes int `mapstructure:"max_body_bytes"`
}

// FilterConfig selects what is traced. An empty include list means "all";
// excludes win over includes. The collector's own process is never traced.
type FilterConfig struct {
	IncludePIDs []uint32 `mapstructure:"include_pids"`
	ExcludePIDs []uint32 `mapstructure:"exclude_pids"`
	// Executable base names, e.g. "nginx", "python3".
	IncludeExecutables []string `mapstructure:"include_executables"`
	ExcludeExecutables []string `mapstructure:"exclude_executables"`
	// Local or remote TCP/UDP ports.
	IncludePorts []uint16 `mapstructure:"include_ports"`
	ExcludePorts []uint16 `mapstructure:"exclude_ports"`
	// Container ids (full 64-hex or a prefix of at least 12) or cgroup path
	// glob patterns (filepath.Match syntax, e.g. "/kubepods*/*").
	IncludeContainers []string `mapstructure:"include_containers"`
	ExcludeContainers []string `mapstructure:"exclude_containers"`
	IncludeCgroups    []string `mapstructure:"include_cgroups"`
	ExcludeCgroups    []string `mapstructure:"exclude_cgroups"`
	// Kubernetes namespaces, and pod name globs ("web-*", or "ns/web-*"
	// on namespace/name); a process's pod comes from its cgroup, its name
	// and namespace from PodsDir (k8sfilter.go).
	IncludeNamespaces []string `mapstructure:"include_namespaces"`
	ExcludeNamespaces []string `mapstructure:"exclude_namespaces"`
	IncludePods       []string `mapstructure:"include_pods"`
	ExcludePods       []string `mapstructure:"exclude_pods"`
	// The kubelet's pod log directory, <namespace>_<name>_<uid> per pod
	// ("" means /var/log/pods).
	PodsDir string `mapstructure:"pods_dir"`
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		TracefsPath:     "/sys/kernel/tracing",
		MaxChunkBytes:   30720,
		RingBufferBytes: 8 << 20,
		FlushInterval:   200 * time.Millisecond,
		MaxPendingSpans: 16384,
		IdleTimeout:     2 * time.Minute,
		HTTP: HTTPConfig{
			MaxBodyBytes: 512,
		},
		Metrics:   defaultMetricsConfig(),
		Profiling: defaultProfilingConfig(),
	}
}

// Validate checks the config and names the field that is wrong.
func (c *Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.TracefsPath, "/") {
		errs = append(errs, fmt.Errorf("tracefs_path must be an absolute path (default /sys/kernel/tracing), got %q", c.TracefsPath))
	}
	if c.MaxChunkBytes == 0 || c.MaxChunkBytes > 30720 {
		errs = append(errs, fmt.Errorf("max_chunk_bytes must be between 1 and 30720, got %d", c.MaxChunkBytes))
	}
	if rb := c.RingBufferBytes; rb < tracer.MinRingBufferBytes || rb > tracer.MaxRingBufferBytes || rb&(rb-1) != 0 {
		errs = append(errs, fmt.Errorf("ring_buffer_bytes must be a power of two from %d (64 KiB) to %d (1 GiB), got %d",
			tracer.MinRingBufferBytes, tracer.MaxRingBufferBytes, rb))
	}
	for _, f := range []struct {
		name string
		pids []uint32
	}{{"include_pids", c.Filter.IncludePIDs}, {"exclude_pids", c.Filter.ExcludePIDs}} {
		name, pids := f.name, f.pids
		if len(pids) > tracer.MaxPIDFilter {
			errs = append(errs, fmt.Errorf("filter.%s: %d pids, at most %d are supported (filter by executable, cgroup or container instead)",
				name, len(pids), tracer.MaxPIDFilter))
		}
		if slices.Contains(pids, 0) {
			errs = append(errs, fmt.Errorf("filter.%s: pid 0 is not a process", name))
		}
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush_interval must be positive, got %s", c.FlushInterval))
	}
	if c.MaxPendingSpans <= 0 {
		errs = append(errs, fmt.Errorf("max_pending_spans must be positive, got %d", c.MaxPendingSpans))
	}
	if c.IdleTimeout < time.Second {
		errs = append(errs, fmt.Errorf("idle_timeout must be at least 1s, got %s", c.IdleTimeout))
	}
	if c.HTTP.MaxBodyBytes < 0 || c.HTTP.MaxBodyBytes > 65536 {
		errs = append(errs, fmt.Errorf("http.max_body_bytes must be between 0 and 65536, got %d", c.HTTP.MaxBodyBytes))
	}
	for _, p := range append(append([]string{}, c.Filter.IncludeCgroups...), c.Filter.ExcludeCgroups...) {
		// path.Match checks the whole pattern; filepath.Match stops at
		// the first mismatch and would let "/kubepods/*/[abc" through
		// (and never match at run time).
		if _, err := path.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("filter: bad cgroup pattern %q: %w", p, err))
		}
	}
	for _, id := range append(append([]string{}, c.Filter.IncludeContainers...), c.Filter.ExcludeContainers...) {
		if len(id) < 12 || len(id) > 64 || !isHex(id) {
			errs = append(errs, fmt.Errorf("filter: container id %q must be 12 to 64 hex digits", id))
		}
	}
	for _, p := range append(append([]uint16{}, c.Filter.IncludePorts...), c.Filter.ExcludePorts...) {
		if p == 0 {
			errs = append(errs, errors.New("filter: port 0 is not a port"))
		}
	}
	if err := validateK8sFilter(c.Filter); err != nil {
		errs = append(errs, err)
	}
	if err := c.Metrics.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Profiling.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

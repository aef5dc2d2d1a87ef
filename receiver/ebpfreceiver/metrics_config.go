package ebpfreceiver

import (
	"errors"
	"fmt"
	"time"
)

// MetricsConfig controls the metrics (and per-connection rows) the receiver
// derives, when it is in a metrics or logs pipeline.
type MetricsConfig struct {
	// Interval between two reports of every metric (cumulative
	// temporality). Default 10s.
	Interval time.Duration `mapstructure:"interval"`
	// RED: http.server.request.duration / http.client.request.duration
	// histograms from traced requests.
	RED bool `mapstructure:"red"`
	// ProcessStats: process.* metrics for every process on the node, from
	// /proc (filters apply).
	ProcessStats bool `mapstructure:"process_stats"`
	// ConnStats: per-process connection and byte counters, and in a logs
	// pipeline one `ebpf.conn_stats` event per active connection (the rows
	// of the store's conn_stats table).
	ConnStats bool `mapstructure:"conn_stats"`
	// CardinalityLimit bounds the series of each metric; beyond it
	// observations go to one overflow series per process marked
	// otel.metric.overflow=true, as the OTel SDK does. Default 2000.
	CardinalityLimit int `mapstructure:"cardinality_limit"`
}

func defaultMetricsConfig() MetricsConfig {
	return MetricsConfig{Interval: 10 * time.Second, RED: true, ProcessStats: true, ConnStats: true, CardinalityLimit: 2000}
}

func (c MetricsConfig) validate() error {
	var errs []error
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("metrics.interval must be at least 1s, got %s", c.Interval))
	}
	if c.CardinalityLimit < 1 {
		errs = append(errs, fmt.Errorf("metrics.cardinality_limit must be at least 1, got %d", c.CardinalityLimit))
	}
	return errors.Join(errs...)
}

package tablestoreextension

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/otelcol-ebpf/otelcol-ebpf/internal/tablestore"
)

// DefaultEndpoint is where the extension's HTTP server listens by default:
// loopback only (the query endpoint must not leave the node unless asked).
const DefaultEndpoint = "127.0.0.1:9099"

// Config of the table_store extension.
type Config struct {
	// MaxBytes is the store's byte budget (default 1 GiB).
	MaxBytes int64 `mapstructure:"max_bytes"`
	// Retention is how long rows are kept (default 24h).
	Retention time.Duration `mapstructure:"retention"`
	// TableShares gives tables a percentage of max_bytes (default
	// http_events: 40). Tables not listed split the rest equally (by default
	// spans, metrics and logs get 20% each). The sum must not exceed 100.
	TableShares map[string]float64 `mapstructure:"table_shares"`
	// BatchRows and BatchBytes bound a hot batch (defaults 65536 rows,
	// 8 MiB); every table's share must hold two batches.
	BatchRows  int   `mapstructure:"batch_rows"`
	BatchBytes int64 `mapstructure:"batch_bytes"`
	// MaxHotAge seals a hot batch this old (default 10s).
	MaxHotAge time.Duration `mapstructure:"max_hot_age"`
	// LateTolerance: rows this much older than a table's newest row are
	// still placed in time order (default 2s); older late rows are dropped
	// and counted.
	LateTolerance time.Duration `mapstructure:"late_tolerance"`
	// TableLateTolerance overrides late_tolerance per table (default 30s for
	// spans, metrics and logs, whose SDK senders batch for seconds).
	TableLateTolerance map[string]time.Duration `mapstructure:"table_late_tolerance"`
	// MaxFuture: rows more than this ahead of the clock are dropped and
	// counted (default 1h).
	MaxFuture time.Duration `mapstructure:"max_future"`
	// Compression of cold columns: zstd (default), lz4 or none.
	Compression string `mapstructure:"compression"`
	// HTTP is the server of GET /v1/tables and GET /healthz (and, later,
	// the PxL query endpoint). Default endpoint 127.0.0.1:9099.
	HTTP confighttp.ServerConfig `mapstructure:"http"`
	// AccessMode is "full" (default) or "restricted": in restricted mode
	// the payload columns (RestrictedColumns) of every table read as
	// "REDACTED" in every query, as Pixie's restricted data access mode.
	AccessMode string `mapstructure:"access_mode"`
	// RestrictedColumns are the column names restricted mode hides, in any
	// table (default: request/response headers, bodies and payloads, span
	// and log attributes, log bodies).
	RestrictedColumns []string `mapstructure:"restricted_columns"`
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = DefaultEndpoint
	return &Config{
		MaxBytes:      tablestore.DefaultMaxBytes,
		Retention:     tablestore.DefaultRetention,
		TableShares:   map[string]float64{tablestore.TableHTTPEvents: 40},
		BatchRows:     tablestore.DefaultBatchRows,
		BatchBytes:    tablestore.DefaultBatchBytes,
		MaxHotAge:     tablestore.DefaultMaxHotAge,
		LateTolerance: tablestore.DefaultLateTolerance,
		TableLateTolerance: map[string]time.Duration{
			tablestore.TableSpans:   30 * time.Second,
			tablestore.TableMetrics: 30 * time.Second,
			tablestore.TableLogs:    30 * time.Second,
		},
		MaxFuture:   tablestore.DefaultMaxFuture,
		Compression: string(tablestore.CompressionZstd),
		HTTP:        srv,
	}
}

// storeConfig translates the config (without clock and allocator).
func (c *Config) storeConfig() tablestore.Config {
	late := c.LateTolerance
	if late == 0 {
		late = -1 // the store reads 0 as "default"
	}
	return tablestore.Config{
		MaxBytes:           c.MaxBytes,
		Retention:          c.Retention,
		Shares:             c.TableShares,
		BatchRows:          c.BatchRows,
		BatchBytes:         c.BatchBytes,
		MaxHotAge:          c.MaxHotAge,
		LateTolerance:      late,
		TableLateTolerance: c.TableLateTolerance,
		MaxFuture:          c.MaxFuture,
		Compression:        tablestore.Compression(c.Compression),
	}
}

// Validate rejects budgets and shares the store cannot work with: shares
// over 100%, a table share too small for two batches, unknown tables or
// codecs. Zero values are errors here (the store would read them as
// "default").
func (c *Config) Validate() error {
	if c.MaxBytes <= 0 || c.Retention <= 0 || c.BatchRows <= 0 || c.BatchBytes <= 0 || c.MaxHotAge <= 0 || c.MaxFuture <= 0 {
		return fmt.Errorf("max_bytes, retention, batch_rows, batch_bytes, max_hot_age and max_future must be positive "+
			"(got %d, %v, %d, %d, %v, %v)", c.MaxBytes, c.Retention, c.BatchRows, c.BatchBytes, c.MaxHotAge, c.MaxFuture)
	}
	if c.LateTolerance < 0 {
		return fmt.Errorf("late_tolerance must not be negative, got %v", c.LateTolerance)
	}
	if c.AccessMode != "" && c.AccessMode != "full" && c.AccessMode != "restricted" {
		return fmt.Errorf("access_mode must be full or restricted, got %q", c.AccessMode)
	}
	if _, err := c.storeConfig().Budgets(tableNames()); err != nil {
		return fmt.Errorf("table_store: %w", err)
	}
	return nil
}

func tableNames() []string {
	var out []string
	for _, s := range tablestore.DefaultSchemas() {
		out = append(out, s.Name())
	}
	return out
}

// DefaultRestrictedColumns are the payload columns restricted mode hides.
var DefaultRestrictedColumns = []string{"req_headers", "resp_headers", "req_header", "resp_header",
	"req_body", "resp_body", "req", "resp", "req_args", "attributes", "body", "status_message"}

// redact returns the PxL engine's column filter for the access mode (nil in
// full mode).
func (c *Config) redact() func(table, column string) bool {
	if c.AccessMode != "restricted" {
		return nil
	}
	cols := c.RestrictedColumns
	if len(cols) == 0 {
		cols = DefaultRestrictedColumns
	}
	set := make(map[string]bool, len(cols))
	for _, n := range cols {
		set[n] = true
	}
	return func(_, column string) bool { return set[column] }
}

package tablestore

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Compression is the codec of cold columns.
type Compression string

// Supported codecs.
const (
	CompressionZstd Compression = "zstd"
	CompressionLZ4  Compression = "lz4"
	CompressionNone Compression = "none"
)

// Defaults of Config.
const (
	DefaultMaxBytes      int64 = 1 << 30
	DefaultRetention           = 24 * time.Hour
	DefaultBatchRows           = 65536
	DefaultBatchBytes    int64 = 8 << 20
	DefaultMaxHotAge           = 10 * time.Second
	DefaultLateTolerance       = 2 * time.Second
	DefaultMaxFuture           = time.Hour
	DefaultMaintenance         = time.Second
	// MaxBatchBytes bounds BatchBytes (string offsets are 32-bit).
	MaxBatchBytes int64 = 1 << 30
)

// Config configures a Store. The zero value of every field means its default.
type Config struct {
	// MaxBytes is the byte budget of the whole store (default 1 GiB).
	MaxBytes int64
	// Retention is how long rows are kept (default 24h). Sealed batches whose
	// newest row is older than now-Retention are evicted.
	Retention time.Duration
	// Shares gives tables a percentage (0 < p <= 100) of MaxBytes. Tables
	// without a share split what the listed shares leave, equally. The sum
	// must not exceed 100.
	Shares map[string]float64
	// BatchRows is the number of rows of a hot batch before it is sealed
	// (default 65536).
	BatchRows int
	// BatchBytes is the size of a hot batch before it is sealed (default
	// 8 MiB). Every table's budget must hold at least two batches.
	BatchBytes int64
	// MaxHotAge seals a hot batch whose first row arrived this long ago
	// (default 10s), so that rows become compressed and evictable.
	MaxHotAge time.Duration
	// LateTolerance: rows within this much of the newest row stay in the hot
	// batch when it is sealed (at most a quarter of the batch), so late rows
	// in that window are placed correctly (default 2s; negative disables).
	LateTolerance time.Duration
	// TableLateTolerance overrides LateTolerance per table (for example
	// generic tables fed by SDKs that export every few seconds).
	TableLateTolerance map[string]time.Duration
	// MaxFuture: rows more than this far ahead of the clock are dropped and
	// counted (default 1h).
	MaxFuture time.Duration
	// Compression of cold columns: zstd (default), lz4 or none.
	Compression Compression
	// MaintenanceInterval is the period of the background task that seals
	// old hot batches and applies time retention (default 1s; negative
	// disables the task: call Store.Maintain yourself).
	MaintenanceInterval time.Duration
	// CompactInline compacts sealed batches in the appending goroutine
	// instead of the background worker (tests, benchmarks).
	CompactInline bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Allocator allocates every buffer of the store (default Go allocator).
	Allocator memory.Allocator
}

func (c Config) withDefaults() Config {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.BatchRows == 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.MaxHotAge == 0 {
		c.MaxHotAge = DefaultMaxHotAge
	}
	if c.LateTolerance == 0 {
		c.LateTolerance = DefaultLateTolerance
	} else if c.LateTolerance < 0 {
		c.LateTolerance = 0
	}
	if c.MaxFuture == 0 {
		c.MaxFuture = DefaultMaxFuture
	}
	if c.Compression == "" {
		c.Compression = CompressionZstd
	}
	if c.MaintenanceInterval == 0 {
		c.MaintenanceInterval = DefaultMaintenance
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Allocator == nil {
		c.Allocator = memory.NewGoAllocator()
	}
	return c
}

// Budgets validates the configuration for the given tables and returns each
// table's byte budget. It is what New uses; the extension calls it to reject
// a bad config before anything starts.
func (c Config) Budgets(tables []string) (map[string]int64, error) {
	c = c.withDefaults()
	var errs []error
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max_bytes must be positive, got %d", c.MaxBytes))
	}
	if c.Retention < 0 {
		errs = append(errs, fmt.Errorf("retention must be positive, got %v", c.Retention))
	}
	if c.BatchRows < 1 || c.BatchRows > 1<<24 {
		errs = append(errs, fmt.Errorf("batch_rows must be in [1, %d], got %d", 1<<24, c.BatchRows))
	}
	if c.BatchBytes < 4096 || c.BatchBytes > MaxBatchBytes {
		errs = append(errs, fmt.Errorf("batch_bytes must be in [4096, %d], got %d", MaxBatchBytes, c.BatchBytes))
	}
	if c.MaxHotAge < 0 {
		errs = append(errs, fmt.Errorf("max_hot_age must be positive, got %v", c.MaxHotAge))
	}
	if c.MaxFuture < 0 {
		errs = append(errs, fmt.Errorf("max_future must be positive, got %v", c.MaxFuture))
	}
	switch c.Compression {
	case CompressionZstd, CompressionLZ4, CompressionNone:
	default:
		errs = append(errs, fmt.Errorf("compression must be zstd, lz4 or none, got %q", c.Compression))
	}
	known := make(map[string]bool, len(tables))
	for _, t := range tables {
		known[t] = true
	}
	for name, d := range c.TableLateTolerance {
		if !known[name] {
			errs = append(errs, fmt.Errorf("late tolerance for unknown table %q", name))
		}
		if d < 0 {
			errs = append(errs, fmt.Errorf("late tolerance of table %q must not be negative, got %v", name, d))
		}
	}
	names := make([]string, 0, len(c.Shares))
	for name := range c.Shares {
		names = append(names, name)
	}
	sort.Strings(names)
	var sum float64
	for _, name := range names {
		p := c.Shares[name]
		if !known[name] {
			errs = append(errs, fmt.Errorf("share for unknown table %q (tables: %v)", name, tables))
			continue
		}
		if !(p > 0 && p <= 100) {
			errs = append(errs, fmt.Errorf("share of table %q must be in (0, 100] percent, got %v", name, p))
			continue
		}
		sum += p
	}
	if sum > 100+1e-9 {
		errs = append(errs, fmt.Errorf("table shares add up to %.4g%%, more than 100%%", sum))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var unlisted []string
	for _, t := range tables {
		if _, ok := c.Shares[t]; !ok {
			unlisted = append(unlisted, t)
		}
	}
	budgets := make(map[string]int64, len(tables))
	for _, t := range tables {
		var pct float64
		if p, ok := c.Shares[t]; ok {
			pct = p
		} else {
			pct = (100 - sum) / float64(len(unlisted))
		}
		budgets[t] = int64(float64(c.MaxBytes) * pct / 100)
	}
	for _, t := range tables {
		if need := 2 * batchBytesFor(c.BatchBytes, budgets[t]); budgets[t] < need {
			errs = append(errs, fmt.Errorf("table %q gets %d bytes of the %d-byte budget, too small to hold a hot batch and a sealed one (2 x %d bytes): raise max_bytes or its share, or lower batch_bytes",
				t, budgets[t], c.MaxBytes, need/2))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return budgets, nil
}

// minAutoBatchBytes is the smallest hot batch batchBytesFor picks on its own.
const minAutoBatchBytes int64 = 256 << 10

// batchBytesFor is a table's hot batch size: batch (BatchBytes), but at
// most a quarter of the table's budget so that a small table still holds a
// few batches (a store with many tables and a modest max_bytes works), and
// not below minAutoBatchBytes unless batch itself is smaller.
func batchBytesFor(batch, budget int64) int64 {
	return max(min(batch, budget/4), min(batch, minAutoBatchBytes))
}

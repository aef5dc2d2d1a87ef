// Package tablestore is the in-memory, Arrow-based telemetry store behind the
// `table_store` extension and exporter: Pixie-style tables (http_events, and
// generic spans, metrics and logs) kept for a bounded time and a bounded
// number of bytes, scanned by the PxL engine.
//
// # Model
//
// A [Store] owns a fixed set of [Table]s. Each table has a fixed [Schema]
// whose first column is `time_` (int64 nanoseconds since the Unix epoch,
// exposed to Arrow as timestamp[ns, tz=UTC]). Rows are appended in column
// batches ([Batch]) and land in the table's hot batch: one growable column
// buffer per column, allocated from the store's Arrow [memory.Allocator].
//
// Rows may arrive slightly out of order. The hot batch accepts any row whose
// time is at or after the table's watermark (the newest time already sealed);
// older rows are counted as dropped ("late"), never reordered silently. When a
// hot batch is full (rows or bytes) or old, it is sealed: its rows up to a cut
// time move, sorted by time, into an immutable batch; rows newer than the cut
// (within Config.LateTolerance of the newest row, at most a quarter of the
// batch) are carried into the next hot batch so that late rows in that window
// still find their place. Sealed batches are therefore sorted and do not
// overlap: time_ never goes backwards within a table.
//
// A background worker compacts each sealed batch into a cold batch: every
// column is encoded on its own (constants; integers as a small dictionary,
// sorted ascending, or as byte planes of frame-of-reference values or
// deltas; bitmaps; dictionaries for repeated strings; raw 16/8-byte
// trace/span IDs) into parts that are compressed on their own: text with
// zstd at its fastest level (or lz4), byte planes and dictionary indices
// (bit-packed, 2 to 8 per byte, for dictionaries of at most 16 entries)
// with pure Huffman coding (klauspost huff0) where LZ matching would only
// find useless short matches, parts that are mostly one byte as that byte
// and its exceptions (sparse: decoded with a fill), raw when nothing helps
// (and parts under 1 KiB never go through an LZ coder). Indices of
// dictionaries of 17 to 128 entries are bit-packed at their exact width (5
// to 7 bits) and kept raw, so that a filtered scan reads only the rows it
// keeps. Likewise an integer column stored as byte planes of values (not
// deltas) is stored instead bit-packed, uncompressed, at the width that
// makes it smallest, when that is at most 1/8 bigger than its compressed
// planes (log-normal latencies: 7-10% bigger). Values too wide for that
// width (about 1% of log-normal latencies) are escapes; their exceptions
// are stored apart and found through a count of escapes per 64 rows and
// their offsets in the block. A filtered scan then reads one 64-bit word per
// kept row instead of Huffman-decoding whole planes. A scan decompresses
// only the columns it reads, with shared, reusable decoders. Each batch
// keeps its min/max time (the time index), so a scan for the last five
// minutes touches only the batches that overlap.
//
// # Retention
//
// Retention is by time and by bytes, whichever comes first. Each table gets a
// share of the store's byte budget; after every append chunk the oldest
// sealed batch of a table is evicted while the table is over its share, and
// any sealed batch whose newest row is older than Config.Retention is evicted.
// The bytes counted are the store's Arrow allocations (hot buffers, sealed
// buffers, compressed cold blobs, and one spare hot batch per table kept
// for reuse) plus a small estimate for Go-side dictionary maps and batch
// metadata. Growth is reserved before it is allocated: before a chunk of
// rows is appended, the hot batch's growth (every buffer's next size) is
// computed and the oldest batches are evicted until it fits; the same holds
// for rows carried into a new hot batch. So the store's allocations exceed
// its budget only by what a compaction holds (the warm batch and its new
// compressed blob coexist until the swap; one compaction runs at a time in
// the whole store, inline ones included), new dictionary entries of one
// chunk (a few bytes each, counted right after the chunk), and batches a
// running scan still references after eviction: at most one batch in all
// besides those scans (tested with a counting allocator).
// Compaction is backpressured: an append that seals a batch while the
// worker is still busy waits for it, so uncompressed batches never pile up
// under load.
//
// # Scans
//
// [Table.Scan] and [Table.Snapshot] take a consistent snapshot under a read
// lock: the list of sealed batches (reference-counted, so eviction or
// compaction during the scan frees nothing the scan still reads) and a copy of
// the hot rows. A snapshot never sees a row twice nor misses one, whatever
// compaction does meanwhile. Scans yield arrow.RecordBatch values in time
// order, projected to the requested columns and trimmed to the time range.
// A scan may carry a row filter (ScanOptions.Filter, or Where for an
// integer column compared with a constant, evaluated on a column's
// dictionary and packed indexes when it has few values: as the dictionary
// is sorted, the comparison is a range of indexes, tested sixteen 4-bit
// indexes per 64-bit word): the filter's
// columns are decoded first and the others only for the rows that pass
// (the Where column's kept values come from the parts it was compared on:
// each part is decompressed once).
// Its buffers may come from a BufferPool, reused batch after batch.
//
// # Column types
//
// See [ColumnType]. Low-cardinality strings use [TypeDict] and are exposed as
// Arrow dictionary<int32, utf8> arrays (one dictionary per record batch);
// [StringValue] reads either form. Trace and span IDs are stored as raw bytes
// and exposed as lowercase hex strings ("" for an all-zero ID). Columns are
// never null: missing values get the type's zero value.
package tablestore

package tablestore

import (
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Store holds a fixed set of tables under one byte budget.
type Store struct {
	cfg    Config
	mem    memory.Allocator
	codec  *codec
	tables []*Table
	byName map[string]*Table

	jobs    chan compactJob
	done    chan struct{}
	wg      sync.WaitGroup // worker + maintenance
	senders sync.WaitGroup // goroutines sending to jobs

	mu      sync.Mutex
	cond    *sync.Cond
	closed  bool
	pending int // sealed batches not compacted yet

	encoders sync.Pool // *encoder for inline compaction

	noCompact bool // tests and benchmarks: keep sealed batches uncompressed
}

type compactJob struct {
	t *Table
	w *batch
}

// New creates a store with the given tables (DefaultSchemas when none) and
// starts its compaction worker and maintenance task. Close releases it.
func New(cfg Config, schemas ...*Schema) (*Store, error) {
	cfg = cfg.withDefaults()
	if len(schemas) == 0 {
		schemas = DefaultSchemas()
	}
	names := make([]string, len(schemas))
	for i, s := range schemas {
		names[i] = s.name
	}
	budgets, err := cfg.Budgets(names)
	if err != nil {
		return nil, err
	}
	cd, err := newCodec(cfg.Compression)
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:    cfg,
		mem:    cfg.Allocator,
		codec:  cd,
		byName: make(map[string]*Table, len(schemas)),
		jobs:   make(chan compactJob, 2*len(schemas)),
		done:   make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	s.encoders.New = func() any { return new(encoder) }
	for _, sc := range schemas {
		if _, dup := s.byName[sc.name]; dup {
			cd.close()
			return nil, fmt.Errorf("tablestore: duplicate table %q", sc.name)
		}
		t := newTable(s, sc, budgets[sc.name])
		s.tables = append(s.tables, t)
		s.byName[sc.name] = t
	}
	s.wg.Add(1)
	go s.worker()
	if cfg.MaintenanceInterval > 0 {
		s.wg.Add(1)
		go s.maintenanceLoop()
	}
	return s, nil
}

// Table returns the named table, or nil.
func (s *Store) Table(name string) *Table { return s.byName[name] }

// Tables returns the tables in creation order.
func (s *Store) Tables() []*Table { return append([]*Table(nil), s.tables...) }

// Config returns the effective configuration (defaults filled in).
func (s *Store) Config() Config { return s.cfg }

func (s *Store) now() int64 { return s.cfg.Now().UnixNano() }

// Stats returns every table's statistics.
func (s *Store) Stats() []TableStats {
	out := make([]TableStats, len(s.tables))
	for i, t := range s.tables {
		out[i] = t.Stats()
	}
	return out
}

// Bytes is the accounted size of the whole store.
func (s *Store) Bytes() int64 {
	var n int64
	for _, t := range s.tables {
		t.mu.RLock()
		n += t.bytesLocked()
		t.mu.RUnlock()
	}
	return n
}

// Maintain seals hot batches older than MaxHotAge and applies time
// retention. The maintenance task calls it every MaintenanceInterval.
func (s *Store) Maintain() {
	now := s.now()
	for _, t := range s.tables {
		t.maintain(now)
	}
}

// Flush seals every hot batch and waits until all sealed batches are
// compacted. Rows older than what was flushed are late afterwards; use it
// for tests, benchmarks and shutdown.
func (s *Store) Flush() {
	now := s.now()
	for _, t := range s.tables {
		t.flush(now)
	}
	s.mu.Lock()
	for s.pending > 0 && !s.closed {
		s.cond.Wait()
	}
	s.mu.Unlock()
}

// Close stops the background work and frees the store's memory. Snapshots
// still open keep the batches they reference until they are released.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.senders.Wait() // nobody sends any more: the worker drains the queue
	close(s.jobs)
	close(s.done)
	s.wg.Wait()
	for _, t := range s.tables {
		t.close()
	}
	s.codec.close()
	return nil
}

// enqueue hands a sealed batch (holding a reference for the job) to the
// compaction worker, or compacts it here when CompactInline is set.
func (s *Store) enqueue(t *Table, w *batch) {
	s.mu.Lock()
	if s.closed || s.noCompact {
		s.mu.Unlock()
		w.release()
		return
	}
	// Backpressure: at most one sealed batch waits for or is in compaction.
	// When the worker falls behind, the appender waits for it instead of
	// piling up uncompressed batches, so real memory stays within the budget
	// plus one batch.
	// Inline compactions (concurrent appenders) wait for each other too, so
	// at most one blob is being built in the whole store.
	for s.pending > 0 && !s.closed {
		s.cond.Wait()
	}
	if s.closed {
		s.mu.Unlock()
		w.release()
		return
	}
	s.pending++
	if s.cfg.CompactInline {
		s.mu.Unlock()
		e := s.encoders.Get().(*encoder)
		s.compact(e, t, w)
		s.encoders.Put(e)
		s.jobDone()
		return
	}
	s.senders.Add(1)
	s.mu.Unlock()
	s.jobs <- compactJob{t: t, w: w}
	s.senders.Done()
}

func (s *Store) jobDone() {
	s.mu.Lock()
	s.pending--
	if s.pending == 0 {
		s.cond.Broadcast()
	}
	s.mu.Unlock()
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Store) worker() {
	defer s.wg.Done()
	e := new(encoder)
	for j := range s.jobs {
		if s.isClosed() {
			j.w.release()
		} else {
			s.compact(e, j.t, j.w)
		}
		s.jobDone()
	}
}

func (s *Store) maintenanceLoop() {
	defer s.wg.Done()
	tk := time.NewTicker(s.cfg.MaintenanceInterval)
	defer tk.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tk.C:
			s.Maintain()
		}
	}
}

// compact encodes a warm batch into a cold one and swaps it into the table.
// It consumes the job's reference to w.
func (s *Store) compact(e *encoder, t *Table, w *batch) {
	defer w.release()
	if w.evicted.Load() {
		return
	}
	// The blob and the warm batch coexist until the swap: this is the one
	// batch by which the store's allocations may exceed its budget.
	cb := e.encodeBatch(w.warm, w.order, w.rows, s.codec)
	c := &batch{cold: cb, rows: w.rows, minT: w.minT, maxT: w.maxT, mem: s.mem}
	c.alloc = int64(len(cb.blob))
	c.bytes = c.alloc + int64(64+48*len(cb.cols))
	c.refs.Store(1)
	if !t.replace(w, c) {
		c.release()
		return
	}
	t.compactions.Add(1)
	w.release() // the list's reference, now held by c
	// Compaction usually shrinks the table; nothing to evict. A table that
	// grew (incompressible data is stored raw) is trimmed on its next append.
}

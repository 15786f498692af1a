package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds a stmtCache; statements beyond it simply run unprepared.
const maxCachedStmts = 256

// stmtCache keeps the prepared statements of one *sql.DB, so that SQLite parses each
// statement once rather than on every call (parsing was a quarter of the write path's CPU).
//
// Preparing on a *sql.DB needs a free connection, which a transaction on the one-connection
// writer pool never has. So a miss runs the statement unprepared and queues it, and fill
// prepares the queue once the caller's transaction is over.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt // nil value: preparing failed, do not retry
	pending map[string]struct{}
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, pending: map[string]struct{}{}}
}

// lookup returns the prepared statement of query, or nil after queueing it for fill.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s
	}
	if len(c.stmts)+len(c.pending) < maxCachedStmts {
		c.pending[query] = struct{}{}
	}
	return nil
}

// fill prepares the queued statements. The caller must hold no connection of c.db.
func (c *stmtCache) fill() {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	for _, q := range queries {
		s, err := c.db.PrepareContext(context.Background(), q)
		if err != nil {
			s = nil // the statement keeps running unprepared and reports its own error
		}
		c.mu.Lock()
		if _, ok := c.stmts[q]; ok {
			if s != nil {
				_ = s.Close()
			}
		} else {
			c.stmts[q] = s
		}
		c.mu.Unlock()
	}
}

// close closes every prepared statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		if s != nil {
			_ = s.Close()
		}
		delete(c.stmts, q)
	}
}

package store

import (
	"context"
	"sync/atomic"
)

// Generations wraps a Store and counts its committed write transactions, so that a process
// that is the database's only writer can keep read caches: anything read at generation g is
// still current while Gen() == g. It is only correct when every writer of the database goes
// through this wrapper (the embedded SQLite setup), never with replicas sharing PostgreSQL.
type Generations struct {
	Store
	gen atomic.Uint64
}

// NewGenerations wraps st.
func NewGenerations(st Store) *Generations { return &Generations{Store: st} }

// Write implements Store and advances the generation once fn's transaction has ended. It
// advances even after an error, which at worst costs a cache miss.
func (g *Generations) Write(ctx context.Context, fn func(Tx) error) error {
	err := g.Store.Write(ctx, fn)
	g.gen.Add(1)
	return err
}

// Gen returns the current generation. Read it before the read whose result is cached.
func (g *Generations) Gen() uint64 { return g.gen.Load() }

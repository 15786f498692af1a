package sqlite

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// TestObservers checks that OnWrite hears of every Write and OnBatch of every group commit,
// the batches adding up to the Writes.
func TestObservers(t *testing.T) {
	var writes, batches, batched atomic.Int64
	var mu sync.Mutex
	var longest time.Duration
	db := openTestDB(t, Options{
		OnWrite: func(d time.Duration) {
			writes.Add(1)
			mu.Lock()
			longest = max(longest, d)
			mu.Unlock()
		},
		OnBatch: func(n int) { batches.Add(1); batched.Add(int64(n)) },
	})
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tm := core.Team{ID: core.NewID("te", 8), Name: "t", Created: time.Unix(int64(i), 0)}
			if err := db.Write(t.Context(), func(tx store.Tx) error { return tx.CreateTeam(&tm) }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if writes.Load() != n {
		t.Errorf("OnWrite called %d times, want %d", writes.Load(), n)
	}
	if batched.Load() != n || batches.Load() < 1 || batches.Load() > n {
		t.Errorf("OnBatch: %d batches carrying %d writes, want 1..%d carrying %d", batches.Load(), batched.Load(), n, n)
	}
	if longest <= 0 {
		t.Errorf("OnWrite durations: longest %v", longest)
	}
}

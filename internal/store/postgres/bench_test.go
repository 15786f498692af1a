package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// createOp is what a machine create writes, as in the sqlite package's benchmark: the
// machine, its event, its host usage and its private IP. Every create uses host h1, so
// concurrent creates contend on one usage row, as placements on one host do.
func createOp(n int64) func(store.Tx) error {
	id := fmt.Sprintf("ps%08d", n)
	now := time.UnixMilli(1_800_000_000_000 + n).UTC()
	return func(tx store.Tx) error {
		m := core.Machine{ID: id, Name: "bench " + id, TeamID: "te1", UserID: "u1", Region: "East Coast (NY2)",
			MachineType: "C2", BillingType: "hourly", TemplateID: "tkni3aa4", SizeGB: 50, CPUs: 1,
			AgentType: "LinuxHeadless", State: core.StateProvisioning, HostID: "h1", HoldsCapacity: true,
			OpEvent: "ev" + id, PhaseSince: now, NextAt: &now, Created: now}
		if err := tx.CreateMachine(&m); err != nil {
			return err
		}
		ev := core.Event{Handle: "ev" + id, MachineID: id, Name: core.EventCreate, State: core.EventInProgress,
			Created: now, Modified: now}
		if err := tx.CreateEvent(&ev); err != nil {
			return err
		}
		if err := tx.AddHostUsage("h1", "C2", 1); err != nil {
			return err
		}
		return tx.InsertPrivateIP("default", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255), id)
	}
}

// eventOp writes one event of its own: writers that share no row.
func eventOp(n int64) func(store.Tx) error {
	now := time.UnixMilli(1_800_000_000_000 + n).UTC()
	return func(tx store.Tx) error {
		ev := core.Event{Handle: fmt.Sprintf("ev%08d", n), MachineID: fmt.Sprintf("ps%08d", n%64),
			Name: core.EventStart, State: core.EventInProgress, Created: now, Modified: now}
		return tx.CreateEvent(&ev)
	}
}

// BenchmarkWrite measures Write with machine-create transactions (which all touch one
// host's usage row) and with independent single-event transactions, from 1 and 32
// goroutines, on one replica:
//
//	TEST_DATABASE_URL=$(scripts/postgres start /tmp/hangar-pg) \
//	  go test -run '^$' -bench BenchmarkWrite -benchtime 3s ./internal/store/postgres
func BenchmarkWrite(b *testing.B) {
	ops := []struct {
		name string
		op   func(int64) func(store.Tx) error
	}{{"create", createOp}, {"event", eventOp}}
	for _, op := range ops {
		for _, workers := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", op.name, workers), func(b *testing.B) {
				db := openTestDB(b, Options{MaxConns: 32})
				if err := db.Write(context.Background(), func(tx store.Tx) error {
					return tx.CreateHost(&core.Host{ID: "h1", Name: "h1", Capacity: map[string]int{"C2": 1 << 30}})
				}); err != nil {
					b.Fatal(err)
				}
				a0, r0 := db.attempts.Load(), db.retries.Load()
				runWriters(b, workers, db.Write, op.op)
				b.ReportMetric(float64(db.retries.Load()-r0)/float64(db.attempts.Load()-a0), "retries/attempt")
			})
		}
	}
}

// runWriters runs b.N writes spread over workers goroutines and reports writes/s.
func runWriters(b *testing.B, workers int, write func(context.Context, func(store.Tx) error) error,
	op func(int64) func(store.Tx) error) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if err := write(ctx, op(n)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
}

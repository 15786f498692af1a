package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// writeDirect is the baseline group commit is measured against: one transaction per call,
// callers queueing for the single writer connection inside database/sql.
func (db *DB) writeDirect(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer db.wstmts.fill()
	if err := fn(newTx(ctx, sqlTx, db.wstmts, db.opts.Clock, true)); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	return sqlTx.Commit()
}

// createOp is what a machine create writes: the machine, its event, its host usage and
// its private IP.
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

// BenchmarkWrite compares group commit (Write) with one transaction per call, both driven
// by 32 concurrent goroutines doing machine-create writes:
//
//	go test -run '^$' -bench BenchmarkWrite -benchtime 3s ./internal/store/sqlite
func BenchmarkWrite(b *testing.B) {
	const workers = 32
	for _, syncMode := range []string{"NORMAL", "FULL"} {
		for _, mode := range []string{"group", "perCall"} {
			b.Run(fmt.Sprintf("sync=%s/%s/goroutines=%d", syncMode, mode, workers), func(b *testing.B) {
				db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{Synchronous: syncMode})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if err := db.Write(context.Background(), func(tx store.Tx) error {
					return tx.CreateHost(&core.Host{ID: "h1", Name: "h1", Capacity: map[string]int{"C2": 1 << 30}})
				}); err != nil {
					b.Fatal(err)
				}
				write := db.Write
				if mode == "perCall" {
					write = db.writeDirect
				}
				runWriters(b, workers, write)
				if n := db.w.batches.Load(); mode == "group" && n > 0 {
					b.ReportMetric(float64(db.w.writes.Load())/float64(n), "writes/tx")
				}
			})
		}
	}
}

// runWriters runs b.N create writes spread over workers goroutines and reports writes/s.
func runWriters(b *testing.B, workers int, write func(context.Context, func(store.Tx) error) error) {
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
				if err := write(ctx, createOp(n)); err != nil {
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

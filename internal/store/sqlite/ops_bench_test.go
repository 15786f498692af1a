package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// BenchmarkOps measures the store operations behind the API's create, get and list on
// SQLite through the public store.Store API only, so that the same file builds against any
// version of the package (side-by-side comparisons):
//
//	go test -run '^$' -bench BenchmarkOps -benchmem ./internal/store/sqlite
func BenchmarkOps(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "ops.db"), sqlite.Options{Synchronous: "FULL"})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const machines, needles = 10000, 100
	must(b, db.Write(ctx, func(tx store.Tx) error {
		return tx.CreateHost(&core.Host{ID: "h1", Name: "h1", Capacity: map[string]int{"C1": 1 << 30, "C2": 1 << 30}})
	}))
	for i := 0; i < machines; i += 500 {
		must(b, db.Write(ctx, func(tx store.Tx) error {
			for n := i; n < i+500; n++ {
				mt := "C1"
				if n%(machines/needles) == 0 {
					mt = "C2"
				}
				if err := opsCreate(int64(n), "te1", mt)(tx); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	var next atomic.Int64
	next.Store(machines)
	b.Run("create", func(b *testing.B) {
		b.SetParallelism(16) // 32 writers on 2 CPUs, as the API benchmark's connections
		parallel(b, func(pb *testing.PB) {
			for pb.Next() {
				must(b, db.Write(ctx, opsCreate(next.Add(1), "te2", "C1")))
			}
		})
	})
	var seq atomic.Int64
	b.Run("get", func(b *testing.B) {
		parallel(b, func(pb *testing.PB) {
			for pb.Next() {
				id := opsID(seq.Add(1) % machines)
				must(b, db.Read(ctx, func(tx store.Tx) error { _, err := tx.GetMachine(id); return err }))
			}
		})
	})
	q := core.MachineQuery{TeamID: "te1", Limit: 1000,
		Where: []core.Filter{{Field: "machineType", Value: core.FilterValue{Str: "C2"}}}}
	b.Run("list", func(b *testing.B) {
		parallel(b, func(pb *testing.PB) {
			for pb.Next() {
				must(b, db.Read(ctx, func(tx store.Tx) error {
					ms, err := tx.ListMachines(q)
					if err == nil && len(ms) != needles {
						err = fmt.Errorf("listed %d machines, want %d", len(ms), needles)
					}
					return err
				}))
			}
		})
	})
}

// cpuNS is the CPU time (user and system) this process has used so far.
func cpuNS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// parallel is b.RunParallel reporting the process's CPU time per operation as cpu-ns/op,
// which other load on a shared machine disturbs much less than wall time.
func parallel(b *testing.B, body func(*testing.PB)) {
	c0 := cpuNS()
	b.RunParallel(body)
	b.ReportMetric(float64(cpuNS()-c0)/float64(b.N), "cpu-ns/op")
}

func opsID(n int64) string { return fmt.Sprintf("ps%08d", n) }

// opsCreate is what a machine create writes: the machine, its event, its host usage and its
// private IP.
func opsCreate(n int64, team, machineType string) func(store.Tx) error {
	id := opsID(n)
	now := time.UnixMilli(1_800_000_000_000 + n).UTC()
	return func(tx store.Tx) error {
		m := core.Machine{ID: id, Name: "bench " + id, TeamID: team, UserID: "u1", Region: "East Coast (NY2)",
			MachineType: machineType, BillingType: "hourly", TemplateID: "tkni3aa4", SizeGB: 50, CPUs: 1,
			AgentType: "LinuxHeadless", State: core.StateReady, HostID: "h1", HoldsCapacity: true,
			OpEvent: "ev" + id, PhaseSince: now, Created: now}
		if err := tx.CreateMachine(&m); err != nil {
			return err
		}
		ev := core.Event{Handle: "ev" + id, MachineID: id, Name: core.EventCreate, State: core.EventInProgress,
			Created: now, Modified: now}
		if err := tx.CreateEvent(&ev); err != nil {
			return err
		}
		if err := tx.AddHostUsage("h1", machineType, 1); err != nil {
			return err
		}
		return tx.InsertPrivateIP("default", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255), id)
	}
}

func must(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

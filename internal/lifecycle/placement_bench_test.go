package lifecycle_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/lifecycle"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// BenchmarkPlacement measures one placement as a create makes it, inside its write
// transaction: read the region's hosts for the machine type, pick one, take its slot (the
// slot is given back in the same transaction, so every iteration sees the same fleet). Each
// host has a slot row per machine type it has run, as a fleet that has been used does. The
// p50-ms and p99-ms metrics are of the whole write (placement, release, commit).
//
//	go test -run '^$' -bench BenchmarkPlacement ./internal/lifecycle
func BenchmarkPlacement(b *testing.B) {
	for _, n := range []int{1, 10, 1000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hangar.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			const region = "East Coast (NY2)"
			err = db.Write(ctx, func(tx store.Tx) error {
				for i := range n {
					h := core.Host{ID: fmt.Sprintf("h%04d", i), Name: fmt.Sprintf("host-%04d", i), Region: region,
						Capacity: map[string]int{"C2": 8, "C5": 8, "P4000": 2}, Available: true, Created: time.Unix(1, 0)}
					if err := tx.CreateHost(&h); err != nil {
						return err
					}
					for _, mt := range []string{"C2", "C5", "P4000"} {
						if err := tx.AddHostUsage(h.ID, mt, i%2); err != nil {
							return err
						}
					}
				}
				// Another region's hosts, which a placement in NY2 must not read.
				for i := range n {
					h := core.Host{ID: fmt.Sprintf("o%04d", i), Name: fmt.Sprintf("other-%04d", i), Region: "Europe (AMS1)",
						Capacity: map[string]int{"C5": 8}, Available: true, Created: time.Unix(1, 0)}
					if err := tx.CreateHost(&h); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			env := &lifecycle.Env{Clock: core.SystemClock{}, Expect: func(core.State) time.Duration { return time.Minute }}
			var took []time.Duration
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				err := db.Write(ctx, func(tx store.Tx) error {
					m := core.Machine{ID: "psbench", Region: region, MachineType: "C5"}
					if err := env.AcquireCapacity(tx, &m); err != nil {
						return err
					}
					return env.ReleaseCapacity(tx, &m)
				})
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

package postgres

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// replicas opens n stores on one fresh schema: n control-plane replicas sharing a database,
// each with its own pool (and its own retry lane).
func replicas(t *testing.T, n int) []*DB {
	t.Helper()
	u := newSchema(t)
	dbs := make([]*DB, n)
	for i := range dbs {
		dbs[i] = openAt(t, u, Options{})
	}
	return dbs
}

var replicaBase = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// TestReplicasClaimDue: workers on two replicas claim due machines concurrently until none
// is left. Every machine is claimed exactly once, by the owner its lease names.
func TestReplicasClaimDue(t *testing.T) {
	const (
		machines = 300
		workers  = 6 // per replica
		batch    = 7
	)
	dbs := replicas(t, 2)
	if err := dbs[0].Write(t.Context(), func(tx store.Tx) error {
		for i := range machines {
			due := replicaBase.Add(time.Duration(i%17) * time.Second)
			m := core.Machine{ID: fmt.Sprintf("ps%04d", i), TeamID: "te1", UserID: "u1", State: core.StateProvisioning,
				PhaseSince: replicaBase, NextAt: &due, Created: replicaBase}
			if err := tx.CreateMachine(&m); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		claimed = map[string]string{} // machine -> owner
		wg      sync.WaitGroup
		start   = make(chan struct{})
		now     = replicaBase.Add(time.Minute)
		until   = replicaBase.Add(time.Hour) // no lease expires during the test
	)
	for r, db := range dbs {
		for w := range workers {
			owner := fmt.Sprintf("replica%d/worker%d", r, w)
			wg.Go(func() {
				<-start
				for {
					var ids []string
					if err := db.Write(t.Context(), func(tx store.Tx) (err error) {
						ids, err = tx.ClaimDue(now, owner, until, batch)
						return err
					}); err != nil {
						t.Errorf("%s: ClaimDue: %v", owner, err)
						return
					}
					if len(ids) == 0 {
						return
					}
					mu.Lock()
					for _, id := range ids {
						if prev, ok := claimed[id]; ok {
							t.Errorf("machine %s claimed by %s and by %s", id, prev, owner)
						}
						claimed[id] = owner
					}
					mu.Unlock()
				}
			})
		}
	}
	close(start)
	wg.Wait()
	// Workers stop when they see nothing free; by then every claim they raced has committed.
	var leftover []string
	if err := dbs[1].Write(t.Context(), func(tx store.Tx) (err error) {
		leftover, err = tx.ClaimDue(now, "late", until, machines)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range leftover {
		claimed[id] = "late"
	}
	if len(claimed) != machines {
		t.Fatalf("%d machines claimed, want %d", len(claimed), machines)
	}
	// The leases in the database name the owners the claims returned.
	rows, err := dbs[0].pool.Query(t.Context(), `SELECT id, lease_owner FROM machines`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	perOwner := map[string]int{}
	for rows.Next() {
		var id, owner string
		if err := rows.Scan(&id, &owner); err != nil {
			t.Fatal(err)
		}
		if claimed[id] != owner {
			t.Errorf("machine %s: lease_owner %q, claim returned to %q", id, owner, claimed[id])
		}
		perOwner[owner]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("claims per owner: %v; leftover %d; retried writes: replica0 %d/%d (at most %d attempts), replica1 %d/%d (%d)", perOwner,
		len(leftover), dbs[0].retries.Load(), dbs[0].attempts.Load(), dbs[0].worst.Load(),
		dbs[1].retries.Load(), dbs[1].attempts.Load(), dbs[1].worst.Load())
}

// errNoRoom is what a placement returns when the region is full.
var errNoRoom = errors.New("no free C2 slot")

// TestReplicasPlacement: placements on two replicas race for a host with few slots, the
// way lifecycle.AcquireCapacity places a machine: ListHosts, check the free slots, add
// usage, record the machine. Exactly the free slots are taken; nothing is oversubscribed.
func TestReplicasPlacement(t *testing.T) {
	const (
		slots    = 5
		attempts = 16 // per replica
		region   = "East Coast (NY2)"
	)
	dbs := replicas(t, 2)
	if err := dbs[0].Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateHost(&core.Host{ID: "h1", Name: "h1", Region: region, Available: true,
			Capacity: map[string]int{"C2": slots}}); err != nil {
			return err
		}
		// A host elsewhere, which the region's placements must neither lock nor use.
		return tx.CreateHost(&core.Host{ID: "h2", Name: "h2", Region: "Europe (AMS1)", Available: true,
			Capacity: map[string]int{"C2": 100}})
	}); err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		mu     sync.Mutex
		placed []string
		full   int
	)
	for r, db := range dbs {
		for i := range attempts {
			id := fmt.Sprintf("ps%d%02d", r, i)
			wg.Go(func() {
				<-start
				err := db.Write(t.Context(), func(tx store.Tx) error {
					hosts, err := tx.ListHosts(region)
					if err != nil {
						return err
					}
					if len(hosts) != 1 || hosts[0].Free("C2") <= 0 {
						return errNoRoom
					}
					if err := tx.AddHostUsage(hosts[0].ID, "C2", 1); err != nil {
						return err
					}
					m := core.Machine{ID: id, TeamID: "te1", UserID: "u1", Region: region, MachineType: "C2",
						State: core.StateProvisioning, HostID: hosts[0].ID, HoldsCapacity: true,
						PhaseSince: replicaBase, Created: replicaBase}
					return tx.CreateMachine(&m)
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					placed = append(placed, id)
				case errors.Is(err, errNoRoom):
					full++
				default:
					t.Errorf("placement %s: %v", id, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if len(placed) != slots || full != 2*attempts-slots {
		t.Errorf("%d placed and %d refused, want %d and %d", len(placed), full, slots, 2*attempts-slots)
	}
	var h1 core.HostLoad
	var ms []core.Machine
	if err := dbs[1].Read(t.Context(), func(tx store.Tx) (err error) {
		if h1, err = tx.GetHost("h1"); err != nil {
			return err
		}
		ms, err = tx.ListMachines(core.MachineQuery{TeamID: "te1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if h1.Used["C2"] != slots || len(ms) != slots {
		t.Errorf("h1 uses %d C2 slots and %d machines exist, want %d of each", h1.Used["C2"], len(ms), slots)
	}
	t.Logf("placed %v; retried writes: replica0 %d/%d (at most %d attempts), replica1 %d/%d (%d)", placed,
		dbs[0].retries.Load(), dbs[0].attempts.Load(), dbs[0].worst.Load(),
		dbs[1].retries.Load(), dbs[1].attempts.Load(), dbs[1].worst.Load())
}

// TestReplicasCounter: read-modify-write of one row from two replicas loses no update;
// the lanes of both replicas and the retries keep it correct and within MaxAttempts.
func TestReplicasCounter(t *testing.T) {
	const workers, rounds = 10, 10 // per replica
	dbs := replicas(t, 2)
	if err := dbs[0].Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateHost(&core.Host{ID: "h1", Name: "h1", Capacity: map[string]int{"n": 0}})
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, db := range dbs {
		for range workers {
			wg.Go(func() {
				for range rounds {
					if err := db.Write(t.Context(), func(tx store.Tx) error {
						h, err := tx.GetHost("h1")
						if err != nil {
							return err
						}
						h.Capacity["n"]++
						return tx.UpdateHost(&h.Host)
					}); err != nil {
						t.Errorf("Write: %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	var h core.HostLoad
	if err := dbs[0].Read(t.Context(), func(tx store.Tx) (err error) { h, err = tx.GetHost("h1"); return err }); err != nil {
		t.Fatal(err)
	}
	if want := 2 * workers * rounds; h.Capacity["n"] != want {
		t.Errorf("counter = %d, want %d", h.Capacity["n"], want)
	}
	t.Logf("retried writes: replica0 %d/%d (at most %d attempts), replica1 %d/%d (%d)",
		dbs[0].retries.Load(), dbs[0].attempts.Load(), dbs[0].worst.Load(),
		dbs[1].retries.Load(), dbs[1].attempts.Load(), dbs[1].worst.Load())
}

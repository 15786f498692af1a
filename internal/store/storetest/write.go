package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testWriteRollback(t *testing.T, b *bundle) {
	err := b.s.Write(b.ctx, func(tx store.Tx) error {
		tm := newTeam("te1")
		if err := tx.CreateTeam(&tm); err != nil {
			return err
		}
		h := core.Host{ID: "h1", Name: "h1", Capacity: map[string]int{"C2": 1}, Created: at(0)}
		if err := tx.CreateHost(&h); err != nil {
			return err
		}
		// Reads inside the transaction see its own writes.
		if _, err := tx.GetTeam("te1"); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Write: %v, want the error fn returned", err)
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Team, error) { return tx.GetTeam("te1") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("h1") })

	// A core error keeps its code.
	b.writeCode(t, core.Invalid, func(tx store.Tx) error {
		tm := newTeam("te2")
		if err := tx.CreateTeam(&tm); err != nil {
			return err
		}
		return core.Errorf(core.Invalid, "nope")
	})
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Team, error) { return tx.GetTeam("te2") })

	// A failed statement that fn reports rolls back the statements before it.
	b.write(t, func(tx store.Tx) error { tm := newTeam("te3"); return tx.CreateTeam(&tm) })
	b.writeCode(t, core.Conflict, func(tx store.Tx) error {
		tm := newTeam("te4")
		if err := tx.CreateTeam(&tm); err != nil {
			return err
		}
		dup := newTeam("te3")
		return tx.CreateTeam(&dup)
	})
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Team, error) { return tx.GetTeam("te4") })

	// A fn may carry on after a failed statement and commit the rest.
	b.write(t, func(tx store.Tx) error {
		dup := newTeam("te3")
		if err := tx.CreateTeam(&dup); core.ErrorCode(err) != core.Conflict {
			return fmt.Errorf("duplicate CreateTeam: %v, want Conflict", err)
		}
		tm := newTeam("te5")
		return tx.CreateTeam(&tm)
	})
	get(t, b, func(tx store.Tx) (core.Team, error) { return tx.GetTeam("te5") })
}

// testWriteIsolation runs many concurrent Writes, every other one failing after it wrote:
// with group commit they share transactions, and each must get exactly its own outcome.
func testWriteIsolation(t *testing.T, b *bundle) {
	const n = 64
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = b.s.Write(b.ctx, func(tx store.Tx) error {
				tm := newTeam(fmt.Sprintf("te%03d", i))
				if err := tx.CreateTeam(&tm); err != nil {
					return err
				}
				h := core.Host{ID: fmt.Sprintf("h%03d", i), Name: fmt.Sprintf("h%03d", i), Capacity: map[string]int{}, Created: at(0)}
				if err := tx.CreateHost(&h); err != nil {
					return err
				}
				if i%2 == 1 {
					return fmt.Errorf("write %d: %w", i, errBoom)
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i%2 == 1 && !errors.Is(err, errBoom) {
			t.Errorf("write %d: %v, want its own error", i, err)
		}
		if i%2 == 0 && err != nil {
			t.Errorf("write %d: %v, want success", i, err)
		}
	}
	teams := get(t, b, func(tx store.Tx) ([]core.Team, error) { return tx.ListTeams() })
	hosts := get(t, b, func(tx store.Tx) ([]core.HostLoad, error) { return tx.ListHosts("") })
	if len(teams) != n/2 || len(hosts) != n/2 {
		t.Fatalf("%d teams and %d hosts committed, want %d of each", len(teams), len(hosts), n/2)
	}
	for _, tm := range teams {
		var i int
		if _, err := fmt.Sscanf(tm.ID, "te%03d", &i); err != nil || i%2 != 0 {
			t.Errorf("team %s committed, want only even ones", tm.ID)
		}
	}
}

// testWriteConflictIsolation: concurrent Writes each create their own team and then the same
// shared team. Exactly one wins; the others fail with Conflict and leave nothing behind.
func testWriteConflictIsolation(t *testing.T, b *bundle) {
	const n = 32
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = b.s.Write(b.ctx, func(tx store.Tx) error {
				own := newTeam(fmt.Sprintf("te%03d", i))
				if err := tx.CreateTeam(&own); err != nil {
					return err
				}
				shared := newTeam("shared")
				return tx.CreateTeam(&shared)
			})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch core.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Fatalf("writes %d and %d both created the shared team", winner, i)
			}
			winner = i
		case core.Conflict:
		default:
			t.Fatalf("write %d: %v, want success or Conflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no write created the shared team")
	}
	teams := get(t, b, func(tx store.Tx) ([]core.Team, error) { return tx.ListTeams() })
	ids := map[string]bool{}
	for _, tm := range teams {
		ids[tm.ID] = true
	}
	if len(teams) != 2 || !ids["shared"] || !ids[fmt.Sprintf("te%03d", winner)] {
		t.Fatalf("teams %v, want only shared and the winner's te%03d", ids, winner)
	}
}

// testWriteSerialisable: concurrent read-modify-write cycles on one row lose no update.
func testWriteSerialisable(t *testing.T, b *bundle) {
	const workers, rounds = 50, 10
	h := core.Host{ID: "h1", Name: "h1", Capacity: map[string]int{"counter": 0}, Created: at(0)}
	b.write(t, func(tx store.Tx) error { return tx.CreateHost(&h) })
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for range workers {
		wg.Go(func() {
			for range rounds {
				errs <- b.s.Write(b.ctx, func(tx store.Tx) error {
					hl, err := tx.GetHost("h1")
					if err != nil {
						return err
					}
					hl.Capacity["counter"]++
					return tx.UpdateHost(&hl.Host)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	got := get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("h1") }).Capacity["counter"]
	if got != workers*rounds {
		t.Fatalf("counter = %d, want %d", got, workers*rounds)
	}
}

// testConcurrentHostUsage: 50 goroutines each check the host's usage and add to it, as a
// placement does; the increments must sum exactly.
func testConcurrentHostUsage(t *testing.T, b *bundle) {
	const workers, rounds = 50, 10
	h := core.Host{ID: "h1", Name: "h1", Capacity: map[string]int{"C2": workers * rounds}, Available: true, Created: at(0)}
	b.write(t, func(tx store.Tx) error { return tx.CreateHost(&h) })
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for range workers {
		wg.Go(func() {
			for range rounds {
				errs <- b.s.Write(b.ctx, func(tx store.Tx) error {
					hosts, err := tx.PlacementHosts("", "C2", "")
					if err != nil {
						return err
					}
					if len(hosts) != 1 || hosts[0].Free("C2") <= 0 {
						return fmt.Errorf("no free C2 slot: %+v", hosts)
					}
					if err := tx.AddHostUsage("h1", "C2", 1); err != nil {
						return err
					}
					// A placement of another type that is released again nets to zero.
					if err := tx.AddHostUsage("h1", "P4000", 1); err != nil {
						return err
					}
					return tx.AddHostUsage("h1", "P4000", -1)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	hl := get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("h1") })
	equal(t, "Used", hl.Used, map[string]int{"C2": workers * rounds})
	if free := hl.Free("C2"); free != 0 {
		t.Fatalf("Free(C2) = %d, want 0", free)
	}
}

func testReadOnly(t *testing.T, b *bundle) {
	err := b.s.Read(b.ctx, func(tx store.Tx) error {
		tm := newTeam("te1")
		return tx.CreateTeam(&tm)
	})
	if err == nil {
		t.Fatal("CreateTeam inside Read succeeded, want an error")
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Team, error) { return tx.GetTeam("te1") })
	// fn's error comes back unchanged.
	if err := b.s.Read(b.ctx, func(store.Tx) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("Read: %v, want the error fn returned", err)
	}
}

// testReadSnapshot: a Read keeps seeing the state it started with while a Write commits.
func testReadSnapshot(t *testing.T, b *bundle) {
	b.write(t, func(tx store.Tx) error { tm := newTeam("te1"); return tx.CreateTeam(&tm) })
	b.read(t, func(tx store.Tx) error {
		before, err := tx.ListTeams()
		if err != nil {
			return err
		}
		// Committed by another transaction while this one is open.
		if err := b.s.Write(b.ctx, func(tx store.Tx) error { tm := newTeam("te2"); return tx.CreateTeam(&tm) }); err != nil {
			return err
		}
		after, err := tx.ListTeams()
		if err != nil {
			return err
		}
		if len(before) != 1 || len(after) != 1 {
			return fmt.Errorf("teams inside one Read: %d then %d, want 1 and 1", len(before), len(after))
		}
		if _, err := tx.GetTeam("te2"); core.ErrorCode(err) != core.NotFound {
			return fmt.Errorf("GetTeam(te2) inside the older Read: %v, want NotFound", err)
		}
		return nil
	})
	equal(t, "teams after the Read", len(get(t, b, func(tx store.Tx) ([]core.Team, error) { return tx.ListTeams() })), 2)
}

package changes

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// recording is a Publisher that keeps what it was given.
type recording struct {
	mu  sync.Mutex
	got []Change
}

func (r *recording) Publish(cs ...Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, cs...)
}

func (r *recording) take() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func setup(t *testing.T) (store.Store, *recording) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.UnixMilli(1_800_000_000_000).UTC()
	err = db.Write(context.Background(), func(tx store.Tx) error {
		for _, team := range []string{"teA", "teB"} {
			if err := tx.CreateTeam(&core.Team{ID: team, Name: team, Created: now}); err != nil {
				return err
			}
			u := core.User{ID: "u" + team, TeamID: team, Email: team + "@x.test", Role: core.RoleAdmin, Created: now}
			if err := tx.CreateUser(&u); err != nil {
				return err
			}
		}
		return tx.CreateTemplate(&core.Template{ID: "tkni3aa4", Name: "t", OS: "Ubuntu", OSFamily: core.OSLinux, Created: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recording{}
	return Track(db, rec), rec
}

func machine(id, team string) *core.Machine {
	now := time.UnixMilli(1_800_000_000_000).UTC()
	return &core.Machine{ID: id, Name: id, TeamID: team, UserID: "u" + team, Region: "East Coast (NY2)",
		MachineType: "C2", BillingType: "hourly", TemplateID: "tkni3aa4", SizeGB: 50, CPUs: 1,
		State: core.StateOff, PhaseSince: now, Created: now}
}

func TestTrackPublishesCommittedMachineWrites(t *testing.T) {
	st, rec := setup(t)
	ctx := context.Background()
	write := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := st.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx store.Tx) error {
		if err := tx.CreateMachine(machine("psa1", "teA")); err != nil {
			return err
		}
		return tx.CreateMachine(machine("psb1", "teB"))
	})
	if got, want := rec.take(), []Change{{"teA", "psa1"}, {"teB", "psb1"}}; !slices.Equal(got, want) {
		t.Fatalf("creates published %v, want %v", got, want)
	}
	write(func(tx store.Tx) error {
		m, err := tx.GetMachine("psa1")
		if err != nil {
			return err
		}
		m.State = core.StateStarting
		if err := tx.UpdateMachine(&m); err != nil {
			return err
		}
		m.State = core.StateReady // a second write of the same machine is one change
		return tx.UpdateMachine(&m)
	})
	if got, want := rec.take(), []Change{{"teA", "psa1"}}; !slices.Equal(got, want) {
		t.Fatalf("updates published %v, want %v", got, want)
	}
	write(func(tx store.Tx) error { return tx.SetAccess("psb1", "uteB", true) })
	write(func(tx store.Tx) error { return tx.DeleteMachine("psa1", time.Now()) })
	if got, want := rec.take(), []Change{{"teB", "psb1"}, {"teA", "psa1"}}; !slices.Equal(got, want) {
		t.Fatalf("access grant and destroy published %v, want %v", got, want)
	}
	write(func(tx store.Tx) error { return tx.ResetLeases() })
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("a write without machine rows published %v", got)
	}
}

func TestTrackPublishesNothingForFailedWrites(t *testing.T) {
	st, rec := setup(t)
	boom := errors.New("boom")
	err := st.Write(context.Background(), func(tx store.Tx) error {
		if err := tx.CreateMachine(machine("psa1", "teA")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want boom", err)
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("a rolled-back write published %v", got)
	}
	if err := st.Read(context.Background(), func(tx store.Tx) error { _, err := tx.GetMachine("psa1"); return err }); !core.IsNotFound(err) {
		t.Fatalf("rolled-back machine: %v, want NotFound", err)
	}
}

// retrying runs fn once in a transaction that is rolled back, then again in one that commits,
// as a store may when a group commit fails and is retried.
type retrying struct{ store.Store }

func (r retrying) Write(ctx context.Context, fn func(store.Tx) error) error {
	errRetry := errors.New("retry")
	_ = r.Store.Write(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRetry
	})
	return r.Store.Write(ctx, fn)
}

func TestTrackPublishesOnlyTheRunThatCommitted(t *testing.T) {
	db, rec := setup(t)
	st := Track(retrying{db.(*tracked).Store}, rec)
	first := true
	err := st.Write(context.Background(), func(tx store.Tx) error {
		id := "psa2"
		if first {
			id, first = "psa1", false
		}
		return tx.CreateMachine(machine(id, "teA"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []Change{{"teA", "psa2"}}; !slices.Equal(got, want) {
		t.Fatalf("published %v, want only the last run's %v", got, want)
	}
}

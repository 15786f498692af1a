package lifecycle_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"hangar/internal/billing"
	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/lifecycle"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// TestMeterProperty drives machines through random state changes with Env.Enter on a real
// SQLite file and a fake clock, reopening the database now and then (a restart), and checks
// that the per-month seconds read back from the store sum to the billable lifetime the test
// kept on its own: every moment spent in a state other than off, from create to destroy.
func TestMeterProperty(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hangar.db")
	clock := clocktest.New(time.Date(2023, 12, 30, 22, 0, 0, 0, time.UTC))
	open := func() store.Store {
		db, err := sqlite.Open(ctx, path, sqlite.Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	defer func() { db.Close() }()
	env := &lifecycle.Env{Clock: clock, Expect: func(core.State) time.Duration { return time.Minute }}
	rng := rand.New(rand.NewPCG(7, 11))
	states := core.States()

	type tracked struct {
		id        string
		state     core.State
		created   time.Time
		billable  time.Duration
		storage   time.Duration
		destroyed bool
	}
	var machines []*tracked
	advance := func(d time.Duration) {
		for _, m := range machines {
			if m.destroyed {
				continue
			}
			m.storage += d
			if m.state != core.StateOff {
				m.billable += d
			}
		}
		clock.Advance(d)
	}
	write := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := db.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	for step := range 600 {
		switch r := rng.IntN(20); {
		case r < 3 || len(machines) == 0: // create
			m := core.Machine{ID: fmt.Sprintf("ps%05d", step), Name: "m", TeamID: "te1", UserID: "u1",
				Region: "East Coast (NY2)", MachineType: "C5", BillingType: "hourly", TemplateID: "t04azgph",
				SizeGB: 50, AgentType: "LinuxHeadless", Created: clock.Now()}
			write(func(tx store.Tx) error {
				if err := env.Enter(tx, &m, core.StateProvisioning); err != nil {
					return err
				}
				return tx.CreateMachine(&m)
			})
			machines = append(machines, &tracked{id: m.ID, state: m.State, created: m.Created})
		case r < 5: // destroy
			m := machines[rng.IntN(len(machines))]
			if m.destroyed {
				continue
			}
			write(func(tx store.Tx) error {
				cur, err := tx.GetMachine(m.id)
				if err != nil {
					return err
				}
				if err := env.EndUsage(tx, &cur); err != nil {
					return err
				}
				return tx.DeleteMachine(m.id, clock.Now())
			})
			m.destroyed = true
		case r < 6: // restart the process: the meter lives in the database
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open()
		case r < 12: // time passes: up to 9 days, often across a month boundary
			advance(time.Duration(rng.Int64N(9*24*3600*1000)) * time.Millisecond)
		default: // a state change, possibly to the same billability
			m := machines[rng.IntN(len(machines))]
			if m.destroyed {
				continue
			}
			next := states[rng.IntN(len(states))]
			write(func(tx store.Tx) error {
				cur, err := tx.GetMachine(m.id)
				if err != nil {
					return err
				}
				if err := env.Enter(tx, &cur, next); err != nil {
					return err
				}
				return tx.UpdateMachine(&cur)
			})
			m.state = next
		}
	}
	now := clock.Now()
	for _, m := range machines {
		var sum billing.Usage
		for month := billing.MonthOf(m.created); !month.Start().After(now); month = month.Next() {
			var u core.MachineUsage
			if err := db.Read(ctx, func(tx store.Tx) (err error) {
				u, err = tx.GetUsage(m.id, month.Start(), month.End())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			got := billing.ForMonth(u, month, now)
			sum.Machine += got.Machine
			sum.Storage += got.Storage
		}
		if sum.Machine != m.billable || sum.Storage != m.storage {
			t.Errorf("%s: months sum to machine %v storage %v, want %v %v", m.id, sum.Machine, sum.Storage, m.billable, m.storage)
		}
	}
	if len(machines) < 20 {
		t.Fatalf("only %d machines: the walk is too short to mean much", len(machines))
	}
}

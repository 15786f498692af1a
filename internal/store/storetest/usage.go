package storetest

import (
	"errors"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// usageOf returns GetUsage's answer for [from, to).
func usageOf(t *testing.T, b *bundle, id string, from, to time.Time) core.MachineUsage {
	t.Helper()
	return get(t, b, func(tx store.Tx) (core.MachineUsage, error) { return tx.GetUsage(id, from, to) })
}

func iv(start int, end ...int) core.UsageInterval {
	out := core.UsageInterval{Start: at(start)}
	if len(end) > 0 {
		out.End = ptr(at(end[0]))
	}
	return out
}

func testUsage(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	m := fullMachine("ps1", "te1", "u2", at(0))
	createMachines(t, b, m)
	usage := func(fn func(tx store.Tx) error) { b.write(t, fn) }

	// Start twice: one open interval. End closes it; a second end changes nothing.
	usage(func(tx store.Tx) error { return tx.StartUsage("ps1", at(1)) })
	usage(func(tx store.Tx) error { return tx.StartUsage("ps1", at(2)) })
	equal(t, "open interval", usageOf(t, b, "ps1", at(0), at(100)).Billable, []core.UsageInterval{iv(1)})
	usage(func(tx store.Tx) error { return tx.EndUsage("ps1", at(4)) })
	usage(func(tx store.Tx) error { return tx.EndUsage("ps1", at(9)) })
	// A stop/start gap, then an end at or before the start (clock skew) leaves no interval.
	usage(func(tx store.Tx) error { return tx.StartUsage("ps1", at(10)) })
	usage(func(tx store.Tx) error { return tx.EndUsage("ps1", at(7)) })
	usage(func(tx store.Tx) error { return tx.StartUsage("ps1", at(20)) })

	got := usageOf(t, b, "ps1", at(0), at(100))
	want := core.MachineUsage{MachineID: "ps1", TeamID: "te1", UserID: "u2", MachineType: "P4000",
		BillingType: "hourly", SizeGB: 50, Created: at(0),
		Billable: []core.UsageInterval{iv(1, 4), iv(20)}}
	equal(t, "GetUsage", got, want)

	// Only intervals overlapping [from, to) come back: [1,4) ends before 5, [20,…) starts at 20.
	equal(t, "GetUsage [5, 100)", usageOf(t, b, "ps1", at(5), at(100)).Billable, []core.UsageInterval{iv(20)})
	equal(t, "GetUsage [3, 20)", usageOf(t, b, "ps1", at(3), at(20)).Billable, []core.UsageInterval{iv(1, 4)})
	equal(t, "GetUsage [0, 1)", len(usageOf(t, b, "ps1", at(0), at(1)).Billable), 0)

	// Destroyed machines keep their usage.
	usage(func(tx store.Tx) error {
		if err := tx.EndUsage("ps1", at(30)); err != nil {
			return err
		}
		return tx.DeleteMachine("ps1", at(30))
	})
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Machine, error) { return tx.GetMachine("ps1") })
	want.Destroyed = ptr(at(30))
	want.Billable[1] = iv(20, 30)
	equal(t, "GetUsage after destroy", usageOf(t, b, "ps1", at(0), at(100)), want)
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.MachineUsage, error) { return tx.GetUsage("nope", at(0), at(1)) })

	// A rolled-back write leaves no interval.
	boom := errors.New("boom")
	createMachines(t, b, bareMachine("ps2", "te1", "u1", at(0)))
	if err := b.s.Write(b.ctx, func(tx store.Tx) error {
		if err := tx.StartUsage("ps2", at(1)); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want boom", err)
	}
	equal(t, "usage after rollback", len(usageOf(t, b, "ps2", at(0), at(100)).Billable), 0)
}

func testListUsage(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	createMachines(t, b,
		bareMachine("psb", "te1", "u1", at(0)),  // off all along: storage only
		fullMachine("psa", "te1", "u2", at(5)),  // billable from 5
		fullMachine("psc", "te2", "u3", at(1)),  // destroyed at 8
		bareMachine("psd", "te1", "u1", at(50)), // created after the window
		bareMachine("pse", "te2", "u3", at(0)),  // destroyed before the window
	)
	b.write(t, func(tx store.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.StartUsage("psa", at(5)) },
			func() error { return tx.StartUsage("psc", at(1)) },
			func() error { return tx.EndUsage("psc", at(3)) },
			func() error { return tx.StartUsage("psc", at(6)) },
			func() error { return tx.EndUsage("psc", at(8)) },
			func() error { return tx.DeleteMachine("psc", at(8)) },
			func() error { return tx.StartUsage("pse", at(0)) },
			func() error { return tx.EndUsage("pse", at(1)) },
			func() error { return tx.DeleteMachine("pse", at(2)) },
			func() error { return tx.StartUsage("psd", at(50)) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	list := get(t, b, func(tx store.Tx) ([]core.MachineUsage, error) { return tx.ListUsage(at(4), at(40)) })
	var gotIDs []string
	for _, u := range list {
		gotIDs = append(gotIDs, u.MachineID)
	}
	equal(t, "ListUsage ids (team, then id)", gotIDs, ids("psa", "psb", "psc"))
	equal(t, "psa", list[0].Billable, []core.UsageInterval{iv(5)})
	equal(t, "psb", len(list[1].Billable), 0)
	equal(t, "psc (only the interval in the window)", list[2].Billable, []core.UsageInterval{iv(6, 8)})
	equal(t, "psc destroyed", list[2].Destroyed, ptr(at(8)))
	equal(t, "psc meta", [4]any{list[2].TeamID, list[2].MachineType, list[2].BillingType, list[2].SizeGB},
		[4]any{"te2", "P4000", "hourly", 50})
	equal(t, "empty window", len(get(t, b, func(tx store.Tx) ([]core.MachineUsage, error) {
		return tx.ListUsage(at(-10), at(-5))
	})), 0)
}

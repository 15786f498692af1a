package storetest

import (
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testLeases(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	due := func(id string, next *time.Time) core.Machine {
		m := bareMachine(id, "te1", "u1", at(0))
		m.NextAt = next
		return m
	}
	// Inserted out of NextAt order.
	createMachines(t, b,
		due("ps2", ptr(at(2))),
		due("ps1", ptr(at(1))),
		due("ps3", ptr(at(20))), // not yet due
		due("ps4", nil),         // idle
		due("ps5", ptr(at(0))),  // destroyed below
		due("ps6", ptr(at(3))),
	)
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps5", at(0)) })
	now := at(5)
	claim := func(now time.Time, owner string, until time.Time, limit int) []string {
		t.Helper()
		var ids []string
		b.write(t, func(tx store.Tx) error {
			var err error
			ids, err = tx.ClaimDue(now, owner, until, limit)
			return err
		})
		return append([]string{}, ids...)
	}

	equal(t, "ClaimDue(a, limit 2)", claim(now, "a", at(10), 2), ids("ps1", "ps2"))
	equal(t, "ClaimDue(b) skips a's leases", claim(now, "b", at(6), 10), ids("ps6"))
	equal(t, "ClaimDue(c) finds nothing free", claim(now, "c", at(10), 10), ids())
	equal(t, "ClaimDue(a) does not re-claim its own leases", claim(now, "a", at(10), 10), ids())

	// Releasing with the wrong owner changes nothing; the right owner frees the machine.
	b.write(t, func(tx store.Tx) error { return tx.ReleaseLease("ps1", "b") })
	equal(t, "ClaimDue after a foreign release", claim(now, "c", at(10), 10), ids())
	b.write(t, func(tx store.Tx) error { return tx.ReleaseLease("ps1", "a") })
	equal(t, "ClaimDue after release", claim(now, "c", at(10), 10), ids("ps1"))

	// UpdateMachine leaves the lease alone.
	b.write(t, func(tx store.Tx) error {
		m, err := tx.GetMachine("ps2")
		if err != nil {
			return err
		}
		m.Attempts++
		return tx.UpdateMachine(&m)
	})
	equal(t, "ClaimDue after UpdateMachine", claim(now, "d", at(10), 10), ids())

	// b's lease on ps6 runs until at(6): expired after that.
	equal(t, "ClaimDue once a lease expired", claim(at(7), "d", at(12), 10), ids("ps6"))
	// At at(21) ps3 is due and every lease (until at(12) at the latest) has expired.
	equal(t, "ClaimDue later", claim(at(21), "e", at(30), 10), ids("ps1", "ps2", "ps6", "ps3"))

	b.write(t, func(tx store.Tx) error { return tx.ResetLeases() })
	equal(t, "ClaimDue after ResetLeases", claim(at(21), "f", at(30), 10), ids("ps1", "ps2", "ps6", "ps3"))

	// A machine that is no longer due is not claimed even without a lease.
	b.write(t, func(tx store.Tx) error {
		if err := tx.ResetLeases(); err != nil {
			return err
		}
		m, err := tx.GetMachine("ps1")
		if err != nil {
			return err
		}
		m.NextAt = nil
		return tx.UpdateMachine(&m)
	})
	equal(t, "ClaimDue after clearing NextAt", claim(at(21), "g", at(30), 10), ids("ps2", "ps6", "ps3"))
}

func testNextDue(t *testing.T, b *bundle) {
	next := func() *time.Time { return get(t, b, func(tx store.Tx) (*time.Time, error) { return tx.NextDue() }) }
	if n := next(); n != nil {
		t.Fatalf("NextDue on an empty store: %v, want nil", n)
	}
	seedAccounts(t, b)
	m1 := bareMachine("ps1", "te1", "u1", at(0))
	m1.NextAt = ptr(at(5))
	m2 := bareMachine("ps2", "te1", "u1", at(0))
	m2.NextAt = ptr(at(2))
	m3 := bareMachine("ps3", "te1", "u1", at(0))
	m3.NextAt = ptr(at(1)) // destroyed below
	m4 := bareMachine("ps4", "te1", "u1", at(0))
	createMachines(t, b, m1, m2, m3, m4)
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps3", at(0)) })
	equal(t, "NextDue", next(), ptr(at(2)))
	// Leases do not hide a machine from NextDue.
	b.write(t, func(tx store.Tx) error {
		_, err := tx.ClaimDue(at(3), "a", at(9), 10)
		return err
	})
	equal(t, "NextDue with a leased machine", next(), ptr(at(2)))
}

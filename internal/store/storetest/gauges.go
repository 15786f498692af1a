package storetest

import (
	"testing"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testGauges(t *testing.T, b *bundle) {
	gauges := func(now int) store.Gauges {
		t.Helper()
		return get(t, b, func(tx store.Tx) (store.Gauges, error) { return tx.Gauges(at(now)) })
	}
	equal(t, "Gauges of an empty store", gauges(0), store.Gauges{})

	seedAccounts(t, b)
	m := func(id string, state core.State, typ, region string, next *int) core.Machine {
		x := bareMachine(id, "te1", "u1", at(0))
		x.State, x.MachineType, x.Region = state, typ, region
		if next != nil {
			x.NextAt = ptr(at(*next))
		}
		return x
	}
	one, three, twenty := 1, 3, 20
	createMachines(t, b,
		m("ps1", core.StateOff, "C2", "Europe (AMS1)", nil),
		m("ps2", core.StateOff, "C2", "Europe (AMS1)", nil),
		m("ps3", core.StateProvisioning, "C2", "Europe (AMS1)", &one),
		m("ps4", core.StateProvisioning, "C4", "Europe (AMS1)", &three),
		m("ps5", core.StateReady, "C4", "East Coast (NY2)", &twenty), // a timer, not due yet
		m("ps6", core.StateStarting, "C4", "East Coast (NY2)", &one), // destroyed below
	)
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps6", at(0)) })
	// ps3 is leased until at(4), ps4 until at(10).
	b.write(t, func(tx store.Tx) error {
		if _, err := tx.ClaimDue(at(3), "a", at(4), 1); err != nil {
			return err
		}
		_, err := tx.ClaimDue(at(3), "b", at(10), 1)
		return err
	})
	b.write(t, func(tx store.Tx) error {
		for _, x := range []*core.Mail{
			{ID: "m1", MachineID: "ps1", To: "a@example.com", Subject: "s", Body: "b", Created: at(0), NextAt: ptr(at(0))},
			{ID: "m2", MachineID: "ps1", To: "a@example.com", Subject: "s", Body: "b", Created: at(0), NextAt: ptr(at(50))},
			{ID: "m3", MachineID: "ps1", To: "a@example.com", Subject: "s", Body: "b", Created: at(0), Sent: ptr(at(1))},
		} {
			if err := tx.CreateMail(x); err != nil {
				return err
			}
		}
		return nil
	})
	machines := []store.MachineCount{
		{State: core.StateOff, MachineType: "C2", Region: "Europe (AMS1)", Count: 2},
		{State: core.StateProvisioning, MachineType: "C2", Region: "Europe (AMS1)", Count: 1},
		{State: core.StateProvisioning, MachineType: "C4", Region: "Europe (AMS1)", Count: 1},
		{State: core.StateReady, MachineType: "C4", Region: "East Coast (NY2)", Count: 1},
	}
	equal(t, "Gauges at 2", gauges(2), store.Gauges{Machines: machines, Due: 1, ExpiredLeases: 0, Outbox: 2})
	equal(t, "Gauges at 5: one lease ran out", gauges(5), store.Gauges{Machines: machines, Due: 2, ExpiredLeases: 1, Outbox: 2})
	equal(t, "Gauges at 30", gauges(30), store.Gauges{Machines: machines, Due: 3, ExpiredLeases: 2, Outbox: 2})
	b.write(t, func(tx store.Tx) error { return tx.ReleaseLease("ps3", "a") })
	equal(t, "Gauges after a release", gauges(30), store.Gauges{Machines: machines, Due: 3, ExpiredLeases: 1, Outbox: 2})
}

package storetest

import (
	"testing"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testTeamQuotas(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	quotas := func(team string) core.QuotaLimits {
		t.Helper()
		return get(t, b, func(tx store.Tx) (core.QuotaLimits, error) { return tx.TeamQuotas(team) })
	}
	equal(t, "TeamQuotas without overrides", quotas("te1"), core.QuotaLimits{})
	b.write(t, func(tx store.Tx) error {
		for _, s := range []struct {
			team string
			q    core.Quota
			n    int
		}{{"te1", core.QuotaMachines, 100}, {"te1", core.QuotaNetworks, 0}, {"te1", core.QuotaScripts, core.Unlimited},
			{"te2", core.QuotaNetworks, 7}} {
			if err := tx.SetTeamQuota(s.team, s.q, ptr(s.n)); err != nil {
				return err
			}
		}
		return nil
	})
	equal(t, "TeamQuotas(te1)", quotas("te1"), core.QuotaLimits{core.QuotaMachines: 100, core.QuotaNetworks: 0,
		core.QuotaScripts: core.Unlimited})
	equal(t, "TeamQuotas(te2)", quotas("te2"), core.QuotaLimits{core.QuotaNetworks: 7})
	// Setting again replaces; nil removes; removing what is not there is harmless.
	b.write(t, func(tx store.Tx) error {
		if err := tx.SetTeamQuota("te1", core.QuotaMachines, ptr(5)); err != nil {
			return err
		}
		if err := tx.SetTeamQuota("te1", core.QuotaNetworks, nil); err != nil {
			return err
		}
		return tx.SetTeamQuota("te1", core.QuotaSnapshots, nil)
	})
	equal(t, "TeamQuotas(te1) after changes", quotas("te1"), core.QuotaLimits{core.QuotaMachines: 5,
		core.QuotaScripts: core.Unlimited})
	equal(t, "TeamQuotas(te2) after te1's changes", quotas("te2"), core.QuotaLimits{core.QuotaNetworks: 7})
}

func testTeamUsage(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	usage := func(team string) core.QuotaLimits {
		t.Helper()
		return get(t, b, func(tx store.Tx) (core.QuotaLimits, error) { return tx.TeamUsage(team) })
	}
	zero := core.QuotaLimits{core.QuotaMachines: 0, core.QuotaRunning: 0, core.QuotaNetworks: 0,
		core.QuotaPublicIPs: 0, core.QuotaScripts: 0, core.QuotaSnapshots: 0}
	equal(t, "TeamUsage of an empty team", usage("te1"), zero)

	on := bareMachine("ps1", "te1", "u1", at(0))
	on.State = core.StateReady
	prov := bareMachine("ps2", "te1", "u1", at(0))
	prov.State = core.StateProvisioning
	prov.TakeInitialSnapshot = true // its initial snapshot counts before it is taken
	off := bareMachine("ps3", "te1", "u2", at(0))
	off.TakeInitialSnapshot = true // taken already (s3): counts once
	gone := bareMachine("ps4", "te1", "u1", at(0))
	gone.State = core.StateReady
	other := bareMachine("ps5", "te2", "u3", at(0))
	other.State = core.StateReady
	createMachines(t, b, on, prov, off, gone, other)
	b.write(t, func(tx store.Tx) error {
		for _, n := range []core.Network{
			{ID: "n1", Name: "a", TeamID: "te1", Region: "East Coast (NY2)", CIDR: "10.64.1.0/24", VLAN: 1, Created: at(0)},
			{ID: "n2", Name: "b", TeamID: "te1", Region: "East Coast (NY2)", CIDR: "10.64.2.0/24", VLAN: 2, Created: at(0)},
			{ID: "n3", Name: "c", TeamID: "te2", Region: "East Coast (NY2)", CIDR: "10.64.3.0/24", VLAN: 3, Created: at(0)},
		} {
			if err := tx.CreateNetwork(&n); err != nil {
				return err
			}
		}
		for _, ip := range []core.PublicIP{
			{Address: "203.0.113.1", TeamID: ptr("te1"), MachineID: ptr("ps1")},                // static, attached
			{Address: "203.0.113.2", TeamID: ptr("te1")},                                       // static, kept
			{Address: "203.0.113.3", TeamID: ptr("te1"), MachineID: ptr("ps2"), Dynamic: true}, // dynamic, attached
			{Address: "203.0.113.4", TeamID: ptr("te2")},
		} {
			if err := tx.InsertPublicIP(&ip); err != nil {
				return err
			}
		}
		for _, sc := range []core.Script{
			{ID: "sc1", OwnerType: "user", OwnerID: "u1", TeamID: "te1", Name: "a", Text: "x", Created: at(0)},
			{ID: "sc2", OwnerType: "user", OwnerID: "u3", TeamID: "te2", Name: "a", Text: "x", Created: at(0)},
		} {
			if err := tx.CreateScript(&sc); err != nil {
				return err
			}
		}
		for _, s := range []core.Snapshot{
			{ID: "s1", MachineID: "ps1", Kind: core.SnapshotAuto, Created: at(1)},
			{ID: "s2", MachineID: "ps1", Kind: core.SnapshotAuto, Created: at(2), Pruned: true},
			{ID: "s3", MachineID: "ps3", Kind: core.SnapshotInitial, Created: at(1)},
			{ID: "s4", MachineID: "ps4", Kind: core.SnapshotInitial, Created: at(1)},
			{ID: "s5", MachineID: "ps5", Kind: core.SnapshotInitial, Created: at(1)},
		} {
			if err := tx.CreateSnapshot(&s); err != nil {
				return err
			}
		}
		if err := tx.DeleteNetwork("n2"); err != nil {
			return err
		}
		return tx.DeleteMachine("ps4", at(3))
	})
	equal(t, "TeamUsage(te1)", usage("te1"), core.QuotaLimits{core.QuotaMachines: 3, core.QuotaRunning: 2,
		core.QuotaNetworks: 1, core.QuotaPublicIPs: 3, core.QuotaScripts: 1, core.QuotaSnapshots: 3})
	equal(t, "TeamUsage(te2)", usage("te2"), core.QuotaLimits{core.QuotaMachines: 1, core.QuotaRunning: 1,
		core.QuotaNetworks: 1, core.QuotaPublicIPs: 1, core.QuotaScripts: 1, core.QuotaSnapshots: 1})
	equal(t, "TeamUsage of an unknown team", usage("te9"), zero)
	equal(t, "TeamUsage(te1, running, snapshots, running)", get(t, b, func(tx store.Tx) (core.QuotaLimits, error) {
		return tx.TeamUsage("te1", core.QuotaRunning, core.QuotaSnapshots, core.QuotaRunning)
	}), core.QuotaLimits{core.QuotaRunning: 2, core.QuotaSnapshots: 3})

	// machines and running follow every power change and destroy in the transaction that
	// makes it, and a rolled-back one changes nothing.
	power := func(id string, s core.State) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			m, err := tx.GetMachine(id)
			if err != nil {
				return err
			}
			m.State = s
			return tx.UpdateMachine(&m)
		}
	}
	counts := func(team string) [2]int {
		t.Helper()
		u := usage(team)
		return [2]int{u[core.QuotaMachines], u[core.QuotaRunning]}
	}
	b.write(t, power("ps1", core.StateOff))      // ready → off
	b.write(t, power("ps3", core.StateStarting)) // off → starting
	b.write(t, power("ps2", core.StateStarting)) // not off → not off
	equal(t, "machines, running after power changes", counts("te1"), [2]int{3, 2})
	b.writeCode(t, core.Invalid, func(tx store.Tx) error {
		if err := power("ps1", core.StateStarting)(tx); err != nil {
			return err
		}
		if err := tx.DeleteMachine("ps3", at(4)); err != nil {
			return err
		}
		return core.Errorf(core.Invalid, "rolled back")
	})
	equal(t, "machines, running after a rollback", counts("te1"), [2]int{3, 2})
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps3", at(4)) })
	equal(t, "machines, running after a destroy", counts("te1"), [2]int{2, 1})
	equal(t, "machines, running of the other team", counts("te2"), [2]int{1, 1})
}

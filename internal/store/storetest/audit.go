package storetest

import (
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testAudit(t *testing.T, b *bundle) {
	equal(t, "empty ListAudit", len(get(t, b, func(tx store.Tx) ([]core.AuditEntry, error) {
		return tx.ListAudit(core.AuditQuery{})
	})), 0)

	// Entries 0..4, inserted in this order; entries 3 and 4 share a millisecond, so the newer
	// insert must come first.
	ny := time.FixedZone("EST", -5*3600)
	es := []core.AuditEntry{
		{Time: at(0), RequestID: "r0", UserID: "u1", Role: core.RoleAdmin, TeamID: "te1", Action: "machines.create",
			Target: "ps1", Status: 200, ClientAddr: "127.0.0.1"},
		{Time: at(1).In(ny), RequestID: "r1", UserID: "u2", Role: core.RoleMember, TeamID: "te1", Action: "machines.create",
			Status: 403, Error: core.Forbidden, ClientAddr: "::1"},
		{Time: at(2), Action: "users.login", Status: 401, Error: core.Unauthorized, ClientAddr: "10.0.0.1"},
		{Time: at(3), RequestID: "r3", UserID: "u9", Role: core.RoleOperator, TeamID: "te9", Action: "keys.revoke",
			Target: "key1", Status: 200, ClientAddr: "127.0.0.1"},
		{Time: at(3), RequestID: "r4", UserID: "u3", Role: core.RoleAdmin, TeamID: "te2", Action: "machines.stop",
			Target: "ps2", Status: 204, ClientAddr: "127.0.0.1"},
	}
	for i := range es {
		b.write(t, func(tx store.Tx) error { return tx.AppendAudit(&es[i]) })
		if es[i].Seq <= 0 || (i > 0 && es[i].Seq <= es[i-1].Seq) {
			t.Fatalf("AppendAudit seq %d after %d: want positive and increasing", es[i].Seq, es[max(i-1, 0)].Seq)
		}
	}
	es[1].Time = at(1)
	pick := func(idx ...int) []core.AuditEntry {
		var out []core.AuditEntry
		for _, i := range idx {
			out = append(out, es[i])
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    core.AuditQuery
		want []core.AuditEntry
	}{
		{"all, newest first", core.AuditQuery{}, pick(4, 3, 2, 1, 0)},
		{"limit", core.AuditQuery{Limit: 2}, pick(4, 3)},
		{"team", core.AuditQuery{TeamID: "te1"}, pick(1, 0)},
		{"user", core.AuditQuery{UserID: "u2"}, pick(1)},
		{"anonymous entries have no user", core.AuditQuery{Action: "users.login"}, pick(2)},
		{"action", core.AuditQuery{Action: "machines.create"}, pick(1, 0)},
		{"since is inclusive", core.AuditQuery{Since: at(1)}, pick(4, 3, 2, 1)},
		{"until is exclusive", core.AuditQuery{Until: at(1)}, pick(0)},
		{"range", core.AuditQuery{Since: at(1), Until: at(3)}, pick(2, 1)},
		{"all filters", core.AuditQuery{TeamID: "te1", UserID: "u1", Action: "machines.create", Since: at(0),
			Until: at(5), Limit: 10}, pick(0)},
		{"no match", core.AuditQuery{TeamID: "te1", Action: "keys.revoke"}, nil},
	} {
		got := get(t, b, func(tx store.Tx) ([]core.AuditEntry, error) { return tx.ListAudit(tc.q) })
		equal(t, "ListAudit "+tc.name, got, tc.want)
	}

	// An entry written in a transaction that fails is not kept.
	b.writeCode(t, core.NotFound, func(tx store.Tx) error {
		e := core.AuditEntry{Time: at(9), Action: "rolled.back", Status: 200}
		if err := tx.AppendAudit(&e); err != nil {
			return err
		}
		return core.Errorf(core.NotFound, "fail")
	})
	equal(t, "rolled-back entry", len(get(t, b, func(tx store.Tx) ([]core.AuditEntry, error) {
		return tx.ListAudit(core.AuditQuery{Action: "rolled.back"})
	})), 0)
}

func testAuthGeneration(t *testing.T, b *bundle) {
	gen := func() int64 { return get(t, b, func(tx store.Tx) (int64, error) { return tx.AuthGeneration() }) }
	g0 := gen()
	b.write(t, func(tx store.Tx) error { return tx.BumpAuthGeneration() })
	equal(t, "generation after one bump", gen(), g0+1)
	b.write(t, func(tx store.Tx) error {
		if err := tx.BumpAuthGeneration(); err != nil {
			return err
		}
		return tx.BumpAuthGeneration()
	})
	equal(t, "generation after two more", gen(), g0+3)
	// A bump in a transaction that fails is undone.
	b.writeCode(t, core.Invalid, func(tx store.Tx) error {
		if err := tx.BumpAuthGeneration(); err != nil {
			return err
		}
		return core.Errorf(core.Invalid, "fail")
	})
	equal(t, "generation after a rolled-back bump", gen(), g0+3)
}

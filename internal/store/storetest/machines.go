package storetest

import (
	"slices"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testMachineRoundTrip(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	ny := time.FixedZone("EST", -5*3600)
	full := fullMachine("psfull", "te1", "u1", at(1).In(ny))
	bare := bareMachine("psbare", "te1", "u2", at(2))
	ms := createMachines(t, b, full, bare)
	if ms[0].InternalID <= 0 || ms[1].InternalID <= 0 || ms[0].InternalID == ms[1].InternalID {
		t.Fatalf("CreateMachine InternalIDs %d, %d: want positive and distinct", ms[0].InternalID, ms[1].InternalID)
	}
	ms[0].Created = at(1)
	for _, want := range ms {
		equal(t, "GetMachine", get(t, b, func(tx store.Tx) (core.Machine, error) { return tx.GetMachine(want.ID) }), want)
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Machine, error) { return tx.GetMachine("nope") })
	dup := bareMachine("psfull", "te2", "u3", at(3))
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateMachine(&dup) })

	// UpdateMachine writes every field: swap the full and bare values.
	upd := bareMachine("psfull", "te2", "u3", at(7))
	upd.InternalID = ms[0].InternalID
	upd.State, upd.Attempts, upd.OpEvent, upd.PhaseSince = core.StateStopping, 5, "ev9", at(8)
	b.write(t, func(tx store.Tx) error { return tx.UpdateMachine(&upd) })
	equal(t, "GetMachine after clearing update",
		get(t, b, func(tx store.Tx) (core.Machine, error) { return tx.GetMachine("psfull") }), upd)
	upd2 := fullMachine("psbare", "te1", "u1", at(9))
	upd2.InternalID = ms[1].InternalID
	b.write(t, func(tx store.Tx) error { return tx.UpdateMachine(&upd2) })
	equal(t, "GetMachine after filling update",
		get(t, b, func(tx store.Tx) (core.Machine, error) { return tx.GetMachine("psbare") }), upd2)
	missing := bareMachine("nope", "te1", "u1", at(0))
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.UpdateMachine(&missing) })
}

func testMachineDelete(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	createMachines(t, b, fullMachine("ps1", "te1", "u1", at(0)), fullMachine("ps2", "te1", "u1", at(1)))
	b.write(t, func(tx store.Tx) error {
		for _, ip := range []struct{ scope, addr, machine string }{
			{"n1", "10.0.0.1", "ps1"}, {"n1", "10.0.0.2", "ps2"}, {"default", "10.1.0.1", "ps1"},
		} {
			if err := tx.InsertPrivateIP(ip.scope, ip.addr, ip.machine); err != nil {
				return err
			}
		}
		for _, m := range []string{"ps1", "ps2"} {
			if err := tx.SetAccess(m, "u2", true); err != nil {
				return err
			}
		}
		return nil
	})
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps1", at(5)) })

	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Machine, error) { return tx.GetMachine("ps1") })
	equal(t, "ListMachines after delete", listIDs(t, b, core.MachineQuery{TeamID: "te1"}), []string{"ps2"})
	equal(t, "ListMachines(id=ps1) after delete", listIDs(t, b, core.MachineQuery{TeamID: "te1",
		Where: []core.Filter{{Field: "id", Value: core.FilterValue{Str: "ps1"}}}}), []string{})
	equal(t, "ListPrivateIPs(n1)", get(t, b, func(tx store.Tx) ([]string, error) { return tx.ListPrivateIPs("n1") }),
		[]string{"10.0.0.2"})
	equal(t, "ListPrivateIPs(default)",
		len(get(t, b, func(tx store.Tx) ([]string, error) { return tx.ListPrivateIPs("default") })), 0)
	equal(t, "HasAccess(ps1)", get(t, b, func(tx store.Tx) (bool, error) { return tx.HasAccess("ps1", "u2") }), false)
	equal(t, "HasAccess(ps2)", get(t, b, func(tx store.Tx) (bool, error) { return tx.HasAccess("ps2", "u2") }), true)

	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteMachine("ps1", at(6)) })
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteMachine("nope", at(6)) })
	gone := fullMachine("ps1", "te1", "u1", at(0))
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.UpdateMachine(&gone) })
	// A destroyed machine's id stays taken.
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateMachine(&gone) })
}

// machineFilterCase is one ListMachines filter and the machines it must return.
type machineFilterCase struct {
	field string
	value core.FilterValue
	want  []string
}

func str(s string) core.FilterValue                   { return core.FilterValue{Str: s} }
func num(n int64) core.FilterValue                    { return core.FilterValue{Int: n} }
func flag(v bool) core.FilterValue                    { return core.FilterValue{Bool: v} }
func when(tm time.Time) core.FilterValue              { return core.FilterValue{Time: tm} }
func null() core.FilterValue                          { return core.FilterValue{Null: true} }
func ids(s ...string) []string                        { return append([]string{}, s...) }
func (c machineFilterCase) name() string              { return c.field + "=" + dump(c.value) }
func filter(f string, v core.FilterValue) core.Filter { return core.Filter{Field: f, Value: v} }

func testMachineFilters(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	// A has every optional field set, B none; C is A's twin in another team, D is destroyed.
	a := fullMachine("psa", "te1", "u1", at(1))
	bm := bareMachine("psb", "te1", "u2", at(2))
	c := fullMachine("psc", "te2", "u3", at(1))
	d := fullMachine("psd", "te1", "u1", at(1))
	createMachines(t, b, a, bm, c, d)
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("psd", at(3)) })

	cases := []machineFilterCase{
		{"id", str("psa"), ids("psa")},
		{"id", str("psc"), ids()}, // other team
		{"id", str("psd"), ids()}, // destroyed
		{"name", str("name-psa"), ids("psa")},
		{"name", str("name-"), ids()},
		{"name", null(), ids()},
		{"os", str("Ubuntu 20.04 Server"), ids("psa")},
		{"os", null(), ids("psb")},
		{"ram", num(32212254720), ids("psa")},
		{"ram", num(32212254721), ids()},
		{"ram", null(), ids("psb")},
		{"cpus", num(8), ids("psa")},
		{"cpus", num(1), ids("psb")},
		{"cpus", null(), ids()},
		{"gpu", str("Quadro P4000"), ids("psa")},
		{"gpu", null(), ids("psb")},
		{"storageTotal", num(53687091200), ids("psa")},
		{"storageTotal", null(), ids("psb")},
		{"storageUsed", num(110080), ids("psa")},
		{"storageUsed", null(), ids("psb")},
		{"usageRate", str("P4000 hourly"), ids("psa")},
		{"usageRate", str("C2 monthly"), ids("psb")},
		{"usageRate", str("P4000"), ids()},
		{"shutdownTimeoutInHours", num(24), ids("psa")},
		{"shutdownTimeoutInHours", null(), ids("psb")},
		{"shutdownTimeoutForces", flag(true), ids("psa")},
		{"shutdownTimeoutForces", flag(false), ids("psb")},
		{"performAutoSnapshot", flag(true), ids("psa")},
		{"performAutoSnapshot", flag(false), ids("psb")},
		{"autoSnapshotFrequency", str("daily"), ids("psa")},
		{"autoSnapshotFrequency", null(), ids("psb")},
		{"autoSnapshotSaveCount", num(3), ids("psa")},
		{"autoSnapshotSaveCount", null(), ids("psb")},
		{"agentType", str("LinuxHeadless"), ids("psa")},
		{"agentType", str("LinuxDesktop"), ids("psb")},
		{"dtCreated", when(at(1)), ids("psa")},
		{"dtCreated", when(at(2)), ids("psb")},
		{"dtCreated", when(at(1).Add(time.Millisecond)), ids()},
		{"state", str("ready"), ids("psa")},
		{"state", str("off"), ids("psb")},
		{"state", str("starting"), ids()},
		{"updatesPending", flag(true), ids("psa")},
		{"updatesPending", flag(false), ids("psb")},
		{"networkId", str("n1"), ids("psa")},
		{"networkId", null(), ids("psb")},
		{"privateIpAddress", str("10.64.21.5"), ids("psa")},
		{"privateIpAddress", null(), ids("psb")},
		{"publicIpAddress", str("203.0.113.5"), ids("psa")},
		{"publicIpAddress", null(), ids("psb")},
		{"region", str("East Coast (NY2)"), ids("psa")},
		{"region", str("Europe (AMS1)"), ids("psb")},
		{"userId", str("u1"), ids("psa")},
		{"userId", str("u2"), ids("psb")},
		{"userId", str("u3"), ids()},
		{"teamId", str("te1"), ids("psa", "psb")},
		{"teamId", str("te2"), ids()}, // the query is scoped to te1
		{"scriptId", str("sc1"), ids("psa")},
		{"scriptId", null(), ids("psb")},
		{"dtLastRun", when(at(5)), ids("psa")},
		{"dtLastRun", null(), ids("psb")},
		{"machineType", str("P4000"), ids("psa")},
		{"machineType", str("C2"), ids("psb")},
		{"dynamicPublicIp", flag(true), ids("psa")},
		{"dynamicPublicIp", flag(false), ids("psb")},
		{"isManaged", flag(true), ids("psa")},
		{"isManaged", flag(false), ids("psb")},
		{"restorePointSnapshotId", str("snap1"), ids("psa")},
		{"restorePointSnapshotId", null(), ids("psb")},
		{"restorePointFrequency", str("shutdown"), ids("psa")},
		{"restorePointFrequency", null(), ids("psb")},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.field] = true
		t.Run(tc.name(), func(t *testing.T) {
			got := listIDs(t, b, core.MachineQuery{TeamID: "te1", Where: []core.Filter{filter(tc.field, tc.value)}})
			equal(t, "ListMachines", got, tc.want)
		})
	}
	for f := range core.MachineFields {
		if !covered[f] {
			t.Errorf("no filter case for machine field %q", f)
		}
	}

	t.Run("combined", func(t *testing.T) {
		q := core.MachineQuery{TeamID: "te1", Where: []core.Filter{filter("state", str("ready")), filter("cpus", num(8))}}
		equal(t, "ready and 8 cpus", listIDs(t, b, q), ids("psa"))
		q.Where = append(q.Where, filter("os", null()))
		equal(t, "ready, 8 cpus and no os", listIDs(t, b, q), ids())
	})
	t.Run("no filter", func(t *testing.T) {
		equal(t, "te1", listIDs(t, b, core.MachineQuery{TeamID: "te1"}), ids("psa", "psb"))
		equal(t, "te2", listIDs(t, b, core.MachineQuery{TeamID: "te2"}), ids("psc"))
		got := get(t, b, func(tx store.Tx) ([]core.Machine, error) {
			return tx.ListMachines(core.MachineQuery{TeamID: "te2"})
		})
		c.InternalID = got[0].InternalID
		equal(t, "ListMachines returns whole machines", got, []core.Machine{c})
	})
	t.Run("unknown field", func(t *testing.T) {
		getCode(t, b, core.Invalid, func(tx store.Tx) ([]core.Machine, error) {
			return tx.ListMachines(core.MachineQuery{TeamID: "te1", Where: []core.Filter{filter("bogus; DROP TABLE", str("x"))}})
		})
		getCode(t, b, core.Invalid, func(tx store.Tx) ([]core.Machine, error) {
			return tx.ListMachines(core.MachineQuery{TeamID: "te1", Order: []core.Order{{Field: "bogus"}}})
		})
	})
	t.Run("values are bound", func(t *testing.T) {
		q := core.MachineQuery{TeamID: "te1", Where: []core.Filter{filter("name", str("x' OR '1'='1"))}}
		equal(t, "injection attempt", listIDs(t, b, q), ids())
	})
}

func testMachineVisibleTo(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	createMachines(t, b,
		bareMachine("ps1", "te1", "u1", at(1)), // u1's own
		bareMachine("ps2", "te1", "u2", at(2)), // u2's, shared with u1
		bareMachine("ps3", "te1", "u2", at(3)), // u2's, private
		bareMachine("ps4", "te1", "u1", at(4)), // u1's, destroyed
		bareMachine("ps5", "te1", "u2", at(5)), // u2's, shared with u1 then revoked
	)
	b.write(t, func(tx store.Tx) error {
		for _, m := range []string{"ps2", "ps5"} {
			if err := tx.SetAccess(m, "u1", true); err != nil {
				return err
			}
		}
		if err := tx.SetAccess("ps5", "u1", false); err != nil {
			return err
		}
		return tx.DeleteMachine("ps4", at(6))
	})
	equal(t, "VisibleTo u1", listIDs(t, b, core.MachineQuery{TeamID: "te1", VisibleTo: "u1"}), ids("ps1", "ps2"))
	equal(t, "VisibleTo u2", listIDs(t, b, core.MachineQuery{TeamID: "te1", VisibleTo: "u2"}), ids("ps2", "ps3", "ps5"))
	equal(t, "VisibleTo u3", listIDs(t, b, core.MachineQuery{TeamID: "te1", VisibleTo: "u3"}), ids())
	equal(t, "VisibleTo u1 with a filter", listIDs(t, b, core.MachineQuery{TeamID: "te1", VisibleTo: "u1",
		Where: []core.Filter{filter("userId", str("u2"))}}), ids("ps2"))
}

func testMachineNameContains(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	mk := func(id, team, name string, created time.Time) core.Machine {
		m := bareMachine(id, team, "u1", created)
		m.Name = name
		return m
	}
	createMachines(t, b,
		mk("ps1", "te1", "GPU Box", at(1)),
		mk("ps2", "te1", "my-gpu-box", at(2)),
		mk("ps3", "te1", "100% cpu_bound", at(3)),
		mk("ps4", "te1", `back\slash`, at(4)),
		mk("ps5", "te1", "ÉCOLE gpu", at(5)),
		mk("ps6", "te2", "gpu elsewhere", at(6)),
		mk("ps7", "te1", "gpu destroyed", at(7)),
	)
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps7", at(8)) })
	name := func(s string) core.MachineQuery { return core.MachineQuery{TeamID: "te1", NameContains: s} }
	equal(t, "ASCII case folded, team and destroyed excluded", listIDs(t, b, name("gPu")), ids("ps1", "ps2", "ps5"))
	equal(t, "% is literal", listIDs(t, b, name("0%")), ids("ps3"))
	equal(t, "_ is literal", listIDs(t, b, name("u_b")), ids("ps3"))
	equal(t, "_ matches no other character", listIDs(t, b, name("gpu_box")), ids())
	equal(t, "backslash is literal", listIDs(t, b, name(`k\s`)), ids("ps4"))
	equal(t, "non-ASCII letters match exactly", listIDs(t, b, name("ÉCO")), ids("ps5"))
	equal(t, "non-ASCII letters are not folded", listIDs(t, b, name("éco")), ids())
	equal(t, "no match", listIDs(t, b, name("nothing")), ids())
	q := name("box")
	q.Order, q.Limit, q.Skip = []core.Order{{Field: "dtCreated", Desc: true}}, 1, 1
	equal(t, "with order and paging", listIDs(t, b, q), ids("ps1"))
	q = name("gpu")
	q.Where = []core.Filter{filter("id", str("ps2"))}
	equal(t, "with a filter", listIDs(t, b, q), ids("ps2"))
}

func testMachineOrder(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	mk := func(id, name string, cpus int, created time.Time) core.Machine {
		m := bareMachine(id, "te1", "u1", created)
		m.Name, m.CPUs = name, cpus
		return m
	}
	// Created out of id order; psb and psa share a creation time.
	createMachines(t, b,
		mk("psc", "charlie", 4, at(1)),
		mk("psb", "bravo", 2, at(2)),
		mk("psa", "alpha", 2, at(2)),
		mk("psd", "delta", 8, at(0)),
		mk("pse", "echo", 4, at(3)),
	)
	order := func(f string, desc bool) core.Order { return core.Order{Field: f, Desc: desc} }
	cases := []struct {
		name        string
		order       []core.Order
		limit, skip int
		want        []string
	}{
		{"default: dtCreated then id", nil, 0, 0, ids("psd", "psc", "psa", "psb", "pse")},
		{"name", []core.Order{order("name", false)}, 0, 0, ids("psa", "psb", "psc", "psd", "pse")},
		{"name desc", []core.Order{order("name", true)}, 0, 0, ids("pse", "psd", "psc", "psb", "psa")},
		{"dtCreated desc", []core.Order{order("dtCreated", true)}, 0, 0, ids("pse", "psa", "psb", "psc", "psd")},
		{"cpus desc, name", []core.Order{order("cpus", true), order("name", false)}, 0, 0,
			ids("psd", "psc", "pse", "psa", "psb")},
		{"cpus, name desc", []core.Order{order("cpus", false), order("name", true)}, 0, 0,
			ids("psb", "psa", "pse", "psc", "psd")},
		{"limit", nil, 2, 0, ids("psd", "psc")},
		{"skip", nil, 0, 3, ids("psb", "pse")},
		{"limit and skip", nil, 2, 1, ids("psc", "psa")},
		{"skip past the end", nil, 2, 5, ids()},
		{"limit and skip with order", []core.Order{order("name", true)}, 3, 1, ids("psd", "psc", "psb")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := core.MachineQuery{TeamID: "te1", Order: tc.order, Limit: tc.limit, Skip: tc.skip}
			equal(t, "ListMachines", listIDs(t, b, q), tc.want)
		})
	}
	// Paging through with Limit and Skip visits every machine once.
	var paged []string
	for skip := 0; ; skip += 2 {
		page := listIDs(t, b, core.MachineQuery{TeamID: "te1", Limit: 2, Skip: skip})
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
	}
	if !slices.Equal(paged, cases[0].want) {
		t.Errorf("paging: %v, want %v", paged, cases[0].want)
	}
}

func testAccess(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	createMachines(t, b, bareMachine("ps1", "te1", "u1", at(0)))
	has := func() bool {
		return get(t, b, func(tx store.Tx) (bool, error) { return tx.HasAccess("ps1", "u2") })
	}
	equal(t, "HasAccess before", has(), false)
	equal(t, "owner is not a grant", get(t, b, func(tx store.Tx) (bool, error) { return tx.HasAccess("ps1", "u1") }), false)
	for range 2 { // idempotent
		b.write(t, func(tx store.Tx) error { return tx.SetAccess("ps1", "u2", true) })
		equal(t, "HasAccess after grant", has(), true)
	}
	for range 2 {
		b.write(t, func(tx store.Tx) error { return tx.SetAccess("ps1", "u2", false) })
		equal(t, "HasAccess after revoke", has(), false)
	}
}

package storetest

import (
	"slices"
	"testing"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testHosts(t *testing.T, b *bundle) {
	h1 := core.Host{ID: "h1", Name: "beta", Region: "East Coast (NY2)", Capacity: map[string]int{"C2": 10, "P4000": 2},
		Available: true, Created: at(1)}
	h2 := core.Host{ID: "h2", Name: "alpha", Region: "East Coast (NY2)", Capacity: map[string]int{"C2": 4},
		Available: false, Created: at(2)}
	h3 := core.Host{ID: "h3", Name: "gamma", Region: "Europe (AMS1)", Capacity: map[string]int{}, Available: true,
		Created: at(3)}
	hosts := []core.Host{h1, h2, h3}
	b.write(t, func(tx store.Tx) error {
		for i := range hosts {
			if err := tx.CreateHost(&hosts[i]); err != nil {
				return err
			}
		}
		return nil
	})
	load := func(h core.Host, used map[string]int) core.HostLoad { return core.HostLoad{Host: h, Used: used} }
	for _, h := range hosts {
		equal(t, "GetHost", get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost(h.ID) }),
			load(h, map[string]int{}))
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("nope") })

	dupID := core.Host{ID: "h1", Name: "other", Region: "x", Capacity: map[string]int{}, Created: at(0)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateHost(&dupID) })
	dupName := core.Host{ID: "h9", Name: "beta", Region: "x", Capacity: map[string]int{}, Created: at(0)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateHost(&dupName) })

	// UpdateHost writes Name, Region, Capacity and Available, not Created.
	upd := core.Host{ID: "h3", Name: "delta", Region: "East Coast (NY2)", Capacity: map[string]int{"C2": 1},
		Available: false, Created: at(9)}
	b.write(t, func(tx store.Tx) error { return tx.UpdateHost(&upd) })
	h3 = upd
	h3.Created = at(3)
	equal(t, "GetHost after UpdateHost", get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("h3") }),
		load(h3, map[string]int{}))
	clash := upd
	clash.Name = "alpha"
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.UpdateHost(&clash) })
	missing := core.Host{ID: "nope", Name: "nope", Capacity: map[string]int{}}
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.UpdateHost(&missing) })

	equal(t, "ListHosts(all) by name", get(t, b, func(tx store.Tx) ([]core.HostLoad, error) { return tx.ListHosts("") }),
		[]core.HostLoad{load(h2, map[string]int{}), load(h1, map[string]int{}), load(h3, map[string]int{})})
	equal(t, "ListHosts(AMS1)",
		len(get(t, b, func(tx store.Tx) ([]core.HostLoad, error) { return tx.ListHosts("Europe (AMS1)") })), 0)

	// DeleteHost refuses while capacity is in use.
	b.write(t, func(tx store.Tx) error { return tx.AddHostUsage("h2", "C2", 1) })
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.DeleteHost("h2") })
	b.write(t, func(tx store.Tx) error { return tx.AddHostUsage("h2", "C2", -1) })
	b.write(t, func(tx store.Tx) error { return tx.DeleteHost("h2") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("h2") })
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteHost("h2") })
	// Its usage went with it: a new host with the same id starts empty.
	again := core.Host{ID: "h2", Name: "alpha2", Region: "East Coast (NY2)", Capacity: map[string]int{"C2": 4}, Created: at(4)}
	b.write(t, func(tx store.Tx) error { return tx.CreateHost(&again) })
	equal(t, "GetHost of a re-created host",
		get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("h2") }).Used, map[string]int{})
}

func testHostUsage(t *testing.T, b *bundle) {
	h1 := core.Host{ID: "h1", Name: "one", Region: "East Coast (NY2)", Capacity: map[string]int{"C2": 10, "P4000": 2},
		Available: true, Created: at(1)}
	h2 := core.Host{ID: "h2", Name: "two", Region: "West Coast (CA1)", Capacity: map[string]int{"C2": 5},
		Available: true, Created: at(1)}
	b.write(t, func(tx store.Tx) error {
		if err := tx.CreateHost(&h1); err != nil {
			return err
		}
		return tx.CreateHost(&h2)
	})
	b.write(t, func(tx store.Tx) error {
		for _, u := range []struct {
			host, mt string
			delta    int
		}{{"h1", "C2", 3}, {"h1", "C2", 2}, {"h1", "P4000", 1}, {"h2", "C2", 4}, {"h1", "C2", -1}} {
			if err := tx.AddHostUsage(u.host, u.mt, u.delta); err != nil {
				return err
			}
		}
		return nil
	})
	wantH1 := map[string]int{"C2": 4, "P4000": 1}
	equal(t, "GetHost(h1).Used", get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("h1") }).Used, wantH1)
	all := get(t, b, func(tx store.Tx) ([]core.HostLoad, error) { return tx.ListHosts("") })
	equal(t, "ListHosts(all)", all, []core.HostLoad{{Host: h1, Used: wantH1}, {Host: h2, Used: map[string]int{"C2": 4}}})
	ca1 := get(t, b, func(tx store.Tx) ([]core.HostLoad, error) { return tx.ListHosts("West Coast (CA1)") })
	equal(t, "ListHosts(CA1)", ca1, []core.HostLoad{{Host: h2, Used: map[string]int{"C2": 4}}})
	if free := ca1[0].Free("C2"); free != 1 {
		t.Errorf("Free(C2) = %d, want 1", free)
	}
	// What a placement reads: the preferred host and the up host with the most free slots of
	// one type, in the region only.
	placement := func(region, mt, preferred string) []core.HostLoad {
		return get(t, b, func(tx store.Tx) ([]core.HostLoad, error) { return tx.PlacementHosts(region, mt, preferred) })
	}
	slot := func(h core.Host, mt string, capacity, used int) core.HostLoad {
		return core.HostLoad{Host: core.Host{ID: h.ID, Name: h.Name, Region: h.Region, Available: h.Available,
			Capacity: map[string]int{mt: capacity}}, Used: map[string]int{mt: used}}
	}
	const ny2 = "East Coast (NY2)"
	equal(t, "PlacementHosts(NY2, C2)", placement(ny2, "C2", ""), []core.HostLoad{slot(h1, "C2", 10, 4)})
	equal(t, "PlacementHosts(NY2, P4000)", placement(ny2, "P4000", ""), []core.HostLoad{slot(h1, "P4000", 2, 1)})
	equal(t, "PlacementHosts(NY2, C5): no host has a slot", len(placement(ny2, "C5", "")), 0)
	equal(t, "PlacementHosts(NY2, C5, h1): the preferred host without a slot", placement(ny2, "C5", "h1"),
		[]core.HostLoad{slot(h1, "C5", 0, 0)})
	equal(t, "PlacementHosts(NY2, C2, h1): the preferred host is the best, once", placement(ny2, "C2", "h1"),
		[]core.HostLoad{slot(h1, "C2", 10, 4)})
	equal(t, "PlacementHosts(NY2, C2, h2): a preferred host of another region", placement(ny2, "C2", "h2"),
		[]core.HostLoad{slot(h1, "C2", 10, 4)})
	equal(t, "PlacementHosts(AMS1, C2)", len(placement("Europe (AMS1)", "C2", "")), 0)
	more := []core.Host{
		{ID: "h3", Name: "c-drained", Region: ny2, Capacity: map[string]int{"C2": 70}, Created: at(2)},
		{ID: "h4", Name: "b-more", Region: ny2, Capacity: map[string]int{"C2": 12}, Available: true, Created: at(2)},
		{ID: "h5", Name: "a-tie", Region: ny2, Capacity: map[string]int{"C2": 12}, Available: true, Created: at(2)},
	}
	b.write(t, func(tx store.Tx) error {
		for i := range more {
			if err := tx.CreateHost(&more[i]); err != nil {
				return err
			}
		}
		return nil
	})
	equal(t, "PlacementHosts(NY2, C2): most free slots, ties by name, drained hosts not", placement(ny2, "C2", ""),
		[]core.HostLoad{slot(more[2], "C2", 12, 0)})
	equal(t, "PlacementHosts(NY2, C2, h3): a drained preferred host, then the best", placement(ny2, "C2", "h3"),
		[]core.HostLoad{slot(more[0], "C2", 70, 0), slot(more[2], "C2", 12, 0)})
	b.write(t, func(tx store.Tx) error { return tx.AddHostUsage("h5", "C2", 7) })
	equal(t, "PlacementHosts(NY2, C2) after h5 filled up", placement(ny2, "C2", "h1"),
		[]core.HostLoad{slot(h1, "C2", 10, 4), slot(more[1], "C2", 12, 0)})
	b.write(t, func(tx store.Tx) error {
		if err := tx.AddHostUsage("h5", "C2", -7); err != nil {
			return err
		}
		for _, h := range more {
			if err := tx.DeleteHost(h.ID); err != nil {
				return err
			}
		}
		return nil
	})
	// Usage back to zero reads as no usage.
	b.write(t, func(tx store.Tx) error { return tx.AddHostUsage("h1", "P4000", -1) })
	equal(t, "Used after release", get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("h1") }).Used,
		map[string]int{"C2": 4})
}

func testPrivateIPs(t *testing.T, b *bundle) {
	b.write(t, func(tx store.Tx) error {
		for _, ip := range []struct{ scope, addr, machine string }{
			{"n1", "10.0.0.3", "ps1"}, {"n1", "10.0.0.2", "ps1"}, {"n2", "10.0.0.2", "ps2"}, {"n1", "10.0.0.4", "ps2"},
		} {
			if err := tx.InsertPrivateIP(ip.scope, ip.addr, ip.machine); err != nil {
				return err
			}
		}
		return nil
	})
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.InsertPrivateIP("n1", "10.0.0.2", "ps3") })
	sorted := func(scope string) []string {
		ips := get(t, b, func(tx store.Tx) ([]string, error) { return tx.ListPrivateIPs(scope) })
		slices.Sort(ips)
		return ips
	}
	equal(t, "ListPrivateIPs(n1)", sorted("n1"), []string{"10.0.0.2", "10.0.0.3", "10.0.0.4"})
	equal(t, "ListPrivateIPs(n2)", sorted("n2"), []string{"10.0.0.2"})
	equal(t, "ListPrivateIPs(n3)", len(sorted("n3")), 0)
	b.write(t, func(tx store.Tx) error { return tx.DeletePrivateIPs("ps1") })
	equal(t, "ListPrivateIPs(n1) after delete", sorted("n1"), []string{"10.0.0.4"})
	b.write(t, func(tx store.Tx) error { return tx.InsertPrivateIP("n1", "10.0.0.2", "ps3") })
	b.write(t, func(tx store.Tx) error { return tx.DeletePrivateIPs("nope") })
}

func testPublicIPs(t *testing.T, b *bundle) {
	ips := []core.PublicIP{
		{Address: "203.0.113.7", TeamID: ptr("te1"), MachineID: ptr("ps1")},
		{Address: "203.0.113.5", Dynamic: true, MachineID: ptr("ps2")},
		{Address: "203.0.113.6", TeamID: ptr("te1")},
		{Address: "203.0.113.8", TeamID: ptr("te2")},
	}
	b.write(t, func(tx store.Tx) error {
		for i := range ips {
			if err := tx.InsertPublicIP(&ips[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range ips {
		equal(t, "GetPublicIP", get(t, b, func(tx store.Tx) (core.PublicIP, error) { return tx.GetPublicIP(want.Address) }), want)
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.PublicIP, error) { return tx.GetPublicIP("192.0.2.1") })
	dup := core.PublicIP{Address: "203.0.113.5"}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.InsertPublicIP(&dup) })
	equal(t, "ListPublicIPs(te1)", get(t, b, func(tx store.Tx) ([]core.PublicIP, error) { return tx.ListPublicIPs("te1") }),
		[]core.PublicIP{ips[2], ips[0]})
	equal(t, "ListPublicIPs(all)", get(t, b, func(tx store.Tx) ([]core.PublicIP, error) { return tx.ListPublicIPs("") }),
		[]core.PublicIP{ips[1], ips[2], ips[0], ips[3]})

	upd := core.PublicIP{Address: "203.0.113.7", TeamID: nil, MachineID: nil, Dynamic: true}
	b.write(t, func(tx store.Tx) error { return tx.UpdatePublicIP(&upd) })
	equal(t, "GetPublicIP after update",
		get(t, b, func(tx store.Tx) (core.PublicIP, error) { return tx.GetPublicIP(upd.Address) }), upd)
	upd2 := core.PublicIP{Address: "203.0.113.5", TeamID: ptr("te2"), MachineID: ptr("ps9")}
	b.write(t, func(tx store.Tx) error { return tx.UpdatePublicIP(&upd2) })
	equal(t, "GetPublicIP after second update",
		get(t, b, func(tx store.Tx) (core.PublicIP, error) { return tx.GetPublicIP(upd2.Address) }), upd2)
	missing := core.PublicIP{Address: "192.0.2.1"}
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.UpdatePublicIP(&missing) })

	b.write(t, func(tx store.Tx) error { return tx.DeletePublicIP("203.0.113.6") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.PublicIP, error) { return tx.GetPublicIP("203.0.113.6") })
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeletePublicIP("203.0.113.6") })
	equal(t, "ListPublicIPs(te2) after changes",
		get(t, b, func(tx store.Tx) ([]core.PublicIP, error) { return tx.ListPublicIPs("te2") }),
		[]core.PublicIP{upd2, ips[3]})
}

func testEvents(t *testing.T, b *bundle) {
	evs := []core.Event{
		{Handle: "e1", MachineID: "ps1", Name: core.EventCreate, State: core.EventDone, Created: at(1), Modified: at(2),
			Finished: ptr(at(2))},
		{Handle: "e2", MachineID: "ps1", Name: core.EventStart, State: core.EventInProgress, Created: at(3), Modified: at(3)},
		{Handle: "e3", MachineID: "ps2", Name: core.EventStop, State: core.EventError, ErrorMsg: "host lost",
			Created: at(2), Modified: at(4), Finished: ptr(at(4))},
		{Handle: "e4", MachineID: "ps1", Name: core.EventStop, State: core.EventCancelled, Created: at(5), Modified: at(5)},
	}
	b.write(t, func(tx store.Tx) error {
		for i := range evs {
			if err := tx.CreateEvent(&evs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range evs {
		equal(t, "GetEvent", get(t, b, func(tx store.Tx) (core.Event, error) { return tx.GetEvent(want.Handle) }), want)
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Event, error) { return tx.GetEvent("nope") })
	dup := evs[0]
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateEvent(&dup) })

	list := func(machine string, limit int) []core.Event {
		return get(t, b, func(tx store.Tx) ([]core.Event, error) { return tx.ListEvents(machine, limit) })
	}
	equal(t, "ListEvents(ps1)", list("ps1", 0), []core.Event{evs[3], evs[1], evs[0]})
	equal(t, "ListEvents(ps1, 2)", list("ps1", 2), []core.Event{evs[3], evs[1]})
	equal(t, "ListEvents(ps2)", list("ps2", 0), []core.Event{evs[2]})
	equal(t, "ListEvents(ps9)", len(list("ps9", 0)), 0)

	// UpdateEvent writes State, ErrorMsg, Modified and Finished only.
	upd := evs[1]
	upd.State, upd.ErrorMsg, upd.Modified, upd.Finished = core.EventError, "boot failed", at(6), ptr(at(6))
	upd.Name, upd.MachineID, upd.Created = "ignored", "ignored", at(99)
	b.write(t, func(tx store.Tx) error { return tx.UpdateEvent(&upd) })
	want := evs[1]
	want.State, want.ErrorMsg, want.Modified, want.Finished = core.EventError, "boot failed", at(6), ptr(at(6))
	equal(t, "GetEvent after update", get(t, b, func(tx store.Tx) (core.Event, error) { return tx.GetEvent("e2") }), want)
	clear := want
	clear.Finished, clear.State, clear.ErrorMsg = nil, core.EventInProgress, ""
	b.write(t, func(tx store.Tx) error { return tx.UpdateEvent(&clear) })
	equal(t, "GetEvent after clearing", get(t, b, func(tx store.Tx) (core.Event, error) { return tx.GetEvent("e2") }), clear)
	missing := core.Event{Handle: "nope"}
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.UpdateEvent(&missing) })
}

func testIdempotency(t *testing.T, b *bundle) {
	r := core.Idempotency{UserID: "u1", Key: "k-1", RequestHash: "rh", MachineID: "ps1",
		Response: []byte(`{"id":"ps1"}`), Created: at(1)}
	b.write(t, func(tx store.Tx) error { return tx.CreateIdempotency(&r) })
	equal(t, "GetIdempotency", get(t, b, func(tx store.Tx) (core.Idempotency, error) { return tx.GetIdempotency("u1", "k-1") }), r)
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Idempotency, error) { return tx.GetIdempotency("u2", "k-1") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Idempotency, error) { return tx.GetIdempotency("u1", "k-2") })
	dup := core.Idempotency{UserID: "u1", Key: "k-1", RequestHash: "other", Response: []byte("x"), Created: at(2)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateIdempotency(&dup) })
	other := core.Idempotency{UserID: "u2", Key: "k-1", RequestHash: "rh2", MachineID: "ps2",
		Response: []byte{0, 1, 2, 255}, Created: at(3)}
	b.write(t, func(tx store.Tx) error { return tx.CreateIdempotency(&other) })
	equal(t, "GetIdempotency (binary response)",
		get(t, b, func(tx store.Tx) (core.Idempotency, error) { return tx.GetIdempotency("u2", "k-1") }), other)
}

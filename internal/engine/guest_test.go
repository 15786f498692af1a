package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/sim"
	"hangar/internal/service"
)

// guestDriver is the sim driver as a driver of real guests sees its work: it records every
// request and, like the qemu driver, reports a script run only when the request carried a
// script and the guest "ran" it.
type guestDriver struct {
	*sim.Driver
	mu   sync.Mutex
	reqs []hypervisor.Request
}

func (g *guestDriver) Advance(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	g.mu.Lock()
	g.reqs = append(g.reqs, req)
	g.mu.Unlock()
	res, err := g.Driver.Advance(ctx, req)
	if res.Done && req.Machine.State == core.StateServiceReady && req.Script != nil {
		ran := req.Now.Add(-time.Second)
		res.Facts.ScriptRan = &ran
	}
	return res, err
}

// silentDriver is the sim driver with guests that never report running their script.
type silentDriver struct{ *sim.Driver }

func (d silentDriver) Advance(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	res, err := d.Driver.Advance(ctx, req)
	res.Facts.ScriptRan = nil
	return res, err
}

// requests returns the recorded requests for state s.
func (g *guestDriver) requests(s core.State) []hypervisor.Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []hypervisor.Request
	for _, r := range g.reqs {
		if r.Machine.State == s {
			out = append(out, r)
		}
	}
	return out
}

// TestGuestScriptsAndNetwork: the engine hands drivers the machine's network and its startup
// script only on boots where it must run (a runOnce script on the first boot only), and takes
// dtLastRun from the driver's report alone.
func TestGuestScriptsAndNetwork(t *testing.T) {
	b := setup(t)
	g := &guestDriver{Driver: b.drv}
	b.eng = mustNew(t, Config{Store: b.st, Drivers: hypervisor.Single{Driver: g}, Env: b.eng.env})
	t.Cleanup(b.eng.Wait)
	ctx := context.Background()
	n, err := b.svc.CreateNetwork(ctx, b.admin, service.NewNetwork{Team: b.admin.Team.ID, Name: "lan", Region: "East Coast (NY2)", CIDR: "10.77.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	once := true
	sc, err := b.svc.CreateScript(ctx, b.admin, service.NewScript{Name: "s", Text: "#!/bin/sh\necho hi\n", RunOnce: &once})
	if err != nil {
		t.Fatal(err)
	}
	m := b.ready(t, func(c *service.CreateMachine) { c.ScriptID, c.NetworkID = &sc.ID, &n.ID })
	first := b.machine(t, m.ID).Machine.LastRun
	if first == nil || !first.Equal(b.clock.Now().Add(-time.Second)) {
		t.Fatalf("dtLastRun = %v, want the guest's report %v", first, b.clock.Now().Add(-time.Second))
	}
	for _, r := range g.requests(core.StateStarting) {
		if r.Script == nil || r.Script.Text != sc.Text || r.Network == nil || r.Network.CIDR != "10.77.0.0/24" ||
			r.UserEmail != b.admin.User.Email {
			t.Fatalf("first boot request: script %v network %v user %q", r.Script, r.Network, r.UserEmail)
		}
	}
	b.power(t, m.ID, core.ActionRestart)
	b.advance(t, b.tim.Restarting)
	b.advance(t, b.tim.ServiceReady)
	b.wantState(t, m.ID, core.StateReady)
	for _, r := range g.requests(core.StateRestarting) {
		if r.Script != nil || r.Network == nil {
			t.Fatalf("reboot request of a runOnce machine: script %v network %v", r.Script, r.Network)
		}
	}
	if got := b.machine(t, m.ID).Machine.LastRun; got == nil || !got.Equal(*first) {
		t.Fatalf("dtLastRun after the reboot = %v, want unchanged %v", got, first)
	}

	// A machine whose guest never reports its script keeps dtLastRun unset.
	plain, err := b.svc.CreateScript(ctx, b.admin, service.NewScript{Name: "p", Text: "#!/bin/sh\n"})
	if err != nil {
		t.Fatal(err)
	}
	b.eng = mustNew(t, Config{Store: b.st, Drivers: hypervisor.Single{Driver: silentDriver{b.drv}}, Env: b.eng.env})
	t.Cleanup(b.eng.Wait)
	m2 := b.ready(t, func(c *service.CreateMachine) { c.ScriptID = &plain.ID })
	if got := b.machine(t, m2.ID).Machine.LastRun; got != nil {
		t.Fatalf("dtLastRun = %v without a report from the guest", got)
	}
}

// lossyDriver is the sim driver with VMs that can vanish, as real ones do.
type lossyDriver struct {
	*sim.Driver
	mu   sync.Mutex
	lost map[string]bool
}

func (l *lossyDriver) Lost(_ context.Context, m core.Machine) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost[m.ID]
}

// TestReconcileRecordsLostVMsOff: a ready machine whose VM is gone becomes off with a stop
// event in error and frees its slot and dynamic IP; others are left alone.
func TestReconcileRecordsLostVMsOff(t *testing.T) {
	b := setup(t)
	l := &lossyDriver{Driver: b.drv, lost: map[string]bool{}}
	b.eng = mustNew(t, Config{Store: b.st, Drivers: hypervisor.Single{Driver: l}, Env: b.eng.env})
	t.Cleanup(b.eng.Wait)
	gone := b.ready(t, func(c *service.CreateMachine) { c.DynamicPublicIP = true })
	kept := b.ready(t, nil)
	l.lost[gone.ID] = true
	n, err := b.eng.Reconcile(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Reconcile = %d, %v; want 1", n, err)
	}
	d := b.wantState(t, gone.ID, core.StateOff)
	if got := events(d); len(got) == 0 || got[0] != "stop:error" || d.Events[0].ErrorMsg != lostMessage {
		t.Errorf("events = %v (%q), want a stop in error first", got, d.Events[0].ErrorMsg)
	}
	if d.Machine.PublicIP != nil || b.used(t, "P4000") != 1 {
		t.Errorf("public IP %v, used %d: want the IP and the slot released", d.Machine.PublicIP, b.used(t, "P4000"))
	}
	b.wantState(t, kept.ID, core.StateReady)
	if n, err := b.eng.Reconcile(context.Background()); err != nil || n != 0 {
		t.Fatalf("second Reconcile = %d, %v; want 0", n, err)
	}
	// The machine starts again normally.
	l.lost[gone.ID] = false
	b.power(t, gone.ID, core.ActionStart)
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	b.wantState(t, gone.ID, core.StateReady)
}

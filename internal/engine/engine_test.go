package engine

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/sim"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

type bundle struct {
	clock *clocktest.Clock
	st    store.Store
	svc   *service.Service
	eng   *Engine
	drv   *sim.Driver
	admin core.Principal
	tim   sim.Timings
}

// mustNew returns an engine for cfg.
func mustNew(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	clock := clocktest.New(time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC))
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{Synchronous: "NORMAL", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	// Every write goes through Generations, as in hangar serve on SQLite, so that these
	// tests also check that the service's machine cache never serves a stale machine.
	gens := store.NewGenerations(raw)
	db := gens
	cat := core.DefaultCatalog()
	tim := sim.DefaultTimings()
	drv := sim.New(tim, cat)
	env := &lifecycle.Env{Clock: clock, PublicPool: netip.MustParsePrefix("198.18.0.0/24"),
		DefaultNet: netip.MustParsePrefix("10.128.0.0/16"), Expect: drv.Expect}
	eng := mustNew(t, Config{Store: db, Drivers: hypervisor.Single{Driver: drv}, Env: env})
	t.Cleanup(eng.Wait)
	b := &bundle{clock: clock, st: db, eng: eng, drv: drv, tim: tim}
	// The service tells whichever engine b holds, so that a test can rebuild it.
	svc := service.New(db, service.Config{Catalog: cat, Env: env, DefaultShutdownHours: 168, Generations: gens,
		Engine: current{b}})
	if _, err := svc.Bootstrap(ctx, true); err != nil {
		t.Fatal(err)
	}
	var admin core.Principal
	err = db.Read(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsersByEmail("operator@hangar.local")
		if err != nil || len(users) != 1 {
			return fmt.Errorf("operator: %v %v", users, err)
		}
		u := users[0]
		team, err := tx.GetTeam(u.TeamID)
		admin = core.Principal{User: u, Team: team}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b.svc, b.admin = svc, admin
	return b
}

// current forwards the service's calls to the engine its bundle holds now.
type current struct{ b *bundle }

func (c current) Wake()                    { c.b.eng.Wake() }
func (c current) Destroyed(m core.Machine) { c.b.eng.Destroyed(m) }

func (b *bundle) create(t *testing.T, mod func(*service.CreateMachine)) core.Machine {
	t.Helper()
	c := service.CreateMachine{Region: "East Coast (NY2)", MachineType: "P4000", BillingType: "hourly",
		Name: "m", TemplateID: "t04azgph", Size: 50, StartOnCreate: true}
	if mod != nil {
		mod(&c)
	}
	m, err := b.svc.CreateMachine(context.Background(), b.admin, c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// advance moves the clock and lets the engine do everything now due.
func (b *bundle) advance(t *testing.T, d time.Duration) {
	t.Helper()
	b.clock.Advance(d)
	if _, err := b.eng.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) machine(t *testing.T, id string) service.MachineDetail {
	t.Helper()
	d, err := b.svc.GetMachine(context.Background(), b.admin, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (b *bundle) wantState(t *testing.T, id string, want core.State) service.MachineDetail {
	t.Helper()
	d := b.machine(t, id)
	if d.Machine.State != want {
		t.Fatalf("state = %s, want %s", d.Machine.State, want)
	}
	return d
}

// events renders a machine's events, newest first, as "name:state".
func events(d service.MachineDetail) []string {
	out := make([]string, len(d.Events))
	for i, e := range d.Events {
		out[i] = e.Name + ":" + string(e.State)
		if e.State != core.EventInProgress && e.Finished == nil {
			out[i] += "(no dtFinished)"
		}
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (b *bundle) used(t *testing.T, machineType string) int {
	t.Helper()
	hosts, err := b.svc.ListHosts(context.Background(), b.admin, "East Coast (NY2)")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, h := range hosts {
		n += h.Used[machineType]
	}
	return n
}

func TestCreateToReady(t *testing.T) {
	b := setup(t)
	m := b.create(t, nil)
	b.wantState(t, m.ID, core.StateProvisioning)
	b.advance(t, b.tim.Provisioning-time.Millisecond)
	b.wantState(t, m.ID, core.StateProvisioning)
	b.advance(t, time.Millisecond)
	d := b.wantState(t, m.ID, core.StateStarting)
	if d.Machine.OS == nil || *d.Machine.OS != "Ubuntu 18.04 Server" || d.Machine.CPUs != 8 || d.Machine.RAM == nil ||
		d.Machine.StorageTotal == nil || *d.Machine.StorageTotal != 50<<30 {
		t.Fatalf("facts not applied after provisioning: %+v", d.Machine)
	}
	if got := events(d); !equal(got, []string{"start:in progress", "create:done"}) &&
		!equal(got, []string{"create:done", "start:in progress"}) {
		t.Fatalf("events = %v", got)
	}
	b.advance(t, b.tim.Starting)
	b.wantState(t, m.ID, core.StateServiceReady)
	b.advance(t, b.tim.ServiceReady)
	d = b.wantState(t, m.ID, core.StateReady)
	for _, e := range d.Events {
		if e.State != core.EventDone || e.Finished == nil {
			t.Fatalf("event %s is %s (finished %v)", e.Name, e.State, e.Finished)
		}
	}
	// A ready machine leaves the engine idle until its auto-shutdown timer (168 h by default).
	shutdown := b.clock.Now().Add(168 * time.Hour)
	if d.Machine.NextAt == nil || !d.Machine.NextAt.Equal(shutdown) || d.Machine.ShutdownAt == nil || !d.Machine.ShutdownAt.Equal(shutdown) {
		t.Fatalf("ready machine: NextAt %v, ShutdownAt %v, want both %v", d.Machine.NextAt, d.Machine.ShutdownAt, shutdown)
	}
	if got := b.used(t, "P4000"); got != 1 {
		t.Fatalf("used = %d, want 1", got)
	}
}

func TestStartOnCreateFalseEndsOff(t *testing.T) {
	b := setup(t)
	m := b.create(t, func(c *service.CreateMachine) { c.StartOnCreate = false })
	b.advance(t, b.tim.Provisioning)
	d := b.wantState(t, m.ID, core.StateOff)
	if got := events(d); !equal(got, []string{"create:done"}) {
		t.Fatalf("events = %v", got)
	}
	if got := b.used(t, "P4000"); got != 0 {
		t.Fatalf("an off machine holds capacity: used = %d", got)
	}
}

func (b *bundle) ready(t *testing.T, mod func(*service.CreateMachine)) core.Machine {
	t.Helper()
	m := b.create(t, mod)
	b.advance(t, b.tim.Provisioning)
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	b.wantState(t, m.ID, core.StateReady)
	return m
}

func (b *bundle) power(t *testing.T, id string, a core.Action) {
	t.Helper()
	if err := b.svc.Power(context.Background(), b.admin, id, a); err != nil {
		t.Fatal(err)
	}
}

func TestStopStartRestart(t *testing.T) {
	b := setup(t)
	m := b.ready(t, func(c *service.CreateMachine) { c.DynamicPublicIP = true })
	if b.machine(t, m.ID).Machine.PublicIP == nil {
		t.Fatal("a running dynamic-IP machine has no public IP")
	}
	b.power(t, m.ID, core.ActionStop)
	b.wantState(t, m.ID, core.StateStopping)
	b.advance(t, b.tim.Stopping)
	d := b.wantState(t, m.ID, core.StateOff)
	if d.Machine.PublicIP != nil {
		t.Fatal("dynamic public IP not released at off")
	}
	if got := b.used(t, "P4000"); got != 0 {
		t.Fatalf("used = %d after stop", got)
	}
	b.power(t, m.ID, core.ActionStart)
	d = b.wantState(t, m.ID, core.StateStarting)
	if d.Machine.PublicIP == nil || b.used(t, "P4000") != 1 {
		t.Fatal("start did not take an IP and a slot")
	}
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	b.wantState(t, m.ID, core.StateReady)
	b.power(t, m.ID, core.ActionRestart)
	b.wantState(t, m.ID, core.StateRestarting)
	b.advance(t, b.tim.Restarting)
	b.wantState(t, m.ID, core.StateServiceReady)
	b.advance(t, b.tim.ServiceReady)
	d = b.wantState(t, m.ID, core.StateReady)
	want := []string{"restart:done", "start:done", "stop:done", "start:done", "create:done"}
	if got := events(d); !equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
}

func TestStopWhileStartingCancelsStart(t *testing.T) {
	b := setup(t)
	m := b.create(t, nil)
	b.advance(t, b.tim.Provisioning)
	b.wantState(t, m.ID, core.StateStarting)
	b.power(t, m.ID, core.ActionStop)
	b.advance(t, b.tim.Starting) // the old starting deadline must not move it to serviceready
	b.wantState(t, m.ID, core.StateStopping)
	b.advance(t, b.tim.Stopping)
	d := b.wantState(t, m.ID, core.StateOff)
	if got := events(d); !equal(got, []string{"stop:done", "start:cancelled", "create:done"}) {
		t.Fatalf("events = %v", got)
	}
}

func TestInjectedStartFailure(t *testing.T) {
	b := setup(t)
	m := b.ready(t, nil)
	b.power(t, m.ID, core.ActionStop)
	b.advance(t, b.tim.Stopping)
	b.drv.InjectFault(sim.Fault{Action: "start", Remaining: 1})
	b.power(t, m.ID, core.ActionStart)
	b.advance(t, b.tim.Starting)
	d := b.wantState(t, m.ID, core.StateOff)
	if d.Events[0].Name != "start" || d.Events[0].State != core.EventError || d.Events[0].ErrorMsg == "" {
		t.Fatalf("newest event = %+v, want a start error with a message", d.Events[0])
	}
	if got := b.used(t, "P4000"); got != 0 {
		t.Fatalf("a failed start holds capacity: used = %d", got)
	}
	// The fault was for one start only.
	b.power(t, m.ID, core.ActionStart)
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	b.wantState(t, m.ID, core.StateReady)
}

func TestInjectedCreateFailure(t *testing.T) {
	b := setup(t)
	b.drv.InjectFault(sim.Fault{Action: "create", Remaining: 1})
	m := b.create(t, nil)
	b.advance(t, b.tim.Provisioning)
	d := b.wantState(t, m.ID, core.StateOff)
	if got := events(d); !equal(got, []string{"start:error", "create:error"}) && !equal(got, []string{"create:error", "start:error"}) {
		t.Fatalf("events = %v", got)
	}
	if got := b.used(t, "P4000"); got != 0 {
		t.Fatalf("used = %d", got)
	}
}

func TestNoCapacityOnStartRecordsError(t *testing.T) {
	b := setup(t)
	m := b.ready(t, nil)
	b.power(t, m.ID, core.ActionStop)
	b.advance(t, b.tim.Stopping)
	hosts, _ := b.svc.ListHosts(context.Background(), b.admin, "East Coast (NY2)")
	for _, h := range hosts {
		if _, err := b.svc.UpdateHost(context.Background(), b.admin, h.ID, service.HostSpec{Capacity: map[string]int{"P4000": 0}}); err != nil {
			t.Fatal(err)
		}
	}
	b.power(t, m.ID, core.ActionStart)
	d := b.wantState(t, m.ID, core.StateOff)
	if d.Events[0].Name != "start" || d.Events[0].State != core.EventError {
		t.Fatalf("newest event = %+v", d.Events[0])
	}
}

func TestStartupScriptRuns(t *testing.T) {
	for _, runOnce := range []bool{false, true} {
		t.Run(map[bool]string{false: "every boot", true: "runOnce"}[runOnce], func(t *testing.T) {
			b := setup(t)
			sc, err := b.svc.CreateScript(context.Background(), b.admin, service.NewScript{Name: "s", Text: "echo hi", RunOnce: &runOnce})
			if err != nil {
				t.Fatal(err)
			}
			m := b.ready(t, func(c *service.CreateMachine) { c.ScriptID = &sc.ID })
			first := b.machine(t, m.ID).Machine.LastRun
			if first == nil {
				t.Fatal("dtLastRun not set on first boot")
			}
			b.power(t, m.ID, core.ActionRestart)
			b.advance(t, b.tim.Restarting)
			b.advance(t, b.tim.ServiceReady)
			second := b.machine(t, m.ID).Machine.LastRun
			if ran := !second.Equal(*first); ran == runOnce {
				t.Fatalf("second boot ran=%v with runOnce=%v", ran, runOnce)
			}
		})
	}
}

func TestDisabledScriptNeverRuns(t *testing.T) {
	b := setup(t)
	off := false
	sc, err := b.svc.CreateScript(context.Background(), b.admin, service.NewScript{Name: "s", Text: "echo", Enabled: &off})
	if err != nil {
		t.Fatal(err)
	}
	m := b.ready(t, func(c *service.CreateMachine) { c.ScriptID = &sc.ID })
	if b.machine(t, m.ID).Machine.LastRun != nil {
		t.Fatal("a disabled script ran")
	}
}

func TestDestroyFreesEverything(t *testing.T) {
	b := setup(t)
	m := b.ready(t, func(c *service.CreateMachine) { c.AssignPublicIP = true })
	if err := b.svc.DestroyMachine(context.Background(), b.admin, m.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.GetMachine(context.Background(), b.admin, m.ID); !core.IsNotFound(err) {
		t.Fatalf("show after destroy: %v", err)
	}
	if got := b.used(t, "P4000"); got != 0 {
		t.Fatalf("used = %d after destroy", got)
	}
	b.advance(t, time.Hour) // nothing left for the engine
	var ips []core.PublicIP
	_ = b.st.Read(context.Background(), func(tx store.Tx) (err error) { ips, err = tx.ListPublicIPs(""); return })
	if len(ips) != 0 {
		t.Fatalf("released public IP still recorded: %+v", ips)
	}
}

func TestStaticIPKeptForTeamAfterDestroy(t *testing.T) {
	b := setup(t)
	m := b.create(t, func(c *service.CreateMachine) { c.AssignPublicIP = true })
	ip := *m.PublicIP
	if err := b.svc.DestroyMachine(context.Background(), b.admin, m.ID, false); err != nil {
		t.Fatal(err)
	}
	m2 := b.create(t, func(c *service.CreateMachine) { c.AssignPublicIP = true })
	if m2.PublicIP == nil || *m2.PublicIP != ip {
		t.Fatalf("the team's kept static IP %s was not reused: %v", ip, m2.PublicIP)
	}
}

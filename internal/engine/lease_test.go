package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/sim"
	"hangar/internal/service"
	"hangar/internal/store"
)

// call is one driver call as the driver saw it.
type call struct {
	method, machine string
	state           core.State // the machine's state (Advance)
	attempt         int        // Request.Attempt (Advance)
	deadline        time.Time
	hasDeadline     bool
	at              time.Time // the engine's wall clock when the call began
	doneAtEntry     bool      // the context had ended before the call began
}

// recordingDriver is the sim driver as a Snapshotter and a Watcher whose VMs never vanish; it
// records every call and runs before (if set) at the start of Advance.
type recordingDriver struct {
	*sim.Driver
	wall   func() time.Time // the engine's wall clock (time.Now if nil)
	before func(ctx context.Context, req hypervisor.Request)
	mu     sync.Mutex
	calls  []call
}

func (r *recordingDriver) record(ctx context.Context, method string, m core.Machine, attempt int) {
	now := time.Now()
	if r.wall != nil {
		now = r.wall()
	}
	d, ok := ctx.Deadline()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{method: method, machine: m.ID, state: m.State, attempt: attempt,
		deadline: d, hasDeadline: ok, at: now, doneAtEntry: ctx.Err() != nil})
}

func (r *recordingDriver) all() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recordingDriver) Advance(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	r.record(ctx, "Advance", req.Machine, req.Attempt)
	if r.before != nil {
		r.before(ctx, req)
	}
	return r.Driver.Advance(ctx, req)
}

func (r *recordingDriver) Destroy(ctx context.Context, m core.Machine) error {
	r.record(ctx, "Destroy", m, 0)
	return r.Driver.Destroy(ctx, m)
}

func (r *recordingDriver) Snapshot(ctx context.Context, m core.Machine, id string) error {
	r.record(ctx, "Snapshot", m, 0)
	return r.Driver.Snapshot(ctx, m, id)
}

func (r *recordingDriver) Revert(ctx context.Context, m core.Machine, id string) error {
	r.record(ctx, "Revert", m, 0)
	return r.Driver.Revert(ctx, m, id)
}

func (r *recordingDriver) DeleteSnapshot(ctx context.Context, m core.Machine, id string) error {
	r.record(ctx, "DeleteSnapshot", m, 0)
	return r.Driver.DeleteSnapshot(ctx, m, id)
}

func (r *recordingDriver) Lost(ctx context.Context, m core.Machine) bool {
	r.record(ctx, "Lost", m, 0)
	return false
}

// lookup is a hypervisor.Drivers made of a function.
type lookup func(hostID string) (hypervisor.Driver, error)

func (l lookup) DriverFor(_ context.Context, hostID string) (hypervisor.Driver, error) {
	return l(hostID)
}

// byHost runs the hosts of a map; other hosts have no driver.
func byHost(drivers map[string]hypervisor.Driver) lookup {
	return func(hostID string) (hypervisor.Driver, error) {
		if d, ok := drivers[hostID]; ok {
			return d, nil
		}
		return nil, fmt.Errorf("no driver runs host %s", hostID)
	}
}

// logBuffer collects an engine's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// rebuild replaces b's engine with one for cfg (its store and env are b's).
func (b *bundle) rebuild(t *testing.T, cfg Config) {
	t.Helper()
	cfg.Store, cfg.Env = b.st, b.eng.env
	b.eng = mustNew(t, cfg)
	t.Cleanup(b.eng.Wait)
}

func (b *bundle) row(t *testing.T, id string) core.Machine {
	t.Helper()
	var m core.Machine
	if err := b.st.Read(context.Background(), func(tx store.Tx) (err error) { m, err = tx.GetMachine(id); return }); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewChecksTheLeaseMargin(t *testing.T) {
	drv := hypervisor.Single{Driver: sim.New(sim.DefaultTimings(), core.DefaultCatalog())}
	for _, c := range []Config{
		{},
		{Drivers: drv, Lease: 10 * time.Second, DriverTimeout: 10 * time.Second},
		{Drivers: drv, Lease: 10 * time.Second, DriverTimeout: 11 * time.Second},
		{Drivers: drv, DriverTimeout: time.Minute}, // longer than the default lease
		{Drivers: drv, Lease: -time.Second},
		{Drivers: drv, DriverTimeout: -time.Second},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(lease %s, driver timeout %s, drivers %v) accepted", c.Lease, c.DriverTimeout, c.Drivers)
		}
	}
	for _, c := range []struct{ lease, timeout, wantLease, wantTimeout time.Duration }{
		{0, 0, 30 * time.Second, 22500 * time.Millisecond},
		{10 * time.Second, 0, 10 * time.Second, 7500 * time.Millisecond},
		{10 * time.Second, 9 * time.Second, 10 * time.Second, 9 * time.Second},
	} {
		e, err := New(Config{Drivers: drv, Lease: c.lease, DriverTimeout: c.timeout})
		if err != nil {
			t.Fatal(err)
		}
		if e.cfg.Lease != c.wantLease || e.cfg.DriverTimeout != c.wantTimeout {
			t.Errorf("lease %s, timeout %s: got %s, %s; want %s, %s", c.lease, c.timeout,
				e.cfg.Lease, e.cfg.DriverTimeout, c.wantLease, c.wantTimeout)
		}
	}
}

// TestEveryDriverCallHasADeadline: Advance, the snapshot calls, Lost and Destroy all run
// under a context that ends at most DriverTimeout after the call began.
func TestEveryDriverCallHasADeadline(t *testing.T) {
	b := setup(t)
	rec := &recordingDriver{Driver: b.drv}
	const timeout = 10 * time.Second
	b.rebuild(t, Config{Drivers: hypervisor.Single{Driver: rec}, Lease: time.Minute, DriverTimeout: timeout})
	ctx := context.Background()
	m := b.ready(t, func(c *service.CreateMachine) {
		c.TakeInitialSnapshot, c.MarkSnapshotAsRestorePoint, c.RestorePointFrequency = true, true, ptrTo("shutdown")
		c.PerformAutoSnapshot, c.AutoSnapshotFrequency, c.AutoSnapshotSaveCount = true, ptrTo("hour"), hours(1)
	})
	b.advance(t, time.Hour) // an auto-snapshot
	b.advance(t, time.Hour) // another, which prunes the first
	if _, err := b.eng.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	b.power(t, m.ID, core.ActionStop)
	b.advance(t, b.tim.Stopping) // back to the restore point
	b.wantState(t, m.ID, core.StateOff)
	if err := b.svc.DestroyMachine(ctx, b.admin, m.ID, true); err != nil {
		t.Fatal(err)
	}
	b.eng.Wait()
	seen := map[string]bool{}
	for _, c := range rec.all() {
		seen[c.method] = true
		if !c.hasDeadline || c.deadline.Sub(c.at) > timeout || c.doneAtEntry {
			t.Errorf("%s of %s: deadline %v (set %v) at %v, done at entry %v; want one within %s", c.method, c.machine,
				c.deadline, c.hasDeadline, c.at, c.doneAtEntry, timeout)
		}
	}
	for _, method := range []string{"Advance", "Snapshot", "DeleteSnapshot", "Revert", "Lost", "Destroy"} {
		if !seen[method] {
			t.Errorf("no %s call was made; calls: %v", method, rec.all())
		}
	}
}

// TestBlockedDriverCallIsCancelledBeforeTheLeaseEnds: a driver whose Advance waits for its
// context is cancelled at a deadline before the claim's lease runs out, and the engine
// records an ordinary retry.
func TestBlockedDriverCallIsCancelledBeforeTheLeaseEnds(t *testing.T) {
	b := setup(t)
	const lease, timeout = 4 * time.Second, time.Second
	var ended error
	rec := &recordingDriver{Driver: b.drv, before: func(ctx context.Context, req hypervisor.Request) {
		if req.Attempt > 0 { // only the first call blocks
			return
		}
		select {
		case <-ctx.Done():
			ended = ctx.Err()
		case <-time.After(time.Minute): // not cancelled: fail rather than hang
			ended = errors.New("not cancelled within a minute")
		}
	}}
	blocked := lookup(func(string) (hypervisor.Driver, error) { return blockingDriver{rec}, nil })
	b.rebuild(t, Config{Drivers: blocked, Lease: lease, DriverTimeout: timeout})
	m := b.create(t, nil)
	// The claim comes after t0, so its lease lasts at least until t0+lease.
	t0 := time.Now()
	b.advance(t, b.tim.Provisioning)
	calls := rec.all()
	if len(calls) != 1 {
		t.Fatalf("calls = %v, want one Advance", calls)
	}
	c := calls[0]
	if c.state != core.StateProvisioning || !c.hasDeadline || !c.deadline.Before(t0.Add(lease)) || c.deadline.Sub(c.at) > timeout {
		t.Fatalf("Advance deadline %v (set %v), called at %v: want one before the lease's end %v, within %s",
			c.deadline, c.hasDeadline, c.at, t0.Add(lease), timeout)
	}
	if !errors.Is(ended, context.DeadlineExceeded) {
		t.Fatalf("the blocked call ended with %v, want its deadline", ended)
	}
	row := b.row(t, m.ID)
	if row.State != core.StateProvisioning || row.Attempts != 1 || row.NextAt == nil || !row.NextAt.After(b.clock.Now()) {
		t.Fatalf("after the cancelled call: state %s, attempts %d, nextAt %v; want a retry of provisioning",
			row.State, row.Attempts, row.NextAt)
	}
	// The retry completes normally.
	b.advance(t, time.Minute)
	b.wantState(t, m.ID, core.StateStarting)
}

// blockingDriver runs its recordingDriver's before hook and then fails the call with its
// context's error, as a driver whose work was cut short does.
type blockingDriver struct{ *recordingDriver }

func (d blockingDriver) Advance(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	res, err := d.recordingDriver.Advance(ctx, req)
	if err == nil && ctx.Err() != nil {
		return hypervisor.Result{}, ctx.Err()
	}
	return res, err
}

// TestStepPastItsLeaseCommitsNothing: a driver call that ignores its context and returns
// after the lease may have passed to another worker has its result dropped; the machine
// stays due and the next claim does the step again.
func TestStepPastItsLeaseCommitsNothing(t *testing.T) {
	b := setup(t)
	const lease = time.Minute
	var skew atomic.Int64 // how far the engine's wall clock is ahead of real time
	wall := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	var once sync.Once
	rec := &recordingDriver{Driver: b.drv, wall: wall, before: func(context.Context, hypervisor.Request) {
		once.Do(func() { skew.Add(int64(lease)) }) // the first call takes a whole lease
	}}
	var logs logBuffer
	b.rebuild(t, Config{Drivers: hypervisor.Single{Driver: rec}, Lease: lease, Logger: logs.logger()})
	b.eng.wall = wall
	m := b.create(t, nil)
	b.advance(t, b.tim.Provisioning)
	var states []string
	for _, c := range rec.all() {
		states = append(states, fmt.Sprintf("%s/%d", c.state, c.attempt))
	}
	// Had the first result been committed, the second call would not have been made.
	if !slices.Equal(states, []string{"provisioning/0", "provisioning/0"}) {
		t.Fatalf("Advance calls (state/attempt) = %v, want provisioning twice, the first result dropped", states)
	}
	b.wantState(t, m.ID, core.StateStarting)
	if !strings.Contains(logs.String(), "outlived its lease") {
		t.Errorf("log does not tell of the dropped step:\n%s", logs.String())
	}
}

// TestClaimQueuedPastItsDeadlineIsLeftForTheNextClaim: a claimed machine whose step would
// begin after its driver deadline is not handed to the driver with an ended context; it is
// released and claimed again.
func TestClaimQueuedPastItsDeadlineIsLeftForTheNextClaim(t *testing.T) {
	b := setup(t)
	const lease, timeout = time.Minute, 30 * time.Second
	var skew atomic.Int64
	wall := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	var once sync.Once
	rec := &recordingDriver{Driver: b.drv, wall: wall, before: func(context.Context, hypervisor.Request) {
		// The first call uses up the batch's driver time, but not its lease.
		once.Do(func() { skew.Add(int64(timeout + time.Second)) })
	}}
	var logs logBuffer
	b.rebuild(t, Config{Drivers: hypervisor.Single{Driver: rec}, Lease: lease, DriverTimeout: timeout, Logger: logs.logger()})
	b.eng.wall = wall
	m1, m2 := b.create(t, nil), b.create(t, nil)
	b.advance(t, b.tim.Provisioning) // both are claimed in one batch
	calls := rec.all()
	if len(calls) != 2 || calls[0].machine == calls[1].machine {
		t.Fatalf("calls = %v, want one Advance of each machine", calls)
	}
	for _, c := range calls {
		if c.doneAtEntry || !c.deadline.After(c.at) {
			t.Errorf("Advance of %s began at %v with deadline %v (ended: %v)", c.machine, c.at, c.deadline, c.doneAtEntry)
		}
	}
	b.wantState(t, m1.ID, core.StateStarting)
	b.wantState(t, m2.ID, core.StateStarting)
	if !strings.Contains(logs.String(), "claim ran out before its step began") {
		t.Errorf("log does not tell of the skipped step:\n%s", logs.String())
	}
}

// TestDriversByHost: each machine's calls go to the driver of its host.
func TestDriversByHost(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	m1 := b.create(t, nil)
	h1 := b.row(t, m1.ID).HostID
	no := false
	if _, err := b.svc.UpdateHost(ctx, b.admin, h1, service.HostSpec{Available: &no}); err != nil {
		t.Fatal(err)
	}
	m2 := b.create(t, nil)
	h2 := b.row(t, m2.ID).HostID
	if h1 == "" || h2 == "" || h1 == h2 {
		t.Fatalf("hosts %q and %q: want two different ones", h1, h2)
	}
	d1, d2 := &recordingDriver{Driver: b.drv}, &recordingDriver{Driver: b.drv}
	b.rebuild(t, Config{Drivers: byHost(map[string]hypervisor.Driver{h1: d1, h2: d2})})
	b.advance(t, b.tim.Provisioning)
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	b.wantState(t, m1.ID, core.StateReady)
	b.wantState(t, m2.ID, core.StateReady)
	if err := b.svc.DestroyMachine(ctx, b.admin, m2.ID, true); err != nil {
		t.Fatal(err)
	}
	b.eng.Wait()
	for _, c := range []struct {
		d       *recordingDriver
		machine string
		want    []string
	}{{d1, m1.ID, []string{"Advance"}}, {d2, m2.ID, []string{"Advance", "Destroy"}}} {
		seen := map[string]bool{}
		for _, call := range c.d.all() {
			seen[call.method] = true
			if call.machine != c.machine {
				t.Errorf("%s of %s went to the driver of the other host", call.method, call.machine)
			}
		}
		for _, w := range c.want {
			if !seen[w] {
				t.Errorf("the driver of %s's host got no %s", c.machine, w)
			}
		}
	}
}

// TestMachineOnAHostWithoutDriver: the lookup's error is the step's driver error, logged
// with the host: retried when transient, failing the operation when permanent.
func TestMachineOnAHostWithoutDriver(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	var logs logBuffer
	permanent := false
	b.rebuild(t, Config{Logger: logs.logger(), Drivers: lookup(func(hostID string) (hypervisor.Driver, error) {
		if permanent {
			return nil, hypervisor.Permanentf("host %s is retired", hostID)
		}
		return nil, fmt.Errorf("no driver runs host %s", hostID)
	})})
	m := b.create(t, nil)
	host := b.row(t, m.ID).HostID
	b.advance(t, b.tim.Provisioning)
	row := b.row(t, m.ID)
	if row.State != core.StateProvisioning || row.Attempts != 1 {
		t.Fatalf("state %s, attempts %d: want provisioning retried", row.State, row.Attempts)
	}
	if l := logs.String(); !strings.Contains(l, "no driver for the machine's host") || !strings.Contains(l, "host="+host) ||
		!strings.Contains(l, "no driver runs host "+host) {
		t.Fatalf("log does not name the host without a driver:\n%s", l)
	}
	permanent = true
	b.advance(t, time.Minute)
	d := b.wantState(t, m.ID, core.StateOff)
	if got := events(d); !slices.Contains(got, "create:error") || !slices.Contains(got, "start:error") {
		t.Fatalf("events = %v, want create and start in error", got)
	}
	for _, ev := range d.Events {
		if ev.ErrorMsg != "host "+host+" is retired" {
			t.Errorf("%s event's errorMsg = %q, want the lookup's message", ev.Name, ev.ErrorMsg)
		}
	}
	if err := b.svc.DestroyMachine(ctx, b.admin, m.ID, true); err != nil {
		t.Fatal(err)
	}
	b.eng.Wait()
	if l := logs.String(); !strings.Contains(l, "driver destroy: no driver for the machine's host") {
		t.Fatalf("log does not tell that the destroyed machine's driver was not found:\n%s", l)
	}
}

// Package engine drives machines through their transitional states in the background.
//
// The durable state is the machine row itself: its state, when it entered it (PhaseSince),
// the in-progress event (OpEvent) and when the engine must look at it next (NextAt). The loop
// claims due machines with a lease, asks the driver to advance each one, and commits the
// outcome only if the machine is still in the state it was claimed in (a user call in between
// wins). Because every step is idempotent and every outcome is one transaction, a crash at any
// point leaves work that the next start simply picks up again: nothing is lost or done twice.
//
// When the store fails (a full disk), the loop and the watcher back off: every failed claim,
// step, release, timer or watch transaction pauses them, 100 ms doubling to 5 s and reset by
// the first successful claim, and the failures are logged as a line at most per pause and per
// second, counting the ones left out. A claim whose transaction failed took no lease, so no
// step runs for the rows it returned.
//
//	user call ──tx──► machine{state, since, nextAt} ◄──claim── loop ──► workers
//	                                                                      │ driver.Advance
//	                                   commit if unchanged ◄──────────────┘
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/lifecycle"
	"hangar/internal/store"
)

// Config configures an Engine.
type Config struct {
	Store store.Store
	// Drivers finds the driver of each machine's host; hypervisor.Single runs every host with
	// one driver.
	Drivers hypervisor.Drivers
	Env     *lifecycle.Env
	Logger  *slog.Logger
	// Workers is how many machines are advanced at once (default 8).
	Workers int
	// Lease is how long a claim lasts before another worker may take the machine over
	// (default 30 s).
	Lease time.Duration
	// DriverTimeout bounds the driver calls of one step, counted from the claim (default three
	// quarters of Lease). It must be shorter than Lease: the rest of the lease is the margin
	// in which the step commits before the machine can be claimed again.
	DriverTimeout time.Duration
	// ResetLeases clears stale leases on start; right only when this is the sole replica.
	ResetLeases bool
	// WatchInterval is how often machines shown running are checked against a driver that
	// implements hypervisor.Watcher (default 5 s).
	WatchInterval time.Duration
	// PollInterval bounds how long the loop sleeps without a wake-up (default 1 s).
	PollInterval time.Duration
	// OnStep, if set, is told of every step of a claimed machine: its outcome (one of the
	// Step* constants) and how long it took, driver call and commit included. It must be
	// cheap and safe for concurrent use.
	OnStep func(outcome string, d time.Duration)
}

// The outcomes of a step, as Config.OnStep hears them.
const (
	StepDone       = "done"       // the transition completed: the machine moved on
	StepPending    = "pending"    // the driver is not done yet: asked again later
	StepRetry      = "retry"      // the driver failed transiently: retried with backoff
	StepFailed     = "failed"     // the driver failed permanently: the event failed
	StepSuperseded = "superseded" // a user call moved the machine meanwhile: result dropped
	StepTimers     = "timers"     // a stable machine's due timers were fired
	StepSkipped    = "skipped"    // nothing was due any more (or the machine is gone)
	StepExpired    = "expired"    // the claim's time ran out: nothing committed, the step runs again
	StepError      = "error"      // loading or committing failed
)

// Engine advances machines.
type Engine struct {
	cfg   Config
	st    store.Store
	drvs  hypervisor.Drivers
	env   *lifecycle.Env
	log   *slog.Logger
	owner string
	wake  chan struct{}
	wg    sync.WaitGroup
	// wall reads the clock that bounds driver calls against leases. It is the real clock
	// (time.Now, with its monotonic reading), not Env.Clock: a lease lasts real time even
	// when tests move the machines' clock by hand.
	wall func() time.Time
	// health is the store's: while it fails, the loop and the watcher back off.
	health *health
}

// New returns an Engine, or an error for a configuration whose driver calls could outlive
// their lease.
func New(cfg Config) (*Engine, error) {
	if cfg.Drivers == nil {
		return nil, errors.New("engine: no drivers")
	}
	if cfg.Lease < 0 || cfg.DriverTimeout < 0 {
		return nil, fmt.Errorf("engine: lease %s and driver timeout %s cannot be negative", cfg.Lease, cfg.DriverTimeout)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Lease == 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.DriverTimeout == 0 {
		cfg.DriverTimeout = cfg.Lease - cfg.Lease/4
	}
	if cfg.DriverTimeout >= cfg.Lease {
		return nil, fmt.Errorf("engine: driver timeout %s must be shorter than the lease %s", cfg.DriverTimeout, cfg.Lease)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.WatchInterval <= 0 {
		cfg.WatchInterval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	e := &Engine{cfg: cfg, st: cfg.Store, drvs: cfg.Drivers, env: cfg.Env, log: cfg.Logger,
		owner: host + ":" + strconv.Itoa(os.Getpid()) + ":" + core.NewID("", 6), wake: make(chan struct{}, 1),
		wall: time.Now}
	e.health = &health{log: cfg.Logger, wall: func() time.Time { return e.wall() }}
	return e, nil
}

// job is a claimed machine. claimed is the wall time read just before its lease was taken,
// so claimed+Lease is no later than the lease's end.
type job struct {
	id      string
	claimed time.Time
}

// deadline is when the driver calls of j's step must end.
func (e *Engine) deadline(j job) time.Time { return j.claimed.Add(e.cfg.DriverTimeout) }

// expired reports whether j's lease may have ended, so that another worker may hold the
// machine now.
func (e *Engine) expired(j job) bool { return !e.wall().Before(j.claimed.Add(e.cfg.Lease)) }

// driverFor returns the driver of m's host.
func (e *Engine) driverFor(ctx context.Context, m core.Machine) (hypervisor.Driver, error) {
	return e.drvs.DriverFor(ctx, m.HostID)
}

// Wake tells the loop that new work may be due now.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// claimBatch is how many machines one claim takes at most.
const claimBatch = 64

// Run advances machines until ctx is cancelled, then waits for the steps in progress.
func (e *Engine) Run(ctx context.Context) error {
	if e.cfg.ResetLeases {
		if err := e.st.Write(ctx, func(tx store.Tx) error { return tx.ResetLeases() }); err != nil {
			return err
		}
	}
	jobs := make(chan job, claimBatch)
	for range e.cfg.Workers {
		e.wg.Go(func() {
			for j := range jobs {
				e.step(context.WithoutCancel(ctx), j)
			}
		})
	}
	e.wg.Go(func() { e.watch(ctx) })
	defer func() {
		close(jobs)
		e.wg.Wait()
	}()
	for {
		// While the store fails, neither a wake-up nor a due machine shortens the pause.
		if d := e.health.pause(); d > 0 && !sleepFor(ctx, d) {
			return nil
		}
		n, next, err := e.claim(ctx, jobs)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			e.health.failed("claim", err)
			continue
		}
		e.health.ok()
		if n == claimBatch {
			continue
		}
		if !e.sleep(ctx, next) {
			return nil
		}
	}
}

func (e *Engine) claim(ctx context.Context, jobs chan<- job) (int, *time.Time, error) {
	// Look before writing: an idle engine then commits nothing, which keeps the read caches
	// keyed on write generations (store.Generations) warm.
	next, err := e.nextDue(ctx)
	if err != nil || next == nil || next.After(e.env.Clock.Now()) {
		return 0, next, err
	}
	claimed := e.wall()
	ids, err := e.claimDue(ctx)
	if err != nil {
		return 0, next, err
	}
	for _, id := range ids {
		select {
		case jobs <- job{id: id, claimed: claimed}:
		case <-ctx.Done():
			return len(ids), next, nil
		}
	}
	return len(ids), next, nil
}

func (e *Engine) nextDue(ctx context.Context) (next *time.Time, err error) {
	err = e.st.Read(ctx, func(tx store.Tx) (err error) { next, err = tx.NextDue(); return })
	return next, err
}

// claimDue leases up to claimBatch machines due now. When the transaction fails it returns
// no ids, even if ClaimDue returned some before the commit failed: those leases were never
// taken, so another engine may hold the machines, and no step may run for them.
func (e *Engine) claimDue(ctx context.Context) ([]string, error) {
	now := e.env.Clock.Now()
	var ids []string
	err := e.st.Write(ctx, func(tx store.Tx) (err error) {
		ids, err = tx.ClaimDue(now, e.owner, now.Add(e.cfg.Lease), claimBatch)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// sleepFor waits d; false when ctx is done first.
func sleepFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sleep waits until next (the earliest due machine, nil for none), a wake-up, or the poll
// interval; false when ctx is done.
func (e *Engine) sleep(ctx context.Context, next *time.Time) bool {
	wait := e.cfg.PollInterval
	if next != nil {
		// Machines being worked on are still due; wake soon to catch their follow-ups.
		wait = min(wait, max(next.Sub(e.env.Clock.Now()), 20*time.Millisecond))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-e.wake:
	case <-t.C:
	}
	return true
}

// step advances one claimed machine by one driver call and commits the outcome; for a
// machine in a stable state it fires its due timers instead. Its driver calls end by the
// job's deadline, and a step that finds its lease possibly over commits nothing: the
// machine is still due and its next claim does the step again.
func (e *Engine) step(ctx context.Context, j job) {
	id := j.id
	outcome := StepError
	if e.cfg.OnStep != nil {
		start := time.Now()
		defer func() { e.cfg.OnStep(outcome, time.Since(start)) }()
	}
	if !e.wall().Before(e.deadline(j)) {
		// Queued behind slower steps until no time was left for the driver.
		outcome = StepExpired
		e.log.Warn("engine: claim ran out before its step began; left for the next claim", "machine", id)
		e.release(ctx, id)
		return
	}
	var m core.Machine
	var req hypervisor.Request
	err := e.st.Read(ctx, func(tx store.Tx) error {
		var err error
		if m, err = tx.GetMachine(id); err != nil {
			return err
		}
		req, err = e.request(tx, m)
		return err
	})
	if err != nil {
		if !core.IsNotFound(err) {
			e.health.failed("load machine", err, "machine", id)
		} else {
			outcome = StepSkipped
		}
		e.release(ctx, id)
		return
	}
	now := e.env.Clock.Now()
	if m.NextAt == nil || m.NextAt.After(now) {
		outcome = StepSkipped
		e.release(ctx, id)
		return
	}
	if lifecycle.Stable(m.State) {
		outcome = StepTimers
		e.fireTimers(ctx, j, m)
		e.Wake()
		return
	}
	req.Now = now
	dctx, cancel := context.WithDeadline(ctx, e.deadline(j))
	defer cancel()
	var res hypervisor.Result
	var snapshot string
	drv, derr := e.driverFor(dctx, m)
	if derr != nil {
		e.log.Warn("engine: no driver for the machine's host", "machine", id, "host", m.HostID, "err", derr)
	} else {
		res, derr = drv.Advance(dctx, req)
		if derr == nil && res.Done {
			snapshot, derr = e.diskEffects(dctx, drv, m)
		}
	}
	cancel()
	if e.expired(j) {
		outcome = StepExpired
		e.log.Warn("engine: step outlived its lease; result dropped, the step will run again", "machine", id, "state", m.State)
		e.release(ctx, id)
		e.Wake()
		return
	}
	err = e.st.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.GetMachine(id)
		if err != nil {
			return err
		}
		if cur.State != m.State || !cur.PhaseSince.Equal(m.PhaseSince) {
			outcome = StepSuperseded
			return tx.ReleaseLease(id, e.owner) // a user call moved it meanwhile
		}
		switch {
		case hypervisor.IsPermanent(derr):
			outcome = StepFailed
			err = e.fail(tx, &cur, derr.Error())
		case derr != nil:
			outcome = StepRetry
			cur.Attempts++
			at := e.env.Clock.Now().Add(backoff(cur.Attempts))
			cur.NextAt = &at
		case !res.Done:
			outcome = StepPending
			cur.Attempts++
			at := e.env.Clock.Now().Add(max(res.RetryAfter, 10*time.Millisecond))
			cur.NextAt = &at
		default:
			outcome = StepDone
			err = e.complete(tx, &cur, res, snapshot)
		}
		if err != nil {
			return err
		}
		if err := tx.UpdateMachine(&cur); err != nil {
			return err
		}
		return tx.ReleaseLease(id, e.owner)
	})
	if derr != nil && drv != nil && !hypervisor.IsPermanent(derr) {
		e.log.Warn("engine: driver step failed, will retry", "machine", id, "state", m.State, "err", derr)
	}
	if err != nil {
		outcome = StepError
		if core.IsNotFound(err) {
			outcome = StepSkipped // destroyed meanwhile
		}
	}
	if err != nil && !core.IsNotFound(err) {
		// The machine stays leased until its lease ends, and the loop backs off: waking
		// it now would only fail again.
		e.health.failed("commit step", err, "machine", id)
		return
	}
	e.Wake()
}

// request loads what the driver needs to advance m: its template, its private network and
// the startup script when it must run on this boot (enabled, and not a runOnce script after
// the first boot).
func (e *Engine) request(tx store.Tx, m core.Machine) (hypervisor.Request, error) {
	req := hypervisor.Request{Machine: m, Attempt: m.Attempts, Since: m.PhaseSince}
	t, err := tx.GetTemplate(m.TemplateID)
	switch {
	case err == nil:
		req.Template = t
	case !core.IsNotFound(err): // a deleted template: the machine keeps what it has
		return req, err
	}
	if u, err := tx.GetUser(m.UserID); err == nil {
		req.UserEmail = u.Email
	} else if !core.IsNotFound(err) {
		return req, err
	}
	keys, err := tx.ListSSHKeys(m.UserID)
	if err != nil {
		return req, err
	}
	for _, k := range keys {
		req.SSHKeys = append(req.SSHKeys, k.PublicKey)
	}
	if m.NetworkID != nil {
		n, err := tx.GetNetwork(*m.NetworkID)
		switch {
		case err == nil:
			req.Network = &n
		case !core.IsNotFound(err):
			return req, err
		}
	}
	req.Script, err = bootScript(tx, m)
	return req, err
}

// release gives up the lease on machine id. If that fails the lease simply runs out.
func (e *Engine) release(ctx context.Context, id string) {
	if err := e.st.Write(ctx, func(tx store.Tx) error { return tx.ReleaseLease(id, e.owner) }); err != nil {
		e.health.failed("release lease", err, "machine", id)
	}
}

func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 9)
	return min(d, 30*time.Second)
}

// Destroyed frees what the driver of its host holds for a destroyed machine, in the
// background, within DriverTimeout.
func (e *Engine) Destroyed(m core.Machine) {
	e.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.DriverTimeout)
		defer cancel()
		drv, err := e.driverFor(ctx, m)
		if err != nil {
			e.log.Error("engine: driver destroy: no driver for the machine's host", "machine", m.ID, "host", m.HostID, "err", err)
			return
		}
		if err := drv.Destroy(ctx, m); err != nil {
			e.log.Error("engine: driver destroy", "machine", m.ID, "err", err)
		}
	})
}

// Wait waits for background work started by Destroyed.
func (e *Engine) Wait() { e.wg.Wait() }

// Drain advances every machine that is due now, one step each round, until none is due. It
// is the synchronous form of Run for tests driven by a fake clock.
func (e *Engine) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		claimed := e.wall()
		ids, err := e.claimDue(ctx)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		for _, id := range ids {
			e.step(ctx, job{id: id, claimed: claimed})
		}
		total += len(ids)
	}
}

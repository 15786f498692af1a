package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"hangar/api"
	"hangar/internal/agentproto"
	"hangar/internal/core"
	"hangar/internal/hypervisor"
)

// loop syncs until ctx ends: a long poll of at most the heartbeat interval, cut short when
// an operation finishes (its result goes out at once).
func (a *Agent) loop(ctx context.Context) error {
	heartbeat := 5 * time.Second
	wantInv := false
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		req, sent := a.syncRequest(wantInv, heartbeat)
		pollCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		var kicked atomic.Bool
		go func() {
			select {
			case <-a.kick:
				kicked.Store(true)
				cancel()
			case <-done:
			}
		}()
		var resp api.AgentSyncResponse
		err := a.post(pollCtx, "/sync", a.id.Credential, req, &resp, heartbeat+30*time.Second)
		close(done)
		cancel()
		if kicked.Load() && err != nil && ctx.Err() == nil {
			continue // cut short to send a result: go again at once
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrRefused) {
			a.setStatus(func(s *Status) { s.Connected, s.LastError = false, err.Error() })
			return fmt.Errorf("%w (the host's credential in %s/%s was revoked or its host deleted: join again with a new token and a fresh --data)",
				err, a.cfg.Data, identityFile)
		}
		if err != nil {
			backoff = min(max(2*backoff, 250*time.Millisecond), 5*time.Second)
			a.log.Warn("agent: sync failed, retrying", "err", err, "in", backoff)
			a.setStatus(func(s *Status) { s.Connected, s.LastError = false, err.Error() })
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if resp.HeartbeatMS > 0 {
			heartbeat = time.Duration(resp.HeartbeatMS) * time.Millisecond
		}
		wantInv = resp.WantInventory
		a.synced(sent, req.Inventory != nil)
		a.setStatus(func(s *Status) {
			s.Connected, s.LastError, s.LastSync, s.State = true, "", time.Now(), resp.State
		})
		a.handle(ctx, resp)
	}
	return nil
}

// syncRequest builds the next sync: every result not acknowledged yet, the inventory when it
// changed or was asked for, and the operations the agent holds.
func (a *Agent) syncRequest(wantInv bool, heartbeat time.Duration) (api.AgentSyncRequest, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	req := api.AgentSyncRequest{Protocol: api.AgentProtocol, Version: a.cfg.Version, WaitMS: heartbeat.Milliseconds()}
	var sent []string
	for id, d := range a.j.Done {
		if !d.Reported {
			req.Results = append(req.Results, d.Result)
			sent = append(sent, id)
		}
	}
	if len(sent) > 0 {
		req.WaitMS = 0 // results: answer at once, then poll
	}
	for id := range a.running {
		req.Known = append(req.Known, id)
	}
	if a.invDirty || wantInv {
		inv := a.j.running()
		req.Inventory = &inv
	}
	return req, sent
}

// synced records that the results sent (and the inventory) reached the control plane.
func (a *Agent) synced(sent []string, inventory bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range sent {
		d := a.j.Done[id]
		d.Reported = true
		a.j.Done[id] = d
	}
	if inventory {
		a.invDirty = false
	}
	if len(sent) > 0 {
		if err := a.j.write(a.cfg.Data, time.Now()); err != nil {
			a.log.Error("agent: write journal", "err", err)
		}
	}
}

// handle starts the new operations, answers redelivered ones from the journal and stops the
// ones the control plane no longer lists (superseded).
func (a *Agent) handle(ctx context.Context, resp api.AgentSyncResponse) {
	a.mu.Lock()
	defer a.mu.Unlock()
	redelivered := false
	for _, op := range resp.Ops {
		if d, ok := a.j.Done[op.ID]; ok {
			d.Reported = false // our report was lost (or the control plane restarted): send it again
			a.j.Done[op.ID] = d
			redelivered = true
			continue
		}
		if _, ok := a.running[op.ID]; ok {
			continue
		}
		opCtx, cancel := context.WithCancel(ctx)
		a.running[op.ID] = runningOp{cancel: cancel, machine: op.Machine.ID}
		a.wg.Go(func() { a.run(opCtx, op) })
	}
	for id, r := range a.running {
		if !slices.Contains(resp.Pending, id) && !slices.ContainsFunc(resp.Ops, func(o api.AgentOp) bool { return o.ID == id }) {
			a.log.Info("agent: operation superseded, stopping it", "op", id)
			r.cancel()
			delete(a.running, id)
		}
	}
	if redelivered {
		a.poke()
	}
}

// run executes one operation to its end and records its outcome.
func (a *Agent) run(ctx context.Context, op api.AgentOp) {
	res, err := a.execute(ctx, op)
	if ctx.Err() != nil {
		return // superseded or shutting down: nothing to report
	}
	out := agentproto.EncodeResult(op.ID, res, err)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.running[op.ID]; !ok {
		return
	}
	delete(a.running, op.ID)
	a.record(op, err)
	a.j.Done[op.ID] = doneOp{Result: out, At: time.Now()}
	if werr := a.j.write(a.cfg.Data, time.Now()); werr != nil {
		a.log.Error("agent: write journal", "err", werr)
	}
	a.log.Info("agent: operation finished", "op", op.ID, "kind", op.Kind, "machine", op.Machine.ID,
		"state", op.Machine.State, "ok", err == nil, "err", err)
	a.poke()
}

// record updates what the journal knows of the machine's VM after op (a.mu held).
func (a *Agent) record(op api.AgentOp, err error) {
	id := op.Machine.ID
	if op.Kind == core.OpDestroy {
		if err == nil {
			delete(a.j.VMs, id)
			a.invDirty = true
		}
		return
	}
	if op.Kind != core.OpAdvance {
		return
	}
	v := a.j.VMs[id]
	if v == nil {
		v = &vm{}
		a.j.VMs[id] = v
	}
	v.Machine = op.Machine
	was := v.Running
	switch core.State(op.Machine.State) {
	case core.StateStarting, core.StateServiceReady, core.StateRestarting:
		v.Running = err == nil
	case core.StateStopping:
		if err == nil {
			v.Running = false
		}
	}
	if v.Running != was {
		a.invDirty = true
	}
}

// execute runs op with the local driver, retrying transient failures itself: only Done and
// permanent failures are reported.
func (a *Agent) execute(ctx context.Context, op api.AgentOp) (hypervisor.Result, error) {
	drv := a.cfg.Driver
	req := agentproto.Decode(op, time.Now())
	m := req.Machine
	snap, _ := drv.(hypervisor.Snapshotter)
	for attempt := 0; ; attempt++ {
		var (
			res hypervisor.Result
			err error
		)
		req.Now, req.Attempt = time.Now(), op.Attempt+attempt
		switch op.Kind {
		case core.OpAdvance:
			res, err = drv.Advance(ctx, req)
		case core.OpDestroy:
			err = drv.Destroy(ctx, m)
			res.Done = err == nil
		case core.OpSnapshot, core.OpRevert, core.OpDeleteSnapshot:
			if snap == nil {
				return res, hypervisor.Permanentf("the %s driver of host %s keeps no snapshots", drv.Name(), a.cfg.Name)
			}
			switch op.Kind {
			case core.OpSnapshot:
				err = snap.Snapshot(ctx, m, op.SnapshotID)
			case core.OpRevert:
				err = snap.Revert(ctx, m, op.SnapshotID)
			default:
				err = snap.DeleteSnapshot(ctx, m, op.SnapshotID)
			}
			res.Done = err == nil
		default:
			return res, hypervisor.Permanentf("unknown operation kind %q (agent protocol %d)", op.Kind, api.AgentProtocol)
		}
		if (err == nil && res.Done) || hypervisor.IsPermanent(err) {
			return res, err
		}
		wait := min(max(res.RetryAfter, 10*time.Millisecond), 2*time.Second)
		if err != nil {
			wait = min(100*time.Millisecond<<min(attempt, 6), 5*time.Second)
			a.log.Warn("agent: driver step failed, retrying", "op", op.ID, "machine", m.ID, "err", err, "in", wait)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// watch checks the VMs shown running against a driver that can tell a vanished VM, and
// reports the change in the next sync.
func (a *Agent) watch(ctx context.Context) {
	w, ok := a.cfg.Driver.(hypervisor.Watcher)
	if !ok {
		return
	}
	t := time.NewTicker(a.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		var check []api.AgentMachine
		for _, v := range a.j.VMs {
			if v.Running {
				check = append(check, v.Machine)
			}
		}
		a.mu.Unlock()
		for _, m := range check {
			req := agentproto.Decode(api.AgentOp{Machine: m}, time.Now())
			if !w.Lost(ctx, req.Machine) {
				continue
			}
			a.mu.Lock()
			if v := a.j.VMs[m.ID]; v != nil && v.Running && !a.busy(m.ID) {
				v.Running = false
				a.invDirty = true
				a.log.Warn("agent: VM stopped on its own", "machine", m.ID)
				if err := a.j.write(a.cfg.Data, time.Now()); err != nil {
					a.log.Error("agent: write journal", "err", err)
				}
				a.poke()
			}
			a.mu.Unlock()
		}
	}
}

// busy reports whether an operation on machine id runs now (a.mu held): its VM may be
// between states, and the operation's outcome says what became of it.
func (a *Agent) busy(id string) bool {
	for _, r := range a.running {
		if r.machine == id {
			return true
		}
	}
	return false
}

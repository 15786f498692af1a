// Package fleet runs the hosts of the control plane: the local driver for the hosts this
// process runs, and for hosts run by `hangar agent` a driver that hands the work to the agent
// through the store (an operation row per step, see core.AgentOp) and reads back the outcome
// the agent reported. It also marks the agents that stopped heartbeating unreachable.
//
//	engine ──Advance──► Remote ──EnsureAgentOp──► agent_ops ◄──sync── agent ──► local driver
//	       ◄─RetryAfter / result───────────────── (result) ◄──report──┘
package fleet

import (
	"context"
	"encoding/json"
	"time"

	"hangar/api"
	"hangar/internal/agentproto"
	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/store"
)

// Drivers implements hypervisor.Drivers: Local for hosts without an agent, a Remote driver
// for agent hosts.
type Drivers struct {
	Store store.Store
	Local hypervisor.Driver
	Clock core.Clock
	// Added, if set, is told that a host has a new operation (service.OpsAdded).
	Added func(hostID string)
}

// DriverFor implements hypervisor.Drivers. An agent host's driver is returned even while the
// host is unreachable: Destroy still queues its operation (the agent runs it when it is back),
// while Advance and the snapshot calls answer that the host is unreachable.
func (d *Drivers) DriverFor(ctx context.Context, hostID string) (hypervisor.Driver, error) {
	var h core.HostLoad
	err := d.Store.Read(ctx, func(tx store.Tx) (err error) { h, err = tx.GetHost(hostID); return })
	if core.IsNotFound(err) || (err == nil && !h.Remote()) {
		if d.Local == nil {
			return nil, hypervisor.Permanentf("host %s has no driver", hostID)
		}
		return d.Local, nil
	}
	if err != nil {
		return nil, err
	}
	return &Remote{d: d, host: h}, nil
}

// ErrUnreachable is the message of every step refused because the host's agent is away.
const ErrUnreachable = "host unreachable: its agent missed its heartbeats"

// superseded is the result given to an operation that a newer one of the same machine
// replaced (a stop while starting): the agent cancels it if it is still running it.
var superseded = []byte(`{"done":false,"error":"superseded by a newer operation","permanent":true}`)

// Remote is the driver of one agent host.
type Remote struct {
	d    *Drivers
	host core.HostLoad
}

var (
	_ hypervisor.Driver      = (*Remote)(nil)
	_ hypervisor.Snapshotter = (*Remote)(nil)
	_ hypervisor.Watcher     = (*Remote)(nil)
)

// pollAfter is how soon the engine looks again at a machine whose operation the agent has not
// finished; a reported result makes the machine due at once (service.Sync).
const pollAfter = 2 * time.Second

// Name implements hypervisor.Driver.
func (r *Remote) Name() string { return r.host.Agent.Driver }

// Expect implements hypervisor.Driver: the engine hands the step to the agent at once (the
// agent's driver waits as long as the state needs), and the agent's result makes the machine
// due again.
func (r *Remote) Expect(core.State) time.Duration { return 0 }

// Advance implements hypervisor.Driver: it makes sure the operation of this step exists and
// returns the agent's outcome once reported, else RetryAfter.
func (r *Remote) Advance(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	if r.host.Agent.Unreachable {
		return hypervisor.Result{}, &hypervisor.Error{Message: "host " + r.host.Name + ": " + ErrUnreachable}
	}
	res, ok, err := r.run(ctx, core.OpAdvance, req, "")
	if err != nil || !ok {
		return hypervisor.Result{RetryAfter: pollAfter}, err
	}
	return agentproto.DecodeResult(res)
}

// Destroy implements hypervisor.Driver: the destroy operation is queued and the agent runs
// it when it next syncs (the engine does not wait for it).
func (r *Remote) Destroy(ctx context.Context, m core.Machine) error {
	_, _, err := r.run(ctx, core.OpDestroy, hypervisor.Request{Machine: m}, "")
	return err
}

// Snapshot implements hypervisor.Snapshotter; until the agent reports, the step is retried.
func (r *Remote) Snapshot(ctx context.Context, m core.Machine, id string) error {
	return r.wait(ctx, core.OpSnapshot, m, id)
}

// Revert implements hypervisor.Snapshotter.
func (r *Remote) Revert(ctx context.Context, m core.Machine, id string) error {
	return r.wait(ctx, core.OpRevert, m, id)
}

// DeleteSnapshot implements hypervisor.Snapshotter.
func (r *Remote) DeleteSnapshot(ctx context.Context, m core.Machine, id string) error {
	return r.wait(ctx, core.OpDeleteSnapshot, m, id)
}

// Lost implements hypervisor.Watcher from the agent's last inventory: a running machine is
// lost when an inventory reported after it entered its state does not list it.
func (r *Remote) Lost(_ context.Context, m core.Machine) bool {
	a := r.host.Agent
	if a.Unreachable || a.VMsAt == nil || !a.VMsAt.After(m.PhaseSince) {
		return false
	}
	for _, id := range a.VMs {
		if id == m.ID {
			return false
		}
	}
	return true
}

func (r *Remote) wait(ctx context.Context, kind string, m core.Machine, snapshotID string) error {
	if r.host.Agent.Unreachable {
		return &hypervisor.Error{Message: "host " + r.host.Name + ": " + ErrUnreachable}
	}
	res, ok, err := r.run(ctx, kind, hypervisor.Request{Machine: m, Since: m.PhaseSince}, snapshotID)
	if err != nil {
		return err
	}
	if !ok {
		return &hypervisor.Error{Message: "waiting for host " + r.host.Name + " to run " + kind}
	}
	_, err = agentproto.DecodeResult(res)
	return err
}

// run makes sure the operation exists and returns its result, if reported.
func (r *Remote) run(ctx context.Context, kind string, req hypervisor.Request, snapshotID string) (api.AgentResult, bool, error) {
	m := req.Machine
	if req.Since.IsZero() {
		req.Since = m.PhaseSince
	}
	id := agentproto.OpID(kind, m, snapshotID)
	body, err := json.Marshal(agentproto.Encode(id, kind, req, snapshotID))
	if err != nil {
		return api.AgentResult{}, false, err
	}
	op := core.AgentOp{ID: id, HostID: r.host.ID, MachineID: m.ID, Kind: kind, Request: body, Created: r.d.Clock.Now()}
	var got core.AgentOp
	err = r.d.Store.Write(ctx, func(tx store.Tx) (err error) {
		if got, err = tx.EnsureAgentOp(&op); err != nil || got.Result != nil || (kind != core.OpAdvance && kind != core.OpDestroy) {
			return err
		}
		// A newer step or a destroy replaces the machine's earlier steps.
		_, err = tx.SupersedeAgentOps(m.ID, core.OpAdvance, id, superseded, op.Created)
		return err
	})
	if err != nil {
		return api.AgentResult{}, false, err
	}
	if got.Result == nil {
		if r.d.Added != nil {
			r.d.Added(r.host.ID)
		}
		return api.AgentResult{}, false, nil
	}
	var res api.AgentResult
	if err := json.Unmarshal(got.Result, &res); err != nil {
		return res, false, hypervisor.Permanentf("host %s reported an unreadable result: %v", r.host.Name, err)
	}
	return res, true, nil
}

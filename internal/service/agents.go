package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"hangar/internal/agentproto"
	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/store"
)

// Join tokens read "hj<id>.<secret>"; only the SHA-256 of the whole token is stored.
const joinTokenPrefix = "hj"

// MaxJoinTokenTTL is the longest a join token may be valid.
const MaxJoinTokenTTL = 7 * 24 * time.Hour

// CreateJoinToken makes a one-time join token for a host of region, valid for ttl (operator
// only). The token is returned once and stored hashed.
func (s *Service) CreateJoinToken(ctx context.Context, p core.Principal, region string, ttl time.Duration) (string, core.JoinToken, error) {
	if err := requireOperator(p); err != nil {
		return "", core.JoinToken{}, err
	}
	r, ok := s.cfg.Catalog.Region(region)
	if !ok {
		return "", core.JoinToken{}, invalid("Invalid region %q", region)
	}
	if ttl <= 0 || ttl > MaxJoinTokenTTL {
		return "", core.JoinToken{}, invalid("ttl must be between 1s and %s", MaxJoinTokenTTL)
	}
	now := s.clock.Now()
	id := core.NewID(joinTokenPrefix, 8)
	tok := agentproto.JoinToken{Secret: id + "." + core.NewSecret(24), Pin: s.cfg.AgentPin}
	j := core.JoinToken{ID: id, Hash: SecretHash(tok.Secret), Region: r.Name, Expires: now.Add(ttl), Created: now}
	auditTarget(ctx, id)
	return tok.String(), j, s.write(ctx, func(tx store.Tx) error { return tx.CreateJoinToken(&j) })
}

// AgentJoin is what a joining agent says about its host.
type AgentJoin struct {
	Token, Name, Driver, Accelerator, Version string
	Capacity                                  map[string]int
	GPUs                                      map[string][]string
}

// Join registers (or re-registers) the host of an agent with a join token and returns it with
// the agent's new long-lived credential. The token is used up in the same transaction. A
// token that is unknown, used, expired, or for a region other than the host's is refused
// (Unauthorized); the host's capacity is validated like an operator's.
func (s *Service) Join(ctx context.Context, j AgentJoin) (core.HostLoad, string, error) {
	if err := core.CheckName("name", j.Name); err != nil || strings.TrimSpace(j.Name) == "" {
		return core.HostLoad{}, "", invalid("the agent needs a --name (letters, digits, dots, dashes)")
	}
	if j.Driver != "sim" && j.Driver != "qemu" {
		return core.HostLoad{}, "", invalid("driver must be sim or qemu")
	}
	if err := s.validateCapacity(j.Capacity); err != nil {
		return core.HostLoad{}, "", err
	}
	parsed, err := agentproto.ParseJoinToken(j.Token)
	if err != nil {
		return core.HostLoad{}, "", core.Errorf(core.Unauthorized, "%s", err.Error())
	}
	credential := "hc" + core.NewSecret(32)
	now := s.clock.Now()
	var out core.HostLoad
	err = s.write(ctx, func(tx store.Tx) error {
		tok, err := tx.GetJoinTokenByHash(SecretHash(parsed.Secret))
		switch {
		case core.IsNotFound(err):
			return core.Errorf(core.Unauthorized, "join token not recognised: create one with hangar admin hosts tokens create")
		case err != nil:
			return err
		case tok.Used != nil:
			return core.Errorf(core.Unauthorized, "join token %s was used already (by host %s): tokens are one-time", tok.ID, tok.HostID)
		case !now.Before(tok.Expires):
			return core.Errorf(core.Unauthorized, "join token %s expired at %s", tok.ID, tok.Expires.Format(time.RFC3339))
		}
		h, err := s.joinHost(tx, tok, j, credential, now)
		if err != nil {
			return err
		}
		if err := tx.UseJoinToken(tok.ID, h.ID, now); err != nil {
			return core.Errorf(core.Unauthorized, "join token %s was used already: tokens are one-time", tok.ID)
		}
		out, err = tx.GetHost(h.ID)
		return err
	})
	return out, credential, err
}

// joinHost creates the host of a joining agent, or takes over the host of that name when it
// is in the token's region (an agent whose data dir was lost joins again).
func (s *Service) joinHost(tx store.Tx, tok core.JoinToken, j AgentJoin, credential string, now time.Time) (core.Host, error) {
	hs, err := tx.ListHosts("")
	if err != nil {
		return core.Host{}, err
	}
	h := core.Host{ID: core.NewID(core.PrefixHost, 7), Name: strings.TrimSpace(j.Name), Region: tok.Region,
		Available: true, Created: now}
	create := true
	for _, x := range hs {
		if x.Name != h.Name {
			continue
		}
		if !x.Remote() {
			return core.Host{}, core.Errorf(core.Conflict, "host name %s is taken by a host that is not run by an agent; choose another --name", x.Name)
		}
		if x.Region != tok.Region {
			return core.Host{}, core.Errorf(core.Unauthorized, "join token %s is for region %s; host %s is in %s",
				tok.ID, tok.Region, x.Name, x.Region)
		}
		h, create = x.Host, false
	}
	h.Capacity = j.Capacity
	if h.Capacity == nil {
		h.Capacity = map[string]int{}
	}
	h.Agent = core.HostAgent{CredentialHash: SecretHash(credential), Driver: j.Driver, Accelerator: j.Accelerator,
		GPUs: j.GPUs, Version: j.Version, LastSeen: &now}
	if create {
		return h, tx.CreateHost(&h)
	}
	return h, tx.UpdateHost(&h)
}

// AuthAgent returns the host whose agent holds credential; Unauthorized for a credential
// that was never issued or was revoked (the host deleted or its credential revoked).
func (s *Service) AuthAgent(ctx context.Context, credential string) (core.HostLoad, error) {
	var h core.HostLoad
	err := s.read(ctx, func(tx store.Tx) (err error) { h, err = tx.GetHostByCredential(SecretHash(credential)); return })
	if core.IsNotFound(err) {
		return h, core.Errorf(core.Unauthorized, "agent credential revoked or unknown: join again with a new token")
	}
	return h, err
}

// RevokeAgent removes the credential of a host's agent (operator only): its next request is
// refused, and the host is unavailable until an agent joins it again with a new token.
func (s *Service) RevokeAgent(ctx context.Context, p core.Principal, host string) (core.HostLoad, error) {
	if err := requireOperator(p); err != nil {
		return core.HostLoad{}, err
	}
	var out core.HostLoad
	err := s.write(ctx, func(tx store.Tx) error {
		h, err := resolveHost(tx, host)
		if err != nil {
			return err
		}
		if !h.Remote() {
			return invalid("host %s is not run by hangar agent: it has no credential to revoke", h.Name)
		}
		h.Agent.CredentialHash, h.Agent.Unreachable = "", true
		if err := tx.UpdateHost(&h.Host); err != nil {
			return err
		}
		out, err = tx.GetHost(h.ID)
		return err
	})
	return out, err
}

// resolveHost finds a host by id or, failing that, by name. NotFound.
func resolveHost(tx store.Tx, idOrName string) (core.HostLoad, error) {
	h, err := tx.GetHost(idOrName)
	if !core.IsNotFound(err) {
		return h, err
	}
	hs, lerr := tx.ListHosts("")
	if lerr != nil {
		return h, lerr
	}
	for _, x := range hs {
		if x.Name == idOrName {
			return x, nil
		}
	}
	return h, core.Errorf(core.NotFound, "host %s not found", idOrName)
}

// AgentSync is one heartbeat of an agent: the outcomes of the operations it finished, when
// Inventory is set the machines whose VMs it really runs, and the operations it holds already
// (Known: running, or finished and not yet acknowledged), so that the long poll waits for new
// ones only.
type AgentSync struct {
	Version   string
	Results   map[string][]byte // op id -> wire result
	Inventory *[]string
	Known     []string
	Wait      time.Duration
}

// AgentSyncReply is what the agent is told: the host as stored, every unfinished operation's
// id (Pending: an operation the agent runs that is missing was superseded or the host
// deleted, and the agent drops it), and the operations of Pending it did not know (Ops).
type AgentSyncReply struct {
	Host          core.HostLoad
	Pending       []string
	Ops           []core.AgentOp
	WantInventory bool
}

// maxPendingOps bounds the operations one sync hands out.
const maxPendingOps = 256

// AgentHeartbeat is how often agents sync at least (the long poll's longest wait).
func (s *Service) AgentHeartbeat() time.Duration {
	if s.cfg.AgentHeartbeat > 0 {
		return s.cfg.AgentHeartbeat
	}
	return 5 * time.Second
}

// Sync records a heartbeat of host's agent and returns its pending operations, waiting up to
// sy.Wait (at most the heartbeat interval) for one it does not know. A result is recorded
// only for an operation not finished yet (the first report wins; a repeated one is ignored),
// and its machine is made due at once so that the engine reads the result. A host that was
// unreachable asks for the inventory; an inventory queues a destroy for every VM the host
// runs that belongs to no live machine placed on it.
func (s *Service) Sync(ctx context.Context, host core.HostLoad, sy AgentSync) (AgentSyncReply, error) {
	now := s.clock.Now()
	var was bool
	orphans := 0
	var err error
	if s.heartbeatDue(host, sy, now) {
		err = s.writeQuiet(ctx, func(tx store.Tx) (err error) {
			if was, err = tx.TouchHost(host.ID, now, sy.Version); err != nil {
				return err
			}
			for id, res := range sy.Results {
				if err := s.finishOp(tx, host.ID, id, res, now); err != nil {
					return err
				}
			}
			if sy.Inventory == nil {
				return nil
			}
			if err := tx.SetHostVMs(host.ID, *sy.Inventory, now); err != nil {
				return err
			}
			orphans, err = s.destroyOrphans(tx, host, *sy.Inventory, now)
			return err
		})
	}
	if err != nil {
		return AgentSyncReply{}, err
	}
	if was {
		s.log.Info("fleet: host is back", "host", host.Name)
	}
	if orphans > 0 {
		s.log.Info("fleet: destroying VMs of no machine", "host", host.Name, "vms", orphans)
	}
	if len(sy.Results) > 0 || was || sy.Inventory != nil {
		s.wake()
	}
	known := make(map[string]bool, len(sy.Known)+len(sy.Results))
	for _, id := range sy.Known {
		known[id] = true
	}
	for id := range sy.Results {
		known[id] = true
	}
	s.opsHub().wait(ctx, host.ID, min(sy.Wait, s.AgentHeartbeat()), known)
	out := AgentSyncReply{WantInventory: was}
	err = s.read(ctx, func(tx store.Tx) (err error) {
		if out.Host, err = tx.GetHost(host.ID); err != nil {
			return err
		}
		ops, err := tx.ListPendingAgentOps(host.ID, maxPendingOps)
		for _, op := range ops {
			out.Pending = append(out.Pending, op.ID)
			if !known[op.ID] {
				out.Ops = append(out.Ops, op)
			}
		}
		return err
	})
	return out, err
}

// heartbeatDue reports whether a sync must write: it carries results or an inventory, the
// host (as its credential's lookup read it) is marked unreachable or runs another agent
// version, or its recorded heartbeat is a third of the host timeout old. A steady agent's
// sync otherwise only reads, which is most of what 1,000 heartbeating hosts cost the single
// writer; the recorded heartbeat then lags by at most a third of the timeout.
func (s *Service) heartbeatDue(host core.HostLoad, sy AgentSync, now time.Time) bool {
	timeout := s.cfg.HostTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	a := host.Agent
	return len(sy.Results) > 0 || sy.Inventory != nil || a.Unreachable || a.Version != sy.Version ||
		a.LastSeen == nil || now.Sub(*a.LastSeen) >= timeout/3
}

// destroyOrphans queues a destroy operation for each VM of vms whose machine is gone or
// placed on another host (it was destroyed while the host was away, say).
func (s *Service) destroyOrphans(tx store.Tx, host core.HostLoad, vms []string, now time.Time) (int, error) {
	n := 0
	for _, id := range vms {
		m, err := tx.GetMachine(id)
		if err == nil && m.HostID == host.ID {
			continue
		}
		if err != nil && !core.IsNotFound(err) {
			return n, err
		}
		gone := core.Machine{ID: id}
		opID := agentproto.OpID(core.OpDestroy, gone, "")
		body, err := json.Marshal(agentproto.Encode(opID, core.OpDestroy, hypervisor.Request{Machine: gone}, ""))
		if err != nil {
			return n, err
		}
		op := core.AgentOp{ID: opID, HostID: host.ID, MachineID: id, Kind: core.OpDestroy, Request: body, Created: now}
		got, err := tx.EnsureAgentOp(&op)
		if err != nil {
			return n, err
		}
		if got.Result != nil { // destroyed before, yet running again: ask again
			if err := tx.DeleteAgentOp(opID); err != nil {
				return n, err
			}
			if _, err := tx.EnsureAgentOp(&op); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}

// finishOp records one result of host's agent and makes its machine due now.
func (s *Service) finishOp(tx store.Tx, hostID, id string, res []byte, now time.Time) error {
	op, err := tx.GetAgentOp(id)
	if core.IsNotFound(err) || (err == nil && op.HostID != hostID) {
		return nil // pruned, or not this host's: nothing to record
	}
	if err != nil {
		return err
	}
	ok, err := tx.FinishAgentOp(id, res, now)
	if err != nil || !ok {
		return err
	}
	m, err := tx.GetMachine(op.MachineID)
	if core.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.NextAt != nil && m.NextAt.After(now) {
		m.NextAt = &now
		return tx.UpdateMachine(&m)
	}
	return nil
}

// OpsAdded tells agents waiting in Sync on this process that host has new operations.
func (s *Service) OpsAdded(string) { s.opsHub().poke() }

func (s *Service) opsHub() *opsHub {
	s.hubOnce.Do(func() {
		s.hub = &opsHub{waiters: map[string]map[*opsWaiter]struct{}{}, pokes: make(chan struct{}, 1),
			list: func(ctx context.Context) (keys []core.AgentOpKey, err error) {
				err = s.read(ctx, func(tx store.Tx) (err error) { keys, err = tx.ListPendingAgentOpKeys(100_000); return })
				return keys, err
			}, log: s.log}
	})
	return s.hub
}

// opsHub wakes the syncs waiting on this process when their host has an operation they do not
// know. One poller per process reads the unfinished operations' keys (one query for every
// waiting agent) every opsPoll while anybody waits, and at once when this process added one
// (poke); operations added by another replica are found by the next poll.
type opsHub struct {
	mu      sync.Mutex
	waiters map[string]map[*opsWaiter]struct{}
	polling bool
	pokes   chan struct{}
	list    func(context.Context) ([]core.AgentOpKey, error)
	log     *slog.Logger
}

type opsWaiter struct {
	known map[string]bool
	ch    chan struct{}
}

// opsPoll is how often the poller looks for operations while syncs wait.
const opsPoll = 500 * time.Millisecond

// wait returns when host has an unfinished operation not in known, after d, or when ctx ends.
func (h *opsHub) wait(ctx context.Context, host string, d time.Duration, known map[string]bool) {
	if d <= 0 {
		return
	}
	w := &opsWaiter{known: known, ch: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.waiters[host] == nil {
		h.waiters[host] = map[*opsWaiter]struct{}{}
	}
	h.waiters[host][w] = struct{}{}
	if !h.polling {
		h.polling = true
		go h.poll()
	}
	h.mu.Unlock()
	h.poke() // a first look now: the operation may exist already
	defer func() {
		h.mu.Lock()
		delete(h.waiters[host], w)
		if len(h.waiters[host]) == 0 {
			delete(h.waiters, host)
		}
		h.mu.Unlock()
	}()
	end := time.NewTimer(d)
	defer end.Stop()
	select {
	case <-ctx.Done():
	case <-end.C:
	case <-w.ch:
	}
}

func (h *opsHub) poke() {
	select {
	case h.pokes <- struct{}{}:
	default:
	}
}

// poll runs while anybody waits.
func (h *opsHub) poll() {
	t := time.NewTicker(opsPoll)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-h.pokes:
		}
		h.mu.Lock()
		if len(h.waiters) == 0 {
			h.polling = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		keys, err := h.list(ctx)
		cancel()
		if err != nil {
			h.log.Warn("fleet: list pending agent operations", "err", err)
			continue
		}
		h.mu.Lock()
		for _, k := range keys {
			for w := range h.waiters[k.HostID] {
				if !w.known[k.ID] {
					select {
					case w.ch <- struct{}{}:
					default:
					}
				}
			}
		}
		h.mu.Unlock()
	}
}

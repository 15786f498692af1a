package service

import (
	"context"
	"strings"
	"sync"
	"time"

	"hangar/internal/core"
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
	token := id + "." + core.NewSecret(24)
	j := core.JoinToken{ID: id, Hash: SecretHash(token), Region: r.Name, Expires: now.Add(ttl), Created: now}
	auditTarget(ctx, id)
	return token, j, s.write(ctx, func(tx store.Tx) error { return tx.CreateJoinToken(&j) })
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
	credential := "hc" + core.NewSecret(32)
	now := s.clock.Now()
	var out core.HostLoad
	err := s.write(ctx, func(tx store.Tx) error {
		tok, err := tx.GetJoinTokenByHash(SecretHash(strings.TrimSpace(j.Token)))
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

// AgentSync is one heartbeat of an agent: the outcomes of the operations it finished and,
// when Inventory is set, the machines it really runs.
type AgentSync struct {
	Version   string
	Results   map[string][]byte // op id -> wire result
	Inventory *[]string
	Wait      time.Duration
}

// AgentSyncReply is what the agent is told.
type AgentSyncReply struct {
	Host          core.HostLoad
	Ops           []core.AgentOp
	WantInventory bool
}

// maxPendingOps bounds the operations one sync hands out.
const maxPendingOps = 256

// Sync records a heartbeat of host's agent and returns its pending operations, waiting up to
// sy.Wait for one when there is none. A result is recorded only for an operation not finished
// yet (the first report wins; a repeated one is ignored), and its machine is made due at
// once so the engine reads the result. A host that was unreachable asks for the inventory.
func (s *Service) Sync(ctx context.Context, host core.HostLoad, sy AgentSync) (AgentSyncReply, error) {
	now := s.clock.Now()
	var was bool
	err := s.writeQuiet(ctx, func(tx store.Tx) (err error) {
		if was, err = tx.TouchHost(host.ID, now, sy.Version); err != nil {
			return err
		}
		for id, res := range sy.Results {
			if err := s.finishOp(tx, host.ID, id, res, now); err != nil {
				return err
			}
		}
		if sy.Inventory != nil {
			return tx.SetHostVMs(host.ID, *sy.Inventory, now)
		}
		return nil
	})
	if err != nil {
		return AgentSyncReply{}, err
	}
	if len(sy.Results) > 0 || was {
		s.wake()
	}
	s.opsHub().wait(ctx, host.ID, sy.Wait, func() bool {
		ops, err := s.pendingOps(ctx, host.ID)
		return err != nil || len(ops) > 0
	})
	out := AgentSyncReply{WantInventory: was}
	err = s.read(ctx, func(tx store.Tx) (err error) {
		if out.Host, err = tx.GetHost(host.ID); err != nil {
			return err
		}
		out.Ops, err = tx.ListPendingAgentOps(host.ID, maxPendingOps)
		return err
	})
	return out, err
}

func (s *Service) pendingOps(ctx context.Context, hostID string) (ops []core.AgentOp, err error) {
	err = s.read(ctx, func(tx store.Tx) (err error) { ops, err = tx.ListPendingAgentOps(hostID, 1); return })
	return ops, err
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
func (s *Service) OpsAdded(hostID string) { s.opsHub().notify(hostID) }

func (s *Service) opsHub() *opsHub {
	s.hubOnce.Do(func() { s.hub = &opsHub{waiters: map[string][]chan struct{}{}} })
	return s.hub
}

// opsHub wakes the syncs waiting on this process for a host's operations. Operations added
// by another replica are found by the waiters' poll.
type opsHub struct {
	mu      sync.Mutex
	waiters map[string][]chan struct{}
}

// opsPoll is how often a waiting sync looks for operations another replica added.
const opsPoll = 500 * time.Millisecond

// wait returns when ready says so, when notify is called for host, after d, or when ctx ends.
func (h *opsHub) wait(ctx context.Context, host string, d time.Duration, ready func() bool) {
	if d <= 0 || ready() {
		return
	}
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.waiters[host] = append(h.waiters[host], ch)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		ws := h.waiters[host]
		for i, w := range ws {
			if w == ch {
				h.waiters[host] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(h.waiters[host]) == 0 {
			delete(h.waiters, host)
		}
		h.mu.Unlock()
	}()
	end := time.NewTimer(d)
	defer end.Stop()
	poll := time.NewTicker(opsPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-ch:
			return
		case <-poll.C:
			if ready() {
				return
			}
		}
	}
}

func (h *opsHub) notify(host string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.waiters[host] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

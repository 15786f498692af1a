// Package store declares the persistence contract of Hangar. Every backend (sqlite, later
// postgres) implements Store and passes the conformance suite in storetest.
//
// Errors: methods return core errors — NotFound for a missing row, Conflict for a duplicate
// key — and wrap anything else as Internal.
package store

import (
	"context"
	"time"

	"hangar/internal/core"
)

// Store opens transactions.
type Store interface {
	// Read runs fn in a read-only transaction that sees one consistent snapshot.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a read-write transaction: all of fn's writes commit together, or none
	// if fn returns an error. Writes are serialisable. Implementations may commit the
	// transactions of concurrent callers together (group commit), so fn must not act outside
	// tx except through values it returns or captures, and may be retried.
	Write(ctx context.Context, fn func(Tx) error) error
	// Close releases the store.
	Close() error
}

// AuthGenerationReader is implemented by stores that can read the credential generation
// (Tx.AuthGeneration) in one statement, cheaper than a Read transaction. Replicas read it on
// every authenticated request.
type AuthGenerationReader interface {
	AuthGeneration(ctx context.Context) (int64, error)
}

// KeepAuthGeneration returns wrapper, a store that wraps inner, with inner's AuthGeneration
// when inner has one: a wrapper that embeds Store hides it, and replicas would then read the
// generation in a whole transaction on every authenticated request.
func KeepAuthGeneration(wrapper, inner Store) Store {
	r, ok := inner.(AuthGenerationReader)
	if !ok {
		return wrapper
	}
	return struct {
		Store
		AuthGenerationReader
	}{wrapper, r}
}

// Tx is one transaction.
type Tx interface {
	// CreateTeam inserts t and sets t.Num. Conflict if the id exists.
	CreateTeam(t *core.Team) error
	// GetTeam returns the team with handle id. NotFound.
	GetTeam(id string) (core.Team, error)
	// GetTeamByNum returns the team with numeric id num. NotFound.
	GetTeamByNum(num int64) (core.Team, error)
	// ListTeams returns every team ordered by Num.
	ListTeams() ([]core.Team, error)
	// TeamQuotas returns the quota overrides of a team (no entry: the default applies).
	TeamQuotas(teamID string) (core.QuotaLimits, error)
	// SetTeamQuota sets a team's override of quota q to *limit, or removes it (nil). The team
	// must exist.
	SetTeamQuota(teamID string, q core.Quota, limit *int) error
	// TeamUsage returns what a team holds of each quota (core.Quota says what each counts;
	// a machine still provisioning with TakeInitialSnapshot counts as one snapshot).
	// Read in a write transaction, it conflicts with concurrent writes that change the
	// counts, so a check and the write it allows commit together or not at all.
	// Only the quotas qs are counted (every quota without any): a check pays for what it asks.
	TeamUsage(teamID string, qs ...core.Quota) (core.QuotaLimits, error)

	// CreateUser inserts u. Conflict if the id or the email (case-insensitive) exists.
	CreateUser(u *core.User) error
	// GetUser returns a user by id. NotFound.
	GetUser(id string) (core.User, error)
	// ListUsersByEmail returns the users with email, compared case-insensitively, in every
	// team, oldest first. An email is unique within a team only.
	ListUsersByEmail(email string) ([]core.User, error)
	// ListUsers returns the users of a team ("" = all) ordered by creation, then id.
	ListUsers(teamID string) ([]core.User, error)
	// UpdateUser writes every field of u. NotFound.
	UpdateUser(u *core.User) error

	// CreateAPIKey inserts k, setting an empty Kind to core.KindKey (Expires is not stored).
	// Conflict if the id or hash exists.
	CreateAPIKey(k *core.APIKey) error
	// GetAPIKeyByHash returns the key with the given hash, revoked or not. NotFound.
	GetAPIKeyByHash(hash string) (core.APIKey, error)
	// GetAPIKey returns a key by id. NotFound.
	GetAPIKey(id string) (core.APIKey, error)
	// ListAPIKeys returns a user's keys ("" = all users) ordered by creation, then id.
	ListAPIKeys(userID string) ([]core.APIKey, error)
	// UpdateAPIKey writes LastUsed and Revoked. NotFound.
	UpdateAPIKey(k *core.APIKey) error

	// CreateSSHKey inserts k. Conflict if the id exists or the user has a key with the same
	// fingerprint; Invalid if the user does not exist.
	CreateSSHKey(k *core.SSHKey) error
	// ListSSHKeys returns a user's SSH keys ordered by creation, then id.
	ListSSHKeys(userID string) ([]core.SSHKey, error)
	// DeleteSSHKey removes a user's SSH key. NotFound (also when it is another user's).
	DeleteSSHKey(userID, id string) error

	// CreateAccessToken inserts a login token. Conflict if its hash exists.
	CreateAccessToken(t *core.AccessToken) error
	// GetAccessToken returns a token by hash, revoked or expired or not. NotFound.
	GetAccessToken(hash string) (core.AccessToken, error)
	// GetAccessTokenByID returns a token by id. NotFound.
	GetAccessTokenByID(id string) (core.AccessToken, error)
	// ListAccessTokens returns a user's login tokens ("" = all users), expired and revoked
	// ones included, ordered by creation, then id.
	ListAccessTokens(userID string) ([]core.AccessToken, error)
	// UpdateAccessToken writes Revoked. NotFound.
	UpdateAccessToken(a *core.AccessToken) error

	// AuthGeneration returns the credential generation: a counter that every revocation
	// advances in its own transaction, so that a replica can tell whether an authentication it
	// cached is still current.
	AuthGeneration() (int64, error)
	// BumpAuthGeneration advances the credential generation by one.
	BumpAuthGeneration() error

	// AppendAudit inserts an audit entry and sets e.Seq.
	AppendAudit(e *core.AuditEntry) error
	// ListAudit returns the audit entries matching q, newest first (by Time, then Seq).
	ListAudit(q core.AuditQuery) ([]core.AuditEntry, error)

	// CreateTemplate inserts t. Conflict if the id exists.
	CreateTemplate(t *core.Template) error
	// GetTemplate returns a template by id. NotFound.
	GetTemplate(id string) (core.Template, error)
	// ListTemplates returns the public templates and those of teamID ("" = every template),
	// ordered by creation, then id.
	ListTemplates(teamID string) ([]core.Template, error)
	// DeleteTemplate removes a template. NotFound.
	DeleteTemplate(id string) error

	// CreateNetwork inserts n and sets n.Num. Conflict if the id exists.
	CreateNetwork(n *core.Network) error
	// GetNetwork returns a live network by handle. NotFound.
	GetNetwork(id string) (core.Network, error)
	// GetNetworkByNum returns a live network by numeric id. NotFound.
	GetNetworkByNum(num int64) (core.Network, error)
	// ListNetworks returns the live networks of a team ("" = all) ordered by Num.
	ListNetworks(teamID string) ([]core.Network, error)
	// DeleteNetwork removes a network. NotFound.
	DeleteNetwork(id string) error
	// CountNetworkMachines returns how many live machines use a network.
	CountNetworkMachines(networkID string) (int, error)

	// CreateScript inserts s. Conflict if the id exists, or if the owner already has a script
	// with the same name.
	CreateScript(s *core.Script) error
	// GetScript returns a script (with its text) by id. NotFound.
	GetScript(id string) (core.Script, error)
	// ListScripts returns the scripts of a team ordered by creation, then id.
	ListScripts(teamID string) ([]core.Script, error)
	// DeleteScript removes a script and detaches it from every machine. NotFound.
	DeleteScript(id string) error
	// ListScriptRuns returns the live machines whose scriptId is scriptID, with their last run.
	ListScriptRuns(scriptID string) ([]core.ScriptRun, error)

	// CreateMachine inserts m and sets m.InternalID. Conflict if the id exists.
	CreateMachine(m *core.Machine) error
	// GetMachine returns a live machine. NotFound (also for destroyed machines).
	GetMachine(id string) (core.Machine, error)
	// UpdateMachine writes every field of a live machine. NotFound.
	UpdateMachine(m *core.Machine) error
	// DeleteMachine marks a machine destroyed at the given time; it disappears from
	// GetMachine and ListMachines, and its access grants, private IPs and snapshot records
	// are removed. NotFound.
	DeleteMachine(id string, at time.Time) error
	// ListMachines returns the live machines matching q.
	ListMachines(q core.MachineQuery) ([]core.Machine, error)

	// StartUsage opens a billable interval of a machine at at (the meter, spec §2.13). If the
	// machine already has an open interval nothing changes.
	StartUsage(machineID string, at time.Time) error
	// EndUsage closes the machine's open billable interval at at; an interval that would end
	// at or before its start is removed instead. Without an open interval nothing changes.
	EndUsage(machineID string, at time.Time) error
	// GetUsage returns what the meter knows of a machine, live or destroyed, with the billable
	// intervals that overlap [from, to). NotFound if no machine ever had the id.
	GetUsage(machineID string, from, to time.Time) (core.MachineUsage, error)
	// ListUsage returns GetUsage for every machine, live or destroyed, that existed during
	// [from, to) (created before to, not destroyed before from), ordered by team, then id.
	ListUsage(from, to time.Time) ([]core.MachineUsage, error)

	// SetAccess grants (on) or revokes a user's access to a machine; idempotent.
	SetAccess(machineID, userID string, on bool) error
	// HasAccess reports whether a user was granted access to a machine.
	HasAccess(machineID, userID string) (bool, error)

	// CreateEvent inserts e. Conflict if the handle exists.
	CreateEvent(e *core.Event) error
	// GetEvent returns an event by handle. NotFound.
	GetEvent(handle string) (core.Event, error)
	// UpdateEvent writes State, ErrorMsg, Modified and Finished. NotFound.
	UpdateEvent(e *core.Event) error
	// ListEvents returns a machine's newest events first, at most limit (0: all).
	ListEvents(machineID string, limit int) ([]core.Event, error)

	// CreateHost inserts h. Conflict if the id or name exists.
	CreateHost(h *core.Host) error
	// GetHost returns a host with its usage. NotFound.
	GetHost(id string) (core.HostLoad, error)
	// UpdateHost writes every field of h but Created. NotFound.
	UpdateHost(h *core.Host) error
	// DeleteHost removes a host. NotFound; Conflict while machines hold capacity on it.
	DeleteHost(id string) error
	// ListHosts returns the hosts of a region ("" = all) with their usage, ordered by name.
	// In a write transaction the rows are locked against concurrent placements.
	ListHosts(region string) ([]core.HostLoad, error)
	// PlacementHosts returns the hosts of region a placement of machineType chooses from:
	// preferred (a machine's current host) if it is in region, then the up host with the
	// most free slots of machineType (ties by name) if any has one; each with only
	// machineType in Capacity and Used, and of Agent only Driver and Unreachable.
	// scheduler.Pick over them chooses as it would over every host of the region. In a write
	// transaction the rows are locked against concurrent placements.
	PlacementHosts(region, machineType, preferred string) ([]core.HostLoad, error)
	// AddHostUsage adds delta to the slots of machineType used on a host.
	AddHostUsage(hostID, machineType string, delta int) error
	// GetHostByCredential returns the host whose agent credential hashes to hash. NotFound.
	GetHostByCredential(hash string) (core.HostLoad, error)
	// TouchHost records a heartbeat of a host's agent: LastSeen, its version, and clears
	// Unreachable; it returns whether the host was unreachable. NotFound.
	TouchHost(id string, seen time.Time, version string) (wasUnreachable bool, err error)
	// MarkHostsUnreachable sets Unreachable on the agent hosts last seen before seenBefore
	// that are not unreachable yet, and returns their ids. Of two transactions marking the
	// same host only one returns it.
	MarkHostsUnreachable(seenBefore time.Time) ([]string, error)
	// SetHostVMs records the machines a host's agent reports running, as of at. NotFound.
	SetHostVMs(id string, vms []string, at time.Time) error

	// CreateJoinToken inserts a join token. Conflict if its id or hash exists.
	CreateJoinToken(t *core.JoinToken) error
	// GetJoinTokenByHash returns a join token by hash, used or expired or not. NotFound.
	GetJoinTokenByHash(hash string) (core.JoinToken, error)
	// UseJoinToken marks an unused token used by hostID at at. Conflict if it was used.
	UseJoinToken(id, hostID string, at time.Time) error

	// EnsureAgentOp inserts op unless an operation with its id exists, and returns the
	// stored operation (with its result, if the agent reported one).
	EnsureAgentOp(op *core.AgentOp) (core.AgentOp, error)
	// GetAgentOp returns an operation by id. NotFound.
	GetAgentOp(id string) (core.AgentOp, error)
	// ListPendingAgentOps returns the unfinished operations of a host, oldest first, at
	// most limit.
	ListPendingAgentOps(hostID string, limit int) ([]core.AgentOp, error)
	// FinishAgentOp records the result of an unfinished operation; false (nothing written)
	// when it is finished already or unknown.
	FinishAgentOp(id string, result []byte, at time.Time) (bool, error)
	// PruneAgentOps deletes the operations finished before finishedBefore.
	PruneAgentOps(finishedBefore time.Time) (int, error)
	// ListPendingAgentOpKeys returns the host and id of unfinished operations, at most
	// limit, ordered by host: the long polls of agents find their new work with it.
	ListPendingAgentOpKeys(limit int) ([]core.AgentOpKey, error)
	// SupersedeAgentOps finishes with result every unfinished operation of kind on machineID
	// other than keepID (the work of an earlier state that a user call replaced), and returns
	// how many it finished.
	SupersedeAgentOps(machineID, kind, keepID string, result []byte, at time.Time) (int, error)
	// DeleteAgentOp removes an operation, finished or not; an unknown id is not an error.
	DeleteAgentOp(id string) error
	// ListHostMachines returns the live machines placed on hostID, in any state.
	ListHostMachines(hostID string) ([]core.Machine, error)

	// InsertPrivateIP records addr as taken in scope by machineID. Conflict if taken.
	InsertPrivateIP(scope, addr, machineID string) error
	// ListPrivateIPs returns the taken addresses of a scope.
	ListPrivateIPs(scope string) ([]string, error)
	// DeletePrivateIPs frees every private address of a machine.
	DeletePrivateIPs(machineID string) error

	// InsertPublicIP records a public address. Conflict if it exists.
	InsertPublicIP(ip *core.PublicIP) error
	// GetPublicIP returns a recorded public address. NotFound.
	GetPublicIP(addr string) (core.PublicIP, error)
	// UpdatePublicIP writes TeamID, MachineID and Dynamic. NotFound.
	UpdatePublicIP(ip *core.PublicIP) error
	// DeletePublicIP forgets an address, returning it to the free pool. NotFound.
	DeletePublicIP(addr string) error
	// ListPublicIPs returns the recorded addresses reserved to a team ("" = all) by address.
	ListPublicIPs(teamID string) ([]core.PublicIP, error)

	// GetIdempotency returns the record of a user's Idempotency-Key. NotFound.
	GetIdempotency(userID, key string) (core.Idempotency, error)
	// CreateIdempotency inserts a record. Conflict if (user, key) exists.
	CreateIdempotency(r *core.Idempotency) error

	// ClaimDue leases up to limit live machines whose NextAt is at or before now and whose
	// lease is free or expired, to owner until leaseUntil, and returns their ids ordered by
	// NextAt.
	ClaimDue(now time.Time, owner string, leaseUntil time.Time, limit int) ([]string, error)
	// ReleaseLease clears a machine's lease if owner holds it.
	ReleaseLease(machineID, owner string) error
	// ResetLeases clears every lease (single-replica start-up after a crash).
	ResetLeases() error
	// NextDue returns the earliest NextAt of a live machine, or nil.
	NextDue() (*time.Time, error)

	// CreateSnapshot records a machine's snapshot. Conflict if the id exists.
	CreateSnapshot(s *core.Snapshot) error
	// ListSnapshots returns a machine's snapshots, pruned ones included, oldest first (by
	// Created, then ID).
	ListSnapshots(machineID string) ([]core.Snapshot, error)
	// PruneSnapshot marks a snapshot Pruned. NotFound.
	PruneSnapshot(id string) error
	// DeleteSnapshot removes a snapshot record. NotFound.
	DeleteSnapshot(id string) error

	// CreateMail puts a message in the outbox. Conflict if the id exists.
	CreateMail(m *core.Mail) error
	// ListMail returns the outbox messages about a machine, oldest first (Created, then ID).
	ListMail(machineID string) ([]core.Mail, error)
	// ClaimMail leases up to limit messages whose NextAt is at or before now and whose lease
	// is free or expired, to owner until leaseUntil, and returns them ordered by NextAt (SKIP
	// LOCKED on PostgreSQL, like ClaimDue).
	ClaimMail(now time.Time, owner string, leaseUntil time.Time, limit int) ([]core.Mail, error)
	// FinishMailAttempt writes Attempts, NextAt, Sent and LastError of a message and clears
	// its lease, if owner holds it; false (and nothing written) otherwise. NotFound.
	FinishMailAttempt(m *core.Mail, owner string) (bool, error)
	// NextMailDue returns the earliest NextAt of the outbox, or nil.
	NextMailDue() (*time.Time, error)

	// Gauges returns the counts a metrics scrape reports, as of now.
	Gauges(now time.Time) (Gauges, error)
}

// Gauges are the counts of Tx.Gauges: aggregates, so that a scrape stays cheap however many
// machines there are.
type Gauges struct {
	// Machines counts the live machines by state, type and region, ordered by those three.
	Machines []MachineCount
	// Due is how many live machines the engine must look at now (NextAt at or before now),
	// leased or not: its queue.
	Due int
	// ExpiredLeases is how many live machines hold an engine lease that ran out without being
	// released (a worker that died or overran its lease); the next claim takes them over.
	ExpiredLeases int
	// Outbox is how many messages wait for a delivery attempt (NextAt set).
	Outbox int
}

// MachineCount is the number of live machines in one state of one type in one region.
type MachineCount struct {
	State       core.State
	MachineType string
	Region      string
	Count       int
}

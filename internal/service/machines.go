package service

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"hangar/internal/core"
	"hangar/internal/lifecycle"
	"hangar/internal/notify"
	"hangar/internal/scheduler"
	"hangar/internal/store"
)

// CreateMachine is a validated-for-type create request (spec §2.2). Pointer fields are
// optional; the transport has already coerced types.
type CreateMachine struct {
	Region, MachineType, BillingType, Name, TemplateID string
	Size                                               int

	AssignPublicIP, DynamicPublicIP bool
	StartOnCreate                   bool

	NetworkID, TeamID, UserID *string
	Email, Password           *string
	FirstName, LastName       *string
	NotificationEmail         *string
	ScriptID                  *string

	TakeInitialSnapshot        bool
	MarkSnapshotAsRestorePoint bool
	RestorePointFrequency      *string

	ShutdownTimeoutSet     bool // false: the default applies
	ShutdownTimeoutInHours *int
	ShutdownTimeoutForces  bool
	IsManaged              bool
	PerformAutoSnapshot    bool
	AutoSnapshotFrequency  *string
	AutoSnapshotSaveCount  *int

	// IdempotencyKey, if set, makes a retried request return the first result; RequestHash
	// identifies the request's parameters.
	IdempotencyKey string
	RequestHash    string
}

var snapshotFrequencies = []string{"hour", "day", "week", "month"}

func (s *Service) validateCreate(c *CreateMachine) error {
	cat := s.cfg.Catalog
	required := []struct{ name, v string }{{"region", c.Region}, {"machineType", c.MachineType},
		{"billingType", c.BillingType}, {"machineName", c.Name}, {"templateId", c.TemplateID}}
	for _, r := range required {
		if strings.TrimSpace(r.v) == "" {
			return invalid("%s is required", r.name)
		}
	}
	if err := core.CheckName("machineName", c.Name); err != nil {
		return err
	}
	r, ok := cat.Region(c.Region)
	if !ok {
		return invalid("Invalid region %q. Valid regions: %s", c.Region, regionNames(cat))
	}
	c.Region = r.Name
	if _, ok := cat.Type(c.MachineType); !ok {
		return invalid("Invalid machineType %q. Valid machine types: %s", c.MachineType, strings.Join(cat.TypeOrder, ", "))
	}
	if c.Size == 0 {
		return invalid("size is required")
	}
	if !cat.ValidSize(c.Size) {
		return invalid("Invalid size %d. Valid sizes (GB): %s", c.Size, intsJoin(cat.StorageSizes))
	}
	if c.BillingType != "monthly" && c.BillingType != "hourly" {
		return invalid("Invalid billingType %q. Must be monthly or hourly", c.BillingType)
	}
	if c.AssignPublicIP && c.DynamicPublicIP {
		return invalid("assignPublicIp and dynamicPublicIp cannot both be true")
	}
	newUser := c.Email != nil || c.Password != nil || c.FirstName != nil || c.LastName != nil
	if newUser && c.UserID != nil {
		return invalid("userId cannot be combined with email, password, firstName or lastName")
	}
	if newUser && (c.Email == nil || c.Password == nil || c.FirstName == nil || c.LastName == nil) {
		return invalid("email, password, firstName and lastName are required together to create a user")
	}
	if c.NotificationEmail != nil {
		if err := notify.ValidAddress(*c.NotificationEmail); err != nil {
			return err
		}
	}
	if c.RestorePointFrequency != nil && *c.RestorePointFrequency != "shutdown" {
		return invalid("Invalid restorePointFrequency %q. Must be shutdown", *c.RestorePointFrequency)
	}
	if c.MarkSnapshotAsRestorePoint && (!c.TakeInitialSnapshot || c.RestorePointFrequency == nil) {
		return invalid("markSnapshotAsRestorePoint requires takeInitialSnapshot true and restorePointFrequency")
	}
	return validateTimers(c.ShutdownTimeoutInHours, c.AutoSnapshotFrequency, c.AutoSnapshotSaveCount)
}

func validateTimers(hours *int, freq *string, count *int) error {
	if hours != nil && (*hours < 0 || *hours > 24*365) {
		return invalid("shutdownTimeoutInHours must be between 0 and 8760")
	}
	if freq != nil && !slices.Contains(snapshotFrequencies, *freq) {
		return invalid("Invalid autoSnapshotFrequency %q. Must be hour, day, week or month", *freq)
	}
	if count != nil && (*count < 1 || *count > 1000) {
		return invalid("autoSnapshotSaveCount must be between 1 and 1000")
	}
	return nil
}

func regionNames(c *core.Catalog) string {
	names := make([]string, len(c.Regions))
	for i, r := range c.Regions {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

func intsJoin(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = itoa(n)
	}
	return strings.Join(s, ", ")
}

// CreateMachine creates a machine, and with email/password/firstName/lastName its new user, in
// one transaction: if anything fails, nothing is written (spec §2.2, stricter than Paperspace).
func (s *Service) CreateMachine(ctx context.Context, p core.Principal, c CreateMachine) (core.Machine, error) {
	if !p.User.IsAdmin() {
		return core.Machine{}, forbidden("Only the team administrator can create machines")
	}
	if err := s.validateCreate(&c); err != nil {
		return core.Machine{}, err
	}
	var newUser *core.User
	if c.Email != nil {
		nu := NewUser{Email: strings.TrimSpace(*c.Email), Password: *c.Password, FirstName: *c.FirstName, LastName: *c.LastName}
		if err := validateNewUser(nu); err != nil {
			return core.Machine{}, err
		}
		// The cheap checks before the costly hash: a repeated request (its Idempotency-Key
		// already answered) needs none, and a taken email fails without one. (The transaction
		// checks both again.)
		replay := false
		err := s.read(ctx, func(tx store.Tx) error {
			if c.IdempotencyKey != "" {
				if _, err := tx.GetIdempotency(p.User.ID, c.IdempotencyKey); err == nil {
					replay = true
					return nil
				} else if !core.IsNotFound(err) {
					return err
				}
			}
			return emailFree(tx, p.Team.ID, nu.Email)
		})
		if err != nil {
			return core.Machine{}, err
		}
		hash := ""
		if !replay {
			// A team is one caller of the hasher: its creates cannot take every hashing slot.
			if hash, err = s.pw.hash(ctx, "team:"+p.Team.ID, nu.Password); err != nil {
				return core.Machine{}, err
			}
		}
		newUser = &core.User{ID: core.NewID(core.PrefixUser, 7), TeamID: p.Team.ID, Email: nu.Email,
			FirstName: strings.TrimSpace(nu.FirstName), LastName: strings.TrimSpace(nu.LastName),
			Role: core.RoleMember, PasswordHash: hash}
	}
	var m core.Machine
	err := s.write(ctx, func(tx store.Tx) error {
		if c.IdempotencyKey != "" {
			rec, err := tx.GetIdempotency(p.User.ID, c.IdempotencyKey)
			if err == nil {
				if rec.RequestHash != c.RequestHash {
					return invalid("Idempotency-Key %q was already used with different parameters", c.IdempotencyKey)
				}
				err := json.Unmarshal(rec.Response, &m)
				auditTarget(ctx, m.ID)
				return err
			}
			if !core.IsNotFound(err) {
				return err
			}
		}
		if newUser != nil && newUser.PasswordHash == "" {
			// Read as a repeat, but its Idempotency-Key record is gone meanwhile.
			return invalid("Idempotency-Key %q is no longer known; send the request again", c.IdempotencyKey)
		}
		var err error
		m, err = s.createInTx(tx, p, c, newUser)
		auditTarget(ctx, m.ID)
		if err != nil || c.IdempotencyKey == "" {
			return err
		}
		body, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return tx.CreateIdempotency(&core.Idempotency{UserID: p.User.ID, Key: c.IdempotencyKey,
			RequestHash: c.RequestHash, MachineID: m.ID, Response: body, Created: s.clock.Now()})
	})
	if err != nil {
		return core.Machine{}, err
	}
	s.wake()
	return m, nil
}

func (s *Service) createInTx(tx store.Tx, p core.Principal, c CreateMachine, newUser *core.User) (core.Machine, error) {
	now := s.clock.Now()
	tmpl, err := tx.GetTemplate(c.TemplateID)
	if core.IsNotFound(err) || (err == nil && !tmpl.Public() && *tmpl.TeamID != p.Team.ID) {
		return core.Machine{}, invalid("templateId not found")
	}
	if err != nil {
		return core.Machine{}, err
	}
	if s.cfg.TemplateCheck != nil {
		if err := s.cfg.TemplateCheck(tmpl); err != nil {
			return core.Machine{}, invalid("%s", err.Error())
		}
	}
	if tmpl.Region != nil && *tmpl.Region != c.Region {
		return core.Machine{}, invalid("template %s is only available in %s", tmpl.ID, *tmpl.Region)
	}
	mt, _ := s.cfg.Catalog.Type(c.MachineType)
	if !mt.AllowedOn(tmpl.OSFamily) {
		if tmpl.OSFamily == core.OSWindows {
			return core.Machine{}, invalid("Windows templates cannot be used with machine type %s (C1-C10 are Linux only)", c.MachineType)
		}
		return core.Machine{}, invalid("Linux templates cannot be used with machine type %s (Air, Standard, Pro and Advanced are Windows only)", c.MachineType)
	}
	if c.TeamID != nil && *c.TeamID != p.Team.ID {
		return core.Machine{}, invalid("teamId %s is not your team", *c.TeamID)
	}
	m := core.Machine{ID: core.NewID(core.PrefixMachine, 7), Name: c.Name, TeamID: p.Team.ID, UserID: p.User.ID,
		Region: c.Region, MachineType: c.MachineType, BillingType: c.BillingType, TemplateID: tmpl.ID,
		SizeGB: c.Size, CPUs: 1, AgentType: tmpl.AgentType, ShutdownTimeoutForces: c.ShutdownTimeoutForces,
		PerformAutoSnapshot: c.PerformAutoSnapshot, AutoSnapshotFrequency: c.AutoSnapshotFrequency,
		AutoSnapshotSaveCount: c.AutoSnapshotSaveCount, DynamicPublicIP: c.DynamicPublicIP, IsManaged: c.IsManaged,
		NotificationMail: c.NotificationEmail, TakeInitialSnapshot: c.TakeInitialSnapshot,
		RestorePointFrequency: c.RestorePointFrequency, MarkRestorePoint: c.MarkSnapshotAsRestorePoint, Created: now}
	m.ShutdownTimeoutInHours = c.ShutdownTimeoutInHours
	if !c.ShutdownTimeoutSet {
		m.ShutdownTimeoutInHours = ptr(s.cfg.DefaultShutdownHours)
	}
	if c.UserID != nil {
		u, err := tx.GetUser(*c.UserID)
		if core.IsNotFound(err) || (err == nil && u.TeamID != p.Team.ID) {
			return core.Machine{}, invalid("userId %s not found in your team", *c.UserID)
		}
		if err != nil {
			return core.Machine{}, err
		}
		m.UserID = u.ID
	}
	if newUser != nil {
		newUser.Created = now
		if err := insertUser(tx, p.Team, newUser); err != nil {
			return core.Machine{}, err
		}
		m.UserID = newUser.ID
	}
	var network *core.Network
	if c.NetworkID != nil {
		n, err := s.teamNetwork(tx, p, *c.NetworkID)
		if core.IsNotFound(err) {
			return core.Machine{}, invalid("networkId %s not found", *c.NetworkID)
		}
		if err != nil {
			return core.Machine{}, err
		}
		if n.Region != c.Region {
			return core.Machine{}, invalid("network %s is in %s, not in %s", n.ID, n.Region, c.Region)
		}
		network, m.NetworkID = &n, &n.ID
	}
	if c.ScriptID != nil {
		sc, err := tx.GetScript(*c.ScriptID)
		if core.IsNotFound(err) || (err == nil && sc.TeamID != p.Team.ID) {
			return core.Machine{}, invalid("scriptId %s not found", *c.ScriptID)
		}
		if err != nil {
			return core.Machine{}, err
		}
		m.ScriptID = &sc.ID
	}
	// A new machine is one more machine and one more running one (provisioning holds a host
	// slot); its initial snapshot and, when it starts at once, its dynamic IP are reserved
	// now. A static IP is checked where it is taken (AllocatePublicIP): reusing one the team
	// kept adds nothing.
	quotas := []core.Quota{core.QuotaMachines, core.QuotaRunning}
	if c.TakeInitialSnapshot {
		quotas = append(quotas, core.QuotaSnapshots)
	}
	if c.DynamicPublicIP && c.StartOnCreate {
		quotas = append(quotas, core.QuotaPublicIPs)
	}
	if err := s.env.CheckQuota(tx, p.Team.ID, quotas...); err != nil {
		return core.Machine{}, err
	}
	if err := s.env.AcquireCapacity(tx, &m); err != nil {
		return core.Machine{}, asInvalid(err)
	}
	if err := s.env.AllocatePrivateIP(tx, &m, network); err != nil {
		return core.Machine{}, err
	}
	if c.AssignPublicIP {
		if err := s.env.AllocatePublicIP(tx, &m, false); err != nil {
			return core.Machine{}, asInvalid(err)
		}
	}
	if err := s.env.Enter(tx, &m, core.StateProvisioning); err != nil {
		return core.Machine{}, err
	}
	if _, err := s.env.NewEvent(tx, m.ID, core.EventCreate); err != nil {
		return core.Machine{}, err
	}
	if c.StartOnCreate {
		ev, err := s.env.NewEvent(tx, m.ID, core.EventStart)
		if err != nil {
			return core.Machine{}, err
		}
		m.OpEvent = ev.Handle
	}
	return m, tx.CreateMachine(&m)
}

func asInvalid(err error) error {
	if core.ErrorCode(err) == core.Unavailable {
		return invalid("%s", core.ErrorMessage(err))
	}
	return err
}

// visibleMachine returns a live machine the caller may see: team admins see the team's
// machines, members those they own or were given access to. Anything else is NotFound.
func visibleMachine(tx store.Tx, p core.Principal, id string) (core.Machine, error) {
	nf := core.Errorf(core.NotFound, "Machine %s not found", id)
	if strings.TrimSpace(id) == "" {
		return core.Machine{}, nf
	}
	m, err := tx.GetMachine(id)
	if core.IsNotFound(err) {
		return m, nf
	}
	if err != nil {
		return m, err
	}
	if m.TeamID != p.Team.ID {
		return core.Machine{}, nf
	}
	if p.User.IsAdmin() || m.UserID == p.User.ID {
		return m, nil
	}
	ok, err := tx.HasAccess(m.ID, p.User.ID)
	if err != nil {
		return m, err
	}
	if !ok {
		return core.Machine{}, nf
	}
	return m, nil
}

// MachineDetail is a machine with its latest events.
type MachineDetail struct {
	Machine core.Machine
	Events  []core.Event
}

// maxEvents is how many events show returns (node release notes 0.1.5).
const maxEvents = 10

// GetMachine returns a visible machine with its last ten events, newest first.
func (s *Service) GetMachine(ctx context.Context, p core.Principal, id string) (MachineDetail, error) {
	var gen uint64
	if s.cfg.Generations != nil {
		gen = s.cfg.Generations.Gen()
		if d, ok := s.machines.get(id, gen); ok && cachedVisible(p, d.Machine) {
			return d, nil
		}
	}
	var d MachineDetail
	err := s.read(ctx, func(tx store.Tx) error {
		var err error
		if d.Machine, err = visibleMachine(tx, p, id); err != nil {
			return err
		}
		d.Events, err = tx.ListEvents(id, maxEvents)
		return err
	})
	if err == nil && s.cfg.Generations != nil {
		s.machines.put(id, gen, d)
	}
	return d, err
}

// ListQuery is a machines list request with raw filter values (query-string text, or JSON
// scalars rendered as text; "null" matches null).
type ListQuery struct {
	Where map[string]string
	Limit int
	Skip  int
	Order string // LoopBack form: "dtCreated DESC" or "name ASC, id"
	// Search, when set, keeps the machines whose name contains it (ASCII letters without regard
	// to case) or whose id or an IP address is it (the web console's search box; not an API filter).
	Search string
}

// DefaultListLimit is the default page size of list routes.
const DefaultListLimit = 1000

// ListMachines lists the visible machines matching q (spec §2.3). Unknown filter names are
// ignored; malformed values are Invalid.
func (s *Service) ListMachines(ctx context.Context, p core.Principal, q ListQuery) ([]core.Machine, error) {
	mq := core.MachineQuery{TeamID: p.Team.ID, Limit: q.Limit, Skip: q.Skip}
	if !p.User.IsAdmin() {
		mq.VisibleTo = p.User.ID
	}
	if mq.Limit <= 0 {
		mq.Limit = DefaultListLimit
	}
	keys := make([]string, 0, len(q.Where))
	for k := range q.Where {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field := k
		if k == "machineId" {
			field = "id"
		}
		kind, ok := core.MachineFields[field]
		if !ok {
			continue
		}
		v, err := ParseFilterValue(kind, q.Where[k])
		if err != nil {
			return nil, invalid("Invalid value %q for filter %s", q.Where[k], k)
		}
		mq.Where = append(mq.Where, core.Filter{Field: field, Value: v})
	}
	order, err := ParseOrder(q.Order, func(f string) bool { _, ok := core.MachineFields[f]; return ok })
	if err != nil {
		return nil, err
	}
	mq.Order = order
	var out []core.Machine
	return out, s.read(ctx, func(tx store.Tx) (err error) {
		if mq.Where, err = networkHandles(tx, p, mq.Where); err != nil {
			return err
		}
		if strings.TrimSpace(q.Search) != "" {
			out, err = searchMachines(tx, mq, q.Search)
			return err
		}
		out, err = tx.ListMachines(mq)
		return err
	})
}

// networkHandles rewrites a networkId filter given as the network's numeric id (what
// paperspace-go's CreateNetwork returns) to the network's handle, which machines record. A
// number that names no network of the caller's team is left as it is: it matches nothing.
func networkHandles(tx store.Tx, p core.Principal, where []core.Filter) ([]core.Filter, error) {
	for i, f := range where {
		if f.Field != "networkId" || f.Value.Null {
			continue
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(f.Value.Str), 10, 64); err != nil {
			continue
		}
		n, err := lookupNetwork(tx, f.Value.Str)
		switch {
		case core.IsNotFound(err):
			continue
		case err != nil:
			return nil, err
		}
		if n.TeamID == p.Team.ID {
			where = slices.Clone(where)
			where[i].Value.Str = n.ID
		}
	}
	return where, nil
}

// Power applies start, stop or restart to a machine (spec §2.6–2.8, §3.2).
func (s *Service) Power(ctx context.Context, p core.Principal, id string, action core.Action) error {
	changed := false
	err := s.write(ctx, func(tx store.Tx) error {
		m, err := visibleMachine(tx, p, id)
		if err != nil {
			return err
		}
		if err := hostReachable(tx, m); err != nil {
			return err
		}
		moved, err := s.env.Apply(tx, &m, action)
		if err != nil || !moved {
			return asInvalid(err)
		}
		changed = true
		return tx.UpdateMachine(&m)
	})
	if changed {
		s.wake()
	}
	return err
}

// hostReachable refuses to power a machine whose host's agent is unreachable (core.Unavailable):
// the call could not reach the machine, and its state is only the last one known.
func hostReachable(tx store.Tx, m core.Machine) error {
	if m.HostID == "" {
		return nil
	}
	h, err := tx.GetHost(m.HostID)
	if core.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if h.Agent.Unreachable {
		return core.Errorf(core.Unavailable, "The host of machine %s is unreachable; its state %s is the last one known. Try again when the host is back.", m.ID, m.State)
	}
	return nil
}

// DestroyMachine destroys a machine at once (spec §2.9). Its static public IP stays reserved
// to the team unless releasePublicIP.
func (s *Service) DestroyMachine(ctx context.Context, p core.Principal, id string, releasePublicIP bool) error {
	var m core.Machine
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if m, err = visibleMachine(tx, p, id); err != nil {
			return err
		}
		if !p.User.IsAdmin() {
			return forbidden("Only the team administrator can destroy machines")
		}
		if err := s.env.FinishEvent(tx, m.OpEvent, core.EventCancelled, "machine destroyed"); err != nil {
			return err
		}
		ev, err := s.env.NewEvent(tx, m.ID, core.EventDeactivate)
		if err != nil {
			return err
		}
		if err := s.env.FinishEvent(tx, ev.Handle, core.EventDone, ""); err != nil {
			return err
		}
		if err := s.env.ReleaseCapacity(tx, &m); err != nil {
			return err
		}
		if err := s.env.ReleasePublicIP(tx, &m, !releasePublicIP); err != nil {
			return err
		}
		if err := s.env.EndUsage(tx, &m); err != nil {
			return err
		}
		return tx.DeleteMachine(m.ID, s.clock.Now())
	})
	if err == nil && s.cfg.Engine != nil {
		s.cfg.Engine.Destroyed(m)
	}
	return err
}

// UpdateMachine is an update request (spec §2.10); nil fields are left as they are, and the
// *Set flags say a nullable field was sent (possibly as null).
type UpdateMachine struct {
	Name                   *string
	ShutdownTimeoutSet     bool
	ShutdownTimeoutInHours *int
	ShutdownTimeoutForces  *bool
	PerformAutoSnapshot    *bool
	AutoSnapshotFrequency  *string
	AutoSnapshotFreqSet    bool
	AutoSnapshotSaveCount  *int
	AutoSnapshotCountSet   bool
	DynamicPublicIP        *bool
	AssignPublicIP         *bool
}

// UpdateMachine changes a machine's settings (owner or team admin).
func (s *Service) UpdateMachine(ctx context.Context, p core.Principal, id string, u UpdateMachine) (core.Machine, error) {
	if u.DynamicPublicIP != nil && u.AssignPublicIP != nil && *u.DynamicPublicIP && *u.AssignPublicIP {
		return core.Machine{}, invalid("assignPublicIp and dynamicPublicIp cannot both be true")
	}
	if u.Name != nil && strings.TrimSpace(*u.Name) == "" {
		return core.Machine{}, invalid("machineName cannot be empty")
	}
	if u.Name != nil {
		if err := core.CheckName("machineName", *u.Name); err != nil {
			return core.Machine{}, err
		}
	}
	if err := validateTimers(u.ShutdownTimeoutInHours, u.AutoSnapshotFrequency, u.AutoSnapshotSaveCount); err != nil {
		return core.Machine{}, err
	}
	var m core.Machine
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if m, err = visibleMachine(tx, p, id); err != nil {
			return err
		}
		if !p.User.IsAdmin() && m.UserID != p.User.ID {
			return forbidden("Only the machine's owner or the team administrator can update it")
		}
		before := m
		applyUpdate(&m, u)
		s.rearmTimers(&m, before)
		if err := s.updateIPs(tx, &m, u); err != nil {
			return err
		}
		return tx.UpdateMachine(&m)
	})
	if err == nil {
		s.wake()
	}
	return m, err
}

// rearmTimers re-arms the timers an update changed: a new shutdownTimeoutInHours or
// shutdownTimeoutForces restarts the auto-shutdown countdown from now (if the machine is
// ready; 0 or null disarms it), and a new performAutoSnapshot or autoSnapshotFrequency
// schedules the next automatic snapshot one period from now (once provisioning is over).
func (s *Service) rearmTimers(m *core.Machine, before core.Machine) {
	now := s.clock.Now()
	if !eqPtr(m.ShutdownTimeoutInHours, before.ShutdownTimeoutInHours) || m.ShutdownTimeoutForces != before.ShutdownTimeoutForces {
		if m.State == core.StateReady {
			lifecycle.ArmShutdown(m, now)
		}
	}
	if m.PerformAutoSnapshot != before.PerformAutoSnapshot || !eqPtr(m.AutoSnapshotFrequency, before.AutoSnapshotFrequency) {
		if m.State != core.StateProvisioning {
			lifecycle.ArmAutoSnapshot(m, now)
		}
	}
	lifecycle.Reschedule(m)
}

func eqPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func applyUpdate(m *core.Machine, u UpdateMachine) {
	if u.Name != nil {
		m.Name = *u.Name
	}
	if u.ShutdownTimeoutSet {
		m.ShutdownTimeoutInHours = u.ShutdownTimeoutInHours
	}
	if u.ShutdownTimeoutForces != nil {
		m.ShutdownTimeoutForces = *u.ShutdownTimeoutForces
	}
	if u.PerformAutoSnapshot != nil {
		m.PerformAutoSnapshot = *u.PerformAutoSnapshot
	}
	if u.AutoSnapshotFreqSet {
		m.AutoSnapshotFrequency = u.AutoSnapshotFrequency
	}
	if u.AutoSnapshotCountSet {
		m.AutoSnapshotSaveCount = u.AutoSnapshotSaveCount
	}
}

// updateIPs applies the public-IP side effects of an update (spec §2.10 REC).
func (s *Service) updateIPs(tx store.Tx, m *core.Machine, u UpdateMachine) error {
	if u.AssignPublicIP != nil && *u.AssignPublicIP {
		if m.DynamicPublicIP {
			if err := s.env.ReleasePublicIP(tx, m, false); err != nil {
				return err
			}
			m.DynamicPublicIP = false
		}
		return asInvalid(s.env.AllocatePublicIP(tx, m, false))
	}
	if u.DynamicPublicIP == nil || *u.DynamicPublicIP == m.DynamicPublicIP {
		return nil
	}
	if *u.DynamicPublicIP {
		if err := s.env.ReleasePublicIP(tx, m, true); err != nil { // static IP back to the team
			return err
		}
		m.DynamicPublicIP = true
		if m.State.PoweredOn() && m.State != core.StateStopping {
			return asInvalid(s.env.AllocatePublicIP(tx, m, true))
		}
		return nil
	}
	m.DynamicPublicIP = false
	return s.env.ReleasePublicIP(tx, m, false)
}

// Availability reports whether a machine type can be placed in a region now (spec §2.12).
func (s *Service) Availability(ctx context.Context, region, machineType string) (bool, error) {
	if strings.TrimSpace(region) == "" || strings.TrimSpace(machineType) == "" {
		return false, invalid("region and machineType are required")
	}
	r, ok := s.cfg.Catalog.Region(region)
	if !ok {
		return false, invalid("Invalid region %q. Valid regions: %s", region, regionNames(s.cfg.Catalog))
	}
	if _, ok := s.cfg.Catalog.Type(machineType); !ok {
		return false, invalid("Invalid machineType %q", machineType)
	}
	var avail bool
	err := s.read(ctx, func(tx store.Tx) error {
		hosts, err := tx.ListHosts(r.Name)
		avail = scheduler.Available(machineType, r.Name, hosts)
		return err
	})
	return avail, err
}

// SetAccess grants or revokes a team user's access to a machine (team admin, spec §2.14).
func (s *Service) SetAccess(ctx context.Context, p core.Principal, id, userID string, enable bool) (core.Machine, error) {
	var m core.Machine
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if m, err = visibleMachine(tx, p, id); err != nil {
			return err
		}
		if !p.User.IsAdmin() {
			return forbidden("Only the team administrator can set machine access")
		}
		if strings.TrimSpace(userID) == "" {
			return invalid("userId is required")
		}
		u, err := tx.GetUser(userID)
		if core.IsNotFound(err) || (err == nil && u.TeamID != m.TeamID) {
			return invalid("userId %s not found in your team", userID)
		}
		if err != nil {
			return err
		}
		return tx.SetAccess(m.ID, u.ID, enable)
	})
	return m, err
}

package httpapi

import (
	"net/http"
	"strings"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/service"
)

// strs reads string parameters into the pointers given, stopping at the first type error.
func (p *params) strs(targets map[string]*string) error {
	for name, dst := range targets {
		s, _, err := p.str(name)
		if err != nil {
			return err
		}
		*dst = s
	}
	return nil
}

// first returns the value of the first of names that was sent (documented spelling first).
func (p *params) firstBool(names ...string) (bool, error) {
	for _, n := range names {
		if b, err := p.boolean(n); err != nil || b != nil {
			return b != nil && *b, err
		}
	}
	return false, nil
}

func (s *Server) createMachine(c *call) (reply, error) {
	p := c.p
	var cm service.CreateMachine
	if err := p.strs(map[string]*string{"region": &cm.Region, "machineType": &cm.MachineType,
		"billingType": &cm.BillingType, "templateId": &cm.TemplateID}); err != nil {
		return reply{}, err
	}
	// spec §1.3 MAY: a raw "+" in a hand-written query decodes to a space.
	if cm.MachineType == "GPU " {
		cm.MachineType = "GPU+"
	}
	name, _, err := p.str("machineName")
	if err != nil {
		return reply{}, err
	}
	if name == "" { // paperspace-go sends name
		if name, _, err = p.str("name"); err != nil {
			return reply{}, err
		}
	}
	cm.Name = name
	size, _, err := p.integer("size")
	if err != nil {
		return reply{}, err
	}
	if size != nil {
		if *size == 0 {
			return reply{}, core.Errorf(core.Invalid, "Invalid size 0")
		}
		cm.Size = *size
	}
	if cm.AssignPublicIP, err = p.firstBool("assignPublicIp", "assignPublicIP"); err != nil {
		return reply{}, err
	}
	bools := []struct {
		name string
		dst  *bool
		def  bool
	}{
		{"dynamicPublicIp", &cm.DynamicPublicIP, false}, {"startOnCreate", &cm.StartOnCreate, true},
		{"takeInitialSnapshot", &cm.TakeInitialSnapshot, false},
		{"markSnapshotAsRestorePoint", &cm.MarkSnapshotAsRestorePoint, false},
		{"shutdownTimeoutForces", &cm.ShutdownTimeoutForces, false}, {"isManaged", &cm.IsManaged, false},
		{"performAutoSnapshot", &cm.PerformAutoSnapshot, false}, {"enableNvlink", new(bool), false},
	}
	for _, b := range bools {
		if *b.dst, err = p.boolOr(b.name, b.def); err != nil {
			return reply{}, err
		}
	}
	opt := []struct {
		name string
		dst  **string
	}{
		{"networkId", &cm.NetworkID}, {"teamId", &cm.TeamID}, {"userId", &cm.UserID}, {"email", &cm.Email},
		{"password", &cm.Password}, {"firstName", &cm.FirstName}, {"lastName", &cm.LastName},
		{"notificationEmail", &cm.NotificationEmail}, {"scriptId", &cm.ScriptID},
		{"restorePointFrequency", &cm.RestorePointFrequency}, {"autoSnapshotFrequency", &cm.AutoSnapshotFrequency},
	}
	for _, o := range opt {
		if *o.dst, err = p.optStr(o.name); err != nil {
			return reply{}, err
		}
	}
	if cm.ShutdownTimeoutInHours, cm.ShutdownTimeoutSet, err = p.integer("shutdownTimeoutInHours"); err != nil {
		return reply{}, err
	}
	if cm.AutoSnapshotSaveCount, _, err = p.integer("autoSnapshotSaveCount"); err != nil {
		return reply{}, err
	}
	if key := strings.TrimSpace(c.r.Header.Get("Idempotency-Key")); key != "" {
		if len(key) > 255 {
			return reply{}, core.Errorf(core.Invalid, "Idempotency-Key must be at most 255 characters")
		}
		cm.IdempotencyKey, cm.RequestHash = key, p.hash()
	}
	m, err := s.svc.CreateMachine(c.ctx(), c.pr, cm)
	if err != nil {
		return reply{}, err
	}
	return ok(toMachine(m))
}

// machineID reads the required machineId (path, body or query).
func (p *params) machineID() (string, error) {
	id, _, err := p.str("machineId")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(id) == "" {
		return "", core.Errorf(core.Invalid, "machineId is required")
	}
	return strings.TrimSpace(id), nil
}

func (s *Server) getMachine(c *call) (reply, error) {
	id, err := c.p.machineID()
	if err != nil {
		return reply{}, err
	}
	d, err := s.svc.GetMachine(c.ctx(), c.pr, id)
	if err != nil {
		return reply{}, err
	}
	return ok(toMachineWithEvents(d.Machine, d.Events))
}

func (s *Server) listMachines(c *call) (reply, error) {
	a, err := c.p.list()
	if err != nil {
		return reply{}, err
	}
	if a.limit <= 0 {
		a.limit = service.DefaultListLimit
	}
	a.limit = min(a.limit, s.cfg.MaxListLimit)
	ms, err := s.svc.ListMachines(c.ctx(), c.pr, service.ListQuery{Where: a.where, Limit: a.limit, Skip: a.skip, Order: a.order})
	if err != nil {
		return reply{}, err
	}
	return ok(toMachines(ms))
}

func (s *Server) power(action core.Action) handlerFunc {
	return func(c *call) (reply, error) {
		c.succeedsWith(http.StatusNoContent)
		id, err := c.p.machineID()
		if err != nil {
			return reply{}, err
		}
		if err := s.svc.Power(c.ctx(), c.pr, id, action); err != nil {
			return reply{}, err
		}
		return noContent()
	}
}

func (s *Server) destroyMachine(c *call) (reply, error) {
	c.succeedsWith(http.StatusNoContent)
	id, err := c.p.machineID()
	if err != nil {
		return reply{}, err
	}
	release, err := c.p.boolOr("releasePublicIp", false)
	if err != nil {
		return reply{}, err
	}
	if err := s.svc.DestroyMachine(c.ctx(), c.pr, id, release); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (p *params) update() (service.UpdateMachine, error) {
	var u service.UpdateMachine
	var err error
	if u.Name, err = p.optStr("machineName"); err != nil {
		return u, err
	}
	if u.Name == nil {
		if u.Name, err = p.optStr("name"); err != nil {
			return u, err
		}
	}
	if u.ShutdownTimeoutInHours, u.ShutdownTimeoutSet, err = p.integer("shutdownTimeoutInHours"); err != nil {
		return u, err
	}
	if u.AutoSnapshotSaveCount, u.AutoSnapshotCountSet, err = p.integer("autoSnapshotSaveCount"); err != nil {
		return u, err
	}
	u.AutoSnapshotFreqSet = p.has("autoSnapshotFrequency")
	if u.AutoSnapshotFrequency, err = p.optStr("autoSnapshotFrequency"); err != nil {
		return u, err
	}
	for name, dst := range map[string]**bool{"shutdownTimeoutForces": &u.ShutdownTimeoutForces,
		"performAutoSnapshot": &u.PerformAutoSnapshot, "dynamicPublicIp": &u.DynamicPublicIP} {
		if *dst, err = p.boolean(name); err != nil {
			return u, err
		}
	}
	if u.AssignPublicIP, err = p.boolean("assignPublicIp"); err != nil {
		return u, err
	}
	if u.AssignPublicIP == nil {
		u.AssignPublicIP, err = p.boolean("assignPublicIP")
	}
	return u, err
}

// updateMachine serves both update routes: updateMachinePublic answers 204, paperspace-go's
// updateMachine 200 with the machine (spec §2.10, §2.11).
func (s *Server) updateMachine(withBody bool) handlerFunc {
	return func(c *call) (reply, error) {
		if !withBody {
			c.succeedsWith(http.StatusNoContent)
		}
		id, err := c.p.machineID()
		if err != nil {
			return reply{}, err
		}
		u, err := c.p.update()
		if err != nil {
			return reply{}, err
		}
		m, err := s.svc.UpdateMachine(c.ctx(), c.pr, id, u)
		if err != nil {
			return reply{}, err
		}
		if !withBody {
			return noContent()
		}
		return ok(toMachine(m))
	}
}

func (s *Server) availability(c *call) (reply, error) {
	var region, mt string
	if err := c.p.strs(map[string]*string{"region": &region, "machineType": &mt}); err != nil {
		return reply{}, err
	}
	if mt == "GPU " {
		mt = "GPU+"
	}
	avail, err := s.svc.Availability(c.ctx(), region, mt)
	if err != nil {
		return reply{}, err
	}
	return ok(api.Availability{Available: avail})
}

func (s *Server) utilization(c *call) (reply, error) {
	var id, month string
	if err := c.p.strs(map[string]*string{"machineId": &id, "billingMonth": &month}); err != nil {
		return reply{}, err
	}
	u, err := s.svc.GetUtilization(c.ctx(), c.pr, id, month)
	if err != nil {
		return reply{}, err
	}
	bm := u.Month.String()
	return ok(api.Utilization{MachineID: u.MachineID,
		Utilization: api.MachineUtilization{MachineID: u.MachineID, SecondsUsed: u.Usage.Machine.Seconds(),
			HourlyRate: u.HourlyRate, BillingMonth: bm},
		StorageUtilization: api.StorageUtilization{MachineID: u.MachineID, SecondsUsed: u.Usage.Storage.Seconds(),
			MonthlyRate: u.StorageRate, BillingMonth: bm}})
}

func (s *Server) setAccess(c *call) (reply, error) {
	id, err := c.p.machineID()
	if err != nil {
		return reply{}, err
	}
	userID, _, err := c.p.str("userId")
	if err != nil {
		return reply{}, err
	}
	enable, err := c.p.boolOr("enableAccess", true)
	if err != nil {
		return reply{}, err
	}
	m, err := s.svc.SetAccess(c.ctx(), c.pr, id, strings.TrimSpace(userID), enable)
	if err != nil {
		return reply{}, err
	}
	return ok(toMachine(m))
}

func (s *Server) paperspaceRoutes() []Route {
	r := func(method, pattern string, auth Auth, h handlerFunc) Route {
		return Route{Method: method, Pattern: pattern, Auth: auth, handler: h}
	}
	get, post := http.MethodGet, http.MethodPost
	routes := []Route{
		r(post, "/machines/createSingleMachinePublic", AuthUser, s.createMachine),
		r(get, "/machines/getMachines", AuthUser, s.listMachines),
		r(get, "/machines/getMachinePublic", AuthUser, s.getMachine),
		r(post, "/machines/{machineId}/start", AuthUser, s.power(core.ActionStart)),
		r(post, "/machines/{machineId}/stop", AuthUser, s.power(core.ActionStop)),
		r(post, "/machines/{machineId}/restart", AuthUser, s.power(core.ActionRestart)),
		r(post, "/machines/{machineId}/destroyMachine", AuthUser, s.destroyMachine),
		r(post, "/machines/{machineId}/updateMachinePublic", AuthUser, s.updateMachine(false)),
		r(post, "/machines/updateMachine", AuthUser, s.updateMachine(true)),
		r(get, "/machines/getAvailability", AuthUser, s.availability),
		r(get, "/machines/getUtilization", AuthUser, s.utilization),
		r(get, "/users/getUsers", AuthUser, s.listUsers),
		r(get, "/templates/getTemplates", AuthUser, s.listTemplates),
		r(get, "/networks/getNetworks", AuthUser, s.listNetworks),
		r(post, "/teams/{teamId}/createPrivateNetwork", AuthUser, s.createTeamNetwork),
		r(get, "/teams/{teamId}/getNetworks", AuthUser, s.teamNetworks),
		r(get, "/networks", AuthUser, s.goListNetworks),
		r(post, "/networks", AuthUser, s.goCreateNetwork),
		r(http.MethodDelete, "/networks/{id}", AuthUser, s.goDeleteNetwork),
		r(post, "/scripts/createScript", AuthUser, s.createScript),
		r(post, "/scripts/{scriptId}/destroy", AuthUser, s.destroyScript),
		r(get, "/scripts/getScripts", AuthUser, s.listScripts),
		r(get, "/scripts/getScript", AuthUser, s.getScript),
		r(get, "/scripts/getScriptText", AuthUser, s.getScriptText),
		r(post, "/users/login", AuthNone, s.login),
		r(post, "/users/logout", AuthUser, s.logout),
		r(post, "/apiTokens/createPublic", AuthUser, s.createAPIToken),
		r(post, "/apiToken/createPublic", AuthUser, s.createAPIToken),
	}
	for _, path := range []string{"/machines/{machineId}/setMachineAccess", "/machines/{machineId}/setMachineAccessPublic"} {
		routes = append(routes, r(get, path, AuthUser, s.setAccess), r(post, path, AuthUser, s.setAccess))
	}
	return routes
}

package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/service"
)

// decode fills dst (an operator request struct) from the JSON body parameters.
func (p *params) decode(dst any) error {
	m := map[string]any{}
	for k, pm := range p.vals {
		if pm.src == fromJSON {
			m[k] = pm.v
		}
	}
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return core.Errorf(core.Invalid, "%s has the wrong type", te.Field)
		}
		return core.Errorf(core.Invalid, "invalid request body")
	}
	return nil
}

func (p *params) query(name string) string {
	if pm, ok := p.vals[name]; ok && pm.src == fromQuery {
		s, _ := pm.v.(string)
		return s
	}
	return ""
}

func (p *params) pathID(name string) string {
	s, _ := p.vals[name].v.(string)
	return s
}

func toTeam(t core.Team) api.Team {
	return api.Team{ID: t.ID, Num: t.Num, Name: t.Name, Individual: t.Individual, DtCreated: fmtTime(t.Created)}
}

func toOpUser(u core.User) api.User {
	return api.User{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, TeamID: u.TeamID,
		Role: string(u.Role), Disabled: u.Disabled, DtCreated: fmtTime(u.Created)}
}

func toKey(k core.APIKey) api.APIKey {
	return api.APIKey{ID: k.ID, UserID: k.UserID, Name: k.Name, Kind: string(k.Kind), Prefix: k.Prefix,
		DtCreated: fmtTime(k.Created), LastUsed: fmtTimePtr(k.LastUsed), Revoked: fmtTimePtr(k.Revoked),
		Expires: fmtTimePtr(k.Expires)}
}

func toOpTemplate(t core.Template) api.Template {
	return api.Template{ID: t.ID, Name: t.Name, Label: t.Label, OS: t.OS, OSFamily: t.OSFamily, AgentType: t.AgentType,
		TeamID: t.TeamID, Region: t.Region, Image: t.Image, Kernel: t.Kernel, Initrd: t.Initrd, DtCreated: fmtTime(t.Created)}
}

func toOpNetwork(n core.Network) api.Network {
	addr, mask := networkAddr(n.CIDR)
	return api.Network{ID: n.ID, Num: n.Num, Name: n.Name, TeamID: n.TeamID, Region: n.Region, CIDR: n.CIDR,
		Network: addr, Netmask: mask, VLANID: n.VLAN, DtCreated: fmtTime(n.Created)}
}

func toHost(h core.HostLoad) api.Host {
	used := map[string]int{}
	for k, v := range h.Used {
		if v != 0 {
			used[k] = v
		}
	}
	capacity := h.Capacity
	if capacity == nil {
		capacity = map[string]int{}
	}
	out := api.Host{ID: h.ID, Name: h.Name, Region: h.Region, Available: h.Available, Capacity: capacity,
		Used: used, DtCreated: fmtTime(h.Created), State: string(h.State())}
	if h.Remote() {
		out.Driver = h.Agent.Driver
		out.Agent = &api.HostAgent{Version: h.Agent.Version, LastSeen: fmtTimePtr(h.Agent.LastSeen)}
		if h.Agent.Driver == "qemu" {
			out.Hypervisor = &api.HostHypervisor{Driver: h.Agent.Driver, Accelerator: h.Agent.Accelerator, GPUs: h.Agent.GPUs}
		}
	}
	return out
}

// toHost renders a host with what its driver says about it.
func (s *Server) toHost(h core.HostLoad) api.Host {
	out := toHost(h)
	if out.Driver == "" {
		out.Driver = s.cfg.Driver
	}
	if s.cfg.HostInfo != nil && !h.Remote() {
		if hv, ok := s.cfg.HostInfo.Hypervisor(h.Name); ok {
			out.Hypervisor = &hv
		}
	}
	return out
}

func mapAll[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func (s *Server) opListTeams(c *call) (reply, error) {
	ts, err := s.svc.ListTeams(c.ctx(), c.pr)
	return okList(mapAll(ts, toTeam), err)
}

func okList[T any](v []T, err error) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	return ok(v)
}

func (s *Server) opCreateTeam(c *call) (reply, error) {
	var req api.CreateTeamRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	t, err := s.svc.CreateTeam(c.ctx(), c.pr, req.Name, req.Individual)
	if err != nil {
		return reply{}, err
	}
	return ok(toTeam(t))
}

func toTeamDetail(d service.TeamDetail) api.TeamDetail {
	out := api.TeamDetail{Team: toTeam(d.Team), Quotas: make([]api.TeamQuota, 0, len(d.Quotas))}
	for _, q := range d.Quotas {
		src := "default"
		if q.Override {
			src = "team"
		}
		out.Quotas = append(out.Quotas, api.TeamQuota{Name: string(q.Quota), Limit: q.Limit, Source: src, Used: q.Used})
	}
	return out
}

func (s *Server) opShowTeam(c *call) (reply, error) {
	d, err := s.svc.GetTeam(c.ctx(), c.pr, c.p.pathID("id"))
	if err != nil {
		return reply{}, err
	}
	return ok(toTeamDetail(d))
}

func (s *Server) opUpdateTeam(c *call) (reply, error) {
	var req api.UpdateTeamRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	set := make(map[core.Quota]*int, len(req.Quotas))
	for name, n := range req.Quotas {
		set[core.Quota(name)] = n
	}
	d, err := s.svc.UpdateTeamQuotas(c.ctx(), c.pr, c.p.pathID("id"), set)
	if err != nil {
		return reply{}, err
	}
	c.setTarget(d.Team.ID)
	return ok(toTeamDetail(d))
}

func toPublicIP(ip core.PublicIP) api.PublicIP {
	out := api.PublicIP{Address: ip.Address, MachineID: ip.MachineID, Dynamic: ip.Dynamic}
	if ip.TeamID != nil {
		out.TeamID = *ip.TeamID
	}
	return out
}

func (s *Server) opListPublicIPs(c *call) (reply, error) {
	ips, err := s.svc.ListPublicIPs(c.ctx(), c.pr, c.p.query("team"))
	return okList(mapAll(ips, toPublicIP), err)
}

func (s *Server) opReleasePublicIP(c *call) (reply, error) {
	ip, err := s.svc.ReleasePublicIP(c.ctx(), c.pr, c.p.pathID("address"))
	if err != nil {
		return reply{}, err
	}
	return ok(toPublicIP(ip))
}

func (s *Server) opListUsers(c *call) (reply, error) {
	us, err := s.svc.AdminListUsers(c.ctx(), c.pr, c.p.query("team"))
	return okList(mapAll(us, toOpUser), err)
}

func (s *Server) opCreateUser(c *call) (reply, error) {
	var req api.CreateUserRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	u, err := s.svc.CreateUser(c.ctx(), c.pr, service.NewUser{Team: req.Team, Email: req.Email, Password: req.Password,
		FirstName: req.FirstName, LastName: req.LastName, Admin: req.Admin})
	if err != nil {
		return reply{}, err
	}
	return ok(toOpUser(u))
}

func (s *Server) opUpdateUser(c *call) (reply, error) {
	var req api.UpdateUserRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	u, err := s.svc.UpdateUser(c.ctx(), c.pr, c.p.pathID("id"), service.UserUpdate{Disabled: req.Disabled, Password: req.Password})
	if err != nil {
		return reply{}, err
	}
	c.setTarget(u.ID)
	return ok(toOpUser(u))
}

func (s *Server) opListKeys(c *call) (reply, error) {
	ks, err := s.svc.ListKeys(c.ctx(), c.pr, c.p.query("user"))
	return okList(mapAll(ks, toKey), err)
}

func (s *Server) opCreateKey(c *call) (reply, error) {
	var req api.CreateKeyRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	nk, err := s.svc.CreateKey(c.ctx(), c.pr, strings.TrimSpace(req.User), req.Name)
	if err != nil {
		return reply{}, err
	}
	out := toKey(nk.Key)
	out.Key = nk.Secret
	return ok(out)
}

func (s *Server) opRevokeKey(c *call) (reply, error) {
	k, err := s.svc.RevokeKey(c.ctx(), c.pr, c.p.pathID("id"))
	if err != nil {
		return reply{}, err
	}
	return ok(toKey(k))
}

func toSSHKey(k core.SSHKey) api.SSHKey {
	return api.SSHKey{ID: k.ID, UserID: k.UserID, PublicKey: k.PublicKey, Fingerprint: k.Fingerprint, DtCreated: fmtTime(k.Created)}
}

func (s *Server) opListSSHKeys(c *call) (reply, error) {
	ks, err := s.svc.ListSSHKeys(c.ctx(), c.pr, c.p.pathID("id"))
	return okList(mapAll(ks, toSSHKey), err)
}

func (s *Server) opAddSSHKey(c *call) (reply, error) {
	var req api.AddSSHKeyRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	k, err := s.svc.AddSSHKey(c.ctx(), c.pr, c.p.pathID("id"), req.PublicKey)
	if err != nil {
		return reply{}, err
	}
	return ok(toSSHKey(k))
}

func (s *Server) opRemoveSSHKey(c *call) (reply, error) {
	c.succeedsWith(http.StatusNoContent)
	if err := s.svc.RemoveSSHKey(c.ctx(), c.pr, c.p.pathID("id"), c.p.pathID("keyId")); err != nil {
		return reply{}, err
	}
	return noContent()
}

func toAudit(e core.AuditEntry) api.AuditEntry {
	return api.AuditEntry{Seq: e.Seq, DtCreated: fmtTime(e.Time), RequestID: e.RequestID, UserID: e.UserID,
		Role: string(e.Role), TeamID: e.TeamID, Action: e.Action, Target: e.Target, Status: e.Status,
		Error: string(e.Error), ClientAddr: e.ClientAddr}
}

// opListAudit serves GET /hangar/v1/audit?team=&user=&action=&since=&until=&limit=.
func (s *Server) opListAudit(c *call) (reply, error) {
	f := service.AuditFilter{Team: c.p.query("team"), User: c.p.query("user"), Action: c.p.query("action")}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := strings.TrimSpace(c.p.query(name)); v != "" {
			t, err := core.ParseTime(v)
			if err != nil {
				return reply{}, core.Errorf(core.Invalid, "%s must be an RFC 3339 date such as 2026-11-27T10:00:00Z", name)
			}
			*dst = t
		}
	}
	if v := strings.TrimSpace(c.p.query("limit")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return reply{}, core.Errorf(core.Invalid, "limit must be a positive integer")
		}
		f.Limit = n
	}
	es, err := s.svc.ListAudit(c.ctx(), c.pr, f)
	return okList(mapAll(es, toAudit), err)
}

func (s *Server) opListTemplates(c *call) (reply, error) {
	ts, err := s.svc.AdminListTemplates(c.ctx(), c.pr, c.p.query("team"))
	return okList(mapAll(ts, toOpTemplate), err)
}

func (s *Server) opCreateTemplate(c *call) (reply, error) {
	var req api.CreateTemplateRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	t, err := s.svc.CreateTemplate(c.ctx(), c.pr, service.NewTemplate{Name: req.Name, Label: req.Label, OS: req.OS,
		AgentType: req.AgentType, Region: req.Region, Team: req.Team, Image: req.Image, Kernel: req.Kernel, Initrd: req.Initrd})
	if err != nil {
		return reply{}, err
	}
	return ok(toOpTemplate(t))
}

func (s *Server) opDeleteTemplate(c *call) (reply, error) {
	c.succeedsWith(http.StatusNoContent)
	if err := s.svc.DeleteTemplate(c.ctx(), c.pr, c.p.pathID("id")); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (s *Server) opListNetworks(c *call) (reply, error) {
	ns, err := s.svc.AdminListNetworks(c.ctx(), c.pr, c.p.query("team"))
	return okList(mapAll(ns, toOpNetwork), err)
}

func (s *Server) opCreateNetwork(c *call) (reply, error) {
	var req api.CreateNetworkRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	n, err := s.svc.CreateNetwork(c.ctx(), c.pr, service.NewNetwork{Team: req.Team, Name: req.Name, Region: req.Region, CIDR: req.CIDR})
	if err != nil {
		return reply{}, err
	}
	return ok(toOpNetwork(n))
}

func (s *Server) opDeleteNetwork(c *call) (reply, error) {
	c.succeedsWith(http.StatusNoContent)
	if err := s.svc.DeleteNetwork(c.ctx(), c.pr, c.p.pathID("id")); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (s *Server) opListHosts(c *call) (reply, error) {
	hs, err := s.svc.ListHosts(c.ctx(), c.pr, c.p.query("region"))
	return okList(mapAll(hs, s.toHost), err)
}

func (s *Server) opCreateHost(c *call) (reply, error) {
	var req api.CreateHostRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	h, err := s.svc.CreateHost(c.ctx(), c.pr, service.HostSpec{Name: &req.Name, Region: &req.Region,
		Capacity: req.Capacity, Available: req.Available})
	if err != nil {
		return reply{}, err
	}
	return ok(s.toHost(h))
}

func (s *Server) opUpdateHost(c *call) (reply, error) {
	var req api.UpdateHostRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	h, err := s.svc.UpdateHost(c.ctx(), c.pr, c.p.pathID("id"), service.HostSpec{Name: req.Name,
		Capacity: req.Capacity, Available: req.Available})
	if err != nil {
		return reply{}, err
	}
	return ok(s.toHost(h))
}

func (s *Server) opDeleteHost(c *call) (reply, error) {
	c.succeedsWith(http.StatusNoContent)
	if err := s.svc.DeleteHost(c.ctx(), c.pr, c.p.pathID("id")); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (s *Server) noFaults() error {
	return core.Errorf(core.NotFound, "fault injection needs --driver sim (this server runs %s)", s.cfg.Driver)
}

func (s *Server) opListFaults(*call) (reply, error) {
	if s.cfg.Faults == nil {
		return reply{}, s.noFaults()
	}
	return ok(s.cfg.Faults.Faults())
}

func (s *Server) opAddFault(c *call) (reply, error) {
	if s.cfg.Faults == nil {
		return reply{}, s.noFaults()
	}
	var req api.AddFaultRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	f, err := s.cfg.Faults.InjectFault(req.Action, req.Count, req.Message)
	if err != nil {
		return reply{}, err
	}
	c.setTarget(f.Action)
	return ok(f)
}

func (s *Server) operatorRoutes() []Route {
	r := func(method, path string, h handlerFunc) Route {
		return Route{Method: method, Pattern: api.OperatorPrefix + path, Auth: AuthOperator, handler: h}
	}
	get, post, del := http.MethodGet, http.MethodPost, http.MethodDelete
	// Users list and revoke their own keys (team admins their team's; service.ListKeys).
	// The same level for the public IPs below: service.ListPublicIPs decides.
	user := func(method, path string, h handlerFunc) Route {
		return Route{Method: method, Pattern: api.OperatorPrefix + path, Auth: AuthUser, handler: h}
	}
	return []Route{
		r(get, "/teams", s.opListTeams), r(post, "/teams", s.opCreateTeam),
		r(get, "/teams/{id}", s.opShowTeam), r(post, "/teams/{id}", s.opUpdateTeam),
		r(get, "/users", s.opListUsers), r(post, "/users", s.opCreateUser), r(post, "/users/{id}", s.opUpdateUser),
		r(get, "/users/{id}/sshKeys", s.opListSSHKeys), r(post, "/users/{id}/sshKeys", s.opAddSSHKey),
		r(del, "/users/{id}/sshKeys/{keyId}", s.opRemoveSSHKey),
		user(get, "/keys", s.opListKeys), r(post, "/keys", s.opCreateKey), user(post, "/keys/{id}/revoke", s.opRevokeKey),
		r(get, "/templates", s.opListTemplates), r(post, "/templates", s.opCreateTemplate),
		r(del, "/templates/{id}", s.opDeleteTemplate),
		r(get, "/networks", s.opListNetworks), r(post, "/networks", s.opCreateNetwork),
		r(del, "/networks/{id}", s.opDeleteNetwork),
		r(get, "/hosts", s.opListHosts), r(post, "/hosts", s.opCreateHost), r(post, "/hosts/{id}", s.opUpdateHost),
		r(del, "/hosts/{id}", s.opDeleteHost), r(post, "/hosts/tokens", s.opCreateJoinToken),
		r(post, "/hosts/{id}/drain", s.opDrainHost), r(post, "/hosts/{id}/resume", s.opResumeHost),
		r(post, "/hosts/{id}/revoke", s.opRevokeHost),
		r(get, "/sim/faults", s.opListFaults), r(post, "/sim/faults", s.opAddFault),
		// Team admins list and release their team's public IPs (the operator any team's).
		user(get, "/publicIps", s.opListPublicIPs), user(post, "/publicIps/{address}/release", s.opReleasePublicIP),
		r(get, "/usage", s.opUsage),
		r(get, "/audit", s.opListAudit),
	}
}

func (s *Server) opUsage(c *call) (reply, error) {
	rep, err := s.svc.UsageReport(c.ctx(), c.pr, c.p.query("month"))
	if err != nil {
		return reply{}, err
	}
	out := api.UsageReport{Month: rep.Month.String(), Rows: make([]api.UsageRow, 0, len(rep.Rows))}
	for _, r := range rep.Rows {
		row := api.UsageRow{TeamID: r.TeamID, TeamName: r.TeamName, MachineType: r.MachineType,
			Machines: r.Machines, SecondsUsed: r.Usage.Machine.Seconds(), StorageSecondsUsed: r.Usage.Storage.Seconds()}
		if r.Cost != nil {
			cost := r.Cost.String()
			row.Cost = &cost
		}
		out.Rows = append(out.Rows, row)
	}
	return ok(out)
}

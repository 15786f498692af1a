package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"hangar/internal/billing"
	"hangar/internal/core"
	"hangar/internal/service"
)

// pageSize is how many machines a page of the list shows.
const pageSize = 50

// maxPage bounds the page number (500,000 machines at pageSize).
const maxPage = 10_000

// listFilter is the machines list's query: filters, search and page.
type listFilter struct {
	State, Type, Region, Owner, Q string
	Page                          int
}

func parseFilter(q url.Values) listFilter {
	f := listFilter{State: q.Get("state"), Type: q.Get("type"), Region: q.Get("region"), Owner: q.Get("owner"),
		Q: strings.TrimSpace(q.Get("q")), Page: 1}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n >= 1 {
		f.Page = min(n, maxPage)
	}
	return f
}

// values is f as a query string (page included when past the first).
func (f listFilter) values(page int) url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"state": f.State, "type": f.Type, "region": f.Region, "owner": f.Owner, "q": f.Q} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v
}

func (f listFilter) url(page int) string {
	if q := f.values(page).Encode(); q != "" {
		return Prefix + "machines?" + q
	}
	return Prefix + "machines"
}

// query is the service listing of f's page, one machine more than a page to tell whether a
// next page exists.
func (f listFilter) query() service.ListQuery {
	where := map[string]string{}
	for k, v := range map[string]string{"state": f.State, "machineType": f.Type, "region": f.Region, "userId": f.Owner} {
		if v != "" {
			where[k] = v
		}
	}
	return service.ListQuery{Where: where, Limit: pageSize + 1, Skip: (f.Page - 1) * pageSize, Order: "dtCreated DESC", Search: f.Q}
}

type machineRow struct {
	M     core.Machine
	Owner string
}

type machinesData struct {
	Rows             []machineRow
	Filter           listFilter
	Filtered         bool
	States           []core.State
	Types            []string
	Regions          []core.Region
	Users            []core.User
	From, To         int
	PrevURL, NextURL string
	LiveURL          string
}

// ownerNames maps the caller's team's user ids to what the console shows for them.
func ownerNames(users []core.User) map[string]string {
	out := make(map[string]string, len(users))
	for _, u := range users {
		out[u.ID] = u.Email
	}
	return out
}

// listPage reads one page of the machines list.
func (s *Server) listPage(c *call, f listFilter) ([]core.Machine, bool, error) {
	ms, err := s.svc.ListMachines(c.r.Context(), c.p, f.query())
	if err != nil {
		return nil, false, err
	}
	more := len(ms) > pageSize
	if more {
		ms = ms[:pageSize]
	}
	return ms, more, nil
}

func (s *Server) machinesPage(c *call) error {
	f := parseFilter(c.r.URL.Query())
	ms, more, err := s.listPage(c, f)
	if err != nil {
		return err
	}
	users, err := s.svc.ListUsers(c.r.Context(), c.p)
	if err != nil {
		return err
	}
	names := ownerNames(users)
	cat := s.svc.Catalog()
	d := machinesData{Filter: f, States: core.States(), Types: cat.TypeOrder, Regions: cat.Regions, Users: users,
		Filtered: f != listFilter{Page: f.Page}, LiveURL: Prefix + "machines/live?" + f.values(f.Page).Encode()}
	for _, m := range ms {
		d.Rows = append(d.Rows, machineRow{M: m, Owner: names[m.UserID]})
	}
	if len(ms) > 0 {
		d.From, d.To = (f.Page-1)*pageSize+1, (f.Page-1)*pageSize+len(ms)
	}
	if f.Page > 1 {
		d.PrevURL = f.url(f.Page - 1)
	}
	if more {
		d.NextURL = f.url(f.Page + 1)
	}
	return s.render(c, http.StatusOK, "machines", "Machines", "machines", d)
}

type typeOption struct {
	Name, Class string
	Type        *core.MachineType
	Available   []string // codes of the regions where one can be placed now
}

type sizeOption struct {
	GB   int
	Rate *string
}

type newMachineData struct {
	Regions   []core.Region
	Types     []typeOption
	Templates []core.Template
	Sizes     []sizeOption
	Networks  []core.Network
	Scripts   []core.Script
	Users     []core.User
	Form      url.Values
	Idem      string
	Error     string
}

func (s *Server) newMachineData(c *call, form url.Values) (newMachineData, error) {
	ctx := c.r.Context()
	cat := s.svc.Catalog()
	d := newMachineData{Regions: cat.Regions, Form: form, Idem: newToken()}
	avail, err := s.svc.AvailableTypes(ctx)
	if err != nil {
		return d, err
	}
	for _, name := range cat.TypeOrder {
		mt, _ := cat.Type(name)
		o := typeOption{Name: name, Class: mt.Class, Type: mt}
		for _, r := range cat.Regions {
			if avail[r.Name][name] {
				o.Available = append(o.Available, r.Code)
			}
		}
		d.Types = append(d.Types, o)
	}
	for _, gb := range cat.StorageSizes {
		o := sizeOption{GB: gb}
		if r, ok := cat.StorageRates[gb]; ok {
			o.Rate = &r
		}
		d.Sizes = append(d.Sizes, o)
	}
	if d.Templates, err = s.svc.ListTemplates(ctx, c.p); err != nil {
		return d, err
	}
	if d.Networks, err = s.svc.ListNetworks(ctx, c.p); err != nil {
		return d, err
	}
	if d.Scripts, err = s.svc.ListScripts(ctx, c.p); err != nil {
		return d, err
	}
	d.Users, err = s.svc.ListUsers(ctx, c.p)
	return d, err
}

func (s *Server) newMachinePage(c *call) error {
	if !c.p.User.IsAdmin() {
		return core.Errorf(core.Forbidden, "Only the team administrator can create machines")
	}
	d, err := s.newMachineData(c, url.Values{"region": {s.svc.Catalog().Regions[0].Name}, "machineType": {"C2"},
		"size": {"50"}, "billingType": {"hourly"}, "user": {"self"}, "startOnCreate": {"on"}})
	if err != nil {
		return err
	}
	// Preselect a template that the preselected (Linux-only) type can run.
	if i := slices.IndexFunc(d.Templates, func(t core.Template) bool { return t.AgentType == "LinuxHeadless" }); i >= 0 {
		d.Form.Set("templateId", d.Templates[i].ID)
	}
	return s.render(c, http.StatusOK, "newmachine", "New machine", "machines", d)
}

func optional(f url.Values, name string) *string {
	v := strings.TrimSpace(f.Get(name))
	if v == "" {
		return nil
	}
	return &v
}

// createRequest turns the create form into the service's request, as the API's handler does
// with its parameters.
func createRequest(f url.Values) (service.CreateMachine, error) {
	cm := service.CreateMachine{Region: f.Get("region"), MachineType: f.Get("machineType"), BillingType: f.Get("billingType"),
		Name: strings.TrimSpace(f.Get("machineName")), TemplateID: f.Get("templateId"), StartOnCreate: f.Get("startOnCreate") == "on",
		NetworkID: optional(f, "networkId"), ScriptID: optional(f, "scriptId"), NotificationEmail: optional(f, "notificationEmail")}
	if n, err := strconv.Atoi(f.Get("size")); err == nil {
		cm.Size = n
	}
	switch f.Get("publicIp") {
	case "static":
		cm.AssignPublicIP = true
	case "dynamic":
		cm.DynamicPublicIP = true
	}
	if h := strings.TrimSpace(f.Get("shutdownTimeoutInHours")); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil {
			return cm, core.Errorf(core.Invalid, "Auto-shutdown must be a whole number of hours")
		}
		cm.ShutdownTimeoutSet, cm.ShutdownTimeoutInHours = true, &n
	}
	switch f.Get("user") {
	case "existing":
		if cm.UserID = optional(f, "userId"); cm.UserID == nil {
			return cm, core.Errorf(core.Invalid, "Choose the user the machine is for")
		}
	case "new":
		pw := f.Get("password")
		cm.Email, cm.Password, cm.FirstName, cm.LastName = optional(f, "email"), &pw, optional(f, "firstName"), optional(f, "lastName")
		if cm.Email == nil || cm.FirstName == nil || cm.LastName == nil {
			return cm, core.Errorf(core.Invalid, "A new user needs an email, a password, a first and a last name")
		}
	}
	// The form's one-time key makes a double submit create one machine.
	if idem := f.Get("idem"); idem != "" {
		sum := sha256.New()
		for _, k := range []string{"region", "machineType", "billingType", "machineName", "templateId", "size", "publicIp",
			"networkId", "scriptId", "user", "userId", "email", "firstName", "lastName", "shutdownTimeoutInHours",
			"startOnCreate", "notificationEmail"} {
			sum.Write([]byte(k + "=" + f.Get(k) + "\x00"))
		}
		cm.IdempotencyKey, cm.RequestHash = "console-"+idem, hex.EncodeToString(sum.Sum(nil))
	}
	return cm, nil
}

func (s *Server) createMachine(c *call) error {
	f := c.r.PostForm
	cm, err := createRequest(f)
	var m core.Machine
	if err == nil {
		s.auditing(c, "machines.create", "")
		m, err = s.svc.CreateMachine(c.r.Context(), c.p, cm)
	}
	s.audit(c.r, c.p, "machines.create", m.ID, err)
	if code := core.ErrorCode(err); code == core.Invalid || code == core.Unavailable {
		d, derr := s.newMachineData(c, f)
		if derr != nil {
			return derr
		}
		d.Idem, d.Error = f.Get("idem"), core.ErrorMessage(err)
		return s.render(c, http.StatusBadRequest, "newmachine", "New machine", "machines", d)
	}
	if err != nil {
		return err
	}
	s.flash(c, "Machine "+m.Name+" created.")
	http.Redirect(c.w, c.r, Prefix+"machines/"+m.ID, http.StatusSeeOther)
	return nil
}

type machineData struct {
	M          core.Machine
	Events     []core.Event
	Owner      string
	Type       *core.MachineType
	Template   string
	Network    *core.Network
	Month      string
	Util       *service.Utilization
	UtilError  string
	Access     []service.Access
	CanManage  bool // owner or team admin: rename and settings
	CanDestroy bool
	Serial     bool
	Frequency  []string
}

// historyLen is how many events the machine page shows.
const historyLen = 50

func (s *Server) machinePage(c *call) error {
	ctx := c.r.Context()
	d, err := s.svc.MachineHistory(ctx, c.p, c.r.PathValue("id"), historyLen)
	if err != nil {
		return err
	}
	m := d.Machine
	md := machineData{M: m, Events: d.Events, CanManage: c.p.User.IsAdmin() || m.UserID == c.p.User.ID,
		CanDestroy: c.p.User.IsAdmin(), Frequency: []string{"hour", "day", "week", "month"}}
	md.Type, _ = s.svc.Catalog().Type(m.MachineType)
	users, err := s.svc.ListUsers(ctx, c.p)
	if err != nil {
		return err
	}
	md.Owner = ownerNames(users)[m.UserID]
	if ts, err := s.svc.ListTemplates(ctx, c.p); err == nil {
		if i := slices.IndexFunc(ts, func(t core.Template) bool { return t.ID == m.TemplateID }); i >= 0 {
			md.Template = deref(ts[i].Label, ts[i].Name)
		}
	}
	if m.NetworkID != nil {
		if ns, err := s.svc.ListNetworks(ctx, c.p); err == nil {
			if i := slices.IndexFunc(ns, func(n core.Network) bool { return n.ID == *m.NetworkID }); i >= 0 {
				md.Network = &ns[i]
			}
		}
	}
	md.Month = billing.MonthOf(s.clock.Now()).String()
	if u, err := s.svc.GetUtilization(ctx, c.p, m.ID, md.Month); err == nil {
		md.Util = &u
	} else {
		md.UtilError = core.ErrorMessage(err)
	}
	if c.p.User.IsAdmin() {
		if md.Access, err = s.svc.MachineAccess(ctx, c.p, m.ID); err != nil {
			return err
		}
	}
	if s.cfg.Serial != nil {
		_, md.Serial = s.cfg.Serial.SerialLog(m)
	}
	return s.render(c, http.StatusOK, "machine", m.Name, "machines", md)
}

// machineActions maps the machine page's forms to the audit log's action names.
var machineActions = map[string]string{
	"start": "machines.start", "stop": "machines.stop", "restart": "machines.restart", "destroy": "machines.destroy",
	"rename": "machines.update", "settings": "machines.update", "publicip": "machines.update", "access": "machines.setAccess",
}

func (s *Server) machineAction(c *call) error {
	id, action := c.r.PathValue("id"), c.r.PathValue("action")
	audited, ok := machineActions[action]
	if !ok {
		return core.Errorf(core.NotFound, "No such action %q", action)
	}
	s.auditing(c, audited, id)
	err := s.doMachineAction(c, id, action)
	s.audit(c.r, c.p, audited, id, err)
	back := Prefix + "machines/" + id
	switch {
	case core.IsNotFound(err):
		return err // another team's machine, or gone: the not-found page
	case err != nil:
		s.flashError(c, err)
	case action == "destroy":
		s.flash(c, "Machine "+id+" destroyed.")
		back = Prefix + "machines"
	default:
		s.flash(c, actionDone[action])
	}
	http.Redirect(c.w, c.r, back, http.StatusSeeOther)
	return nil
}

var actionDone = map[string]string{
	"start": "Starting.", "stop": "Stopping.", "restart": "Restarting.", "rename": "Renamed.",
	"settings": "Settings saved.", "publicip": "Public IP changed.", "access": "Access changed.",
}

func (s *Server) doMachineAction(c *call, id, action string) error {
	ctx, f := c.r.Context(), c.r.PostForm
	switch action {
	case "start", "stop", "restart":
		return s.svc.Power(ctx, c.p, id, core.Action(action))
	case "destroy":
		if f.Get("confirm") != "yes" {
			if _, err := s.svc.GetMachine(ctx, c.p, id); err != nil {
				return err
			}
			return core.Errorf(core.Invalid, "Tick the box to confirm that the machine is to be destroyed")
		}
		return s.svc.DestroyMachine(ctx, c.p, id, f.Get("releasePublicIp") == "on")
	case "rename":
		name := strings.TrimSpace(f.Get("machineName"))
		_, err := s.svc.UpdateMachine(ctx, c.p, id, service.UpdateMachine{Name: &name})
		return err
	case "settings":
		u, err := settingsUpdate(f)
		if err != nil {
			if _, gerr := s.svc.GetMachine(ctx, c.p, id); gerr != nil {
				return gerr
			}
			return err
		}
		_, err = s.svc.UpdateMachine(ctx, c.p, id, u)
		return err
	case "publicip":
		var u service.UpdateMachine
		yes, no := true, false
		switch f.Get("publicIp") {
		case "static":
			u.AssignPublicIP = &yes
		case "dynamic":
			u.DynamicPublicIP = &yes
		case "nodynamic":
			u.DynamicPublicIP = &no
		default:
			return core.Errorf(core.Invalid, "Choose how the machine gets its public IP")
		}
		_, err := s.svc.UpdateMachine(ctx, c.p, id, u)
		return err
	case "access":
		_, err := s.svc.SetAccess(ctx, c.p, id, f.Get("userId"), f.Get("enable") == "yes")
		return err
	}
	return core.Errorf(core.NotFound, "No such action %q", action)
}

// settingsUpdate reads the auto-shutdown and snapshot form: every field is sent, so each
// replaces the machine's setting (an empty hours field disarms auto-shutdown).
func settingsUpdate(f url.Values) (service.UpdateMachine, error) {
	u := service.UpdateMachine{ShutdownTimeoutSet: true, AutoSnapshotFreqSet: true, AutoSnapshotCountSet: true}
	if h := strings.TrimSpace(f.Get("shutdownTimeoutInHours")); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil {
			return u, core.Errorf(core.Invalid, "Auto-shutdown must be a whole number of hours")
		}
		u.ShutdownTimeoutInHours = &n
	}
	forces, snap := f.Get("shutdownTimeoutForces") == "on", f.Get("performAutoSnapshot") == "on"
	u.ShutdownTimeoutForces, u.PerformAutoSnapshot = &forces, &snap
	u.AutoSnapshotFrequency = optional(f, "autoSnapshotFrequency")
	if n := strings.TrimSpace(f.Get("autoSnapshotSaveCount")); n != "" {
		v, err := strconv.Atoi(n)
		if err != nil {
			return u, core.Errorf(core.Invalid, "Snapshots to keep must be a whole number")
		}
		u.AutoSnapshotSaveCount = &v
	}
	return u, nil
}

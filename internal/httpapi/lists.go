package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/service"
)

// filterList applies exact-match AND filters, order, skip and limit to a rendered list
// (users, templates, networks, scripts: small per-team lists). The filterable fields are the
// JSON keys of shape, the list's object type, whatever the items are: a filter on a field an
// item lacks (teamId of a public template) matches only null, and unknown keys are ignored
// (spec §1.3, §1.7).
func filterList[T any](items []T, a listArgs, maxLimit int, shape any) ([]T, error) {
	objs := make([]map[string]any, len(items))
	for i, it := range items {
		b, _ := json.Marshal(it)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		_ = dec.Decode(&objs[i])
	}
	fields := map[string]bool{}
	var keys map[string]json.RawMessage
	b, _ := json.Marshal(shape)
	_ = json.Unmarshal(b, &keys)
	for k := range keys {
		fields[k] = true
	}
	keep := make([]int, 0, len(items))
	for i, o := range objs {
		if matches(o, a.where, fields) {
			keep = append(keep, i)
		}
	}
	order, err := service.ParseOrder(a.order, func(f string) bool { return fields[f] })
	if err != nil {
		return nil, err
	}
	if len(order) > 0 {
		slices.SortStableFunc(keep, func(x, y int) int {
			for _, o := range order {
				c := compareJSON(objs[x][o.Field], objs[y][o.Field])
				if o.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	limit := a.limit
	if limit <= 0 {
		limit = service.DefaultListLimit
	}
	limit = min(limit, maxLimit)
	out := make([]T, 0, min(len(keep), limit))
	for n, i := range keep {
		if n < a.skip {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, items[i])
	}
	return out, nil
}

func matches(o map[string]any, where map[string]string, fields map[string]bool) bool {
	for k, want := range where {
		if !fields[k] {
			continue
		}
		got, present := o[k]
		if !present {
			got = nil
		}
		if !equalFilter(got, want) {
			return false
		}
	}
	return true
}

// equalFilter compares a rendered JSON value with filter text after coercion to its type.
func equalFilter(got any, want string) bool {
	switch g := got.(type) {
	case nil:
		return want == "null"
	case string:
		return g == want
	case bool:
		b, err := strconv.ParseBool(want)
		return err == nil && b == g
	case json.Number:
		gf, err1 := g.Float64()
		wf, err2 := strconv.ParseFloat(want, 64)
		return err1 == nil && err2 == nil && gf == wf
	}
	return false
}

func compareJSON(a, b any) int {
	as, _ := filterText(a)
	bs, _ := filterText(b)
	if an, ok := a.(json.Number); ok {
		if bn, ok := b.(json.Number); ok {
			af, _ := an.Float64()
			bf, _ := bn.Float64()
			return cmp.Compare(af, bf)
		}
	}
	return cmp.Compare(as, bs)
}

func listReply[T any](s *Server, c *call, items []T, shape any) (reply, error) {
	a, err := c.p.list()
	if err != nil {
		return reply{}, err
	}
	out, err := filterList(items, a, s.cfg.MaxListLimit, shape)
	if err != nil {
		return reply{}, err
	}
	return ok(out)
}

// renderList renders a service listing and applies the request's filters and paging.
func renderList[T, U any](s *Server, c *call, items []T, err error, render func(T) U, shape any) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	return listReply(s, c, mapAll(items, render), shape)
}

func (s *Server) listUsers(c *call) (reply, error) {
	users, err := s.svc.ListUsers(c.ctx(), c.pr)
	return renderList(s, c, users, err, toUser, api.PaperspaceUser{})
}

func (s *Server) listTemplates(c *call) (reply, error) {
	ts, err := s.svc.ListTemplates(c.ctx(), c.pr)
	// the public template shape's keys are a subset of the team one's
	return renderList(s, c, ts, err, toTemplate, api.PaperspaceTeamTemplate{})
}

func (s *Server) listNetworks(c *call) (reply, error) {
	ns, err := s.svc.ListNetworks(c.ctx(), c.pr)
	return renderList(s, c, ns, err, toNetwork, api.PaperspaceNetwork{})
}

func (s *Server) listScripts(c *call) (reply, error) {
	ss, err := s.svc.ListScripts(c.ctx(), c.pr)
	return renderList(s, c, ss, err, toScript, api.Script{})
}

// scriptID reads the required scriptId.
func (p *params) scriptID() (string, error) {
	id, _, err := p.str("scriptId")
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", core.Errorf(core.Invalid, "scriptId is required")
	}
	return id, nil
}

func (s *Server) createScript(c *call) (reply, error) {
	p := c.p
	var ns service.NewScript
	var err error
	if ns.Name, _, err = p.str("scriptName"); err != nil {
		return reply{}, err
	}
	text, hasText, err := p.str("scriptText")
	if err != nil {
		return reply{}, err
	}
	switch {
	case hasText && p.hasFile:
		return reply{}, core.Errorf(core.Invalid, "send either scriptText or a script file, not both")
	case p.hasFile:
		ns.Text = string(p.file)
	default:
		ns.Text = text
	}
	if ns.Description, err = p.optStr("scriptDescription"); err != nil {
		return reply{}, err
	}
	if ns.Enabled, err = p.boolean("isEnabled"); err != nil {
		return reply{}, err
	}
	if ns.RunOnce, err = p.boolean("runOnce"); err != nil {
		return reply{}, err
	}
	if ns.MachineID, err = p.optStr("machineId"); err != nil {
		return reply{}, err
	}
	sc, err := s.svc.CreateScript(c.ctx(), c.pr, ns)
	if err != nil {
		return reply{}, err
	}
	return ok(toScript(sc))
}

func (s *Server) destroyScript(c *call) (reply, error) {
	c.succeedsWith(http.StatusNoContent)
	id, err := c.p.scriptID()
	if err != nil {
		return reply{}, err
	}
	if err := s.svc.DestroyScript(c.ctx(), c.pr, id); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (s *Server) getScript(c *call) (reply, error) {
	id, err := c.p.scriptID()
	if err != nil {
		return reply{}, err
	}
	d, err := s.svc.GetScript(c.ctx(), c.pr, id)
	if err != nil {
		return reply{}, err
	}
	out := api.ScriptWithMachines{Script: toScript(d.Script), Machines: make([]api.ScriptMachine, len(d.Runs))}
	for i, r := range d.Runs {
		out.Machines[i] = api.ScriptMachine{MachineID: r.MachineID, DtLastRun: fmtTimePtr(r.LastRun)}
	}
	return ok(out)
}

// getScriptText answers the script text as a JSON string (spec §2.22).
func (s *Server) getScriptText(c *call) (reply, error) {
	id, err := c.p.scriptID()
	if err != nil {
		return reply{}, err
	}
	d, err := s.svc.GetScript(c.ctx(), c.pr, id)
	if err != nil {
		return reply{}, err
	}
	return ok(d.Script.Text)
}

func (s *Server) login(c *call) (reply, error) {
	var email, password string
	if err := c.p.strs(map[string]*string{"email": &email, "password": &password}); err != nil {
		return reply{}, err
	}
	c.setTarget(loginTarget(email))
	if err := s.lim.allowLogin(clientAddr(c.r), email); err != nil {
		return reply{}, err
	}
	if email == "" || password == "" {
		return reply{}, core.Errorf(core.Unauthorized, "login failed")
	}
	res, err := s.svc.Login(c.ctx(), email, password)
	if err != nil {
		return reply{}, err
	}
	return ok(api.AccessToken{ID: res.ID, TTL: int64(s.svc.TokenTTL().Seconds()), Created: fmtTime(res.Token.Created), UserID: res.Token.UserID})
}

// logout ends the login token the call came with (POST /users/logout, a Hangar extension in
// LoopBack's spelling; the node CLI's logout sends nothing). A call with an API key is
// refused: keys are revoked by id, through /hangar/v1/keys/{id}/revoke.
func (s *Server) logout(c *call) (reply, error) {
	if c.token == "" {
		return reply{}, core.Errorf(core.Invalid, "users/logout ends a users/login token: send it as access_token "+
			"(API keys are revoked with POST /hangar/v1/keys/{id}/revoke)")
	}
	c.setTarget(c.pr.User.ID)
	if err := s.svc.Logout(c.ctx(), c.token); err != nil {
		return reply{}, err
	}
	return noContent()
}

func (s *Server) createAPIToken(c *call) (reply, error) {
	name, _, err := c.p.str("apiToken")
	if err != nil {
		return reply{}, err
	}
	nk, err := s.svc.CreateAPIToken(c.ctx(), c.pr, name)
	if err != nil {
		return reply{}, err
	}
	return ok(api.APIToken{Key: nk.Secret, Name: nk.Key.Name, DtCreated: fmtTime(nk.Key.Created)})
}

package web

import (
	"net/http"
	"strings"

	"hangar/internal/core"
	"hangar/internal/service"
)

type usersData struct {
	Users []core.User
	Teams []core.Team // the operator creates users in any team
}

func (s *Server) usersPage(c *call) error {
	ctx := c.r.Context()
	var d usersData
	var err error
	if d.Users, err = s.svc.ListUsers(ctx, c.p); err != nil {
		return err
	}
	if c.p.User.Role == core.RoleOperator {
		if d.Teams, err = s.svc.ListTeams(ctx, c.p); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, "users", "Users", "users", d)
}

// createUser creates a user the way the operator API does (operator only); back to the page
// the form was on.
func (s *Server) createUser(c *call) error {
	f := c.r.PostForm
	s.auditing(c, "users.create", "")
	u, err := s.svc.CreateUser(c.r.Context(), c.p, service.NewUser{Team: f.Get("team"), Email: f.Get("email"),
		Password: f.Get("password"), FirstName: f.Get("firstName"), LastName: f.Get("lastName"), Admin: f.Get("admin") == "on"})
	s.audit(c.r, c.p, "users.create", u.ID, err)
	return s.done(c, err, "User "+u.Email+" created.", formBack(c, "users"))
}

// formBack is where a form returns: the console page named by its "back" field, else page.
func formBack(c *call, page string) string {
	if b := c.r.PostForm.Get("back"); b == "teams" || b == "users" {
		page = b
	}
	return Prefix + page
}

// done ends a form post: a flash of what happened and a redirect to back; a failure other
// than bad input is shown as an error page.
func (s *Server) done(c *call, err error, msg, back string) error {
	switch core.ErrorCode(err) {
	case "":
		s.flash(c, msg)
	case core.Invalid, core.Conflict, core.Unavailable, core.Forbidden:
		s.flashError(c, err)
	default:
		return err
	}
	http.Redirect(c.w, c.r, back, http.StatusSeeOther)
	return nil
}

func (s *Server) scriptsPage(c *call) error {
	scripts, err := s.svc.ListScripts(c.r.Context(), c.p)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "scripts", "Startup scripts", "scripts", scripts)
}

func (s *Server) createScript(c *call) error {
	f := c.r.PostForm
	ns := service.NewScript{Name: strings.TrimSpace(f.Get("scriptName")), Text: strings.ReplaceAll(f.Get("scriptText"), "\r\n", "\n"),
		Description: optional(f, "scriptDescription")}
	runOnce := f.Get("runOnce") == "on"
	ns.RunOnce = &runOnce
	s.auditing(c, "scripts.create", "")
	sc, err := s.svc.CreateScript(c.r.Context(), c.p, ns)
	s.audit(c.r, c.p, "scripts.create", sc.ID, err)
	back := Prefix + "scripts"
	if err == nil {
		back += "/" + sc.ID
	}
	return s.done(c, err, "Script "+sc.Name+" created.", back)
}

type scriptData struct {
	service.ScriptDetail
	CanDelete bool
}

func (s *Server) scriptPage(c *call) error {
	d, err := s.svc.GetScript(c.r.Context(), c.p, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "script", d.Script.Name, "scripts",
		scriptData{ScriptDetail: d, CanDelete: c.p.User.IsAdmin() || d.Script.OwnerID == c.p.User.ID})
}

func (s *Server) deleteScript(c *call) error {
	id := c.r.PathValue("id")
	s.auditing(c, "scripts.destroy", id)
	err := s.svc.DestroyScript(c.r.Context(), c.p, id)
	s.audit(c.r, c.p, "scripts.destroy", id, err)
	return s.done(c, err, "Script deleted.", Prefix+"scripts")
}

type networksData struct {
	Networks []core.Network
	Regions  []core.Region
}

func (s *Server) networksPage(c *call) error {
	ns, err := s.svc.ListNetworks(c.r.Context(), c.p)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "networks", "Private networks", "networks",
		networksData{Networks: ns, Regions: s.svc.Catalog().Regions})
}

func (s *Server) createNetwork(c *call) error {
	f := c.r.PostForm
	s.auditing(c, "networks.create", "")
	n, err := s.svc.CreateTeamNetwork(c.r.Context(), c.p, service.NewTeamNetwork{Name: f.Get("name"), Region: f.Get("region")})
	s.audit(c.r, c.p, "networks.create", n.ID, err)
	return s.done(c, err, "Network "+n.Name+" created ("+n.CIDR+").", Prefix+"networks")
}

func (s *Server) deleteNetwork(c *call) error {
	id := c.r.PathValue("id")
	s.auditing(c, "networks.delete", id)
	err := s.svc.DeleteTeamNetwork(c.r.Context(), c.p, id)
	s.audit(c.r, c.p, "networks.delete", id, err)
	return s.done(c, err, "Network deleted.", Prefix+"networks")
}

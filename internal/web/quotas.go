package web

import (
	"net/http"
	"strings"

	"hangar/internal/core"
	"hangar/internal/service"
)

// The quota pages: every member sees their team's limits and what the team holds of each
// (the numbers that refuse a create); team admins also see the public IPs the team keeps
// and can release the static ones no machine holds; the operator sees and sets any team's
// overrides.

// quotaRow is one quota as a page shows it.
type quotaRow struct {
	service.TeamQuota
	Unlimited bool
	Pct       int
	Full      bool // the team may have no more of it
}

func quotaRows(qs []service.TeamQuota) []quotaRow {
	rows := make([]quotaRow, 0, len(qs))
	for _, q := range qs {
		r := quotaRow{TeamQuota: q, Unlimited: q.Limit == core.Unlimited}
		if !r.Unlimited {
			r.Pct, r.Full = pct(q.Used, q.Limit), q.Used >= q.Limit
		}
		rows = append(rows, r)
	}
	return rows
}

type quotasData struct {
	Team   core.Team
	Quotas []quotaRow
	IPs    []core.PublicIP // team admins only
}

func (s *Server) quotasPage(c *call) error {
	ctx := c.r.Context()
	d, err := s.svc.OwnTeam(ctx, c.p)
	if err != nil {
		return err
	}
	out := quotasData{Team: d.Team, Quotas: quotaRows(d.Quotas)}
	if c.p.User.IsAdmin() {
		if out.IPs, err = s.svc.ListPublicIPs(ctx, c.p, c.p.Team.ID); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, "quotas", "Quotas", "quotas", out)
}

// releasePublicIP returns a static public IP the team keeps to the pool (team admin).
func (s *Server) releasePublicIP(c *call) error {
	addr := c.r.PathValue("address")
	s.auditing(c, "publicIps.release", addr)
	_, err := s.svc.ReleasePublicIP(c.r.Context(), c.p, addr)
	s.audit(c.r, c.p, "publicIps.release", addr, err)
	if core.IsNotFound(err) {
		s.flashError(c, err)
		http.Redirect(c.w, c.r, Prefix+"quotas", http.StatusSeeOther)
		return nil
	}
	return s.done(c, err, "Public IP "+addr+" released.", Prefix+"quotas")
}

type teamData struct {
	Team   core.Team
	Quotas []quotaRow
}

// teamPage is one team for the operator: its quotas, which are overrides, and a form to set them.
func (s *Server) teamPage(c *call) error {
	d, err := s.svc.GetTeam(c.r.Context(), c.p, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "team", d.Team.Name, "teams", teamData{Team: d.Team, Quotas: quotaRows(d.Quotas)})
}

// updateTeamQuotas sets a team's overrides from the form: a field per quota, blank for the
// default, a count, or -1/unlimited for none. Only the fields sent change.
func (s *Server) updateTeamQuotas(c *call) error {
	id := c.r.PathValue("id")
	set := map[core.Quota]*int{}
	for _, q := range core.Quotas() {
		vs, ok := c.r.PostForm["quota."+string(q)]
		if !ok {
			continue
		}
		v := strings.TrimSpace(vs[0])
		if v == "" {
			set[q] = nil
			continue
		}
		n, err := core.ParseQuotaLimit(v)
		if err != nil {
			s.flashError(c, core.Errorf(core.Invalid, "quota %s: %s", q, core.ErrorMessage(err)))
			http.Redirect(c.w, c.r, Prefix+"teams/"+id, http.StatusSeeOther)
			return nil
		}
		set[q] = &n
	}
	s.auditing(c, "teams.update", id)
	d, err := s.svc.UpdateTeamQuotas(c.r.Context(), c.p, id, set)
	s.audit(c.r, c.p, "teams.update", id, err)
	return s.done(c, err, "Quotas of "+d.Team.Name+" saved.", Prefix+"teams/"+id)
}

package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"hangar/api"
	"hangar/internal/billing"
	"hangar/internal/core"
	"hangar/internal/service"
)

// The operator's pages. Each calls the operator-only service method the operator API calls,
// which refuses anybody else (Forbidden).

type capacityBar struct {
	Type       string
	Used, Slot int
	Pct        int
}

type hostRow struct {
	H    core.HostLoad
	Bars []capacityBar
}

func (s *Server) hostsPage(c *call) error {
	hs, err := s.svc.ListHosts(c.r.Context(), c.p, "")
	if err != nil {
		return err
	}
	rows := make([]hostRow, 0, len(hs))
	for _, h := range hs {
		row := hostRow{H: h}
		for _, t := range s.svc.Catalog().TypeOrder {
			if n := h.Capacity[t]; n > 0 || h.Used[t] > 0 {
				row.Bars = append(row.Bars, capacityBar{Type: t, Used: h.Used[t], Slot: n, Pct: pct(h.Used[t], n)})
			}
		}
		rows = append(rows, row)
	}
	return s.render(c, http.StatusOK, "hosts", "Hosts", "hosts", rows)
}

type teamRow struct {
	T      core.Team
	Users  int
	Admins int
}

type teamsData struct {
	Teams []teamRow
	All   []core.Team
}

func (s *Server) teamsPage(c *call) error {
	ctx := c.r.Context()
	teams, err := s.svc.ListTeams(ctx, c.p)
	if err != nil {
		return err
	}
	users, err := s.svc.AdminListUsers(ctx, c.p, "")
	if err != nil {
		return err
	}
	count := map[string]*teamRow{}
	d := teamsData{All: teams}
	d.Teams = make([]teamRow, len(teams))
	for i, t := range teams {
		d.Teams[i] = teamRow{T: t}
		count[t.ID] = &d.Teams[i]
	}
	for _, u := range users {
		if r := count[u.TeamID]; r != nil {
			r.Users++
			if u.Role != core.RoleMember {
				r.Admins++
			}
		}
	}
	return s.render(c, http.StatusOK, "teams", "Teams", "teams", d)
}

func (s *Server) createTeam(c *call) error {
	f := c.r.PostForm
	s.auditing(c, "teams.create", "")
	t, err := s.svc.CreateTeam(c.r.Context(), c.p, f.Get("name"), f.Get("individual") == "on")
	s.audit(c.r, c.p, "teams.create", t.ID, err)
	return s.done(c, err, "Team "+t.Name+" created.", Prefix+"teams")
}

// chartBar is one bar of an SVG bar chart, laid out in the chart's own units.
type chartBar struct {
	Label, Value string
	Y, Width     int
}

type usageTeam struct {
	TeamID, TeamName string
	Machines         int
	Hours            float64
	Cost             *billing.Cents
}

type usageData struct {
	Month      string
	Prev, Next string
	Report     service.UsageReport
	Teams      []usageTeam
	Chart      []chartBar
	ChartH     int
	Error      string
}

// Chart geometry (SVG user units): a label column, then bars up to barMax wide.
const (
	barH   = 22
	barGap = 8
	barMax = 420
)

func (s *Server) usagePage(c *call) error {
	month := strings.TrimSpace(c.r.URL.Query().Get("month"))
	if month == "" {
		month = billing.MonthOf(s.clock.Now()).String()
	}
	d := usageData{Month: month}
	rep, err := s.svc.UsageReport(c.r.Context(), c.p, month)
	if core.ErrorCode(err) == core.Invalid {
		d.Error = core.ErrorMessage(err)
		return s.render(c, http.StatusBadRequest, "usage", "Usage", "usage", d)
	}
	if err != nil {
		return err
	}
	d.Report = rep
	d.Prev, d.Next = billing.MonthOf(rep.Month.Start().Add(-time.Hour)).String(), rep.Month.Next().String()
	index := map[string]int{}
	for _, r := range rep.Rows {
		i, ok := index[r.TeamID]
		if !ok {
			i = len(d.Teams)
			index[r.TeamID] = i
			d.Teams = append(d.Teams, usageTeam{TeamID: r.TeamID, TeamName: r.TeamName, Cost: new(billing.Cents)})
		}
		t := &d.Teams[i]
		t.Machines += r.Machines
		t.Hours += r.Usage.Machine.Hours()
		if r.Cost == nil {
			t.Cost = nil
		} else if t.Cost != nil {
			*t.Cost += *r.Cost
		}
	}
	d.Chart, d.ChartH = usageChart(d.Teams)
	return s.render(c, http.StatusOK, "usage", "Usage "+d.Month, "usage", d)
}

// usageChart lays out one bar per team, its machine hours, scaled to the largest.
func usageChart(teams []usageTeam) ([]chartBar, int) {
	top := 0.0
	for _, t := range teams {
		top = max(top, t.Hours)
	}
	bars := make([]chartBar, 0, len(teams))
	for i, t := range teams {
		w := 0
		if top > 0 {
			w = int(t.Hours / top * barMax)
		}
		label := t.TeamName
		if label == "" {
			label = t.TeamID
		}
		bars = append(bars, chartBar{Label: label, Value: strconv.FormatFloat(t.Hours, 'f', 1, 64) + " h",
			Y: i * (barH + barGap), Width: max(w, 1)})
	}
	return bars, max(len(bars)*(barH+barGap), barH)
}

// auditData is the audit page: its filters (the operator API's query, dates as YYYY-MM-DD)
// and the entries.
type auditData struct {
	api.AuditQuery
	Entries []core.AuditEntry
	Error   string
}

// auditDay parses a date field (YYYY-MM-DD, UTC); end moves it to the next day's start, so
// that "until" includes the day named.
func auditDay(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return t, core.Errorf(core.Invalid, "Dates are YYYY-MM-DD, not %q", v)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func (s *Server) auditPage(c *call) error {
	q := c.r.URL.Query()
	d := auditData{AuditQuery: api.AuditQuery{Team: strings.TrimSpace(q.Get("team")), User: strings.TrimSpace(q.Get("user")),
		Action: strings.TrimSpace(q.Get("action")), Since: q.Get("since"), Until: q.Get("until"), Limit: 100}}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil {
		d.Limit = n
	}
	since, err := auditDay(d.Since, false)
	var until time.Time
	if err == nil {
		until, err = auditDay(d.Until, true)
	}
	if err == nil {
		d.Entries, err = s.svc.ListAudit(c.r.Context(), c.p, service.AuditFilter{Team: d.Team, User: d.User,
			Action: d.Action, Since: since, Until: until, Limit: d.Limit})
	}
	switch code := core.ErrorCode(err); {
	case err == nil:
	case code == core.Invalid || code == core.NotFound:
		d.Error = core.ErrorMessage(err)
		return s.render(c, http.StatusBadRequest, "audit", "Audit log", "audit", d)
	default:
		return err
	}
	return s.render(c, http.StatusOK, "audit", "Audit log", "audit", d)
}

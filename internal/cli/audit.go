package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"hangar/api"
)

// AuditCmd is `hangar admin audit`: the audit log, newest first.
type AuditCmd struct {
	Team   string `placeholder:"TEAM" help:"Only calls by users of this team (handle or numeric id)."`
	User   string `placeholder:"USER" help:"Only calls by this user (handle)."`
	Action string `placeholder:"ACTION" help:"Only this action, e.g. machines.create, keys.revoke, users.login."`
	Since  string `placeholder:"TIME" help:"Only calls at or after TIME: an RFC 3339 date (2026-11-27T10:00:00Z) or a duration before now (90m, 24h)."`
	Until  string `placeholder:"TIME" help:"Only calls before TIME (as --since)."`
	Limit  int    `placeholder:"N" help:"At most N entries (default 100, at most 10000)."`
}

// Run lists audit entries.
func (c *AuditCmd) Run(g *Globals, a *Admin) error {
	now := time.Now()
	since, err := auditTime("--since", c.Since, now)
	if err != nil {
		return err
	}
	until, err := auditTime("--until", c.Until, now)
	if err != nil {
		return err
	}
	s, err := a.session(g)
	if err != nil {
		return err
	}
	es, err := s.api.ListAudit(s.ctx, api.AuditQuery{Team: c.Team, User: c.User, Action: c.Action,
		Since: since, Until: until, Limit: c.Limit})
	if err != nil {
		return err
	}
	return s.table(es, "TIME\tACTION\tTARGET\tSTATUS\tUSER\tROLE\tTEAM\tCLIENT\tREQUEST", func(w io.Writer) {
		for _, e := range es {
			status := strconv.Itoa(e.Status)
			if e.Error != "" {
				status += " " + e.Error
			}
			printf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.DtCreated, e.Action, orDash(&e.Target), status,
				orDash(&e.UserID), orDash(&e.Role), orDash(&e.TeamID), orDash(&e.ClientAddr), orDash(&e.RequestID))
		}
	})
}

// auditTime turns a --since/--until value into the RFC 3339 date the server takes: a date is
// passed on, a duration d means now minus d.
func auditTime(flag, v string, now time.Time) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC().Format(time.RFC3339Nano), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return "", fmt.Errorf("%s %q: want an RFC 3339 date (2026-11-27T10:00:00Z) or a duration such as 90m or 24h", flag, v)
	}
	return now.Add(-d).UTC().Format(time.RFC3339Nano), nil
}

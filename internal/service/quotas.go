package service

import (
	"context"
	"net/netip"
	"strings"

	"hangar/internal/core"
	"hangar/internal/store"
)

// TeamQuota is one quota of a team: its limit (core.Unlimited for none), whether the limit is
// the team's override rather than the default, and what the team holds of it now.
type TeamQuota struct {
	Quota    core.Quota
	Limit    int
	Override bool
	Used     int
}

// TeamDetail is a team with its quotas, in core.Quotas order.
type TeamDetail struct {
	Team   core.Team
	Quotas []TeamQuota
}

// GetTeam returns a team, by handle or numeric id, with its quotas (operator only).
func (s *Service) GetTeam(ctx context.Context, p core.Principal, ref string) (TeamDetail, error) {
	if err := requireOperator(p); err != nil {
		return TeamDetail{}, err
	}
	var d TeamDetail
	err := s.read(ctx, func(tx store.Tx) (err error) { d, err = s.teamDetail(tx, ref); return })
	return d, err
}

// OwnTeam returns the caller's own team with its quotas: what any member may see of the
// limits that refuse their creates.
func (s *Service) OwnTeam(ctx context.Context, p core.Principal) (TeamDetail, error) {
	var d TeamDetail
	err := s.read(ctx, func(tx store.Tx) (err error) { d, err = s.teamDetail(tx, p.Team.ID); return })
	return d, err
}

func (s *Service) teamDetail(tx store.Tx, ref string) (TeamDetail, error) {
	t, err := resolveTeam(tx, ref)
	if core.IsNotFound(err) {
		return TeamDetail{}, core.Errorf(core.NotFound, "team %s not found", strings.TrimSpace(ref))
	}
	if err != nil {
		return TeamDetail{}, err
	}
	limits, overrides, err := s.env.TeamLimits(tx, t.ID)
	if err != nil {
		return TeamDetail{}, err
	}
	usage, err := tx.TeamUsage(t.ID)
	if err != nil {
		return TeamDetail{}, err
	}
	d := TeamDetail{Team: t}
	for _, q := range core.Quotas() {
		_, over := overrides[q]
		d.Quotas = append(d.Quotas, TeamQuota{Quota: q, Limit: limits[q], Override: over, Used: usage[q]})
	}
	return d, nil
}

// UpdateTeamQuotas sets a team's quota overrides (operator only): a limit per quota, or nil
// to return the quota to the default. A limit below what the team holds stops it from
// getting more; it takes nothing away.
func (s *Service) UpdateTeamQuotas(ctx context.Context, p core.Principal, ref string, set map[core.Quota]*int) (TeamDetail, error) {
	if err := requireOperator(p); err != nil {
		return TeamDetail{}, err
	}
	if len(set) == 0 {
		return TeamDetail{}, invalid("quotas is required: a limit per quota name (%s), null for the default", core.QuotaNames())
	}
	for q, n := range set {
		if !q.Valid() {
			return TeamDetail{}, invalid("unknown quota %q; quotas are %s", q, core.QuotaNames())
		}
		if n != nil && *n < core.Unlimited {
			return TeamDetail{}, invalid("quota %s must be a count ≥ 0, or -1 for no limit", q)
		}
	}
	var d TeamDetail
	err := s.write(ctx, func(tx store.Tx) error {
		t, err := resolveTeam(tx, ref)
		if core.IsNotFound(err) {
			return core.Errorf(core.NotFound, "team %s not found", strings.TrimSpace(ref))
		}
		if err != nil {
			return err
		}
		for _, q := range core.Quotas() {
			if n, ok := set[q]; ok {
				if err := tx.SetTeamQuota(t.ID, q, n); err != nil {
					return err
				}
			}
		}
		d, err = s.teamDetail(tx, t.ID)
		return err
	})
	return d, err
}

// ListPublicIPs lists the public addresses reserved to a team: the caller's (team admins), or
// teamRef's or every team's (operator).
func (s *Service) ListPublicIPs(ctx context.Context, p core.Principal, teamRef string) ([]core.PublicIP, error) {
	if !p.User.IsAdmin() {
		return nil, forbidden("Only the team administrator can list the team's public IPs")
	}
	var out []core.PublicIP
	err := s.read(ctx, func(tx store.Tx) error {
		team := p.Team.ID
		if p.User.Role == core.RoleOperator {
			var err error
			if team, err = teamScope(tx, teamRef); core.IsNotFound(err) {
				return core.Errorf(core.NotFound, "team %s not found", teamRef)
			} else if err != nil {
				return err
			}
		} else if err := callerTeam(tx, p, teamRef); err != nil {
			return err
		}
		all, err := tx.ListPublicIPs(team)
		for _, ip := range all {
			if ip.TeamID != nil { // "" lists the pool's free records too; only reserved ones
				out = append(out, ip)
			}
		}
		return err
	})
	return out, err
}

// ReleasePublicIP returns a static public address the caller's team keeps without a machine
// to the pool (team admin; the operator for any team). An address that is not the team's is
// NotFound; one still attached to a machine is Invalid.
func (s *Service) ReleasePublicIP(ctx context.Context, p core.Principal, address string) (core.PublicIP, error) {
	nf := core.Errorf(core.NotFound, "public IP %s not found", strings.TrimSpace(address))
	a, err := netip.ParseAddr(strings.TrimSpace(address))
	if err != nil {
		return core.PublicIP{}, nf
	}
	var ip core.PublicIP
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		ip, err = tx.GetPublicIP(a.String())
		if core.IsNotFound(err) || (err == nil && (ip.TeamID == nil ||
			(*ip.TeamID != p.Team.ID && p.User.Role != core.RoleOperator))) {
			return nf
		}
		if err != nil {
			return err
		}
		if !p.User.IsAdmin() {
			return forbidden("Only the team administrator can release the team's public IPs")
		}
		if ip.MachineID != nil {
			return invalid("public IP %s is attached to machine %s; destroy the machine with releasePublicIp, or switch it to dynamicPublicIp, first",
				ip.Address, *ip.MachineID)
		}
		return tx.DeletePublicIP(ip.Address)
	})
	return ip, err
}

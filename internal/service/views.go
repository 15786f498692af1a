package service

import (
	"context"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"hangar/internal/core"
	"hangar/internal/scheduler"
	"hangar/internal/store"
)

// This file holds the reads that the web console needs beyond what the API answers; each
// applies the same rules as the API route that shows the same thing.

// AvailableTypes reports, for every region and machine type of the catalog, whether a machine
// of that type can be placed in that region now (getAvailability for all of them in one read).
func (s *Service) AvailableTypes(ctx context.Context) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	err := s.read(ctx, func(tx store.Tx) error {
		hosts, err := tx.ListHosts("")
		if err != nil {
			return err
		}
		for _, r := range s.cfg.Catalog.Regions {
			out[r.Name] = map[string]bool{}
			for _, t := range s.cfg.Catalog.TypeOrder {
				out[r.Name][t] = scheduler.Available(t, r.Name, hosts)
			}
		}
		return nil
	})
	return out, err
}

// MaxHistory is the most events MachineHistory returns.
const MaxHistory = 200

// MachineHistory returns a visible machine with up to limit of its newest events (at most
// MaxHistory), newest first: the machine page's state timeline.
func (s *Service) MachineHistory(ctx context.Context, p core.Principal, id string, limit int) (MachineDetail, error) {
	limit = min(max(limit, 1), MaxHistory)
	var d MachineDetail
	err := s.read(ctx, func(tx store.Tx) error {
		var err error
		if d.Machine, err = visibleMachine(tx, p, id); err != nil {
			return err
		}
		d.Events, err = tx.ListEvents(d.Machine.ID, limit)
		return err
	})
	return d, err
}

// Access is a team user and whether they were granted access to a machine.
type Access struct {
	User    core.User
	Granted bool
}

// MachineAccess lists the users of a machine's team with their access grants (team admin,
// like setMachineAccess). The owner is listed too; owning implies access.
func (s *Service) MachineAccess(ctx context.Context, p core.Principal, id string) ([]Access, error) {
	var out []Access
	err := s.read(ctx, func(tx store.Tx) error {
		m, err := visibleMachine(tx, p, id)
		if err != nil {
			return err
		}
		if !p.User.IsAdmin() {
			return forbidden("Only the team administrator can see machine access")
		}
		users, err := tx.ListUsers(m.TeamID)
		if err != nil {
			return err
		}
		for _, u := range users {
			ok := u.ID == m.UserID
			if !ok {
				if ok, err = tx.HasAccess(m.ID, u.ID); err != nil {
					return err
				}
			}
			out = append(out, Access{User: u, Granted: ok})
		}
		return nil
	})
	return out, err
}

// searchMachines lists the machines of mq whose id or an IP address is search, or else whose
// name contains it (ASCII letters without regard to case), with mq's Skip and Limit. All three
// are conditions the store applies, so a search costs one filtered listing whether or not it
// matches.
func searchMachines(tx store.Tx, mq core.MachineQuery, search string) ([]core.Machine, error) {
	needle := strings.TrimSpace(search)
	exact := func(field string) ([]core.Machine, error) {
		q := mq
		q.Where = append(slices.Clone(mq.Where), core.Filter{Field: field, Value: core.FilterValue{Str: strings.ToLower(needle)}})
		return tx.ListMachines(q)
	}
	if _, err := netip.ParseAddr(needle); err == nil {
		out, err := exact("privateIpAddress")
		if err != nil || len(out) > 0 {
			return out, err
		}
		return exact("publicIpAddress")
	}
	if machineID.MatchString(strings.ToLower(needle)) {
		if out, err := exact("id"); err != nil || len(out) > 0 {
			return out, err
		}
	}
	q := mq
	q.NameContains = needle
	return tx.ListMachines(q)
}

// machineID matches what a machine id looks like (core.PrefixMachine and base-36 digits).
var machineID = regexp.MustCompile(`^ps[a-z0-9]{5,12}$`)

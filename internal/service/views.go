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

// searchFirst is how many machines a name search reads in its first store call; each next
// call reads four times as many. Reading rows costs far more than a query, so a search whose
// page fills among the newest machines stops early, and one that matches nothing reads a
// 10,000-machine team in three calls.
const searchFirst = 500

// searchMachines lists the machines of mq whose id or an IP address is search, or else whose
// name contains it (case-insensitively), then applies mq's Skip and Limit. An id or an IP is
// an exact filter the store applies; a name search reads the filtered listing in chunks (the
// store matches fields exactly only) and stops once the page is full.
func searchMachines(tx store.Tx, mq core.MachineQuery, search string) ([]core.Machine, error) {
	needle := strings.ToLower(strings.TrimSpace(search))
	exact := func(field string) ([]core.Machine, error) {
		q := mq
		q.Where = append(slices.Clone(mq.Where), core.Filter{Field: field, Value: core.FilterValue{Str: needle}})
		return tx.ListMachines(q)
	}
	if _, err := netip.ParseAddr(needle); err == nil {
		out, err := exact("privateIpAddress")
		if err != nil || len(out) > 0 {
			return out, err
		}
		return exact("publicIpAddress")
	}
	if machineID.MatchString(needle) {
		if out, err := exact("id"); err != nil || len(out) > 0 {
			return out, err
		}
	}
	want := mq.Skip + mq.Limit
	var matched []core.Machine
	q := mq
	q.Limit, q.Skip = max(searchFirst, 2*want), 0
	for {
		chunk, err := tx.ListMachines(q)
		if err != nil {
			return nil, err
		}
		for _, m := range chunk {
			if strings.Contains(strings.ToLower(m.Name), needle) {
				matched = append(matched, m)
			}
		}
		if len(chunk) < q.Limit || (mq.Limit > 0 && len(matched) >= want) {
			break
		}
		q.Skip += q.Limit
		q.Limit *= 4
	}
	if mq.Skip >= len(matched) {
		return nil, nil
	}
	matched = matched[mq.Skip:]
	if mq.Limit > 0 && len(matched) > mq.Limit {
		matched = matched[:mq.Limit]
	}
	return matched, nil
}

// machineID matches what a machine id looks like (core.PrefixMachine and base-36 digits).
var machineID = regexp.MustCompile(`^ps[a-z0-9]{5,12}$`)

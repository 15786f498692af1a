package service

import (
	"context"
	"slices"
	"strings"

	"hangar/internal/billing"
	"hangar/internal/core"
	"hangar/internal/store"
)

// Utilization is one machine's metered usage in one billing month (spec §2.13).
type Utilization struct {
	MachineID string
	Month     billing.Month
	Usage     billing.Usage
	// HourlyRate is the machine type's hourly rate for hourly machines; nil for monthly
	// machines (no hourly charge applies) and where the operator set no rate.
	HourlyRate *string
	// StorageRate is the monthly rate of the machine's storage size; nil where unset.
	StorageRate *string
	// Cost is the month's charge so far; nil when a rate it needs is unset.
	Cost *billing.Cents
}

// GetUtilization returns a machine's usage in billingMonth ("YYYY-MM", UTC) up to now. The
// machine may have been destroyed; its owner and the team admin may ask, accessors of a live
// machine get Forbidden, everybody else NotFound.
func (s *Service) GetUtilization(ctx context.Context, p core.Principal, machineID, billingMonth string) (Utilization, error) {
	machineID = strings.TrimSpace(machineID)
	if machineID == "" {
		return Utilization{}, invalid("machineId is required")
	}
	if billingMonth == "" {
		return Utilization{}, invalid("billingMonth is required (YYYY-MM)")
	}
	month, err := billing.ParseMonth(billingMonth)
	if err != nil {
		return Utilization{}, invalid("%s", err.Error())
	}
	var u core.MachineUsage
	err = s.read(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.GetUsage(machineID, month.Start(), month.End())
		if err != nil {
			return err
		}
		return canSeeUsage(tx, p, u)
	})
	if core.IsNotFound(err) {
		return Utilization{}, core.Errorf(core.NotFound, "Machine %s not found", machineID)
	}
	if err != nil {
		return Utilization{}, err
	}
	out := Utilization{MachineID: u.MachineID, Month: month, Usage: billing.ForMonth(u, month, s.clock.Now()),
		StorageRate: s.storageRate(u.SizeGB)}
	if mt, ok := s.cfg.Catalog.Type(u.MachineType); ok && u.BillingType != "monthly" {
		out.HourlyRate = mt.HourlyRate
	}
	if cost, known := billing.Charge(u.BillingType, out.Usage, month, s.rates(u.MachineType, u.SizeGB)); known {
		out.Cost = &cost
	}
	return out, nil
}

// canSeeUsage lets the team admin and the machine's owner see its usage. An accessor of a
// live machine sees the machine but not its bill (Forbidden); anybody else gets NotFound.
func canSeeUsage(tx store.Tx, p core.Principal, u core.MachineUsage) error {
	nf := core.Errorf(core.NotFound, "Machine %s not found", u.MachineID)
	if u.TeamID != p.Team.ID {
		return nf
	}
	if p.User.IsAdmin() || u.UserID == p.User.ID {
		return nil
	}
	if u.Destroyed == nil {
		ok, err := tx.HasAccess(u.MachineID, p.User.ID)
		if err != nil {
			return err
		}
		if ok {
			return forbidden("Only the machine's owner or the team administrator can see its utilization")
		}
	}
	return nf
}

func (s *Service) storageRate(sizeGB int) *string {
	if r, ok := s.cfg.Catalog.StorageRates[sizeGB]; ok {
		return &r
	}
	return nil
}

// rates returns the catalog rates of a machine in cents; nil where unset or unreadable.
func (s *Service) rates(machineType string, sizeGB int) billing.Rates {
	parse := func(p *string) *billing.Cents {
		if p == nil {
			return nil
		}
		c, err := billing.ParseRate(*p)
		if err != nil {
			return nil
		}
		return &c
	}
	var r billing.Rates
	if mt, ok := s.cfg.Catalog.Type(machineType); ok {
		r.Hourly, r.Monthly = parse(mt.HourlyRate), parse(mt.MonthlyRate)
	}
	r.Storage = parse(s.storageRate(sizeGB))
	return r
}

// UsageRow is the usage of one team's machines of one type in a month.
type UsageRow struct {
	TeamID, TeamName, MachineType string
	// Machines counts the machines that existed during the month.
	Machines int
	Usage    billing.Usage
	// Cost is the sum of the machines' charges; nil when a rate one of them needs is unset.
	Cost *billing.Cents
}

// UsageReport is the operator's usage report of one month.
type UsageReport struct {
	Month billing.Month
	Rows  []UsageRow // by team, then machine type
}

// UsageReport totals the usage of every machine, live or destroyed, per team and machine type
// in billingMonth up to now (operator only).
func (s *Service) UsageReport(ctx context.Context, p core.Principal, billingMonth string) (UsageReport, error) {
	if err := requireOperator(p); err != nil {
		return UsageReport{}, err
	}
	month, err := billing.ParseMonth(strings.TrimSpace(billingMonth))
	if err != nil {
		return UsageReport{}, invalid("%s", strings.Replace(err.Error(), "billingMonth", "month", 1))
	}
	var (
		usage []core.MachineUsage
		teams []core.Team
	)
	err = s.read(ctx, func(tx store.Tx) error {
		var err error
		if usage, err = tx.ListUsage(month.Start(), month.End()); err != nil {
			return err
		}
		teams, err = tx.ListTeams()
		return err
	})
	if err != nil {
		return UsageReport{}, err
	}
	names := make(map[string]string, len(teams))
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	now := s.clock.Now()
	rep := UsageReport{Month: month}
	index := map[[2]string]int{}
	for _, u := range usage {
		use := billing.ForMonth(u, month, now)
		if use.Storage == 0 && use.Machine == 0 {
			continue
		}
		key := [2]string{u.TeamID, u.MachineType}
		i, ok := index[key]
		if !ok {
			i = len(rep.Rows)
			index[key] = i
			rep.Rows = append(rep.Rows, UsageRow{TeamID: u.TeamID, TeamName: names[u.TeamID],
				MachineType: u.MachineType, Cost: new(billing.Cents)})
		}
		row := &rep.Rows[i]
		row.Machines++
		row.Usage.Machine += use.Machine
		row.Usage.Storage += use.Storage
		cost, known := billing.Charge(u.BillingType, use, month, s.rates(u.MachineType, u.SizeGB))
		if !known {
			row.Cost = nil
		} else if row.Cost != nil {
			*row.Cost += cost
		}
	}
	order := map[string]int{}
	for i, t := range s.cfg.Catalog.TypeOrder {
		order[t] = i
	}
	slices.SortStableFunc(rep.Rows, func(a, b UsageRow) int {
		if c := strings.Compare(a.TeamID, b.TeamID); c != 0 {
			return c
		}
		return order[a.MachineType] - order[b.MachineType]
	})
	return rep, nil
}

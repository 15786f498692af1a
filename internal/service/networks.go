package service

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

	"hangar/internal/core"
	"hangar/internal/store"
)

// teamNetwork finds a network of the caller's team by handle or numeric id. NotFound otherwise.
func (s *Service) teamNetwork(tx store.Tx, p core.Principal, ref string) (core.Network, error) {
	n, err := lookupNetwork(tx, ref)
	if err == nil && n.TeamID != p.Team.ID {
		err = core.Errorf(core.NotFound, "network %s not found", ref)
	}
	return n, err
}

// lookupNetwork finds a live network by handle or numeric id (spec §6 #11).
func lookupNetwork(tx store.Tx, ref string) (core.Network, error) {
	ref = strings.TrimSpace(ref)
	if num, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return tx.GetNetworkByNum(num)
	}
	return tx.GetNetwork(ref)
}

// ListNetworks lists the caller's team networks.
func (s *Service) ListNetworks(ctx context.Context, p core.Principal) ([]core.Network, error) {
	var out []core.Network
	return out, s.read(ctx, func(tx store.Tx) (err error) { out, err = tx.ListNetworks(p.Team.ID); return })
}

// NewNetwork describes a network to create.
type NewNetwork struct {
	Team, Name, Region, CIDR string
}

// CreateNetwork creates a private network for a team (operator only).
func (s *Service) CreateNetwork(ctx context.Context, p core.Principal, nn NewNetwork) (core.Network, error) {
	if err := requireOperator(p); err != nil {
		return core.Network{}, err
	}
	if err := core.CheckName("name", nn.Name); err != nil {
		return core.Network{}, err
	}
	r, ok := s.cfg.Catalog.Region(nn.Region)
	if !ok {
		return core.Network{}, invalid("Invalid region %q. Valid regions: %s", nn.Region, regionNames(s.cfg.Catalog))
	}
	prefix, err := netip.ParsePrefix(strings.TrimSpace(nn.CIDR))
	if err != nil || !prefix.Addr().Is4() || prefix.Bits() < 8 || prefix.Bits() > 29 {
		return core.Network{}, invalid("cidr %q must be an IPv4 prefix between /8 and /29, e.g. 10.64.21.0/24", nn.CIDR)
	}
	if prefix.Masked() != prefix {
		return core.Network{}, invalid("cidr %q has host bits set; did you mean %s?", nn.CIDR, prefix.Masked())
	}
	n := core.Network{ID: core.NewID(core.PrefixNetwork, 6), Name: strings.TrimSpace(nn.Name), Region: r.Name,
		CIDR: prefix.String(), Managed: false, Created: s.clock.Now()}
	auditTarget(ctx, n.ID)
	err = s.write(ctx, func(tx store.Tx) error {
		t, err := resolveTeam(tx, nn.Team)
		if core.IsNotFound(err) {
			return invalid("team %q not found", nn.Team)
		}
		if err != nil {
			return err
		}
		n.TeamID = t.ID
		if err := s.env.CheckQuota(tx, t.ID, core.QuotaNetworks); err != nil {
			return err
		}
		all, err := tx.ListNetworks("")
		if err != nil {
			return err
		}
		n.VLAN = nextVLAN(all)
		return tx.CreateNetwork(&n)
	})
	return n, err
}

// AdminListNetworks lists the networks of a team or of all teams (operator only).
func (s *Service) AdminListNetworks(ctx context.Context, p core.Principal, teamRef string) ([]core.Network, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	var out []core.Network
	err := s.read(ctx, func(tx store.Tx) error {
		id, err := teamScope(tx, teamRef)
		if err == nil {
			out, err = tx.ListNetworks(id)
		}
		return err
	})
	return out, err
}

// DeleteNetwork deletes a network without machines (operator only).
func (s *Service) DeleteNetwork(ctx context.Context, p core.Principal, ref string) error {
	if err := requireOperator(p); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		n, err := lookupNetwork(tx, ref)
		if err != nil {
			return err
		}
		return deleteUnused(tx, n)
	})
}

// deleteUnused deletes a network no live machine uses; one still in use is a 400 naming how
// many machines are on it.
func deleteUnused(tx store.Tx, n core.Network) error {
	count, err := tx.CountNetworkMachines(n.ID)
	if err != nil {
		return err
	}
	if count > 0 {
		return invalid("network %s still has %d machines", n.ID, count)
	}
	return tx.DeleteNetwork(n.ID)
}

// managedPool is where Hangar carves the /24s of networks that teams create through the API
// (terraform, paperspace-go); spec §4.5's example network 10.64.21.0/24 lies in it.
var managedPool = netip.MustParsePrefix("10.64.0.0/12")

// callerTeam resolves ref (handle or numeric id, spec §6 #12) to the caller's own team; any
// other team, existing or not, is NotFound. An empty ref is the caller's team.
func callerTeam(tx store.Tx, p core.Principal, ref string) error {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil
	}
	t, err := resolveTeam(tx, ref)
	if err == nil && t.ID != p.Team.ID {
		err = core.Errorf(core.NotFound, "team %s not found", ref)
	}
	if core.IsNotFound(err) {
		return core.Errorf(core.NotFound, "team %s not found", ref)
	}
	return err
}

// TeamNetworks lists the networks of the caller's team, named by teamRef (spec §2.25).
func (s *Service) TeamNetworks(ctx context.Context, p core.Principal, teamRef string) ([]core.Network, error) {
	var out []core.Network
	err := s.read(ctx, func(tx store.Tx) error {
		if err := callerTeam(tx, p, teamRef); err != nil {
			return err
		}
		var err error
		out, err = tx.ListNetworks(p.Team.ID)
		return err
	})
	return out, err
}

// NewTeamNetwork is a network a team admin creates through the Paperspace API: a name and a
// region, by regionId (1–3) or by name.
type NewTeamNetwork struct {
	Team     string // handle or numeric id; "" is the caller's team
	Name     string
	RegionID *int
	Region   string
}

// CreateTeamNetwork creates a managed private network for the caller's team, with a free /24
// that Hangar picks (team admin; spec §2.25, §2.26).
func (s *Service) CreateTeamNetwork(ctx context.Context, p core.Principal, nn NewTeamNetwork) (core.Network, error) {
	var n core.Network
	err := s.write(ctx, func(tx store.Tx) error {
		if err := callerTeam(tx, p, nn.Team); err != nil {
			return err
		}
		if !p.User.IsAdmin() {
			return forbidden("Only the team administrator can create networks")
		}
		if err := core.CheckName("name", nn.Name); err != nil {
			return err
		}
		var r core.Region
		var ok bool
		switch {
		case nn.RegionID != nil:
			if r, ok = s.cfg.Catalog.RegionByNum(*nn.RegionID); !ok {
				return invalid("Invalid regionId %d. Valid: 1 (East Coast (NY2)), 2 (West Coast (CA1)), 3 (Europe (AMS1))", *nn.RegionID)
			}
		case nn.Region != "":
			if r, ok = s.cfg.Catalog.Region(nn.Region); !ok {
				return invalid("Invalid region %q. Valid regions: %s", nn.Region, regionNames(s.cfg.Catalog))
			}
		default:
			return invalid("regionId is required")
		}
		// Before the search for a free range: a team over its quota must not learn, or be
		// stopped by, how full the shared pool is.
		if err := s.env.CheckQuota(tx, p.Team.ID, core.QuotaNetworks); err != nil {
			return err
		}
		all, err := tx.ListNetworks("")
		if err != nil {
			return err
		}
		cidr, err := s.freeManagedRange(all)
		if err != nil {
			return err
		}
		n = core.Network{ID: core.NewID(core.PrefixNetwork, 6), Name: strings.TrimSpace(nn.Name), TeamID: p.Team.ID,
			Region: r.Name, CIDR: cidr.String(), VLAN: nextVLAN(all), Managed: true, Created: s.clock.Now()}
		auditTarget(ctx, n.ID)
		return tx.CreateNetwork(&n)
	})
	return n, err
}

// freeManagedRange returns the first /24 of the managed pool that overlaps no live network
// and not the default private range.
func (s *Service) freeManagedRange(live []core.Network) (netip.Prefix, error) {
	taken := make([]netip.Prefix, 0, len(live)+1)
	for _, n := range live {
		if p, err := netip.ParsePrefix(n.CIDR); err == nil {
			taken = append(taken, p)
		}
	}
	if s.env.DefaultNet.IsValid() {
		taken = append(taken, s.env.DefaultNet)
	}
	base := managedPool.Addr().As4()
	for i := range 1 << (24 - managedPool.Bits()) {
		a := base
		a[1] += byte(i >> 8)
		a[2] = byte(i)
		cand := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		free := true
		for _, t := range taken {
			if t.Overlaps(cand) {
				free = false
				break
			}
		}
		if free {
			return cand, nil
		}
	}
	return netip.Prefix{}, core.Errorf(core.Unavailable, "No free private network range left in %s", managedPool)
}

// DeleteTeamNetwork deletes a network of the caller's team by handle or numeric id (team
// admin; spec §2.26). Networks with machines cannot be deleted.
func (s *Service) DeleteTeamNetwork(ctx context.Context, p core.Principal, ref string) error {
	return s.write(ctx, func(tx store.Tx) error {
		n, err := s.teamNetwork(tx, p, ref)
		if core.IsNotFound(err) {
			return core.Errorf(core.NotFound, "network %s not found", ref)
		}
		if err != nil {
			return err
		}
		if !p.User.IsAdmin() {
			return forbidden("Only the team administrator can delete networks")
		}
		return deleteUnused(tx, n)
	})
}

// nextVLAN returns a VLAN id no live network uses: one above the highest, from 100 (any
// stable integer will do, spec §6 #38).
func nextVLAN(live []core.Network) int {
	v := 100
	for _, n := range live {
		v = max(v, n.VLAN+1)
	}
	return v
}

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
	if strings.TrimSpace(nn.Name) == "" {
		return core.Network{}, invalid("name is required")
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
	err = s.write(ctx, func(tx store.Tx) error {
		t, err := resolveTeam(tx, nn.Team)
		if core.IsNotFound(err) {
			return invalid("team %q not found", nn.Team)
		}
		if err != nil {
			return err
		}
		n.TeamID = t.ID
		all, err := tx.ListNetworks("")
		if err != nil {
			return err
		}
		n.VLAN = 100 + len(all) // any stable integer (spec §6 #38)
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
		count, err := tx.CountNetworkMachines(n.ID)
		if err != nil {
			return err
		}
		if count > 0 {
			return invalid("network %s still has %d machines", n.ID, count)
		}
		return tx.DeleteNetwork(n.ID)
	})
}

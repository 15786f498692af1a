package cli

import (
	"io"

	"hangar/api"
)

// NetworksCmd is `hangar admin networks`.
type NetworksCmd struct {
	List   NetworksListCmd   `cmd:"" help:"List private networks."`
	Create NetworksCreateCmd `cmd:"" help:"Create a private network for a team."`
	Delete NetworksDeleteCmd `cmd:"" help:"Delete a private network."`
}

// NetworksListCmd is `hangar admin networks list`.
type NetworksListCmd struct {
	Team string `placeholder:"TEAM" help:"Only this team's networks (handle or numeric id)."`
}

// Run lists private networks.
func (c *NetworksListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	ns, err := s.api.ListNetworks(s.ctx, c.Team)
	if err != nil {
		return err
	}
	return s.table(ns, "ID\tNUM\tNAME\tTEAM\tREGION\tCIDR\tVLAN", func(w io.Writer) {
		for _, n := range ns {
			printf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%d\n", n.ID, n.Num, n.Name, n.TeamID, n.Region, n.CIDR, n.VLANID)
		}
	})
}

// NetworksCreateCmd is `hangar admin networks create`.
type NetworksCreateCmd struct {
	Team   string `required:"" placeholder:"TEAM" help:"Owning team (handle or numeric id)."`
	Name   string `required:"" placeholder:"NAME" help:"Network name."`
	Region string `required:"" placeholder:"REGION" help:"Region, e.g. \"East Coast (NY2)\"."`
	CIDR   string `name:"cidr" required:"" placeholder:"CIDR" help:"Address range, e.g. 10.64.21.0/24."`
}

// Run creates a private network.
func (c *NetworksCreateCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	n, err := s.api.CreateNetwork(s.ctx, api.CreateNetworkRequest{Team: c.Team, Name: c.Name,
		Region: c.Region, CIDR: c.CIDR})
	if err != nil {
		return err
	}
	return s.emit(n, func(w io.Writer) {
		printf(w, "created network %s (%s, %s, vlan %d)\n", n.ID, n.Name, n.CIDR, n.VLANID)
	})
}

// NetworksDeleteCmd is `hangar admin networks delete`.
type NetworksDeleteCmd struct {
	ID string `arg:"" name:"id" help:"Network id."`
}

// Run deletes a private network.
func (c *NetworksDeleteCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	if err := s.api.DeleteNetwork(s.ctx, c.ID); err != nil {
		return err
	}
	return s.deleted("network", c.ID)
}

package cli

import (
	"io"
)

// PublicIPsCmd is `hangar admin public-ips`.
type PublicIPsCmd struct {
	List    PublicIPsListCmd    `cmd:"" help:"List the public IPs reserved to teams, attached or kept after a destroy."`
	Release PublicIPsReleaseCmd `cmd:"" help:"Return a static public IP that no machine uses to the pool."`
}

// PublicIPsListCmd is `hangar admin public-ips list`.
type PublicIPsListCmd struct {
	Team string `placeholder:"TEAM" help:"Only this team's (id or numeric id)."`
}

// Run lists public IPs.
func (c *PublicIPsListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	ips, err := s.api.ListPublicIPs(s.ctx, c.Team)
	if err != nil {
		return err
	}
	return s.table(ips, "ADDRESS\tTEAM\tMACHINE\tKIND", func(w io.Writer) {
		for _, ip := range ips {
			kind := "static"
			if ip.Dynamic {
				kind = "dynamic"
			}
			printf(w, "%s\t%s\t%s\t%s\n", ip.Address, ip.TeamID, orDash(ip.MachineID), kind)
		}
	})
}

// PublicIPsReleaseCmd is `hangar admin public-ips release`.
type PublicIPsReleaseCmd struct {
	Address string `arg:"" name:"address" help:"The public IP address."`
}

// Run releases a public IP.
func (c *PublicIPsReleaseCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	ip, err := s.api.ReleasePublicIP(s.ctx, c.Address)
	if err != nil {
		return err
	}
	return s.emit(ip, func(w io.Writer) { printf(w, "released public IP %s (team %s)\n", ip.Address, ip.TeamID) })
}

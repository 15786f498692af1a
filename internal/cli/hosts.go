package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"hangar/api"
)

// HostsCmd is `hangar admin hosts`.
type HostsCmd struct {
	List   HostsListCmd   `cmd:"" help:"List hosts with their capacity and usage."`
	Create HostsCreateCmd `cmd:"" help:"Register a host with its capacity per machine type."`
	Update HostsUpdateCmd `cmd:"" help:"Rename a host, replace its capacity or toggle its availability."`
	Delete HostsDeleteCmd `cmd:"" help:"Delete a host (by id or name); an agent host's credential goes with it."`
	Drain  HostsDrainCmd  `cmd:"" help:"Stop placing new machines on a host (by id or name); its machines stay."`
	Resume HostsResumeCmd `cmd:"" help:"Place machines on a drained host again (by id or name)."`
	Revoke HostsRevokeCmd `cmd:"" help:"Revoke the credential of a host's agent (by id or name): its next request is refused."`
	Tokens HostsTokensCmd `cmd:"" help:"Join tokens for hangar agent."`
}

// HostsDrainCmd is `hangar admin hosts drain`.
type HostsDrainCmd struct {
	Host string `arg:"" name:"host" help:"Host id or name."`
}

// Run drains a host.
func (c *HostsDrainCmd) Run(g *Globals, a *Admin) error { return setAvailable(g, a, c.Host, false) }

// HostsResumeCmd is `hangar admin hosts resume`.
type HostsResumeCmd struct {
	Host string `arg:"" name:"host" help:"Host id or name."`
}

// Run resumes a host.
func (c *HostsResumeCmd) Run(g *Globals, a *Admin) error { return setAvailable(g, a, c.Host, true) }

// setAvailable drains (false) or resumes (true) a host.
func setAvailable(g *Globals, a *Admin, host string, on bool) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	call := s.api.DrainHost
	if on {
		call = s.api.ResumeHost
	}
	h, err := call(s.ctx, host)
	if err != nil {
		return err
	}
	return s.emit(h, func(w io.Writer) { printf(w, "host %s (%s) is %s\n", h.Name, h.ID, h.State) })
}

// HostsRevokeCmd is `hangar admin hosts revoke`.
type HostsRevokeCmd struct {
	Host string `arg:"" name:"host" help:"Host id or name."`
}

// Run revokes the credential of a host's agent.
func (c *HostsRevokeCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	h, err := s.api.RevokeHost(s.ctx, c.Host)
	if err != nil {
		return err
	}
	return s.emit(h, func(w io.Writer) {
		printf(w, "host %s (%s): agent credential revoked; the host is %s until an agent joins it with a new token\n",
			h.Name, h.ID, h.State)
	})
}

// HostsTokensCmd is `hangar admin hosts tokens`.
type HostsTokensCmd struct {
	Create HostsTokensCreateCmd `cmd:"" help:"Create a one-time join token for a host of a region."`
}

// HostsTokensCreateCmd is `hangar admin hosts tokens create`.
type HostsTokensCreateCmd struct {
	Region string `required:"" placeholder:"REGION" help:"Region the joining host is in."`
	TTL    string `name:"ttl" default:"1h" placeholder:"DURATION" help:"How long the token can be used."`
}

// Run creates a join token.
func (c *HostsTokensCreateCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	tok, err := s.api.CreateJoinToken(s.ctx, api.CreateJoinTokenRequest{Region: c.Region, TTL: c.TTL})
	if err != nil {
		return err
	}
	return s.emit(tok, func(w io.Writer) {
		printf(w, "join token (shown only this once, expires %s):\n%s\n", tok.Expires, tok.Token)
	})
}

// HostsListCmd is `hangar admin hosts list`.
type HostsListCmd struct {
	Region string `placeholder:"REGION" help:"Only hosts of this region."`
}

// Run lists hosts.
func (c *HostsListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	hs, err := s.api.ListHosts(s.ctx, c.Region)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(hs, func(h api.Host) bool { return h.Hypervisor != nil }) {
		return s.table(hs, "ID\tNAME\tREGION\tDRIVER\tSTATE\tLAST SEEN\tVERSION\tHYPERVISOR\tUSED/CAPACITY", func(w io.Writer) {
			for _, h := range hs {
				printf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.Name, h.Region, dash(h.Driver), dash(h.State),
					lastSeen(h), version(h), hypervisorOf(h), usage(h))
			}
		})
	}
	return s.table(hs, "ID\tNAME\tREGION\tDRIVER\tSTATE\tLAST SEEN\tVERSION\tUSED/CAPACITY", func(w io.Writer) {
		for _, h := range hs {
			printf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.Name, h.Region, dash(h.Driver), dash(h.State),
				lastSeen(h), version(h), usage(h))
		}
	})
}

// dash is v, or "-" when it is empty.
func dash(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

// lastSeen is the last heartbeat of a host's agent, "-" for a host without one.
func lastSeen(h api.Host) string {
	if h.Agent == nil || h.Agent.LastSeen == nil {
		return "-"
	}
	return *h.Agent.LastSeen
}

// version is the build of a host's agent, "-" for a host without one.
func version(h api.Host) string {
	if h.Agent == nil {
		return "-"
	}
	return dash(h.Agent.Version)
}

// usage renders a host's load as "C1=0/50 P4000=1/4", sorted by machine type.
func usage(h api.Host) string {
	types := make([]string, 0, len(h.Capacity))
	for t := range h.Capacity {
		types = append(types, t)
	}
	for t := range h.Used {
		if _, ok := h.Capacity[t]; !ok {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%s=%d/%d", t, h.Used[t], h.Capacity[t])
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// HostsCreateCmd is `hangar admin hosts create`.
type HostsCreateCmd struct {
	Name        string         `required:"" placeholder:"NAME" help:"Host name."`
	Region      string         `required:"" placeholder:"REGION" help:"Region, e.g. \"East Coast (NY2)\"."`
	Capacity    map[string]int `required:"" placeholder:"TYPE=N" help:"Slots per machine type; repeat the flag (--capacity P4000=4 --capacity C1=50)."`
	Unavailable bool           `help:"Register the host without taking new placements."`
}

// Run registers a host.
func (c *HostsCreateCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	req := api.CreateHostRequest{Name: c.Name, Region: c.Region, Capacity: c.Capacity}
	if c.Unavailable {
		no := false
		req.Available = &no
	}
	h, err := s.api.CreateHost(s.ctx, req)
	if err != nil {
		return err
	}
	return s.emit(h, func(w io.Writer) { printf(w, "created host %s (%s: %s)\n", h.ID, h.Name, usage(*h)) })
}

// HostsUpdateCmd is `hangar admin hosts update`.
type HostsUpdateCmd struct {
	ID        string         `arg:"" name:"id" help:"Host id."`
	Name      *string        `placeholder:"NAME" help:"New host name."`
	Capacity  map[string]int `placeholder:"TYPE=N" help:"New capacity, replacing the whole map; repeat the flag."`
	Available *bool          `help:"Whether the host takes new placements (--available=true|false)."`
}

// Run updates a host.
func (c *HostsUpdateCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	req := api.UpdateHostRequest{Name: c.Name, Available: c.Available}
	if len(c.Capacity) > 0 {
		req.Capacity = c.Capacity
	}
	h, err := s.api.UpdateHost(s.ctx, c.ID, req)
	if err != nil {
		return err
	}
	return s.emit(h, func(w io.Writer) {
		printf(w, "updated host %s (%s, available=%t: %s)\n", h.ID, h.Name, h.Available, usage(*h))
	})
}

// HostsDeleteCmd is `hangar admin hosts delete`.
type HostsDeleteCmd struct {
	ID string `arg:"" name:"host" help:"Host id or name."`
}

// Run deletes a host.
func (c *HostsDeleteCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	if err := s.api.DeleteHost(s.ctx, c.ID); err != nil {
		return err
	}
	return s.deleted("host", c.ID)
}

// hypervisorOf renders how a host runs machines, e.g. "qemu/tcg gpus=1".
func hypervisorOf(h api.Host) string {
	if h.Hypervisor == nil {
		return "-"
	}
	out := h.Hypervisor.Driver + "/" + h.Hypervisor.Accelerator
	n := 0
	for _, a := range h.Hypervisor.GPUs {
		n += len(a)
	}
	if n > 0 {
		out += fmt.Sprintf(" gpus=%d", n)
	}
	return out
}

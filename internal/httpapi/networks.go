package httpapi

import (
	"net/http"
	"slices"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/service"
)

// newTeamNetwork reads the create parameters terraform and paperspace-go send: {name,
// regionId}, or a region name instead of regionId.
func newTeamNetwork(p *params) (service.NewTeamNetwork, error) {
	var nn service.NewTeamNetwork
	var err error
	if nn.Name, _, err = p.str("name"); err != nil {
		return nn, err
	}
	if nn.RegionID, _, err = p.integer("regionId"); err != nil {
		return nn, err
	}
	if nn.Region, _, err = p.str("region"); err != nil {
		return nn, err
	}
	return nn, nil
}

// createTeamNetwork is terraform's POST /teams/:teamId/createPrivateNetwork: 200 with the bare
// network object (spec §2.25, §6 #42).
func (s *Server) createTeamNetwork(c *call) (reply, error) {
	nn, err := newTeamNetwork(c.p)
	if err != nil {
		return reply{}, err
	}
	nn.Team = c.p.pathID("teamId")
	n, err := s.svc.CreateTeamNetwork(c.ctx(), c.pr, nn)
	if err != nil {
		return reply{}, err
	}
	return ok(toTeamNetwork(n))
}

// teamNetworks is terraform's GET /teams/:teamId/getNetworks: [{name, network:{…}}].
func (s *Server) teamNetworks(c *call) (reply, error) {
	ns, err := s.svc.TeamNetworks(c.ctx(), c.pr, c.p.pathID("teamId"))
	if err != nil {
		return reply{}, err
	}
	return ok(mapAll(ns, toNamedTeamNetwork))
}

// goListNetworks is paperspace-go's GET /networks with the filters of its JSON body, exact and
// AND-combined; region, which its objects lack, filters on the network's region.
func (s *Server) goListNetworks(c *call) (reply, error) {
	ns, err := s.svc.ListNetworks(c.ctx(), c.pr)
	if err != nil {
		return reply{}, err
	}
	a, err := c.p.list()
	if err != nil {
		return reply{}, err
	}
	if want, ok := a.where["region"]; ok {
		r, known := s.svc.Catalog().Region(want)
		ns = slices.DeleteFunc(ns, func(n core.Network) bool { return !known || n.Region != r.Name })
	}
	return listReply(s, c, mapAll(ns, toGoNetwork), api.GoNetwork{})
}

// goCreateNetwork is paperspace-go's POST /networks {name, regionId}: 200 with the network.
func (s *Server) goCreateNetwork(c *call) (reply, error) {
	nn, err := newTeamNetwork(c.p)
	if err != nil {
		return reply{}, err
	}
	n, err := s.svc.CreateTeamNetwork(c.ctx(), c.pr, nn)
	if err != nil {
		return reply{}, err
	}
	return ok(toGoNetwork(n))
}

// goDeleteNetwork is paperspace-go's DELETE /networks/:id (numeric id or handle): 204, 404
// for a network the caller's team does not have.
func (s *Server) goDeleteNetwork(c *call) (reply, error) {
	c.succeedsWith(http.StatusNoContent)
	if err := s.svc.DeleteTeamNetwork(c.ctx(), c.pr, c.p.pathID("id")); err != nil {
		return reply{}, err
	}
	return noContent()
}

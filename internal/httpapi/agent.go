package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/service"
)

// The agent protocol (/hangar/agent/v1, docs/agent-protocol.md) is served outside the route
// table: its callers are `hangar agent` processes, which authenticate with a join token (join)
// or their host's credential (sync) rather than an API key, and its answers are the api.Agent*
// documents. Errors keep the Paperspace shape.

// Agent is the agent protocol's handler, to mount at api.AgentPrefix+"/".
func (s *Server) Agent() http.Handler { return s.agentH }

func (s *Server) agentMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.AgentPrefix+"/join", s.agentJoin)
	mux.HandleFunc("POST "+api.AgentPrefix+"/sync", s.agentSync)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, core.Errorf(core.NotFound, "Cannot %s %s: the agent protocol has POST %s/join and POST %s/sync",
			r.Method, r.URL.Path, api.AgentPrefix, api.AgentPrefix))
	})
	return mux
}

// decodeAgent reads an agent request body into dst and checks its protocol version.
func (s *Server) decodeAgent(r *http.Request, dst any, protocol func() int) error {
	body := http.MaxBytesReader(nil, r.Body, s.cfg.MaxBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(dst); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return core.Errorf(core.Invalid, "agent request body is larger than %d bytes", s.cfg.MaxBody)
		}
		return core.Errorf(core.Invalid, "invalid agent request body: %v", err)
	}
	if v := protocol(); v != api.AgentProtocol {
		return core.Errorf(core.Invalid, "agent protocol %d is not spoken here: this control plane speaks %d (%s)",
			v, api.AgentProtocol, api.AgentPrefix)
	}
	return nil
}

func (s *Server) agentJoin(w http.ResponseWriter, r *http.Request) {
	var req api.AgentJoinRequest
	if err := s.decodeAgent(r, &req, func() int { return req.Protocol }); err != nil {
		s.writeError(w, r, err)
		return
	}
	h, cred, err := s.svc.Join(r.Context(), service.AgentJoin{Token: req.Token, Name: req.Name, Driver: req.Driver,
		Accelerator: req.Accelerator, Version: req.Version, Capacity: req.Capacity, GPUs: req.GPUs})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "fleet: host joined", "host", h.Name, "id", h.ID, "region", h.Region,
		"driver", req.Driver, "version", req.Version)
	writeJSON(w, http.StatusOK, api.AgentJoinResponse{Protocol: api.AgentProtocol, HostID: h.ID, Region: h.Region,
		Credential: cred, HeartbeatMS: s.svc.AgentHeartbeat().Milliseconds()})
}

// agentCredential is the bearer credential of an agent request.
func agentCredential(r *http.Request) (string, error) {
	v := r.Header.Get("Authorization")
	cred, ok := strings.CutPrefix(v, "Bearer ")
	if !ok || strings.TrimSpace(cred) == "" {
		return "", core.Errorf(core.Unauthorized, "agent credential required: send Authorization: Bearer <credential>")
	}
	return strings.TrimSpace(cred), nil
}

func (s *Server) agentSync(w http.ResponseWriter, r *http.Request) {
	cred, err := agentCredential(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	host, err := s.svc.AuthAgent(r.Context(), cred)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req api.AgentSyncRequest
	if err := s.decodeAgent(r, &req, func() int { return req.Protocol }); err != nil {
		s.writeError(w, r, err)
		return
	}
	sy := service.AgentSync{Version: req.Version, Inventory: req.Inventory, Known: req.Known,
		Wait: time.Duration(req.WaitMS) * time.Millisecond, Results: map[string][]byte{}}
	for _, res := range req.Results {
		b, err := json.Marshal(res)
		if err != nil {
			s.writeError(w, r, core.Wrap(core.Internal, err, "encode agent result"))
			return
		}
		sy.Results[res.OpID] = b
	}
	rep, err := s.svc.Sync(r.Context(), host, sy)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := api.AgentSyncResponse{Protocol: api.AgentProtocol, HostID: rep.Host.ID, State: string(rep.Host.State()),
		Pending: rep.Pending, Ops: make([]api.AgentOp, 0, len(rep.Ops)), HeartbeatMS: s.svc.AgentHeartbeat().Milliseconds(),
		WantInventory: rep.WantInventory}
	if out.Pending == nil {
		out.Pending = []string{}
	}
	for _, op := range rep.Ops {
		var wire api.AgentOp
		if err := json.Unmarshal(op.Request, &wire); err != nil {
			s.writeError(w, r, core.Wrap(core.Internal, fmt.Errorf("operation %s: %w", op.ID, err), "decode agent operation"))
			return
		}
		out.Ops = append(out.Ops, wire)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) opCreateJoinToken(c *call) (reply, error) {
	var req api.CreateJoinTokenRequest
	if err := c.p.decode(&req); err != nil {
		return reply{}, err
	}
	ttl := time.Hour
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			return reply{}, core.Errorf(core.Invalid, "ttl %q is not a duration (e.g. 30m, 1h, 24h)", req.TTL)
		}
		ttl = d
	}
	tok, j, err := s.svc.CreateJoinToken(c.ctx(), c.pr, req.Region, ttl)
	if err != nil {
		return reply{}, err
	}
	return ok(api.JoinToken{Token: tok, Expires: fmtTime(j.Expires)})
}

func (s *Server) opDrainHost(c *call) (reply, error)  { return s.setHostAvailable(c, false) }
func (s *Server) opResumeHost(c *call) (reply, error) { return s.setHostAvailable(c, true) }

func (s *Server) setHostAvailable(c *call, on bool) (reply, error) {
	h, err := s.svc.UpdateHost(c.ctx(), c.pr, c.p.pathID("id"), service.HostSpec{Available: &on})
	if err != nil {
		return reply{}, err
	}
	return ok(s.toHost(h))
}

func (s *Server) opRevokeHost(c *call) (reply, error) {
	h, err := s.svc.RevokeAgent(c.ctx(), c.pr, c.p.pathID("id"))
	if err != nil {
		return reply{}, err
	}
	return ok(s.toHost(h))
}

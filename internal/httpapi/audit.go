package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/mail"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/reqid"
	"hangar/internal/service"
)

// auditActions names every state-changing route, keyed by "METHOD pattern": a call to one of
// them is written to the audit log whatever its outcome. A route missing from this table is not
// audited; TestAuditActionsCoverStateChangingRoutes fails if it changes state (any method but
// GET, and the GET forms of setMachineAccess).
var auditActions = map[string]string{
	"POST /machines/createSingleMachinePublic":                     "machines.create",
	"POST /machines/{machineId}/start":                             "machines.start",
	"POST /machines/{machineId}/stop":                              "machines.stop",
	"POST /machines/{machineId}/restart":                           "machines.restart",
	"POST /machines/{machineId}/destroyMachine":                    "machines.destroy",
	"POST /machines/{machineId}/updateMachinePublic":               "machines.update",
	"POST /machines/updateMachine":                                 "machines.update",
	"GET /machines/{machineId}/setMachineAccess":                   "machines.setAccess",
	"POST /machines/{machineId}/setMachineAccess":                  "machines.setAccess",
	"GET /machines/{machineId}/setMachineAccessPublic":             "machines.setAccess",
	"POST /machines/{machineId}/setMachineAccessPublic":            "machines.setAccess",
	"POST /scripts/createScript":                                   "scripts.create",
	"POST /scripts/{scriptId}/destroy":                             "scripts.destroy",
	"POST /users/login":                                            "users.login",
	"POST /users/logout":                                           "users.logout",
	"POST /teams/{teamId}/createPrivateNetwork":                    "networks.create",
	"POST /networks":                                               "networks.create",
	"DELETE /networks/{id}":                                        "networks.delete",
	"POST /apiTokens/createPublic":                                 "apiTokens.create",
	"POST /apiToken/createPublic":                                  "apiTokens.create",
	"POST " + api.OperatorPrefix + "/teams":                        "teams.create",
	"POST " + api.OperatorPrefix + "/teams/{id}":                   "teams.update",
	"POST " + api.OperatorPrefix + "/publicIps/{address}/release":  "publicIps.release",
	"POST " + api.OperatorPrefix + "/users":                        "users.create",
	"POST " + api.OperatorPrefix + "/users/{id}":                   "users.update",
	"POST " + api.OperatorPrefix + "/users/{id}/sshKeys":           "users.sshKeys.add",
	"DELETE " + api.OperatorPrefix + "/users/{id}/sshKeys/{keyId}": "users.sshKeys.remove",
	"POST " + api.OperatorPrefix + "/keys":                         "keys.create",
	"POST " + api.OperatorPrefix + "/keys/{id}/revoke":             "keys.revoke",
	"POST " + api.OperatorPrefix + "/templates":                    "templates.create",
	"DELETE " + api.OperatorPrefix + "/templates/{id}":             "templates.delete",
	"POST " + api.OperatorPrefix + "/networks":                     "networks.create",
	"DELETE " + api.OperatorPrefix + "/networks/{id}":              "networks.delete",
	"POST " + api.OperatorPrefix + "/hosts":                        "hosts.create",
	"POST " + api.OperatorPrefix + "/hosts/{id}":                   "hosts.update",
	"DELETE " + api.OperatorPrefix + "/hosts/{id}":                 "hosts.delete",
	"POST " + api.OperatorPrefix + "/hosts/tokens":                 "hosts.tokens.create",
	"POST " + api.OperatorPrefix + "/hosts/{id}/drain":             "hosts.drain",
	"POST " + api.OperatorPrefix + "/hosts/{id}/resume":            "hosts.resume",
	"POST " + api.OperatorPrefix + "/hosts/{id}/revoke":            "hosts.revoke",
	"POST " + api.OperatorPrefix + "/sim/faults":                   "sim.faults.add",
}

// auditInfo collects, while a state-changing call is served, what its audit entry needs. The
// entry travels to the service in the request's context: the service writes it in the
// transaction of the call's change (service.Audit). A call that changed nothing is recorded
// here when its status is written. It never holds a secret.
type auditInfo struct {
	svc  service.Audit
	code core.Code // the error code of a failed call
}

type auditKey struct{}

// auditOf returns the auditInfo of an audited request, or nil.
func auditOf(ctx context.Context) *auditInfo {
	a, _ := ctx.Value(auditKey{}).(*auditInfo)
	return a
}

// setTarget names the object a call acted on (a created object's new id).
func (c *call) setTarget(id string) {
	if a := auditOf(c.ctx()); a != nil {
		a.svc.Entry.Target = id
	}
}

// auditWriter records the audit entry of a call when its status is written, before any byte of
// the answer leaves: a client that saw the answer can rely on its entry being stored.
type auditWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	action  string
	info    *auditInfo
	written bool
}

func (w *auditWriter) WriteHeader(status int) {
	if !w.written {
		w.written = true
		w.s.recordAudit(w.r, w.action, w.info, status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveAudited serves a call of route rt and writes its audit entry if rt changes state.
func (s *Server) serveAudited(w http.ResponseWriter, r *http.Request, rt Route) {
	if rt.action == "" {
		s.serve(w, r, rt)
		return
	}
	ctx := r.Context()
	if s.cfg.RequestTimeout > 0 {
		// Only state-changing calls wait for the database's write lock; reads (SQLite in WAL
		// mode) never do, and a deadline's timer would cost the hottest route ~3 %.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
	}
	info := &auditInfo{svc: service.Audit{Entry: core.AuditEntry{RequestID: reqid.From(ctx), Action: rt.action,
		Status: http.StatusOK, ClientAddr: peerAddr(r)}}}
	ctx = service.WithAudit(context.WithValue(ctx, auditKey{}, info), &info.svc)
	r = r.WithContext(ctx)
	aw := &auditWriter{ResponseWriter: w, s: s, r: r, action: rt.action, info: info}
	defer func() {
		if !aw.written { // a panic on its way up, or a handler that wrote nothing
			status := http.StatusOK
			if v := recover(); v != nil {
				aw.written, status = true, http.StatusInternalServerError
				info.code = core.Internal
				s.recordAudit(r, rt.action, info, status)
				panic(v)
			}
			aw.WriteHeader(status)
		}
	}()
	s.serve(aw, r, rt)
}

// recordAudit stores the audit entry of a call whose change did not already store it. A
// failure to store it is logged.
func (s *Server) recordAudit(r *http.Request, action string, info *auditInfo, status int) {
	e := info.svc.Entry
	s.log.Debug("audit", "action", action, "target", e.Target, "status", status, "error", info.code,
		"user", e.UserID, "team", e.TeamID, "client", e.ClientAddr, "request_id", e.RequestID,
		"with_change", info.svc.Stored())
	if info.svc.Stored() {
		if status >= 400 {
			// One entry per call: the change committed with its entry, then the call failed.
			s.log.Error("call failed after its change was committed and audited", "action", action,
				"target", e.Target, "status", status, "error", info.code, "request_id", e.RequestID)
		}
		return
	}
	e.Status = status
	if status >= 400 {
		e.Error = info.code
		if e.Error == "" {
			e.Error = core.Internal
		}
	}
	store := func() {
		// Not cancelled with the request: a call whose client went away is audited too.
		if err := s.svc.RecordAudit(context.WithoutCancel(r.Context()), e); err != nil {
			s.log.Error("audit entry not stored", "action", action, "request_id", e.RequestID, "err", err)
		}
	}
	if e.Error == core.Timeout {
		// The call timed out waiting for the database, which its audit entry would wait for
		// too: the answer goes first, the entry once the database takes writes again.
		go store()
		return
	}
	store()
}

// peerAddr is the IP address of the connection's peer, as the audit log records it.
// Forwarding headers are not trusted: anyone can send them.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// defaultTarget is the object a call names in its parameters: a machine, script or operator
// object id. Handlers that create an object replace it with the new id.
func defaultTarget(p *params) string {
	for _, name := range []string{"machineId", "scriptId", "id"} {
		pm := p.vals[name]
		if v, ok := pm.v.(string); ok && v != "" && (name != "id" || pm.src == fromPath) {
			return truncate(v, maxTargetLen)
		}
	}
	return ""
}

// maxTargetLen bounds the target kept from a client-sent id.
const maxTargetLen = 128

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// loginTarget is what the audit log keeps of a failed login: the email tried, if it is one. A
// value that is not an email address is dropped, in case it was a password typed in the
// wrong field.
func loginTarget(email string) string {
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return ""
	}
	return email
}

// succeedsWith sets the status a call answers when it succeeds, as its audit entry (written with
// its change) records it; the default is 200.
func (c *call) succeedsWith(status int) {
	if a := auditOf(c.ctx()); a != nil {
		a.svc.Entry.Status = status
	}
}

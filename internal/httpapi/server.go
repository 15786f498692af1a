// Package httpapi serves the Paperspace Core API and the Hangar operator API over HTTP. It
// authenticates, decodes parameters leniently (spec §1.3), converts between wire and domain
// types and renders every error in the Paperspace shape; the rules live in service.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/service"
)

// Faults injects simulated failures (the sim driver); nil when the driver has none.
type Faults interface {
	InjectFault(action string, count int, message string) (api.Fault, error)
	Faults() []api.Fault
}

// Config configures a Server.
type Config struct {
	Service *service.Service
	Logger  *slog.Logger
	Faults  Faults
	// MaxBody caps request bodies (default 1 MiB); MaxUpload caps script uploads
	// (createScript, default 4 MiB).
	MaxBody   int64
	MaxUpload int64
	// MaxListLimit caps the limit of list routes (default 10000).
	MaxListLimit int
	// Driver names the hypervisor driver, for the operator API.
	Driver string
	// Limits are the request rate limits; the zero value limits nothing.
	Limits Limits
	// Clock drives the rate limits (default the system clock).
	Clock core.Clock
	// Mount serves extra handlers (pattern → handler) behind the same request id, panic
	// recovery and address limit as the API routes, outside Routes(). Tests mount handlers
	// that misbehave; `hangar serve` mounts nothing.
	Mount map[string]http.Handler
	// HostInfo describes the host a driver runs real machines on; nil when there is none.
	HostInfo HostInfo
	// Observer, if set, hears of every request and every rate-limit refusal (the metrics).
	Observer Observer
	// Metrics, if set, is served at GET /metrics to callers with an operator's API key only.
	Metrics http.Handler
	// RequestTimeout, if positive, bounds each state-changing request (the audited routes): a
	// call still waiting then (for a locked database, say) gives up without applying anything
	// and answers 503, so that the client gets an answer before the HTTP server's write timeout
	// cuts the connection.
	RequestTimeout time.Duration
}

// Observer hears of the requests a Server answers. Its methods run on every request and must
// be cheap and safe for concurrent use.
type Observer interface {
	// Request is told of each answered request: its route's method and pattern (the route
	// table's, so that the set is bounded; "" and RouteUnmatched for a request no route
	// took), the status sent (0 if none) and how long it took.
	Request(method, pattern string, status int, d time.Duration)
	// RateLimited is told of each request a rate limit refused: one of the Limit* names.
	RateLimited(limit string)
}

// RouteUnmatched is the pattern Observer.Request hears for a request that no route served:
// an unknown path or method, or one refused before routing (the address limit).
const RouteUnmatched = "unmatched"

// HostInfo describes, in the operator API's host listing, the host a driver runs real
// machines on (qemu).
type HostInfo interface {
	// Hypervisor describes the host called name; false for every other host.
	Hypervisor(name string) (h api.HostHypervisor, ok bool)
}

// Server is the HTTP API: the Paperspace Core API and the operator API, each a handler that
// `hangar serve` mounts on its root mux.
type Server struct {
	svc    *service.Service
	log    *slog.Logger
	cfg    Config
	routes []Route
	lim    limiters
	// paperspace and operator route the two APIs' requests once guarded; paperspaceH and
	// operatorH are them behind the guard (request id, panic recovery, address limit, path).
	paperspace, operator   *http.ServeMux
	paperspaceH, operatorH http.Handler
	// metricsH serves Config.Metrics at MetricsPath behind the guard; nil without it.
	metricsH http.Handler
	// agentH serves the agent protocol behind the guard.
	agentH http.Handler
}

// Route is one served route: its method, its pattern and who may call it.
type Route struct {
	Method  string
	Pattern string
	Auth    Auth
	handler handlerFunc
	action  string // the audit log's name of a state-changing route (auditActions), else ""
}

// Auth says what a route requires of its caller.
type Auth int

// Auth levels.
const (
	AuthNone     Auth = iota // anonymous
	AuthUser                 // any valid key or token
	AuthOperator             // the operator role
)

// call is what a handler gets: the request, its parameters and the caller.
type call struct {
	r     *http.Request
	p     *params
	pr    core.Principal
	token string // the users/login access token the caller authenticated with, if any
}

func (c *call) ctx() context.Context { return c.r.Context() }

// reply is a handler's result: a status and a body (nil with 204).
type reply struct {
	status int
	body   any
}

type handlerFunc func(c *call) (reply, error)

func ok(body any) (reply, error) { return reply{status: http.StatusOK, body: body}, nil }

func noContent() (reply, error) { return reply{status: http.StatusNoContent}, nil }

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 4 << 20
	}
	if cfg.MaxListLimit <= 0 {
		cfg.MaxListLimit = 10000
	}
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	s := &Server{svc: cfg.Service, log: cfg.Logger, cfg: cfg, lim: newLimiters(cfg.Limits, cfg.Clock),
		paperspace: http.NewServeMux(), operator: http.NewServeMux()}
	s.routes = append(s.paperspaceRoutes(), s.operatorRoutes()...)
	for i := range s.routes {
		s.routes[i].action = auditActions[s.routes[i].Method+" "+s.routes[i].Pattern]
	}
	byPattern := map[string]map[string]Route{}
	var order []string
	for _, rt := range s.routes {
		if byPattern[rt.Pattern] == nil {
			byPattern[rt.Pattern] = map[string]Route{}
			order = append(order, rt.Pattern)
		}
		byPattern[rt.Pattern][rt.Method] = rt
	}
	for _, pat := range order {
		methods := byPattern[pat]
		s.muxOf(pat).HandleFunc(pat, func(w http.ResponseWriter, r *http.Request) {
			rt, ok := methods[r.Method]
			if !ok && r.Method == http.MethodHead {
				rt, ok = methods[http.MethodGet]
			}
			if !ok {
				s.writeError(w, r, core.Errorf(core.NotFound, "Cannot %s %s", r.Method, r.URL.Path))
				return
			}
			if sw, ok := w.(*statusWriter); ok {
				sw.method, sw.pattern = rt.Method, rt.Pattern
			}
			s.serveAudited(w, r, rt)
		})
	}
	for pat, h := range cfg.Mount {
		s.muxOf(pat).Handle(pat, h)
	}
	if cfg.Metrics != nil {
		// No method in the pattern: one method pattern in a mux makes every lookup search the
		// tree twice (method, then any), which the hot path would pay for.
		metrics := http.NewServeMux()
		metrics.Handle(MetricsPath, s.operatorOnly(cfg.Metrics))
		s.metricsH = s.guard(metrics)
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, core.Errorf(core.NotFound, "Cannot %s %s", r.Method, r.URL.Path))
	}
	s.operator.HandleFunc("/", notFound)
	// A request whose path only names the operator API once normalised (an encoded slash)
	// reaches the Paperspace handler; it goes on to the operator routes, guarded once.
	s.paperspace.Handle(api.OperatorPrefix, s.operator)
	s.paperspace.Handle(api.OperatorPrefix+"/", s.operator)
	s.paperspace.HandleFunc("/", notFound)
	s.paperspaceH, s.operatorH = s.guard(s.paperspace), s.guard(s.operator)
	s.agentH = s.guard(s.agentMux())
	return s
}

// muxOf is the mux of a route pattern ("/path" or "METHOD /path"): the operator API's for
// api.OperatorPrefix and below, else the Paperspace API's.
func (s *Server) muxOf(pattern string) *http.ServeMux {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = p
	}
	if pattern == api.OperatorPrefix || strings.HasPrefix(pattern, api.OperatorPrefix+"/") {
		return s.operator
	}
	return s.paperspace
}

// Paperspace is the Paperspace Core API's handler, to mount at "/": its routes, and the
// Paperspace 404 for every path nothing else serves.
func (s *Server) Paperspace() http.Handler { return s.paperspaceH }

// Operator is the operator API's handler, to mount at api.OperatorPrefix and under it.
func (s *Server) Operator() http.Handler { return s.operatorH }

// Metrics is Config.Metrics behind the guard and the operator's key, to mount at MetricsPath;
// nil without Config.Metrics.
func (s *Server) Metrics() http.Handler { return s.metricsH }

// ServeHTTP serves both APIs and the metrics, as they answer mounted at "/",
// api.OperatorPrefix and MetricsPath, for any path, canonical or not (tests and benchmarks
// serve a Server directly, and `hangar serve` sends it the paths its root mux would redirect).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := normalizePath(r.URL.Path)
	if s.metricsH != nil && p == MetricsPath {
		s.metricsH.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(p, api.AgentPrefix+"/") {
		s.agentH.ServeHTTP(w, r)
		return
	}
	s.paperspaceH.ServeHTTP(w, r)
}

// Routes lists every served route.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// normalizePath collapses duplicate slashes, drops trailing slashes and resolves "." and ".."
// segments, so that the mux matches directly: left to http.ServeMux, a non-canonical path is
// answered with a redirect and a non-JSON body.
func normalizePath(p string) string {
	return path.Clean("/" + p)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt Route) {
	limit := s.cfg.MaxBody
	if rt.Pattern == "/scripts/createScript" {
		limit = s.cfg.MaxUpload
	}
	p, err := parseParams(r, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := &call{r: r, p: p}
	for _, name := range pathNames(rt.Pattern) {
		p.setPath(name, r.PathValue(name))
	}
	audit := auditOf(r.Context())
	if audit != nil {
		audit.svc.Entry.Target = defaultTarget(p)
	}
	if rt.Auth != AuthNone {
		var cred string
		if c.pr, cred, err = s.authenticate(r, p); err != nil {
			s.writeError(w, r, err)
			return
		}
		if strings.TrimSpace(r.Header.Get("x-api-key")) == "" {
			c.token = cred
		}
		if err := s.lim.allowKey(cred); err != nil {
			s.writeError(w, r, err)
			return
		}
		if audit != nil {
			audit.svc.Entry.UserID, audit.svc.Entry.Role, audit.svc.Entry.TeamID = c.pr.User.ID, c.pr.User.Role, c.pr.Team.ID
		}
		if rt.Auth == AuthOperator && c.pr.User.Role != core.RoleOperator {
			s.writeError(w, r, core.Errorf(core.Forbidden, "This operation requires the Hangar operator role"))
			return
		}
	}
	res, err := rt.handler(c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, res.status, res.body)
}

func pathNames(pattern string) []string {
	var out []string
	for _, seg := range strings.Split(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(seg[1:len(seg)-1], "..."))
		}
	}
	return out
}

// authenticate resolves the x-api-key header, then the access_token query parameter
// (spec §1.2). It also returns the credential used, for the per-key rate limit.
func (s *Server) authenticate(r *http.Request, p *params) (core.Principal, string, error) {
	if key := strings.TrimSpace(r.Header.Get("x-api-key")); key != "" {
		pr, err := s.svc.Authenticate(r.Context(), key)
		return pr, key, err
	}
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		tok, _, _ = p.str("access_token")
	}
	if tok != "" {
		pr, err := s.svc.AuthenticateToken(r.Context(), tok)
		return pr, tok, err
	}
	return core.Principal{}, "", core.Errorf(core.Unauthorized, "Authentication required: send an x-api-key header or an access_token")
}

// statusOf is the one map from error codes to HTTP statuses (spec §1.6).
func statusOf(code core.Code) int {
	switch code {
	case core.Invalid, core.Conflict, core.Unavailable:
		return http.StatusBadRequest
	case core.NotFound:
		return http.StatusNotFound
	case core.Unauthorized:
		return http.StatusUnauthorized
	case core.Forbidden:
		return http.StatusForbidden
	case core.TooLarge:
		return http.StatusRequestEntityTooLarge
	case core.TooMany:
		return http.StatusTooManyRequests
	case core.Cancelled:
		return StatusClientClosed
	case core.Timeout:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// StatusClientClosed is the status recorded (logs, audit, metrics) for a request whose client
// went away before its answer: nginx's 499. Nobody receives it.
const StatusClientClosed = 499

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := core.ErrorCode(err)
	switch code {
	case core.Timeout:
		// Config.RequestTimeout ran out (the database stayed locked), or every hasher was busy:
		// answered before the HTTP write timeout would cut the connection, nothing applied.
		w.Header().Set("Retry-After", "1")
		s.log.WarnContext(r.Context(), "request timed out", "method", r.Method, "path", r.URL.Path, "err", err)
	case core.Cancelled:
		// The client disconnected (or the server is shutting down): not the server's fault.
		s.log.InfoContext(r.Context(), "request cancelled by the client", "method", r.Method, "path", r.URL.Path)
	}
	status := statusOf(code)
	if a := auditOf(r.Context()); a != nil {
		a.code = code
	}
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var ra *retryAfterError
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(ra.after)))
		if s.cfg.Observer != nil {
			s.cfg.Observer.RateLimited(ra.limit)
		}
	}
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Name: "Error", Message: core.ErrorMessage(err), Status: status}})
}

// maxAnswerBytes bounds the JSON body of any answer, lists included (a variable for tests).
var maxAnswerBytes = 32 << 20

func writeJSON(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"name":"Error","message":"Internal server error","status":500}}`)
	}
	if len(b) > maxAnswerBytes {
		// Every field has a size and every list a count limit, so this is a backstop: no
		// answer grows past it whatever a tenant stores.
		status = http.StatusBadRequest
		msg := fmt.Sprintf("the answer would be %d bytes, more than the limit of %d: ask for fewer items (limit and skip)",
			len(b), maxAnswerBytes)
		b, _ = json.Marshal(api.ErrorBody{Error: api.ErrorDetail{Name: "Error", Message: msg, Status: status}})
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// fmtTime renders a time on the wire.
func fmtTime(t time.Time) string { return core.FormatTime(t) }

func fmtTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := core.FormatTime(*t)
	return &s
}

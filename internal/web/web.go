package web

import (
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"

	"hangar/internal/changes"
	"hangar/internal/core"
	"hangar/internal/ratelimit"
	"hangar/internal/reqid"
	"hangar/internal/service"
)

// Prefix is where the console is served.
const Prefix = "/console/"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Serial finds the serial console output of machines, for drivers that keep one (qemu).
type Serial interface {
	// SerialLog returns the file the serial console of m is written to, or false when its
	// driver keeps none here (simulated machines, machines of another host).
	SerialLog(m core.Machine) (path string, ok bool)
}

// Config configures the console.
type Config struct {
	Service *service.Service
	// Changes feeds the live views; nil: pages do not update live.
	Changes *changes.Hub
	// Serial, when set, streams the serial consoles of machines that have one.
	Serial Serial
	Logger *slog.Logger
	Clock  core.Clock
	// ExternalURL is the URL people reach the server at (e.g. https://hangar.example.com
	// behind a TLS proxy). An https URL marks cookies Secure and is an accepted Origin.
	ExternalURL string
	// LoginPerEmail and LoginPerAddress are the sign-in attempts allowed per minute for one
	// email and from one client address (0: no limit), as for users/login.
	LoginPerEmail, LoginPerAddress int
}

// Server is the console's handler.
type Server struct {
	cfg      Config
	svc      *service.Service
	log      *slog.Logger
	clock    core.Clock
	mux      *http.ServeMux
	pages    map[string]*pageTemplate
	static   http.Handler
	external *url.URL
	loginIP  *ratelimit.Limiter
	loginID  *ratelimit.Limiter
	stop     chan struct{} // closed by CloseStreams
	stopOnce sync.Once
}

// New returns the console. It panics if its embedded templates do not parse (a build error).
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	perMinute := func(n int) *ratelimit.Limiter { return ratelimit.New(float64(n)/60, n, cfg.Clock, 0) }
	s := &Server{cfg: cfg, svc: cfg.Service, log: cfg.Logger, clock: cfg.Clock, mux: http.NewServeMux(),
		loginIP: perMinute(cfg.LoginPerAddress), loginID: perMinute(cfg.LoginPerEmail), stop: make(chan struct{})}
	if cfg.ExternalURL != "" {
		if u, err := url.Parse(cfg.ExternalURL); err == nil && u.Host != "" {
			s.external = u
		}
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		panic(err)
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	s.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	s.routes()
	return s
}

func (s *Server) routes() {
	get := func(path string, h handler) { s.mux.Handle("GET "+Prefix+path, s.authed(h)) }
	post := func(path string, h handler) { s.mux.Handle("POST "+Prefix+path, s.authed(s.checked(h))) }
	s.mux.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"machines", http.StatusSeeOther)
	})
	s.mux.Handle("GET "+Prefix+"static/", s.static)
	s.mux.HandleFunc("GET "+Prefix+"signin", s.signInPage)
	s.mux.HandleFunc("POST "+Prefix+"signin", s.signIn)
	post("signout", s.signOut)

	get("machines", s.machinesPage)
	get("machines/live", s.machinesLive)
	get("machines/new", s.newMachinePage)
	post("machines", s.createMachine)
	get("machines/{id}", s.machinePage)
	get("machines/{id}/live", s.machineLive)
	get("machines/{id}/serial", s.serialStream)
	post("machines/{id}/{action}", s.machineAction)

	get("users", s.usersPage)
	post("users", s.createUser)
	get("scripts", s.scriptsPage)
	post("scripts", s.createScript)
	get("scripts/{id}", s.scriptPage)
	post("scripts/{id}/delete", s.deleteScript)
	get("networks", s.networksPage)
	post("networks", s.createNetwork)
	post("networks/{id}/delete", s.deleteNetwork)
	get("quotas", s.quotasPage)
	post("publicips/{address}/release", s.releasePublicIP)

	get("hosts", s.hostsPage)
	get("teams", s.teamsPage)
	post("teams", s.createTeam)
	get("teams/{id}", s.teamPage)
	post("teams/{id}/quotas", s.updateTeamQuotas)
	get("usage", s.usagePage)
	get("audit", s.auditPage)
}

// csp is the Content-Security-Policy of every answer: only the console's own script, style
// and images, no inline code, no framing, forms only to the console.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP serves the console: every answer gets the security headers and a request id, and
// a panic becomes a 500 page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !reqid.Valid(id) {
		id = reqid.New()
	}
	r = r.WithContext(reqid.With(r.Context(), id))
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if s.secure(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
		h.Set("Cache-Control", "no-store")
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // a recovered panic value, compared as net/http does
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "console: panic", "path", r.URL.Path, "panic", fmt.Sprint(v),
				"stack", string(debug.Stack()))
			http.Error(w, "Internal error", http.StatusInternalServerError)
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// CloseStreams ends every live stream, now and from now on. http.Server.Shutdown waits for
// requests in flight, and a stream would otherwise keep it waiting: register it with
// RegisterOnShutdown.
func (s *Server) CloseStreams() { s.stopOnce.Do(func() { close(s.stop) }) }

// Home sends browsers that ask for the bare root (GET / accepting text/html) to the console,
// and every other request to next (the API), which answers it as before.
func Home(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/" &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			http.Redirect(w, r, Prefix, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

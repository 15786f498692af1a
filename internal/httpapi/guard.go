package httpapi

import (
	"crypto/sha256"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"hangar/internal/core"
	"hangar/internal/ratelimit"
	"hangar/internal/reqid"
)

// Limits are the request rate limits of a Server. A zero rate disables that limit.
type Limits struct {
	// KeyRate is the requests per second allowed to one API key or access token on average,
	// KeyBurst how many it may send at once.
	KeyRate  float64
	KeyBurst int
	// AddressRate and AddressBurst limit every request from one client address (an IPv6
	// client's /64), authenticated or not.
	AddressRate  float64
	AddressBurst int
	// LoginPerEmail and LoginPerAddress are the users/login attempts allowed per minute for
	// one email (whether or not a user has it) and from one client address; each is also the
	// burst.
	LoginPerEmail   int
	LoginPerAddress int
}

// limiters are the token buckets of a Server's Limits.
type limiters struct {
	key, address, loginEmail, loginAddress *ratelimit.Limiter
}

func newLimiters(l Limits, clock core.Clock) limiters {
	perMinute := func(n int) *ratelimit.Limiter { return ratelimit.New(float64(n)/60, n, clock, 0) }
	return limiters{
		key:          ratelimit.New(l.KeyRate, l.KeyBurst, clock, 0),
		address:      ratelimit.New(l.AddressRate, l.AddressBurst, clock, 0),
		loginEmail:   perMinute(l.LoginPerEmail),
		loginAddress: perMinute(l.LoginPerAddress),
	}
}

// retryAfterError is a 429 that tells the client when to retry.
type retryAfterError struct {
	err   *core.Error
	after time.Duration
	limit string // which limit refused: one of the Limit* names
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// The rate limits by name, as Observer.RateLimited hears them.
const (
	LimitKey          = "key"
	LimitAddress      = "address"
	LimitLoginEmail   = "login_email"
	LimitLoginAddress = "login_address"
)

func tooMany(after time.Duration, limit, what string) error {
	return &retryAfterError{err: core.Errorf(core.TooMany, "Too many %s; retry after %d seconds", what, retryAfterSeconds(after)),
		after: after, limit: limit}
}

// retryAfterSeconds rounds a wait up to the whole seconds of a Retry-After header (at least 1).
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// allowKey applies the per-key limit to a credential, identified by its hash so that no
// secret is kept in memory longer than the request.
func (l limiters) allowKey(cred string) error {
	if l.key == nil {
		return nil
	}
	sum := sha256.Sum256([]byte(cred))
	if ok, after := l.key.Allow(string(sum[:])); !ok {
		return tooMany(after, LimitKey, "requests for this API key")
	}
	return nil
}

// allowLogin applies the login limits: per client address, then per email. An email nobody
// has is limited exactly like one that exists, so the answer tells nothing about it.
func (l limiters) allowLogin(addr, email string) error {
	if ok, after := l.loginAddress.Allow(addr); !ok {
		return tooMany(after, LimitLoginAddress, "login attempts from this address")
	}
	if ok, after := l.loginEmail.Allow(strings.ToLower(strings.TrimSpace(email))); !ok {
		return tooMany(after, LimitLoginEmail, "login attempts for this email")
	}
	return nil
}

// clientAddr is the rate-limit identity of the client: its IP address, or its /64 for IPv6
// (one host usually holds a whole /64).
func clientAddr(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// statusWriter remembers whether and what status was written, and which route served the
// request (for the Observer).
type statusWriter struct {
	http.ResponseWriter
	status          int
	method, pattern string // the route's; "" until a route is found
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes a flush on to the connection.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// guard gives every request an id (X-Request-Id: the client's if it is sane, else a new one)
// carried in its context and its log lines, recovers panics into a 500 in the Paperspace
// shape, applies the per-address rate limit, normalises the path (duplicate and trailing
// slashes, spec §1.1) without a redirect, and dispatches to mux.
func (s *Server) guard(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.guarded(w, r, mux) })
}

func (s *Server) guarded(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	id := r.Header.Get("X-Request-Id")
	if !reqid.Valid(id) {
		id = reqid.New()
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(reqid.With(r.Context(), id))
	sw := &statusWriter{ResponseWriter: w}
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // a recovered panic value, compared as net/http does
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status != 0 {
				panic(http.ErrAbortHandler) // the answer has begun: cut the connection
			}
			s.writeError(sw, r, core.Errorf(core.Internal, "panic"))
		}
		d := time.Since(start)
		s.log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", d)
		if s.cfg.Observer != nil {
			method, pattern := sw.method, sw.pattern
			if pattern == "" {
				method, pattern = "", RouteUnmatched
			}
			s.cfg.Observer.Request(method, pattern, sw.status, d)
		}
	}()
	if ok, after := s.lim.address.Allow(clientAddr(r)); !ok {
		s.writeError(sw, r, tooMany(after, LimitAddress, "requests from this address"))
		return
	}
	r.URL.Path = normalizePath(r.URL.Path)
	r.URL.RawPath = ""
	mux.ServeHTTP(sw, r)
}

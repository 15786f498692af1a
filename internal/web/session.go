package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"hangar/internal/core"
	"hangar/internal/reqid"
	"hangar/internal/service"
)

// call is one authenticated console request.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	p      core.Principal
	secret string // the session's secret (the cookie)
	csrf   string // the session's form token
}

type handler func(c *call) error

// maxForm bounds a form body (a startup script is at most 16 KB).
const maxForm = 256 << 10

// secure reports whether the browser reaches the console over TLS, directly or through a
// proxy named by Config.ExternalURL; cookies are then Secure.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || (s.external != nil && s.external.Scheme == "https")
}

// sessionCookie names the session cookie. Over TLS it takes the __Host- prefix, which the
// browser only accepts Secure, host-only and for path /.
func (s *Server) sessionCookie(r *http.Request) (name, path string) {
	if s.secure(r) {
		return "__Host-hangar-session", "/"
	}
	return "hangar-session", Prefix
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, path, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteStrictMode}
	if value == "" {
		c.MaxAge = -1
	} else if !expires.IsZero() {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

func (s *Server) clearSession(w http.ResponseWriter, r *http.Request) {
	name, path := s.sessionCookie(r)
	s.setCookie(w, r, name, path, "", time.Time{})
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// csrfToken is the synchronizer token of a session: a MAC of a fixed label keyed with the
// session's secret, so it is the same on every replica, changes with every session, and
// cannot be made without the cookie, which scripts of other sites cannot read.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("hangar console form token"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// authed authenticates the session cookie on every request, then runs h. Without a live
// session a page is redirected to the sign-in page; a stream or a form post is refused.
func (s *Server) authed(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _ := s.sessionCookie(r)
		secret := cookieValue(r, name)
		if secret == "" {
			s.needSignIn(w, r)
			return
		}
		p, err := s.svc.AuthenticateSession(r.Context(), secret)
		if core.ErrorCode(err) == core.Unauthorized {
			s.clearSession(w, r)
			s.needSignIn(w, r)
			return
		}
		c := &call{w: w, r: r, p: p, secret: secret, csrf: csrfToken(secret)}
		if err == nil {
			err = h(c)
		}
		if err != nil {
			s.renderError(c, err)
		}
	})
}

func (s *Server) needSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		http.Error(w, "Sign in first", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, Prefix+"signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// checked guards a state-changing form: the request must come from the console's own pages
// (Origin and Sec-Fetch-Site, where the browser sends them) and carry the session's token.
func (s *Server) checked(h handler) handler {
	return func(c *call) error {
		if err := s.sameOrigin(c.r); err != nil {
			return err
		}
		c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxForm)
		if err := c.r.ParseForm(); err != nil {
			return core.Errorf(core.Invalid, "The form could not be read: %v", err)
		}
		if !hmac.Equal([]byte(c.r.PostForm.Get("csrf")), []byte(c.csrf)) {
			return core.Errorf(core.Forbidden, "This form is not from your current session. Reload the page and try again.")
		}
		return h(c)
	}
}

// sameOrigin refuses requests that a browser marks as sent by another site.
func (s *Server) sameOrigin(r *http.Request) error {
	refuse := core.Errorf(core.Forbidden, "Cross-site request refused")
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return refuse
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if origin == scheme+"://"+r.Host || (s.external != nil && origin == s.external.Scheme+"://"+s.external.Host) {
		return nil
	}
	return refuse
}

// clientAddr is the sign-in rate limit's identity of a client: its IP address.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Sign-in forms carry a token of their own before any session exists: a random value in a
// cookie that the form must repeat (double submit), next to the Origin checks.
const signinCookie = "hangar-signin"

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type signInData struct {
	Next, Email, Error string
	Token              string
}

// safeNext keeps a post-sign-in destination only if it is a console path.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix) && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return Prefix + "machines"
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	name, _ := s.sessionCookie(r)
	if secret := cookieValue(r, name); secret != "" {
		if _, err := s.svc.AuthenticateSession(r.Context(), secret); err == nil {
			http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
	}
	s.renderSignIn(w, r, http.StatusOK, signInData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	d.Token = newToken()
	s.setCookie(w, r, signinCookie, Prefix, d.Token, time.Time{})
	v := s.newView(r, "Sign in", "")
	v.Data = d
	s.write(w, r, status, "signin", v)
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, d signInData) { s.renderSignIn(w, r, status, d) }
	if err := s.sameOrigin(r); err != nil {
		fail(http.StatusForbidden, signInData{Error: core.ErrorMessage(err), Next: Prefix + "machines"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, signInData{Error: "The form could not be read.", Next: Prefix + "machines"})
		return
	}
	f := r.PostForm
	d := signInData{Next: safeNext(f.Get("next")), Email: strings.TrimSpace(f.Get("email"))}
	token := cookieValue(r, signinCookie)
	if token == "" || !hmac.Equal([]byte(f.Get("csrf")), []byte(token)) {
		d.Error = "This sign-in form has expired. Please try again."
		fail(http.StatusForbidden, d)
		return
	}
	if ok, _ := s.loginIP.Allow(clientAddr(r)); !ok {
		d.Error = "Too many sign-in attempts from your address; wait a minute and try again."
		fail(http.StatusTooManyRequests, d)
		return
	}
	var err error
	var ns struct {
		secret  string
		expires time.Time
		p       core.Principal
	}
	if key := strings.TrimSpace(f.Get("apiKey")); key != "" {
		res, e := s.svc.SignInWithKey(r.Context(), key)
		ns.secret, ns.expires, ns.p, err = res.Secret, res.Expires, res.Principal, e
	} else {
		if ok, _ := s.loginID.Allow(strings.ToLower(d.Email)); !ok {
			d.Error = "Too many sign-in attempts for this email; wait a minute and try again."
			fail(http.StatusTooManyRequests, d)
			return
		}
		res, e := s.svc.SignIn(r.Context(), d.Email, f.Get("password"))
		ns.secret, ns.expires, ns.p, err = res.Secret, res.Expires, res.Principal, e
	}
	target := ""
	if a, perr := mail.ParseAddress(d.Email); perr == nil && a.Address == d.Email && f.Get("apiKey") == "" {
		target = d.Email // the account tried, as for users/login; never what was typed as a secret
	}
	s.audit(r, ns.p, "console.signin", target, err)
	if core.ErrorCode(err) == core.Unauthorized {
		d.Error = "Sign-in failed: check the email and password, or the API key."
		fail(http.StatusUnauthorized, d)
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "console: sign-in", "err", err)
		d.Error = "Sign-in failed: internal error."
		fail(http.StatusInternalServerError, d)
		return
	}
	s.setCookie(w, r, signinCookie, Prefix, "", time.Time{})
	name, path := s.sessionCookie(r)
	s.setCookie(w, r, name, path, ns.secret, ns.expires)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (s *Server) signOut(c *call) error {
	err := s.svc.EndSession(c.r.Context(), c.secret)
	s.audit(c.r, c.p, "console.signout", "", err)
	if err != nil && !core.IsNotFound(err) {
		return err
	}
	s.clearSession(c.w, c.r)
	s.flash(c, "You are signed out.")
	http.Redirect(c.w, c.r, Prefix+"signin", http.StatusSeeOther)
	return nil
}

// auditing puts the pending audit entry of a console action in c's request context, under the
// action names the API uses: the service writes it in the transaction of the action's change
// (service.Audit), and audit records it afterwards only if nothing committed.
func (s *Server) auditing(c *call, action, target string) {
	a := &service.Audit{Entry: core.AuditEntry{RequestID: reqid.From(c.r.Context()), UserID: c.p.User.ID,
		Role: c.p.User.Role, TeamID: c.p.Team.ID, Action: action, Target: target, Status: http.StatusSeeOther,
		ClientAddr: clientAddr(c.r)}}
	c.r = c.r.WithContext(service.WithAudit(c.r.Context(), a))
}

// audit records a console action in the audit log, under the action names the API uses,
// unless its entry was already written with its change (auditing).
func (s *Server) audit(r *http.Request, p core.Principal, action, target string, err error) {
	if a := service.PendingAudit(r.Context()); a != nil && a.Stored() {
		if err != nil {
			s.log.ErrorContext(r.Context(), "console: action failed after its change was committed and audited",
				"action", action, "err", err)
		}
		return
	}
	e := core.AuditEntry{RequestID: reqid.From(r.Context()), UserID: p.User.ID, Role: p.User.Role, TeamID: p.Team.ID,
		Action: action, Target: target, Status: http.StatusSeeOther, ClientAddr: clientAddr(r)}
	if err != nil {
		e.Error = core.ErrorCode(err)
		e.Status = statusOf(e.Error)
	}
	// Not cancelled with the request: an action whose browser went away is audited too.
	if aerr := s.svc.RecordAudit(context.WithoutCancel(r.Context()), e); aerr != nil {
		s.log.ErrorContext(r.Context(), "console: audit entry not stored", "action", action, "err", aerr)
	}
}

// statusOf is the HTTP status of a console answer that failed with code.
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
		return statusClientClosed
	case core.Timeout:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// statusClientClosed is the status recorded for a request whose browser went away before
// its answer (nginx's 499), as the API records it.
const statusClientClosed = 499

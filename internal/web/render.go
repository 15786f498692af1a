package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"hangar/internal/billing"
	"hangar/internal/core"
)

type pageTemplate struct{ t *template.Template }

var funcs = template.FuncMap{
	"time":      fmtTime,
	"timePtr":   func(t *time.Time) string { return fmtTimePtr(t) },
	"str":       func(p *string) string { return deref(p, "") },
	"strOr":     deref,
	"int":       func(p *int) string { return intOr(p, "") },
	"intOr":     intOr,
	"gib":       gib,
	"cents":     fmtCents,
	"rate":      func(p *string) string { return rateOr(p, "—") },
	"hours":     func(d time.Duration) string { return strconv.FormatFloat(d.Hours(), 'f', 1, 64) },
	"pct":       func(n, d int) int { return pct(n, d) },
	"add":       func(a, b int) int { return a + b },
	"stateOK":   func(s core.State) bool { return s.Valid() },
	"selected":  func(a, b string) bool { return a == b },
	"dict":      dict,
	"shortTime": func(t time.Time) string { return t.UTC().Format("Jan 2 15:04") },
}

func parsePages() (map[string]*pageTemplate, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	for _, n := range names {
		file := path.Base(n)
		if file == "layout.html" || strings.HasPrefix(file, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(file, ".html")] = &pageTemplate{t: t}
	}
	return out, nil
}

// view is what every page template gets.
type view struct {
	Title    string
	Nav      string // the navigation entry to highlight
	Prefix   string
	User     *core.User
	Team     *core.Team
	Admin    bool // team admin (or operator)
	Operator bool
	CSRF     string
	Flash    string
	Error    string
	Now      time.Time
	Data     any
}

func (s *Server) newView(r *http.Request, title, nav string) *view {
	return &view{Title: title, Nav: nav, Prefix: Prefix, Now: s.clock.Now()}
}

func (s *Server) viewFor(c *call, title, nav string) *view {
	v := s.newView(c.r, title, nav)
	v.User, v.Team = &c.p.User, &c.p.Team
	v.Admin, v.Operator = c.p.User.IsAdmin(), c.p.User.Role == core.RoleOperator
	v.CSRF = c.csrf
	v.Flash, v.Error = s.takeFlash(c.w, c.r)
	return v
}

// write renders page name into a buffer, then sends it: a template error becomes a clean 500.
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	pt, ok := s.pages[name]
	if !ok {
		panic("web: no page " + name)
	}
	if v.Flash == "" && v.Error == "" {
		v.Flash, v.Error = s.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.ErrorContext(r.Context(), "console: render", "page", name, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) render(c *call, status int, name, title, nav string, data any) error {
	v := s.viewFor(c, title, nav)
	v.Data = data
	s.write(c.w, c.r, status, name, v)
	return nil
}

// renderError shows a failed call: not-found, forbidden, bad input, or (logged in full) an
// internal error with a bland message.
func (s *Server) renderError(c *call, err error) {
	code := core.ErrorCode(err)
	status := statusOf(code)
	msg := core.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(c.r.Context(), "console: internal error", "path", c.r.URL.Path, "err", err)
		msg = "Something went wrong on the server; the error is logged."
	}
	title := http.StatusText(status)
	v := s.viewFor(c, title, "")
	v.Data = errorData{Status: status, Title: title, Message: msg}
	s.write(c.w, c.r, status, "error", v)
}

type errorData struct {
	Status         int
	Title, Message string
}

const flashCookie = "hangar-flash"

// flash shows msg on the next page (after a redirect); an "!" prefix marks an error.
func (s *Server) flash(c *call, msg string) {
	s.setCookie(c.w, c.r, flashCookie, Prefix, base64.RawURLEncoding.EncodeToString([]byte(msg)), time.Time{})
}

func (s *Server) flashError(c *call, err error) { s.flash(c, "!"+core.ErrorMessage(err)) }

func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) (ok, bad string) {
	raw := cookieValue(r, flashCookie)
	if raw == "" {
		return "", ""
	}
	s.setCookie(w, r, flashCookie, Prefix, "", time.Time{})
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) > 2000 {
		return "", ""
	}
	if msg, isErr := strings.CutPrefix(string(b), "!"); isErr {
		return "", msg
	}
	return string(b), ""
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return fmtTime(*t)
}

func deref(p *string, or string) string {
	if p == nil || *p == "" {
		return or
	}
	return *p
}

func intOr(p *int, or string) string {
	if p == nil {
		return or
	}
	return strconv.Itoa(*p)
}

func gib(p *int64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(float64(*p)/(1<<30), 'f', -1, 64) + " GiB"
}

func fmtCents(c *billing.Cents) string {
	if c == nil {
		return "—"
	}
	return "$" + c.String()
}

func rateOr(p *string, or string) string {
	if p == nil {
		return or
	}
	return "$" + *p
}

func pct(n, d int) int {
	if d <= 0 {
		return 0
	}
	return min(100, max(0, n*100/d))
}

func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd arguments")
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

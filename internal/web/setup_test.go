package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"hangar/internal/changes"
	"hangar/internal/core"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// world is a console over a real SQLite store with the default simulated fleet, an operator,
// team A (admin ada, members max and mia) and team B (admin rita).
type world struct {
	t     testing.TB
	st    store.Store
	svc   *service.Service
	hub   *changes.Hub
	web   *Server
	srv   *httptest.Server
	opKey string
	ps    map[string]core.Principal
	keys  map[string]string // API keys by user name
}

const password = "correct horse battery"

type worldOpts struct {
	externalURL string
	tls         bool
	serial      Serial
	loginLimit  int
}

func setup(t testing.TB, opts ...worldOpts) *world {
	t.Helper()
	var o worldOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.MemoryPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &world{t: t, hub: changes.NewHub(), ps: map[string]core.Principal{}, keys: map[string]string{}}
	w.st = changes.Track(db, w.hub)
	env := &lifecycle.Env{Clock: core.SystemClock{}, PublicPool: netip.MustParsePrefix("198.18.0.0/15"),
		DefaultNet: netip.MustParsePrefix("10.128.0.0/12"), Expect: func(core.State) time.Duration { return time.Minute }}
	w.svc = service.New(w.st, service.Config{Catalog: core.DefaultCatalog(), Env: env, TokenTTL: time.Hour, DefaultShutdownHours: 168})
	if w.opKey, err = w.svc.Bootstrap(ctx, true); err != nil {
		t.Fatal(err)
	}
	op, err := w.svc.Authenticate(ctx, w.opKey)
	if err != nil {
		t.Fatal(err)
	}
	w.ps["operator"], w.keys["operator"] = op, w.opKey
	for _, team := range []struct {
		name  string
		users []string
	}{{"Acme", []string{"ada", "max", "mia"}}, {"Rival", []string{"rita"}}} {
		tm, err := w.svc.CreateTeam(ctx, op, team.name, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range team.users {
			u, err := w.svc.CreateUser(ctx, op, service.NewUser{Team: tm.ID, Email: name + "@" + strings.ToLower(team.name) + ".test",
				Password: password, FirstName: name, LastName: "X", Admin: i == 0})
			if err != nil {
				t.Fatal(err)
			}
			k, err := w.svc.CreateKey(ctx, op, u.ID, name)
			if err != nil {
				t.Fatal(err)
			}
			w.keys[name] = k.Secret
			if w.ps[name], err = w.svc.Authenticate(ctx, k.Secret); err != nil {
				t.Fatal(err)
			}
		}
	}
	limit := o.loginLimit
	if limit == 0 {
		limit = 1000
	}
	w.web = New(Config{Service: w.svc, Changes: w.hub, Serial: o.serial, ExternalURL: o.externalURL,
		LoginPerEmail: limit, LoginPerAddress: limit})
	mux := http.NewServeMux()
	mux.Handle(Prefix, w.web)
	mux.Handle("/", Home(http.NotFoundHandler()))
	if o.tls {
		w.srv = httptest.NewTLSServer(mux)
	} else {
		w.srv = httptest.NewServer(mux)
	}
	t.Cleanup(w.srv.Close)
	t.Cleanup(w.web.CloseStreams)
	return w
}

func (w *world) email(name string) string { return w.ps[name].User.Email }

// create makes a machine through the service as the given admin; owner, if set, is the user
// it is for.
func (w *world) create(admin, name, owner string) core.Machine {
	w.t.Helper()
	cm := service.CreateMachine{Region: "East Coast (NY2)", MachineType: "C2", BillingType: "hourly", Name: name,
		TemplateID: "tkni3aa4", Size: 50}
	if owner != "" {
		id := w.ps[owner].User.ID
		cm.UserID = &id
	}
	m, err := w.svc.CreateMachine(context.Background(), w.ps[admin], cm)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// browser is a client with its own cookie jar, as a browser profile.
type browser struct {
	w      *world
	c      *http.Client
	origin string
}

func (w *world) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: w.srv.Client().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{w: w, c: c, origin: w.srv.URL}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.w.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.w.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(path string) page {
	b.w.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.w.srv.URL+path, nil)
	if err != nil {
		b.w.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form as a browser would from the console's pages (same-origin headers); the
// session's token is added unless the form has a csrf field already.
func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.w.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf())
	}
	req, err := http.NewRequest(http.MethodPost, b.w.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.origin)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return b.do(req)
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.w.srv.URL + Prefix)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) session() string {
	if s := b.cookie("hangar-session"); s != "" {
		return s
	}
	return b.cookie("__Host-hangar-session")
}

func (b *browser) csrf() string {
	if s := b.session(); s != "" {
		return csrfToken(s)
	}
	return ""
}

var tokenField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in through the sign-in form: with a password for users, the key otherwise.
func (b *browser) signIn(form url.Values) page {
	b.w.t.Helper()
	pg := b.get(Prefix + "signin")
	m := tokenField.FindStringSubmatch(pg.body)
	if m == nil {
		b.w.t.Fatalf("no token in the sign-in page:\n%s", pg.body)
	}
	form.Set("csrf", m[1])
	return b.post(Prefix+"signin", form)
}

func (w *world) signedIn(name string) *browser {
	w.t.Helper()
	b := w.browser()
	var pg page
	if name == "operator" {
		pg = b.signIn(url.Values{"apiKey": {w.opKey}})
	} else {
		pg = b.signIn(url.Values{"email": {w.email(name)}, "password": {password}})
	}
	if pg.status != http.StatusSeeOther || b.session() == "" {
		w.t.Fatalf("sign in %s: %d\n%s", name, pg.status, pg.body)
	}
	return b
}

// event is one server-sent event.
type event struct {
	name string
	data map[string]any
}

// sse is an open event stream.
type sse struct {
	events chan event
	cancel context.CancelFunc
	status int
}

func (b *browser) stream(path string) *sse {
	b.w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.w.srv.URL+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := b.c.Do(req) //nolint:bodyclose // closed by the reading goroutine below when the stream ends
	if err != nil {
		cancel()
		b.w.t.Fatal(err)
	}
	s := &sse{events: make(chan event, 100), cancel: cancel, status: res.StatusCode}
	b.w.t.Cleanup(cancel)
	go func() {
		defer res.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			case line == "" && ev.name != "":
				s.events <- ev
				ev = event{}
			}
		}
	}()
	return s
}

// next returns the next event, or fails after a while.
func (s *sse) next(t testing.TB) event {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return event{}
}

// quiet fails if an event arrives within d.
func (s *sse) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("unexpected event %s %v", ev.name, ev.data)
		}
	case <-time.After(d):
	}
}

// ended waits for the stream to end (after any events, returned).
func (s *sse) ended(t testing.TB) []event {
	t.Helper()
	var got []event
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("the stream did not end; events %v", got)
		}
	}
}

func must(t testing.TB, pg page, status int) page {
	t.Helper()
	if pg.status != status {
		t.Fatalf("status %d, want %d\n%s", pg.status, status, pg.body)
	}
	return pg
}

// setState moves a machine to state in its own transaction, as the engine commits a step.
func (w *world) setState(id string, state core.State) {
	w.t.Helper()
	err := w.st.Write(context.Background(), func(tx store.Tx) error {
		m, err := tx.GetMachine(id)
		if err != nil {
			return err
		}
		m.State = state
		return tx.UpdateMachine(&m)
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

func updateName(name string) service.UpdateMachine { return service.UpdateMachine{Name: &name} }

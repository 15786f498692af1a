package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hangar/internal/core"
)

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	w := setup(t)
	b := w.signedIn("ada")
	m := w.create("ada", "box", "")
	for _, path := range []string{Prefix + "signin", Prefix + "machines", Prefix + "machines/" + m.ID, Prefix + "machines/nope",
		Prefix + "static/app.css", Prefix + "hosts"} {
		pg := b.get(path)
		h := pg.header
		if got := h.Get("Content-Security-Policy"); got != csp {
			t.Errorf("%s: CSP %q", path, got)
		}
		for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
			"Referrer-Policy": "same-origin"} {
			if h.Get(name) != want {
				t.Errorf("%s: %s = %q, want %q", path, name, h.Get(name), want)
			}
		}
		if !strings.HasPrefix(path, Prefix+"static/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, h.Get("Cache-Control"))
		}
	}
	for _, part := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, part) || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q: want %q and nothing unsafe", csp, part)
		}
	}
	// The pages carry no inline script or style for the policy to block.
	pg := b.get(Prefix + "machines/" + m.ID)
	for _, bad := range []string{"<script>", "style=", "onclick", "javascript:"} {
		if strings.Contains(pg.body, bad) {
			t.Errorf("machine page contains %q", bad)
		}
	}
}

func TestSessionCookie(t *testing.T) {
	check := func(t *testing.T, w *world, wantName string, secure bool) {
		b := w.browser()
		pg := b.signIn(url.Values{"email": {w.email("ada")}, "password": {password}})
		must(t, pg, http.StatusSeeOther)
		var found bool
		for _, raw := range pg.header.Values("Set-Cookie") {
			c, err := http.ParseSetCookie(raw)
			if err != nil || c.Name != wantName {
				continue
			}
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != secure {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v Secure %v, want true Strict %v", raw, c.HttpOnly, c.SameSite, c.Secure, secure)
			}
		}
		if !found {
			t.Fatalf("no %s cookie in %v", wantName, pg.header.Values("Set-Cookie"))
		}
	}
	t.Run("plain HTTP", func(t *testing.T) { check(t, setup(t), "hangar-session", false) })
	t.Run("TLS", func(t *testing.T) { check(t, setup(t, worldOpts{tls: true}), "__Host-hangar-session", true) })
	t.Run("behind a TLS proxy", func(t *testing.T) {
		w := setup(t, worldOpts{externalURL: "https://hangar.example.test"})
		// The proxy's origin is accepted, as the request's own is.
		b := w.browser()
		b.origin = "https://hangar.example.test"
		check(t, w, "__Host-hangar-session", true)
	})
}

func TestSignIn(t *testing.T) {
	w := setup(t, worldOpts{loginLimit: 3})
	b := w.browser()
	pg := b.signIn(url.Values{"email": {w.email("ada")}, "password": {"wrong"}})
	must(t, pg, http.StatusUnauthorized)
	if b.session() != "" || !strings.Contains(pg.body, "Sign-in failed") {
		t.Fatalf("failed sign-in: session %q\n%s", b.session(), pg.body)
	}
	// The form needs its token, and must come from this site.
	must(t, b.post(Prefix+"signin", url.Values{"csrf": {"x"}, "email": {w.email("ada")}, "password": {password}}), http.StatusForbidden)
	pg = b.get(Prefix + "signin")
	tok := tokenField.FindStringSubmatch(pg.body)[1]
	must(t, b.post(Prefix+"signin", url.Values{"csrf": {tok}, "email": {w.email("ada")}, "password": {password}},
		"Origin", "https://evil.test"), http.StatusForbidden)
	if b.session() != "" {
		t.Fatal("a refused sign-in set a session")
	}
	// A key signs in too; the page shows who.
	k := w.browser()
	must(t, k.signIn(url.Values{"apiKey": {w.keys["max"]}}), http.StatusSeeOther)
	if pg := must(t, k.get(Prefix+"machines"), http.StatusOK); !strings.Contains(pg.body, w.email("max")) {
		t.Error("signed in with a key: the page does not show the user")
	}
	// Attempts per address are limited (3 per minute here, one spent above on the key).
	for range 2 {
		b.signIn(url.Values{"email": {w.email("ada")}, "password": {"wrong"}})
	}
	if pg := b.signIn(url.Values{"email": {w.email("ada")}, "password": {password}}); pg.status != http.StatusTooManyRequests {
		t.Errorf("sign-in past the limit: %d, want 429", pg.status)
	}
	// Signing in records it in the audit log.
	es, err := w.svc.ListAudit(context.Background(), w.ps["operator"], serviceAudit("console.signin"))
	if err != nil || len(es) < 2 {
		t.Fatalf("audit of sign-ins: %v %v", es, err)
	}
}

func TestSessionEnds(t *testing.T) {
	w := setup(t)
	ctx := context.Background()

	b := w.signedIn("ada")
	old := b.session()
	must(t, b.post(Prefix+"signout", nil), http.StatusSeeOther)
	replay := w.browser()
	replay.c.Jar.SetCookies(mustURL(w.srv.URL+Prefix), []*http.Cookie{{Name: "hangar-session", Value: old, Path: Prefix}})
	if pg := replay.get(Prefix + "machines"); pg.status != http.StatusSeeOther || !strings.Contains(pg.header.Get("Location"), "/signin") {
		t.Errorf("after sign-out the old cookie: %d %s, want a redirect to sign in", pg.status, pg.header.Get("Location"))
	}
	if _, err := w.svc.AuthenticateSession(ctx, old); core.ErrorCode(err) != core.Unauthorized {
		t.Errorf("after sign-out the session key: %v", err)
	}

	// Revoking the session's key (hangar admin keys revoke) signs the browser out.
	b = w.signedIn("max")
	keys, err := w.svc.ListKeys(ctx, w.ps["max"], "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == "console session" {
			if _, err := w.svc.RevokeKey(ctx, w.ps["operator"], k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	must(t, b.get(Prefix+"machines"), http.StatusSeeOther)

	// A session started with an API key ends when that key is revoked.
	k := w.browser()
	must(t, k.signIn(url.Values{"apiKey": {w.keys["mia"]}}), http.StatusSeeOther)
	must(t, k.get(Prefix+"machines"), http.StatusOK)
	for _, key := range mustKeys(t, w, "mia") {
		if key.Name == "mia" {
			if _, err := w.svc.RevokeKey(ctx, w.ps["operator"], key.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	must(t, k.get(Prefix+"machines"), http.StatusSeeOther)
	if pg := k.stream(Prefix + "machines/live"); pg.status != http.StatusUnauthorized {
		t.Errorf("stream of an ended session: %d, want 401", pg.status)
	}
}

func TestFormsNeedTheSessionToken(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	b := w.signedIn("ada")
	other := w.signedIn("ada") // a second session of the same user
	m := w.create("ada", "box", "")
	stop := Prefix + "machines/" + m.ID + "/destroy"
	form := func(csrf string) url.Values { return url.Values{"confirm": {"yes"}, "csrf": {csrf}} }
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"no token", url.Values{"confirm": {"yes"}, "csrf": {""}}, nil},
		{"forged token", form("forged"), nil},
		{"another session's token", form(other.csrf()), nil},
		{"another site's origin", form(b.csrf()), []string{"Origin", "https://evil.test"}},
		{"a cross-site fetch", form(b.csrf()), []string{"Sec-Fetch-Site", "cross-site", "Origin", ""}},
		{"the null origin", form(b.csrf()), []string{"Origin", "null"}},
	} {
		if pg := b.post(stop, tc.form, tc.headers...); pg.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, pg.status)
		}
	}
	if _, err := w.svc.GetMachine(ctx, w.ps["ada"], m.ID); err != nil {
		t.Fatalf("a refused post changed the machine: %v", err)
	}
	// Without Origin and Sec-Fetch-Site (an old browser) the token alone decides.
	must(t, b.post(stop, form(b.csrf()), "Origin", "", "Sec-Fetch-Site", ""), http.StatusSeeOther)
	if _, err := w.svc.GetMachine(ctx, w.ps["ada"], m.ID); !core.IsNotFound(err) {
		t.Fatalf("the destroy with its token: %v", err)
	}
}

func TestTenantStringsAreEscaped(t *testing.T) {
	w := setup(t)
	b := w.signedIn("ada")
	name := `<img src=x onerror=alert(1)>`
	m := w.create("ada", name, "")
	for _, path := range []string{Prefix + "machines", Prefix + "machines/" + m.ID, Prefix + "machines?q=" + url.QueryEscape("<img")} {
		pg := must(t, b.get(path), http.StatusOK)
		if strings.Contains(pg.body, "<img src=x") || !strings.Contains(pg.body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s: the name is not escaped", path)
		}
	}
	// Live updates carry it as JSON text (the page sets it with textContent).
	s := b.stream(Prefix + "machines/live")
	ev := s.next(t)
	if ev.name != "machine" || ev.data["name"] != name {
		t.Fatalf("live event %v", ev)
	}
	// A flash message with markup (from a rename) is escaped too.
	must(t, b.post(Prefix+"machines/"+m.ID+"/rename", url.Values{"machineName": {""}}), http.StatusSeeOther)
	sc := must(t, b.post(Prefix+"scripts", url.Values{"scriptName": {"<b>s</b>"}, "scriptText": {"echo '</pre><script>x</script>'"}}), http.StatusSeeOther)
	pg := must(t, b.get(sc.header.Get("Location")), http.StatusOK)
	if strings.Contains(pg.body, "<script>x") || strings.Contains(pg.body, "<b>s</b>") {
		t.Error("a script's name or text is not escaped")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

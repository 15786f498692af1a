package service_test

import (
	"context"
	"testing"

	"hangar/internal/core"
	"hangar/internal/service"
)

// loginAll gives member1 a login token, a console session and a key minted by
// apiTokens/createPublic, besides the API key the world gave it.
type member1Creds struct {
	token   service.LoginResult
	session service.NewSession
	cliKey  service.NewKey
}

func (w *keyWorld) member1Creds(t *testing.T, password string) member1Creds {
	t.Helper()
	ctx := context.Background()
	var c member1Creds
	var err error
	if c.token, err = w.svc.Login(ctx, "member1@example.com", password); err != nil {
		t.Fatal(err)
	}
	if c.session, err = w.svc.SignIn(ctx, "member1@example.com", password); err != nil {
		t.Fatal(err)
	}
	p, err := w.svc.AuthenticateToken(ctx, c.token.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.cliKey, err = w.svc.CreateAPIToken(ctx, p, ""); err != nil {
		t.Fatal(err)
	}
	return c
}

// works reports which of member1's credentials authenticate on svc.
func (w *keyWorld) works(svc *service.Service, c member1Creds) map[string]bool {
	ctx := context.Background()
	_, tokErr := svc.AuthenticateToken(ctx, c.token.ID)
	_, sesErr := svc.AuthenticateSession(ctx, c.session.Secret)
	_, cliErr := svc.Authenticate(ctx, c.cliKey.Secret)
	_, keyErr := svc.Authenticate(ctx, w.keys["member1"].Secret)
	return map[string]bool{"token": tokErr == nil, "session": sesErr == nil, "cliKey": cliErr == nil, "key": keyErr == nil}
}

func wantWorks(t *testing.T, when string, got map[string]bool, want map[string]bool) {
	t.Helper()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s authenticates = %v, want %v", when, name, got[name], w)
		}
	}
}

func TestLogoutEndsTheToken(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	a, err := w.svc.Login(ctx, "member1@example.com", "password-member1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.svc.Login(ctx, "member1@example.com", "password-member1")
	if err != nil {
		t.Fatal(err)
	}
	other := w.replica()
	if _, err := other.AuthenticateToken(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Logout(ctx, a.ID); err != nil {
		t.Fatalf("logout: %v", err)
	}
	for _, s := range []*service.Service{w.svc, other} {
		if _, err := s.AuthenticateToken(ctx, a.ID); core.ErrorCode(err) != core.Unauthorized {
			t.Fatalf("token after logout: %v, want Unauthorized", err)
		}
	}
	if _, err := w.svc.AuthenticateToken(ctx, b.ID); err != nil {
		t.Fatalf("the user's other token after a logout: %v", err)
	}
	if err := w.svc.Logout(ctx, a.ID); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("second logout: %v, want Unauthorized", err)
	}
	if err := w.svc.Logout(ctx, "not-a-token"); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("logout of an unknown token: %v, want Unauthorized", err)
	}
}

func TestLoginTokensAreListedAndRevokedByRole(t *testing.T) {
	for _, tc := range []struct {
		caller string
		code   core.Code
	}{
		{"operator", ""},
		{"admin1", ""},
		{"member1", ""},
		{"member1b", core.NotFound},
		{"admin2", core.NotFound}, // another team's admin
	} {
		t.Run(tc.caller, func(t *testing.T) {
			w := newKeyWorld(t)
			ctx := context.Background()
			c := w.member1Creds(t, "password-member1")
			caller, member := w.ps[tc.caller], w.ps["member1"].User.ID
			ks, err := w.svc.ListKeys(ctx, caller, member)
			if tc.code != "" {
				if err == nil {
					t.Fatalf("%s lists member1's credentials: %v, want an error", tc.caller, ks)
				}
			} else {
				kinds := map[core.KeyKind]int{}
				for _, k := range ks {
					kinds[k.Kind]++
					if k.Kind == core.KindLogin && (k.ID != c.token.Token.ID || k.Expires == nil || !k.Expires.Equal(c.token.Token.Expires)) {
						t.Errorf("listed login token %+v, want %s expiring %v", k, c.token.Token.ID, c.token.Token.Expires)
					}
				}
				want := map[core.KeyKind]int{core.KindKey: 1, core.KindLogin: 1, core.KindSession: 1, core.KindAPIToken: 1}
				if len(kinds) != len(want) || kinds[core.KindKey] != 1 || kinds[core.KindLogin] != 1 ||
					kinds[core.KindSession] != 1 || kinds[core.KindAPIToken] != 1 {
					t.Errorf("%s lists member1's credentials by kind %v, want %v", tc.caller, kinds, want)
				}
			}
			_, tokErr := w.svc.RevokeKey(ctx, caller, c.token.Token.ID)
			_, keyErr := w.svc.RevokeKey(ctx, caller, c.cliKey.Key.ID)
			if core.ErrorCode(tokErr) != tc.code || core.ErrorCode(keyErr) != tc.code {
				t.Fatalf("%s revokes member1's token and createPublic key: %v, %v; want code %q", tc.caller, tokErr, keyErr, tc.code)
			}
			ended := tc.code == ""
			wantWorks(t, tc.caller+" revoked", w.works(w.svc, c), map[string]bool{"token": !ended, "cliKey": !ended, "key": true, "session": true})
		})
	}
	w := newKeyWorld(t)
	if _, err := w.svc.RevokeKey(context.Background(), w.ps["operator"], "ltnope"); core.ErrorCode(err) != core.NotFound {
		t.Fatalf("unknown login token: %v", err)
	}
}

func TestPasswordChangeEndsLoginsNotKeys(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	c := w.member1Creds(t, "password-member1")
	other := w.replica()
	wantWorks(t, "before", w.works(other, c), map[string]bool{"token": true, "session": true, "cliKey": true, "key": true})
	pw := "a-new-password"
	if _, err := w.svc.UpdateUser(ctx, w.ps["admin1"], "member1@example.com", service.UserUpdate{Password: &pw}); core.ErrorCode(err) != core.Forbidden {
		t.Fatalf("a team admin sets a password: %v, want Forbidden", err)
	}
	if _, err := w.svc.UpdateUser(ctx, w.ps["operator"], "member1@example.com", service.UserUpdate{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*service.Service{w.svc, other} {
		wantWorks(t, "after a password change", w.works(s, c), map[string]bool{"token": false, "session": false, "cliKey": true, "key": true})
	}
	if _, err := w.svc.Login(ctx, "member1@example.com", "password-member1"); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("login with the old password: %v", err)
	}
	if _, err := w.svc.Login(ctx, "member1@example.com", pw); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	short := "short"
	if _, err := w.svc.UpdateUser(ctx, w.ps["operator"], w.ps["member1"].User.ID, service.UserUpdate{Password: &short}); core.ErrorCode(err) != core.Invalid {
		t.Fatalf("a short password: %v, want Invalid", err)
	}
}

func TestDisableEndsLoginsAndBlocksKeys(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	c := w.member1Creds(t, "password-member1")
	other := w.replica()
	wantWorks(t, "before", w.works(other, c), map[string]bool{"token": true, "session": true, "cliKey": true, "key": true})
	yes, no := true, false
	op := w.ps["operator"]
	u, err := w.svc.UpdateUser(ctx, op, w.ps["member1"].User.ID, service.UserUpdate{Disabled: &yes})
	if err != nil || !u.Disabled {
		t.Fatalf("disable: %+v %v", u, err)
	}
	for _, s := range []*service.Service{w.svc, other} { // other had everything cached
		wantWorks(t, "disabled", w.works(s, c), map[string]bool{"token": false, "session": false, "cliKey": false, "key": false})
	}
	_, disabledErr := w.svc.Login(ctx, "member1@example.com", "password-member1")
	_, wrongErr := w.svc.Login(ctx, "member1@example.com", "wrong-password")
	if core.ErrorCode(disabledErr) != core.Unauthorized || disabledErr.Error() != wrongErr.Error() {
		t.Fatalf("login of a disabled user: %v; want what a wrong password gets: %v", disabledErr, wrongErr)
	}
	if _, err := w.svc.SignIn(ctx, "member1@example.com", "password-member1"); err == nil || err.Error() != wrongErr.Error() {
		t.Fatalf("console sign-in of a disabled user: %v", err)
	}
	if _, err := w.svc.SignInWithKey(ctx, w.keys["member1"].Secret); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("console sign-in with a disabled user's key: %v", err)
	}
	if _, err := w.svc.UpdateUser(ctx, op, w.ps["member1"].User.ID, service.UserUpdate{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*service.Service{w.svc, other} {
		wantWorks(t, "enabled again", w.works(s, c), map[string]bool{"token": false, "session": false, "cliKey": true, "key": true})
	}
	if _, err := w.svc.Login(ctx, "member1@example.com", "password-member1"); err != nil {
		t.Fatalf("login after enable: %v", err)
	}
	if _, err := w.svc.UpdateUser(ctx, op, op.User.ID, service.UserUpdate{Disabled: &yes}); core.ErrorCode(err) != core.Invalid {
		t.Fatalf("disabling the operator: %v, want Invalid", err)
	}
	if _, err := w.svc.UpdateUser(ctx, op, "nobody@example.com", service.UserUpdate{Disabled: &yes}); core.ErrorCode(err) != core.NotFound {
		t.Fatalf("unknown user: %v, want NotFound", err)
	}
	if _, err := w.svc.UpdateUser(ctx, op, w.ps["member1"].User.ID, service.UserUpdate{}); core.ErrorCode(err) != core.Invalid {
		t.Fatalf("empty update: %v, want Invalid", err)
	}
}

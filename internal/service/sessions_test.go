package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/service"
)

func TestSessionSignInAndOut(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	other := w.replica() // a second replica on the same database
	if _, err := w.svc.SignIn(ctx, "admin1@example.com", "wrong password"); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("SignIn with a wrong password: %v, want Unauthorized", err)
	}
	ns, err := w.svc.SignIn(ctx, "admin1@example.com", "password-admin1")
	if err != nil {
		t.Fatal(err)
	}
	if ns.Key.Name != service.SessionKeyName || ns.Principal.User.ID != w.ps["admin1"].User.ID {
		t.Fatalf("session %+v", ns)
	}
	for _, svc := range []*service.Service{w.svc, other} {
		p, err := svc.AuthenticateSession(ctx, ns.Secret)
		if err != nil || p.User.ID != w.ps["admin1"].User.ID {
			t.Fatalf("AuthenticateSession = %v, %v", p.User.ID, err)
		}
	}
	// A plain API key is no session, and a session key cannot start another session.
	if _, err := w.svc.AuthenticateSession(ctx, w.keys["admin1"].Secret); core.ErrorCode(err) != core.Unauthorized {
		t.Errorf("AuthenticateSession(API key): %v, want Unauthorized", err)
	}
	if _, err := w.svc.SignInWithKey(ctx, ns.Secret); core.ErrorCode(err) != core.Unauthorized {
		t.Errorf("SignInWithKey(session secret): %v, want Unauthorized", err)
	}
	// Sessions are listed with the user's keys.
	ks, err := w.svc.ListKeys(ctx, w.ps["admin1"], "")
	if err != nil || !keyIDs(ks)[service.SessionKeyName] {
		t.Errorf("keys of admin1 %v (%v): want the session listed", keyIDs(ks), err)
	}
	if err := w.svc.EndSession(ctx, ns.Secret); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*service.Service{w.svc, other} {
		if _, err := svc.AuthenticateSession(ctx, ns.Secret); core.ErrorCode(err) != core.Unauthorized {
			t.Errorf("after EndSession: %v, want Unauthorized on every replica", err)
		}
		if _, err := svc.Authenticate(ctx, ns.Secret); core.ErrorCode(err) != core.Unauthorized {
			t.Errorf("after EndSession the secret still works as an API key: %v", err)
		}
	}
	if err := w.svc.EndSession(ctx, ns.Secret); err != nil {
		t.Errorf("ending an ended session: %v", err)
	}
	if err := w.svc.EndSession(ctx, w.keys["admin1"].Secret); core.ErrorCode(err) != core.NotFound {
		t.Errorf("EndSession(API key): %v, want NotFound (an API key is not signed out)", err)
	}
	if _, err := w.svc.Authenticate(ctx, w.keys["admin1"].Secret); err != nil {
		t.Errorf("the API key stopped working: %v", err)
	}
}

func TestSessionEndsWithItsKeyAndItsLifetime(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	ns, err := w.svc.SignInWithKey(ctx, w.keys["member1"].Secret)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ns.Key.Name, service.SessionKeyName+" via "+w.keys["member1"].Key.ID) {
		t.Errorf("session key name %q", ns.Key.Name)
	}
	if _, err := w.svc.AuthenticateSession(ctx, ns.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.RevokeKey(ctx, w.ps["member1"], w.keys["member1"].Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.AuthenticateSession(ctx, ns.Secret); core.ErrorCode(err) != core.Unauthorized {
		t.Errorf("session of a revoked key: %v, want Unauthorized", err)
	}

	// Lifetime: TokenTTL (an hour here) from sign-in.
	pw, err := w.svc.SignIn(ctx, "admin2@example.com", "password-admin2")
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Hour - time.Second)
	if _, err := w.svc.AuthenticateSession(ctx, pw.Secret); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	w.clock.Advance(time.Second)
	if _, err := w.svc.AuthenticateSession(ctx, pw.Secret); core.ErrorCode(err) != core.Unauthorized {
		t.Errorf("at expiry (even from the auth cache): %v, want Unauthorized", err)
	}
	if _, err := w.svc.Authenticate(ctx, pw.Secret); core.ErrorCode(err) != core.Unauthorized {
		t.Errorf("an expired session works as an API key: %v", err)
	}
}

func TestSessionKeyNamesAreReserved(t *testing.T) {
	w := newKeyWorld(t)
	_, err := w.svc.CreateKey(context.Background(), w.ps["operator"], w.ps["admin1"].User.ID, service.SessionKeyName+" via k1")
	if core.ErrorCode(err) != core.Invalid {
		t.Fatalf("CreateKey named like a session: %v, want Invalid", err)
	}
}

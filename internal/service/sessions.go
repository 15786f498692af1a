package service

import (
	"context"
	"strings"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// SessionKeyName names the API keys that back web console sessions. A session started with an
// API key is named SessionKeyName + " via " + that key's id.
//
// A console session is a credential of its own: an API key created at sign-in, whose secret
// only the browser holds (in an HttpOnly cookie). Every console request authenticates it like
// any key, so the auth cache, the credential generation that replicas share and `hangar admin
// keys revoke` all apply to it; in addition it expires TokenTTL after sign-in (like a
// users/login token), a session made from an API key ends when that key is revoked, and
// signing out revokes it on every replica at once. Sessions are listed with the user's keys,
// which is how a user or an operator ends a session from elsewhere.
const SessionKeyName = "console session"

const sessionVia = SessionKeyName + " via "

// sessionOrigin reports whether a key named name backs a console session and, for a session
// started with an API key, that key's id.
func sessionOrigin(name string) (origin string, ok bool) {
	if name == SessionKeyName {
		return "", true
	}
	if origin, ok := strings.CutPrefix(name, sessionVia); ok {
		return origin, true
	}
	return "", strings.HasPrefix(name, SessionKeyName)
}

// checkSession returns when a session key k ends, or Unauthorized if it has ended: it is past
// its lifetime, or the API key it was started with (origin) is revoked or gone.
func (s *Service) checkSession(tx store.Tx, k core.APIKey, origin string, now time.Time) (time.Time, error) {
	end := k.Created.Add(s.cfg.TokenTTL)
	if !now.Before(end) {
		return end, badCredentials()
	}
	if origin == "" {
		return end, nil
	}
	o, err := tx.GetAPIKey(origin)
	if core.IsNotFound(err) || (err == nil && o.Revoked != nil) {
		return end, badCredentials()
	}
	return end, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// NewSession is a started console session; Secret is shown only this once.
type NewSession struct {
	Secret    string
	Key       core.APIKey
	Principal core.Principal
	Expires   time.Time
}

// SignIn checks an email and password (the accounts of users/login) and starts a console
// session. Any failure is the same Unauthorized "login failed".
func (s *Service) SignIn(ctx context.Context, email, password string) (NewSession, error) {
	p, err := s.checkPassword(ctx, email, password)
	if err != nil {
		return NewSession{}, err
	}
	var ns NewSession
	err = s.write(ctx, func(tx store.Tx) (err error) {
		ns, err = s.startSession(tx, p, SessionKeyName)
		return err
	})
	return ns, err
}

// SignInWithKey starts a console session for the holder of an API key; the session ends when
// that key is revoked. Unknown and revoked keys, and session keys, are Unauthorized.
func (s *Service) SignInWithKey(ctx context.Context, key string) (NewSession, error) {
	var ns NewSession
	err := s.write(ctx, func(tx store.Tx) error {
		k, err := tx.GetAPIKeyByHash(SecretHash(strings.TrimSpace(key)))
		if err != nil {
			return err
		}
		if _, session := sessionOrigin(k.Name); session || k.Revoked != nil {
			return badCredentials()
		}
		p, err := principal(tx, k.UserID)
		if err != nil {
			return err
		}
		ns, err = s.startSession(tx, p, sessionVia+k.ID)
		return err
	})
	if core.IsNotFound(err) {
		return NewSession{}, badCredentials()
	}
	return ns, err
}

func (s *Service) startSession(tx store.Tx, p core.Principal, name string) (NewSession, error) {
	nk := newKey(p.User.ID, name, core.KindSession, s.clock.Now())
	if err := tx.CreateAPIKey(&nk.Key); err != nil {
		return NewSession{}, err
	}
	return NewSession{Secret: nk.Secret, Key: nk.Key, Principal: p, Expires: nk.Key.Created.Add(s.cfg.TokenTTL)}, nil
}

// AuthenticateSession resolves the secret of a console session to its principal, checking it
// as Authenticate checks a key, plus its lifetime and the key it was started with. Anything
// but a live session key is Unauthorized.
func (s *Service) AuthenticateSession(ctx context.Context, secret string) (core.Principal, error) {
	e, err := s.authenticate(ctx, secret)
	if err != nil {
		return core.Principal{}, err
	}
	if !e.session {
		return core.Principal{}, badCredentials()
	}
	return e.p, nil
}

// EndSession signs a console session out: its key is revoked, on every replica from its next
// request on. Ending an ended session changes nothing; a secret that is no session is NotFound.
func (s *Service) EndSession(ctx context.Context, secret string) error {
	err := s.write(ctx, func(tx store.Tx) error {
		k, err := tx.GetAPIKeyByHash(SecretHash(secret))
		if err != nil {
			return err
		}
		if _, ok := sessionOrigin(k.Name); !ok {
			return core.Errorf(core.NotFound, "session not found")
		}
		return s.revokeInTx(tx, &k)
	})
	if core.IsNotFound(err) {
		return core.Errorf(core.NotFound, "session not found")
	}
	if err == nil {
		s.auth.invalidate()
	}
	return err
}

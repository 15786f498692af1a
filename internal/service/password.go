package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"hangar/internal/core"
)

// argon2id parameters (OWASP minimum: m=19 MiB, t=2, p=1).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// hasher computes argon2id hashes (each takes 19 MiB and tens of milliseconds of a core), at
// most cap(slots) at a time, so that a storm of logins or creates cannot exhaust memory, and
// fairly: one caller (a team creating users, an email logging in) holds at most perCaller of
// the slots, so that it cannot make everybody else's logins wait behind its own hashes.
// A caller waits for a slot at most wait, or until its request's context ends; then it gets
// a clear 429 (its own share is busy) or 503 (every slot is), and no hash is computed for a
// client that has gone.
type hasher struct {
	slots     chan struct{}
	perCaller int
	wait      time.Duration

	mu      sync.Mutex
	callers map[string]*callerSlots
}

// callerSlots is one caller's share of the slots, kept while anybody uses or waits for it.
type callerSlots struct {
	sem  chan struct{}
	refs int
}

// hashWait is the longest a caller waits for a hasher.
const hashWait = 5 * time.Second

func newHasher(n int) *hasher {
	return &hasher{slots: make(chan struct{}, n), perCaller: max(1, n/2), wait: hashWait,
		callers: map[string]*callerSlots{}}
}

// acquire takes one of caller's share of the slots, then one of the slots; release gives them
// back.
func (h *hasher) acquire(ctx context.Context, caller string) (release func(), err error) {
	h.mu.Lock()
	c := h.callers[caller]
	if c == nil {
		c = &callerSlots{sem: make(chan struct{}, h.perCaller)}
		h.callers[caller] = c
	}
	c.refs++
	h.mu.Unlock()
	done := func() {
		h.mu.Lock()
		if c.refs--; c.refs == 0 {
			delete(h.callers, caller)
		}
		h.mu.Unlock()
	}
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	case <-timer.C:
		done()
		return nil, core.Errorf(core.TooMany, "Too many password checks for this caller at once; retry shortly")
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		<-c.sem
		done()
		return nil, ctx.Err()
	case <-timer.C:
		<-c.sem
		done()
		return nil, core.Errorf(core.Timeout, "The server is busy checking passwords; nothing was changed: retry shortly")
	}
	return func() {
		<-h.slots
		<-c.sem
		done()
	}, nil
}

// hash returns the argon2id PHC string of password, computed for caller.
func (h *hasher) hash(ctx context.Context, caller, password string) (string, error) {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	release, err := h.acquire(ctx, caller)
	if err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	release()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches the PHC string phc, checked for caller.
func (h *hasher) verify(ctx context.Context, caller, phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, nil
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false, nil
	}
	release, err := h.acquire(ctx, caller)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is the hash a failed login checks when there is no user (or no password) to
// check against, so that it costs what a wrong password costs.
var dummyHash = sync.OnceValue(func() string {
	h, _ := newHasher(1).hash(context.Background(), "", core.NewSecret(16))
	return h
})

// SecretHash returns the stored form of an API key or access token: hex SHA-256.
func SecretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

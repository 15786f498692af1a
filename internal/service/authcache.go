package service

import (
	"sync"
	"time"

	"hangar/internal/core"
)

// authCacheTTL is how long a resolved API key is reused without reading the store. Every
// authenticated request used to spend a read transaction (key, user, team) on this; under load
// that was a quarter of a GET's CPU. A revocation through this process takes effect at once
// (RevokeKey calls invalidate). With replicas sharing the database (Config.SharedStore), a
// revocation anywhere advances the store's credential generation, which Authenticate compares
// on every cache hit; the TTL then only bounds how long a hand edit of the database can go
// unseen.
const authCacheTTL = 2 * time.Second

// authCacheMax bounds the entries; a full cache is emptied rather than grown.
const authCacheMax = 10_000

// authCache maps the hash of an API key (never the secret) to the principal it resolved to.
// Only successful authentications are cached. Any service method that changes what a key
// resolves to (revoking or deleting a key, changing or deleting a user or team) must call
// invalidate after its transaction commits.
type authCache struct {
	mu  sync.Mutex
	gen uint64 // bumped by invalidate: a lookup that started before must not be stored
	m   map[string]*authEntry
}

type authEntry struct {
	p        core.Principal
	keyID    string
	lastUsed *time.Time // as last read or written; drives the keyTouchInterval writes
	expires  time.Time
	authGen  int64 // the store's credential generation when p was read (shared stores only)
	session  bool  // the key backs a console session
}

func newAuthCache() *authCache { return &authCache{m: map[string]*authEntry{}} }

// get returns the live entry of hash: its principal, key id and last-used time.
func (c *authCache) get(hash string, now time.Time) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || !now.Before(e.expires) {
		return authEntry{}, false
	}
	return *e, true
}

// generation is read before a store lookup and handed to put.
func (c *authCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores e unless the cache was invalidated since gen was read.
func (c *authCache) put(hash string, e authEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= authCacheMax {
		clear(c.m)
	}
	c.m[hash] = &e
}

// claimTouch reports whether the caller should write the key's last-used time, and if so
// records now as written, so that concurrent requests do not all write it.
func (c *authCache) claimTouch(hash string, lastUsed *time.Time, now time.Time) bool {
	if lastUsed != nil && now.Sub(*lastUsed) < keyTouchInterval {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[hash]; ok {
		if e.lastUsed != nil && now.Sub(*e.lastUsed) < keyTouchInterval {
			return false // another request claimed it
		}
		e.lastUsed = &now
	}
	return true
}

// invalidate drops every entry and stops lookups in flight from being stored.
func (c *authCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

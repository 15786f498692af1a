package service

import (
	"testing"
	"time"
)

func TestAuthCacheDropsLookupsThatRacedAnInvalidate(t *testing.T) {
	c := newAuthCache()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	e := authEntry{keyID: "k1", expires: now.Add(authCacheTTL)}
	gen := c.generation() // a lookup starts …
	c.invalidate()        // … a revocation commits …
	c.put("h", e, gen)    // … the lookup's (stale) result must not be kept
	if _, ok := c.get("h", now); ok {
		t.Fatal("an entry read before an invalidate was cached")
	}
	c.put("h", e, c.generation())
	if got, ok := c.get("h", now); !ok || got.keyID != "k1" {
		t.Fatalf("get = %+v, %v", got, ok)
	}
	if _, ok := c.get("h", e.expires); ok {
		t.Fatal("an expired entry was returned")
	}
}

func TestAuthCacheIsBounded(t *testing.T) {
	c := newAuthCache()
	now := time.Now()
	for i := range authCacheMax + 10 {
		c.put(string(rune(i)), authEntry{expires: now.Add(time.Hour)}, c.generation())
	}
	if n := len(c.m); n > authCacheMax {
		t.Fatalf("%d entries", n)
	}
}

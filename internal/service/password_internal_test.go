package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hangar/internal/core"
)

// TestDummyHashIsReal: the hash a login for an unknown email checks is a well-formed argon2id
// PHC string with the real parameters — a malformed one would be refused before any hashing
// and the quick answer would tell that the email does not exist — and no password matches it.
func TestDummyHashIsReal(t *testing.T) {
	h := newHasher(1)
	ctx := context.Background()
	real, err := h.hash(ctx, "t", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	d := dummyHash()
	if d != dummyHash() {
		t.Fatal("the dummy hash changes between logins")
	}
	rp, dp := strings.Split(real, "$"), strings.Split(d, "$")
	if len(dp) != 6 || dp[1] != rp[1] || dp[2] != rp[2] || dp[3] != rp[3] || len(dp[5]) != len(rp[5]) {
		t.Fatalf("dummy hash %q is not shaped like a real one %q", d, real)
	}
	for _, pw := range []string{"", "correct horse", d} {
		if ok, err := h.verify(ctx, "t", d, pw); ok || err != nil {
			t.Fatalf("password %q matches the dummy hash", pw)
		}
	}
	if ok, err := h.verify(ctx, "t", real, "correct horse"); !ok || err != nil {
		t.Fatal("verify is broken")
	}
}

// TestHasherIsFair: a caller holds at most half the slots, waits for its share at most the
// hasher's wait (then 429), and a caller whose context ends stops waiting; others still get
// the free slots at once.
func TestHasherIsFair(t *testing.T) {
	h := newHasher(4)
	h.wait = 200 * time.Millisecond
	ctx := context.Background()
	var held []func()
	for range 2 { // the attacker's whole share
		rel, err := h.acquire(ctx, "team:attacker")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, rel)
	}
	if _, err := h.acquire(ctx, "team:attacker"); core.ErrorCode(err) != core.TooMany {
		t.Fatalf("a third slot for one caller: %v, want TooMany", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.acquire(cctx, "team:attacker"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a gone client: %v, want context.Canceled", err)
	}
	var others []func()
	for _, caller := range []string{"login:ada@example.com", "login:max@example.com"} {
		rel, err := h.acquire(ctx, caller)
		if err != nil {
			t.Fatalf("%s with the attacker at its share: %v", caller, err)
		}
		others = append(others, rel)
	}
	if _, err := h.acquire(ctx, "login:eve@example.com"); core.ErrorCode(err) != core.Timeout {
		t.Fatalf("every slot busy: %v, want Timeout (503)", err)
	}
	for _, rel := range append(held, others...) {
		rel()
	}
	h.mu.Lock()
	left := len(h.callers)
	h.mu.Unlock()
	if left != 0 || len(h.slots) != 0 {
		t.Fatalf("after release: %d callers and %d slots still held", left, len(h.slots))
	}
}

package service

import (
	"strings"
	"testing"
)

// TestDummyHashIsReal: the hash a login for an unknown email checks is a well-formed argon2id
// PHC string with the real parameters — a malformed one would be refused before any hashing
// and the quick answer would tell that the email does not exist — and no password matches it.
func TestDummyHashIsReal(t *testing.T) {
	h := newHasher(1)
	real := h.hash("correct horse")
	d := dummyHash()
	if d != dummyHash() {
		t.Fatal("the dummy hash changes between logins")
	}
	rp, dp := strings.Split(real, "$"), strings.Split(d, "$")
	if len(dp) != 6 || dp[1] != rp[1] || dp[2] != rp[2] || dp[3] != rp[3] || len(dp[5]) != len(rp[5]) {
		t.Fatalf("dummy hash %q is not shaped like a real one %q", d, real)
	}
	for _, pw := range []string{"", "correct horse", d} {
		if h.verify(d, pw) {
			t.Fatalf("password %q matches the dummy hash", pw)
		}
	}
	if !h.verify(real, "correct horse") {
		t.Fatal("verify is broken")
	}
}

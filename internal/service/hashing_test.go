package service_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/service"
)

// TestHashingAttackKeepsLoginsFast drives the attack of a hostile team admin: a hundred
// concurrent creates with a new user each (every one costs a password hash) while another
// user logs in. The hasher gives one caller at most half its slots, so the login waits for at
// most its own hash and its share of the free slots, not behind the attacker's queue; the
// attacker's excess gets 429 or 503 instead of waiting without bound. Before the hasher was
// fair, a login waited behind the whole queue: about attackers/slots hashes.
func TestHashingAttackKeepsLoginsFast(t *testing.T) {
	b := setupAuth(t)
	ctx := context.Background()
	attacker, err := b.svc.Authenticate(ctx, b.key)
	if err != nil {
		t.Fatal(err)
	}
	login := func() time.Duration {
		t.Helper()
		start := time.Now()
		if _, err := b.svc.Login(ctx, "a@example.com", "password-1"); err != nil {
			t.Fatalf("login: %v", err)
		}
		return time.Since(start)
	}
	var quiet []time.Duration
	for range 3 {
		quiet = append(quiet, login())
	}
	slices.Sort(quiet)
	base := quiet[1]

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var creates, refused atomic.Int64
	var seq atomic.Int64
	for range 100 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				email, pw, first, last := fmt.Sprintf("victim-%d@example.com", seq.Add(1)), "password-2", "E", "V"
				_, err := b.svc.CreateMachine(ctx, attacker, service.CreateMachine{Region: "East Coast (NY2)", MachineType: "C5",
					BillingType: "hourly", Name: "m", TemplateID: "t04azgph", Size: 50,
					Email: &email, Password: &pw, FirstName: &first, LastName: &last})
				creates.Add(1)
				if c := core.ErrorCode(err); c == core.TooMany || c == core.Timeout {
					refused.Add(1)
				}
			}
		})
	}
	// Let the attack fill the hasher's queue before the victim logs in.
	deadline := time.Now().Add(30 * time.Second)
	for creates.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) //nolint:forbidigo // pacing the attack, not waiting for a result
	}
	var attacked []time.Duration
	for range 3 {
		attacked = append(attacked, login())
	}
	close(stop)
	wg.Wait()
	worst := slices.Max(attacked)
	t.Logf("login alone %v (median of 3); under attack %v (worst of 3); %d attacking creates, %d refused with 429/503",
		base.Round(time.Millisecond), worst.Round(time.Millisecond), creates.Load(), refused.Load())
	// Unfair (one queue for all), the worst login took ~50× its time alone here (3.1 s).
	if bound := 10*base + 500*time.Millisecond; worst > bound {
		t.Fatalf("a login under the hashing attack took %v, over %v (10× its %v alone, plus 0.5 s)", worst, bound, base)
	}
}

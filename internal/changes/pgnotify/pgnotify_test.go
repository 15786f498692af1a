package pgnotify

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hangar/internal/changes"
	"hangar/internal/store/postgres/pgtest"
)

func start(t *testing.T, url string) (*Relay, *changes.Hub) {
	t.Helper()
	hub := changes.NewHub()
	r := New(url, hub, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }() // Run returns nil once ctx is done
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-r.connected:
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not connect")
	}
	return r, hub
}

func take(t *testing.T, s *changes.Sub) ([]string, bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-s.Ready():
			ids, resync := s.Take()
			if len(ids) == 0 && !resync {
				continue // a signal for changes an earlier Take already took
			}
			slices.Sort(ids)
			return ids, resync
		case <-deadline:
			t.Fatal("no change arrived")
		}
	}
}

func TestRelayBetweenReplicas(t *testing.T) {
	url := pgtest.SchemaURL(t, "relay")
	a, hubA := start(t, url)
	b, hubB := start(t, url)
	subA, subB := hubA.Subscribe("teA"), hubB.Subscribe("teA")
	// A change committed on replica A reaches A's subscribers at once and B's through the
	// database; A does not hear its own notification back.
	a.Publish(changes.Change{TeamID: "teA", MachineID: "ps1"}, changes.Change{TeamID: "teB", MachineID: "ps9"})
	if ids, _ := take(t, subA); !slices.Equal(ids, []string{"ps1"}) {
		t.Fatalf("local subscriber took %v", ids)
	}
	if ids, resync := take(t, subB); resync || !slices.Equal(ids, []string{"ps1"}) {
		t.Fatalf("the other replica's subscriber took %v resync=%v", ids, resync)
	}
	select {
	case <-subA.Ready():
		ids, _ := subA.Take()
		t.Fatalf("replica A heard its own change back: %v", ids)
	case <-time.After(300 * time.Millisecond):
	}
	// Many changes at once are split over several notifications, none lost.
	var many []changes.Change
	for i := range 2000 {
		many = append(many, changes.Change{TeamID: "teA", MachineID: "psm" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i)})
	}
	b.Publish(many...)
	got := map[string]bool{}
	for len(got) < len(many) {
		ids, resync := take(t, subA)
		if resync {
			t.Fatal("unexpected resync")
		}
		for _, id := range ids {
			got[id] = true
		}
	}
	take(t, subB) // its own, locally
	// A relay whose listening connection is cut tells its subscribers to resynchronise once
	// it is back, since notifications sent meanwhile are lost.
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	a.mu.Lock()
	pid := a.listenPID
	a.mu.Unlock()
	if _, err := conn.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	if _, resync := take(t, subA); !resync {
		t.Fatal("no resync after the relay reconnected")
	}
}

func TestPayloadsStayUnderTheLimit(t *testing.T) {
	var cs []changes.Change
	for i := range 500 {
		cs = append(cs, changes.Change{TeamID: "te" + itoa(i), MachineID: "ps" + itoa(i*7)})
	}
	bodies := payloads(cs, 100)
	n := 0
	for _, b := range bodies {
		if len(b) > 100 {
			t.Errorf("payload of %d bytes", len(b))
		}
		n += len(strings.Split(b, ","))
	}
	if n != len(cs) {
		t.Errorf("%d changes in the payloads, want %d", n, len(cs))
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

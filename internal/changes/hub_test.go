package changes

import (
	"slices"
	"testing"
)

func taken(t *testing.T, s *Sub) ([]string, bool) {
	t.Helper()
	select {
	case <-s.Ready():
	default:
		t.Fatal("subscriber not signalled")
	}
	ids, resync := s.Take()
	slices.Sort(ids)
	return ids, resync
}

func TestHubDeliversByTeamAndCoalesces(t *testing.T) {
	h := NewHub()
	a1, a2, b := h.Subscribe("teA"), h.Subscribe("teA"), h.Subscribe("teB")
	defer b.Close()
	h.Publish(Change{"teA", "ps1"}, Change{"teA", "ps2"}, Change{"teA", "ps1"})
	for _, s := range []*Sub{a1, a2} {
		if ids, resync := taken(t, s); resync || !slices.Equal(ids, []string{"ps1", "ps2"}) {
			t.Errorf("team A subscriber took %v resync=%v, want [ps1 ps2]", ids, resync)
		}
	}
	select {
	case <-b.Ready():
		t.Error("team B subscriber signalled for team A's machines")
	default:
	}
	if h.Subscribers() != 3 {
		t.Errorf("Subscribers() = %d, want 3", h.Subscribers())
	}
	a1.Close()
	a2.Close()
	h.Publish(Change{"teA", "ps3"}) // no subscriber left: nothing to do, nothing kept
	if h.Subscribers() != 1 || len(h.byTeam) != 1 {
		t.Errorf("after Close: %d subscribers in %d teams, want 1 in 1", h.Subscribers(), len(h.byTeam))
	}
}

func TestHubResync(t *testing.T) {
	h := NewHub()
	s := h.Subscribe("teA")
	defer s.Close()
	h.Publish(Change{"teA", "ps1"})
	h.Resync()
	if ids, resync := taken(t, s); !resync || len(ids) != 0 {
		t.Fatalf("after Resync took %v resync=%v, want resync", ids, resync)
	}
	h.Publish(Change{"teA", "ps2"})
	if ids, resync := taken(t, s); resync || !slices.Equal(ids, []string{"ps2"}) {
		t.Fatalf("after a resync was taken: %v resync=%v, want [ps2]", ids, resync)
	}
}

func TestHubBoundsPending(t *testing.T) {
	h := NewHub()
	s := h.Subscribe("teA")
	defer s.Close()
	for i := range maxPending + 1 {
		h.Publish(Change{"teA", "ps" + string(rune('a'+i%26)) + string(rune(i))})
	}
	if ids, resync := taken(t, s); !resync || len(ids) != 0 {
		t.Fatalf("after %d changes took %d ids resync=%v, want a resync", maxPending+1, len(ids), resync)
	}
	if len(s.pending) != 0 {
		t.Errorf("pending holds %d ids after an overflow", len(s.pending))
	}
}

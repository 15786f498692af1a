package changes

import "sync"

// Change names a machine whose row was written: created, updated, destroyed, or its access
// grants changed.
type Change struct {
	TeamID    string
	MachineID string
}

// Publisher receives committed changes.
type Publisher interface {
	Publish(cs ...Change)
}

// maxPending bounds the changes a subscriber keeps between two takes; past it the subscriber
// is told to resynchronise instead (it has fallen far behind, or the fleet changed wholesale).
const maxPending = 4096

// Hub fans changes out to subscribers. The zero value is not usable; call NewHub.
type Hub struct {
	mu     sync.Mutex
	byTeam map[string]map[*Sub]struct{}
}

var _ Publisher = (*Hub)(nil)

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{byTeam: map[string]map[*Sub]struct{}{}} }

// Sub is one subscriber's queue: the set of machines changed since its last Take. Changes to
// the same machine coalesce, and Publish never blocks on a slow subscriber.
type Sub struct {
	hub   *Hub
	team  string
	ready chan struct{}

	mu      sync.Mutex
	pending map[string]struct{}
	resync  bool
}

// Subscribe returns a subscription to the changes of team's machines. Close it when done.
func (h *Hub) Subscribe(team string) *Sub {
	s := &Sub{hub: h, team: team, ready: make(chan struct{}, 1), pending: map[string]struct{}{}}
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.byTeam[team]
	if subs == nil {
		subs = map[*Sub]struct{}{}
		h.byTeam[team] = subs
	}
	subs[s] = struct{}{}
	return s
}

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, subs := range h.byTeam {
		n += len(subs)
	}
	return n
}

// Publish queues each change for the subscribers of its team. It takes constant time per
// subscriber of that team and never waits for one.
func (h *Hub) Publish(cs ...Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range cs {
		for s := range h.byTeam[c.TeamID] {
			s.add(c.MachineID)
		}
	}
}

// Resync tells every subscriber that changes may have been missed (a relay lost its
// connection), so that each refetches what it shows.
func (h *Hub) Resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.byTeam {
		for s := range subs {
			s.mu.Lock()
			s.resync = true
			clear(s.pending)
			s.mu.Unlock()
			s.signal()
		}
	}
}

func (s *Sub) add(id string) {
	s.mu.Lock()
	if !s.resync {
		if len(s.pending) >= maxPending {
			s.resync = true
			clear(s.pending)
		} else {
			s.pending[id] = struct{}{}
		}
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Sub) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled when changes are waiting to be taken.
func (s *Sub) Ready() <-chan struct{} { return s.ready }

// Take returns the machines changed since the last Take, in no particular order, or resync
// when the subscriber must refetch everything it shows.
func (s *Sub) Take() (ids []string, resync bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resync {
		s.resync = false
		return nil, true
	}
	ids = make([]string, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	clear(s.pending)
	return ids, false
}

// Close ends the subscription.
func (s *Sub) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if subs := h.byTeam[s.team]; subs != nil {
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.byTeam, s.team)
		}
	}
}

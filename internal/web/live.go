package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"hangar/internal/changes"
	"hangar/internal/core"
)

// liveMachine is what a live update sends of a machine; the page sets each field as text.
type liveMachine struct {
	ID        string      `json:"id"`
	Name      string      `json:"name,omitempty"`
	State     string      `json:"state,omitempty"`
	Type      string      `json:"type,omitempty"`
	Region    string      `json:"region,omitempty"`
	PrivateIP string      `json:"privateIp,omitempty"`
	PublicIP  string      `json:"publicIp,omitempty"`
	Owner     string      `json:"owner,omitempty"`
	Gone      bool        `json:"gone,omitempty"`
	Events    []liveEvent `json:"events,omitempty"`
}

type liveEvent struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Error    string `json:"error,omitempty"`
	Created  string `json:"created"`
	Finished string `json:"finished,omitempty"`
}

func toLive(m core.Machine, owner string) liveMachine {
	return liveMachine{ID: m.ID, Name: m.Name, State: string(m.State), Type: m.MachineType, Region: m.Region,
		PrivateIP: deref(m.PrivateIP, "—"), PublicIP: deref(m.PublicIP, "—"), Owner: owner}
}

func toLiveEvents(evs []core.Event) []liveEvent {
	out := make([]liveEvent, 0, len(evs))
	for _, e := range evs {
		le := liveEvent{Name: e.Name, State: string(e.State), Error: e.ErrorMsg, Created: fmtTime(e.Created)}
		if e.Finished != nil {
			le.Finished = fmtTime(*e.Finished)
		}
		out = append(out, le)
	}
	return out
}

// stream is a server-sent events answer.
type stream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// openStream starts a server-sent events answer. The server's write timeout does not apply
// to it: a stream lasts until the client leaves, the session ends or the server stops.
func (s *Server) openStream(c *call) (*stream, error) {
	st := &stream{w: c.w, rc: http.NewResponseController(c.w)}
	if err := st.rc.SetWriteDeadline(time.Time{}); err != nil {
		s.log.DebugContext(c.r.Context(), "console: stream keeps the write timeout", "err", err)
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	// A client that lost the stream reconnects after 3 s and is sent the current state again.
	if _, err := fmt.Fprint(c.w, "retry: 3000\n\n"); err != nil {
		return nil, err
	}
	return st, st.rc.Flush()
}

func (st *stream) send(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(st.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	return st.rc.Flush()
}

// liveOff answers a live request when the console was built without a change hub.
func (s *Server) liveOff() error {
	return core.Errorf(core.NotFound, "Live updates are not enabled on this server")
}

// stillSignedIn checks the session again before a stream sends anything more, so that a
// stream ends with its session (sign-out elsewhere, revocation, expiry).
func (s *Server) stillSignedIn(c *call, st *stream) bool {
	if _, err := s.svc.AuthenticateSession(c.r.Context(), c.secret); err != nil {
		_ = st.send("signedout", struct{}{})
		return false
	}
	return true
}

// wait blocks until changes are waiting in sub and takes them; false when the client left or
// the server is stopping.
func (s *Server) wait(c *call, sub *changes.Sub) (ids []string, resync, ok bool) {
	for {
		select {
		case <-c.r.Context().Done():
			return nil, false, false
		case <-s.stop:
			return nil, false, false
		case <-sub.Ready():
		}
		if ids, resync = sub.Take(); len(ids) > 0 || resync {
			return ids, resync, true
		}
		// Already taken with an earlier signal.
	}
}

// maxProbe bounds how many changed machines that are not on the page a list stream reads
// per batch to find new ones.
const maxProbe = 20

// machinesLive streams the machines list's page: the current state of its rows at once, then
// each row again when its machine changes, and a notice of new machines that would be listed.
// While no machine of the team changes it does nothing at all.
func (s *Server) machinesLive(c *call) error {
	if s.cfg.Changes == nil {
		return s.liveOff()
	}
	ctx := c.r.Context()
	f := parseFilter(c.r.URL.Query())
	sub := s.cfg.Changes.Subscribe(c.p.Team.ID) // before the snapshot, so nothing is missed
	defer sub.Close()
	since := s.clock.Now()
	ms, _, err := s.listPage(c, f)
	if err != nil {
		return err
	}
	users, err := s.svc.ListUsers(ctx, c.p)
	if err != nil {
		return err
	}
	names := ownerNames(users)
	st, err := s.openStream(c)
	if err != nil {
		return nil
	}
	watch := map[string]bool{}
	for _, m := range ms {
		watch[m.ID] = true
		if st.send("machine", toLive(m, names[m.UserID])) != nil {
			return nil
		}
	}
	for {
		ids, resync, ok := s.wait(c, sub)
		if !ok || !s.stillSignedIn(c, st) {
			return nil
		}
		if resync { // changes were missed: send every row again
			ids = ids[:0]
			for id := range watch {
				ids = append(ids, id)
			}
		}
		probed := 0
		for _, id := range ids {
			if !watch[id] && (f.Page > 1 || probed >= maxProbe) {
				continue
			}
			if !watch[id] {
				probed++
			}
			d, err := s.svc.GetMachine(ctx, c.p, id)
			switch {
			case core.IsNotFound(err):
				if watch[id] {
					delete(watch, id)
					err = st.send("machine", liveMachine{ID: id, Gone: true})
				} else {
					err = nil
				}
			case err != nil:
				s.log.ErrorContext(ctx, "console: live read", "machine", id, "err", err)
				err = nil
			case watch[id]:
				err = st.send("machine", toLive(d.Machine, names[d.Machine.UserID]))
			case !d.Machine.Created.Before(since) && f.matches(d.Machine):
				watch[id] = true // announced once
				err = st.send("added", liveMachine{ID: id, Name: d.Machine.Name})
			}
			if err != nil {
				return nil
			}
		}
	}
}

// matches reports whether m would be listed under f (for new machines on the first page).
func (f listFilter) matches(m core.Machine) bool {
	ok := func(want, got string) bool { return want == "" || want == got }
	if !ok(f.State, string(m.State)) || !ok(f.Type, m.MachineType) || !ok(f.Region, m.Region) || !ok(f.Owner, m.UserID) {
		return false
	}
	q := strings.ToLower(f.Q)
	return q == "" || strings.Contains(strings.ToLower(m.Name), q) || m.ID == q ||
		deref(m.PrivateIP, "") == q || deref(m.PublicIP, "") == q
}

// machineLive streams one machine for its page: its state, IPs and timeline now and after
// each change, and "gone" once it is destroyed.
func (s *Server) machineLive(c *call) error {
	if s.cfg.Changes == nil {
		return s.liveOff()
	}
	ctx := c.r.Context()
	id := c.r.PathValue("id")
	sub := s.cfg.Changes.Subscribe(c.p.Team.ID)
	defer sub.Close()
	if _, err := s.svc.GetMachine(ctx, c.p, id); err != nil {
		return err // another team's machine is not found here either
	}
	st, err := s.openStream(c)
	if err != nil {
		return nil
	}
	send := func() bool {
		d, err := s.svc.MachineHistory(ctx, c.p, id, historyLen)
		if core.IsNotFound(err) {
			_ = st.send("machine", liveMachine{ID: id, Gone: true})
			return false
		}
		if err != nil {
			s.log.ErrorContext(ctx, "console: live read", "machine", id, "err", err)
			return true
		}
		lm := toLive(d.Machine, "")
		lm.Events = toLiveEvents(d.Events)
		return st.send("machine", lm) == nil
	}
	if !send() {
		return nil
	}
	for {
		ids, resync, ok := s.wait(c, sub)
		if !ok {
			return nil
		}
		mine := resync
		for _, x := range ids {
			mine = mine || x == id
		}
		if !mine {
			continue
		}
		if !s.stillSignedIn(c, st) || !send() {
			return nil
		}
	}
}

// Package pgnotify relays machine changes between Hangar replicas that share one PostgreSQL
// database, so that a browser watching one replica sees what another replica's service or
// engine committed.
//
// Each replica's Relay is the Publisher of its store (changes.Track): a change committed here
// goes to the local hub at once and, batched, out as NOTIFY on the database's channel; a
// dedicated connection LISTENs on that channel and puts the other replicas' changes into the
// local hub. Nothing is sent or polled while nothing changes. A notification can be lost
// (a connection drops, a replica dies between its commit and its NOTIFY); whenever a relay
// (re)connects it tells its own subscribers, and the other replicas, to resynchronise, so a
// live view is never left stale after an outage.
package pgnotify

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"hangar/internal/changes"
	"hangar/internal/core"
)

// maxPayload keeps a notification under PostgreSQL's 8000-byte payload limit.
const maxPayload = 7900

// resync is the payload body that asks every replica to resynchronise.
const resync = "*"

// Relay publishes changes to the local hub and to the other replicas. Create it with New and
// run it with Run.
type Relay struct {
	url    string
	hub    *changes.Hub
	log    *slog.Logger
	origin string // this relay's id, to skip its own notifications

	mu      sync.Mutex
	pending []changes.Change
	wake    chan struct{}

	connected chan struct{} // closed once both connections are up (tests)
	once      sync.Once
	listenPID uint32 // the listening connection's backend (tests)
}

var _ changes.Publisher = (*Relay)(nil)

// New returns a relay over the database at url (a postgres:// URL, its search_path included).
func New(url string, hub *changes.Hub, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relay{url: url, hub: hub, log: log, origin: core.NewID("", 10), wake: make(chan struct{}, 1),
		connected: make(chan struct{})}
}

// Publish implements changes.Publisher: the local hub now, the other replicas soon.
func (r *Relay) Publish(cs ...changes.Change) {
	r.hub.Publish(cs...)
	r.mu.Lock()
	r.pending = append(r.pending, cs...)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends, reconnecting with backoff after errors.
func (r *Relay) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { r.loop(ctx, "listen", r.listen) })
	wg.Go(func() { r.loop(ctx, "notify", r.send) })
	wg.Wait()
	return nil
}

func (r *Relay) loop(ctx context.Context, what string, fn func(context.Context, bool) error) {
	backoff := 100 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		start := time.Now()
		err := fn(ctx, first)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("changes relay: connection lost", "side", what, "err", err)
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// connect opens a connection and names the channel.
func (r *Relay) connect(ctx context.Context) (*pgx.Conn, string, error) {
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		return nil, "", err
	}
	ch, err := channel(ctx, conn)
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, "", err
	}
	return conn, ch, nil
}

// channel is the notification channel of the database's current schema, so that
// installations (and test schemas) sharing one server do not hear each other.
func channel(ctx context.Context, conn *pgx.Conn) (string, error) {
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", err
	}
	name := "hangar_changes_" + schema
	if len(name) > 63 {
		name = name[:63]
	}
	return pgx.Identifier{name}.Sanitize(), nil
}

func (r *Relay) listen(ctx context.Context, first bool) error {
	conn, ch, err := r.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
		return err
	}
	r.mu.Lock()
	r.listenPID = conn.PgConn().PID()
	r.mu.Unlock()
	if !first {
		r.hub.Resync() // what was sent while this connection was down is lost
	}
	r.once.Do(func() { close(r.connected) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		r.receive(n.Payload)
	}
}

// receive handles one payload: "<origin> <team>:<machine>,…" or "<origin> *".
func (r *Relay) receive(payload string) {
	origin, body, ok := strings.Cut(payload, " ")
	if !ok || origin == r.origin {
		return
	}
	if body == resync {
		r.hub.Resync()
		return
	}
	var cs []changes.Change
	for _, item := range strings.Split(body, ",") {
		if team, id, ok := strings.Cut(item, ":"); ok && team != "" && id != "" {
			cs = append(cs, changes.Change{TeamID: team, MachineID: id})
		}
	}
	r.hub.Publish(cs...)
}

func (r *Relay) send(ctx context.Context, first bool) error {
	conn, ch, err := r.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	notify := func(body string) error {
		_, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", strings.Trim(ch, `"`), r.origin+" "+body)
		return err
	}
	if !first { // changes may have been dropped while this connection was down
		if err := notify(resync); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.wake:
		}
		r.mu.Lock()
		batch := r.pending
		r.pending = nil
		r.mu.Unlock()
		for _, body := range payloads(batch, maxPayload-len(r.origin)-1) {
			if err := notify(body); err != nil {
				return errors.Join(err, errors.New("changes dropped; the other replicas are told to resynchronise"))
			}
		}
	}
}

// payloads packs changes into comma-separated bodies of at most limit bytes.
func payloads(cs []changes.Change, limit int) []string {
	var out []string
	var b strings.Builder
	for _, c := range cs {
		item := c.TeamID + ":" + c.MachineID
		if b.Len() > 0 && b.Len()+1+len(item) > limit {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

package notify

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// Config configures a Mailer.
type Config struct {
	Store  store.Store
	Clock  core.Clock
	Sender Sender
	// From is the From header, e.g. "Hangar <hangar@example.com>".
	From   string
	Logger *slog.Logger
	// Lease is how long a claimed message is reserved to this mailer (default 2 min, longer
	// than one SMTP exchange).
	Lease time.Duration
	// PollInterval bounds how long Run sleeps without looking at the outbox (default 1 s).
	PollInterval time.Duration
	// MaxAttempts is how many deliveries are tried before a message is given up (default 12,
	// about a day and a half with the backoff below).
	MaxAttempts int
	// OnAttempt, if set, is told of every delivery attempt: err is nil when the message was
	// sent, and final reports a failure after which the message is given up.
	OnAttempt func(err error, final bool)
}

// Mailer delivers the outbox.
type Mailer struct {
	cfg   Config
	owner string
	log   *slog.Logger
}

// NewMailer returns a Mailer.
func NewMailer(cfg Config) *Mailer {
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.From == "" {
		cfg.From = "Hangar <hangar@localhost>"
	}
	host, _ := os.Hostname()
	return &Mailer{cfg: cfg, log: cfg.Logger,
		owner: "mail:" + host + ":" + strconv.Itoa(os.Getpid()) + ":" + core.NewID("", 6)}
}

// Backoff is the wait before delivery attempt n+1 after n failed ones: 30 s, doubling, at
// most 4 h.
func Backoff(n int) time.Duration {
	return min(30*time.Second<<min(max(n-1, 0), 10), 4*time.Hour)
}

// claimBatch is how many messages one claim takes at most.
const claimBatch = 16

// Run delivers due messages until ctx is cancelled.
func (m *Mailer) Run(ctx context.Context) error {
	for {
		n, err := m.Drain(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			m.log.Error("mailer: outbox", "err", err)
		}
		wait := m.cfg.PollInterval
		if n == 0 && err == nil {
			var next *time.Time
			if err := m.cfg.Store.Read(ctx, func(tx store.Tx) (err error) { next, err = tx.NextMailDue(); return }); err == nil && next != nil {
				wait = min(wait, max(next.Sub(m.cfg.Clock.Now()), 10*time.Millisecond))
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Drain delivers every message due now, one attempt each, and returns how many it tried. It
// is the synchronous form of Run for tests driven by a fake clock.
func (m *Mailer) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		now := m.cfg.Clock.Now()
		var due []core.Mail
		err := m.cfg.Store.Write(ctx, func(tx store.Tx) (err error) {
			due, err = tx.ClaimMail(now, m.owner, now.Add(m.cfg.Lease), claimBatch)
			return err
		})
		if err != nil || len(due) == 0 {
			return total, err
		}
		for _, msg := range due {
			if err := m.deliver(ctx, msg); err != nil {
				return total, err
			}
			total++
		}
		if len(due) < claimBatch {
			return total, nil
		}
	}
}

// deliver makes one attempt and records its outcome.
func (m *Mailer) deliver(ctx context.Context, msg core.Mail) error {
	err := m.cfg.Sender.Send(ctx, msg.ID, msg.To, Render(msg, m.cfg.From))
	now := m.cfg.Clock.Now()
	msg.Attempts++
	final := err != nil && (isPermanent(err) || msg.Attempts >= m.cfg.MaxAttempts)
	if m.cfg.OnAttempt != nil {
		m.cfg.OnAttempt(err, final)
	}
	switch {
	case err == nil:
		msg.Sent, msg.NextAt, msg.LastError = &now, nil, ""
		m.log.Info("mailer: sent", "mail", msg.ID, "machine", msg.MachineID, "to", msg.To)
	case final:
		msg.NextAt, msg.LastError = nil, err.Error()
		m.log.Error("mailer: giving up", "mail", msg.ID, "machine", msg.MachineID, "to", msg.To,
			"attempts", msg.Attempts, "err", err)
	default:
		at := now.Add(Backoff(msg.Attempts))
		msg.NextAt, msg.LastError = &at, err.Error()
		m.log.Warn("mailer: delivery failed, will retry", "mail", msg.ID, "machine", msg.MachineID,
			"to", msg.To, "attempts", msg.Attempts, "retry_at", at, "err", err)
	}
	return m.cfg.Store.Write(context.WithoutCancel(ctx), func(tx store.Tx) error {
		_, err := tx.FinishMailAttempt(&msg, m.owner)
		return err
	})
}

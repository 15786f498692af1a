package service

import (
	"context"
	"strings"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// Audit list limits: the default number of entries, and the most one call returns.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 10_000
)

// RecordAudit stores an audit entry in its own transaction; Time is set to now when zero. The
// caller fills it from what it knows of the call and must never put a secret in it.
func (s *Service) RecordAudit(ctx context.Context, e core.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = s.clock.Now()
	}
	// The entry is written even when the call's context was cancelled (the client went away
	// after its change committed): the audit must not depend on the client waiting.
	return s.write(context.WithoutCancel(ctx), func(tx store.Tx) error { return tx.AppendAudit(&e) })
}

// AuditFilter selects audit entries; empty fields do not filter.
type AuditFilter struct {
	Team   string // handle or numeric id
	User   string
	Action string
	Since  time.Time
	Until  time.Time
	Limit  int // 0: DefaultAuditLimit; above MaxAuditLimit is Invalid
}

// ListAudit returns the audit entries matching f, newest first (operator only).
func (s *Service) ListAudit(ctx context.Context, p core.Principal, f AuditFilter) ([]core.AuditEntry, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	switch {
	case f.Limit < 0 || f.Limit > MaxAuditLimit:
		return nil, invalid("limit must be between 1 and %d", MaxAuditLimit)
	case f.Limit == 0:
		f.Limit = DefaultAuditLimit
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return nil, invalid("since must be before until")
	}
	q := core.AuditQuery{UserID: strings.TrimSpace(f.User), Action: strings.TrimSpace(f.Action),
		Since: f.Since, Until: f.Until, Limit: f.Limit}
	var out []core.AuditEntry
	err := s.read(ctx, func(tx store.Tx) error {
		var err error
		if q.TeamID, err = teamScope(tx, f.Team); err != nil {
			return err
		}
		out, err = tx.ListAudit(q)
		return err
	})
	return out, err
}

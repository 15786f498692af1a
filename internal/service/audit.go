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

// Audit is the audit entry of one state-changing call while it is served. The caller (the
// HTTP layer) fills Entry from what it knows of the call, with Status the call's success
// status, and puts the Audit in the call's context with WithAudit. The first transaction of
// the call that commits (Service.write) appends the entry in that same transaction, so a
// committed change never lacks its entry, even after a kill -9 or when the disk fills just
// after it, and a create costs one write, not two. A call that commits nothing (a refusal, an
// error, a timeout) is recorded afterwards with RecordAudit. Entry never holds a secret.
type Audit struct {
	Entry  core.AuditEntry
	stored bool
}

type auditKey struct{}

// WithAudit returns ctx carrying a, the pending audit entry of the call ctx serves.
func WithAudit(ctx context.Context, a *Audit) context.Context {
	return context.WithValue(ctx, auditKey{}, a)
}

// PendingAudit returns the Audit ctx carries, or nil.
func PendingAudit(ctx context.Context) *Audit { return auditOf(ctx) }

func auditOf(ctx context.Context) *Audit {
	a, _ := ctx.Value(auditKey{}).(*Audit)
	return a
}

// Stored reports whether the entry was written in the transaction of the call's change.
func (a *Audit) Stored() bool { return a.stored }

// auditTarget names the object the call of ctx acted on, once the service knows it (a new
// object's id). It is called inside the change's transaction function, before the entry is
// appended.
func auditTarget(ctx context.Context, id string) {
	if a := auditOf(ctx); a != nil {
		a.Entry.Target = id
	}
}

// auditCaller records p as the caller of the call of ctx, for calls that authenticate in the
// service itself (users/login).
func auditCaller(ctx context.Context, p core.Principal) {
	if a := auditOf(ctx); a != nil {
		a.Entry.UserID, a.Entry.Role, a.Entry.TeamID = p.User.ID, p.User.Role, p.Team.ID
	}
}

// RecordAudit stores an audit entry in its own transaction; Time is set to now when zero. The
// caller fills it from what it knows of the call and must never put a secret in it. It is for
// calls whose change did not commit; Audit covers those that did.
func (s *Service) RecordAudit(ctx context.Context, e core.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = s.clock.Now()
	}
	// The entry is written even when the call's context was cancelled (the client went away
	// after its change committed): the audit must not depend on the client waiting.
	return s.st.Write(context.WithoutCancel(ctx), func(tx store.Tx) error { return tx.AppendAudit(&e) })
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

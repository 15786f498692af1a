package sqlstore

import (
	"strconv"
	"strings"

	"hangar/internal/core"
)

// auditCols are the columns of the audit_log table in the order scanAudit reads them.
const auditCols = `seq, at, request_id, user_id, role, team_id, action, target, status, error, client_addr`

// auditInsert inserts one audit entry and returns its seq; auditArgs gives its arguments.
const auditInsert = `INSERT INTO audit_log (at, request_id, user_id, role, team_id, action, target, status,
	error, client_addr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq`

// auditArgs are the arguments of auditInsert for e; times are Unix milliseconds.
func auditArgs(e *core.AuditEntry) []any {
	return []any{e.Time.UnixMilli(), e.RequestID, e.UserID, string(e.Role), e.TeamID, e.Action, e.Target,
		e.Status, string(e.Error), e.ClientAddr}
}

// auditQuery translates q into a SELECT of auditCols from audit_log, newest first, with
// numbered placeholders ($1, $2, …); values are always bound, never spliced into the SQL.
func auditQuery(q core.AuditQuery) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.TeamID != "" {
		add("team_id = ?", q.TeamID)
	}
	if q.UserID != "" {
		add("user_id = ?", q.UserID)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if !q.Since.IsZero() {
		add("at >= ?", q.Since.UnixMilli())
	}
	if !q.Until.IsZero() {
		add("at < ?", q.Until.UnixMilli())
	}
	var b strings.Builder
	b.WriteString("SELECT " + auditCols + " FROM audit_log")
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY at DESC, seq DESC")
	if q.Limit > 0 {
		args = append(args, int64(q.Limit))
		b.WriteString(" LIMIT $" + strconv.Itoa(len(args)))
	}
	return b.String(), args
}

func scanAudit(s Row) (core.AuditEntry, error) {
	var e core.AuditEntry
	var role, code string
	err := s.Scan(&e.Seq, timeCol{&e.Time}, &e.RequestID, &e.UserID, &role, &e.TeamID, &e.Action, &e.Target,
		&e.Status, &code, &e.ClientAddr)
	e.Role, e.Error = core.Role(role), core.Code(code)
	return e, err
}

// AppendAudit implements store.Tx.
func (t *Tx) AppendAudit(e *core.AuditEntry) error {
	err := t.x.QueryRow(auditInsert, auditArgs(e)...).Scan(&e.Seq)
	return t.Err(err, "audit entry", "")
}

// ListAudit implements store.Tx. Its queries have few shapes, so they are cached like fixed
// ones.
func (t *Tx) ListAudit(q core.AuditQuery) ([]core.AuditEntry, error) {
	query, args := auditQuery(q)
	return list(t, "audit log", scanAudit, query, args...)
}

// AuthGenerationQuery reads the credential generation. A backend may also run it outside
// any transaction (store.AuthGenerationReader).
const AuthGenerationQuery = `SELECT gen FROM auth_generation WHERE id = 1`

// AuthGeneration implements store.Tx.
func (t *Tx) AuthGeneration() (int64, error) {
	var g int64
	err := t.x.QueryRow(AuthGenerationQuery).Scan(&g)
	return g, t.Err(err, "auth generation", "")
}

// BumpAuthGeneration implements store.Tx.
func (t *Tx) BumpAuthGeneration() error {
	return t.execOne("auth generation", "", `UPDATE auth_generation SET gen = gen + 1 WHERE id = 1`)
}

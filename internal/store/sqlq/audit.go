package sqlq

import (
	"strconv"
	"strings"

	"hangar/internal/core"
)

// AuditCols are the columns of the audit_log table in the order ScanAudit reads them.
const AuditCols = `seq, at, request_id, user_id, role, team_id, action, target, status, error, client_addr`

// AuditInsert inserts one audit entry and returns its seq; AuditArgs gives its arguments.
const AuditInsert = `INSERT INTO audit_log (at, request_id, user_id, role, team_id, action, target, status,
	error, client_addr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq`

// AuditArgs are the arguments of AuditInsert for e; times are Unix milliseconds.
func AuditArgs(e *core.AuditEntry) []any {
	return []any{e.Time.UnixMilli(), e.RequestID, e.UserID, string(e.Role), e.TeamID, e.Action, e.Target,
		e.Status, string(e.Error), e.ClientAddr}
}

// AuditQuery translates q into a SELECT of AuditCols from audit_log, newest first, with
// numbered placeholders ($1, $2, …) that both SQLite and PostgreSQL bind; values are always
// bound, never spliced into the SQL.
func AuditQuery(q core.AuditQuery) (string, []any) {
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
	b.WriteString("SELECT " + AuditCols + " FROM audit_log")
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

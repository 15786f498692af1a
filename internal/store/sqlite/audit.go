package sqlite

import (
	"hangar/internal/core"
	"hangar/internal/store/sqlq"
)

func scanAudit(s scanner) (core.AuditEntry, error) {
	var e core.AuditEntry
	var role, code string
	err := s.Scan(&e.Seq, timeCol{&e.Time}, &e.RequestID, &e.UserID, &role, &e.TeamID, &e.Action, &e.Target,
		&e.Status, &code, &e.ClientAddr)
	e.Role, e.Error = core.Role(role), core.Code(code)
	return e, err
}

func (t *tx) AppendAudit(e *core.AuditEntry) error {
	err := t.queryRow(sqlq.AuditInsert, sqlq.AuditArgs(e)...).Scan(&e.Seq)
	return dbErr(err, "audit entry", "")
}

func (t *tx) ListAudit(q core.AuditQuery) ([]core.AuditEntry, error) {
	query, args := sqlq.AuditQuery(q)
	return list(t, "audit log", scanAudit, query, args...)
}

func (t *tx) AuthGeneration() (int64, error) {
	var g int64
	err := t.queryRow(`SELECT gen FROM auth_generation WHERE id = 1`).Scan(&g)
	return g, dbErr(err, "auth generation", "")
}

func (t *tx) BumpAuthGeneration() error {
	return t.execOne("auth generation", "", `UPDATE auth_generation SET gen = gen + 1 WHERE id = 1`)
}

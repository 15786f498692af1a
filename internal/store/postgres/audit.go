package postgres

import (
	"context"

	"hangar/internal/core"
	"hangar/internal/store"
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
	return t.dbErr(err, "audit entry", "")
}

func (t *tx) ListAudit(q core.AuditQuery) ([]core.AuditEntry, error) {
	query, args := sqlq.AuditQuery(q)
	return list(t, "audit log", scanAudit, query, args...)
}

func (t *tx) AuthGeneration() (int64, error) {
	var g int64
	err := t.queryRow(`SELECT gen FROM auth_generation WHERE id = 1`).Scan(&g)
	return g, t.dbErr(err, "auth generation", "")
}

func (t *tx) BumpAuthGeneration() error {
	return t.execOne("auth generation", "", `UPDATE auth_generation SET gen = gen + 1 WHERE id = 1`)
}

var _ store.AuthGenerationReader = (*DB)(nil)

// AuthGeneration reads the credential generation in one statement, outside any transaction:
// one round trip instead of the three of a Read.
func (db *DB) AuthGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := db.pool.QueryRow(ctx, `SELECT gen FROM auth_generation WHERE id = 1`).Scan(&g); err != nil {
		return 0, core.Wrap(core.Internal, err, "postgres: read the auth generation")
	}
	return g, nil
}

// Package sqlstore implements store.Tx once, in SQL that both Hangar backends run: the
// embedded SQLite database (package sqlite) and PostgreSQL (package postgres).
//
// A backend supplies two things. An Executor runs the statements of one transaction on its
// driver (database/sql over modernc.org/sqlite, with a prepared-statement cache; native pgx
// on PostgreSQL). A Dialect carries the little that the two cannot say alike: how a driver
// error is classified, what LIMIT means no limit, the cast an integer filter needs, and
// whether rows are locked (FOR UPDATE, SKIP LOCKED) against concurrent writers. Everything
// else — the statements, the scanning, the error translation — lives here once, so a new
// store method or column is written once and storetest proves it on both backends.
//
// Statements use numbered placeholders ($1, $2, …), which both drivers bind. Inserts whose
// only expected failure is a duplicate key use INSERT … ON CONFLICT DO NOTHING and report
// core.Conflict when nothing was inserted: no error is raised, so a PostgreSQL transaction
// is not aborted and the caller may handle the Conflict and carry on. Statements that can
// fail on another constraint go through Executor.ExecGuarded, which undoes only the failed
// statement.
//
// Columns. Times are unix milliseconds (UTC) in 64-bit integer columns, optional fields are
// nullable columns scanned into pointers, flags are booleans (INTEGER 0/1 on SQLite), and a
// host's capacity is a JSON object (TEXT on SQLite, JSONB on PostgreSQL).
//
// Errors. No rows is core.NotFound and a duplicate key core.Conflict; a failed CHECK on
// host usage is Conflict and a missing host there NotFound. A serialization failure or
// deadlock marks the transaction for retry (Tx.RetryErr); everything else is core.Internal,
// its message prefixed with the dialect's name.
//
// The package also holds what the backends share around the schema: reading the numbered
// migrations (Migrations) and applying them (Migrate), while each backend keeps its own
// migration files.
package sqlstore

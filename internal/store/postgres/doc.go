// Package postgres implements store.Store on PostgreSQL through pgx v5 (pgxpool), for
// Hangar's scaled setup: several `hangar serve` replicas sharing one database.
//
// The store's statements are package sqlstore's, shared with the sqlite package; this
// package holds what is PostgreSQL's own: the pool, the advisory-locked migrations, the
// SERIALIZABLE retry loop, savepoint-guarded statements, the one-statement AuthGeneration
// and the dialect (SQLSTATE codes, row locks, LIMIT NULL).
//
// Schema. migrations/*.sql mirror the SQLite schema: times are BIGINT unix milliseconds
// (UTC), pointer fields are nullable columns, destroyed machines and deleted networks keep
// their row with deleted_at set, host capacity is a JSONB column and usage a host_usage
// table with CHECK (used >= 0). Every text column uses the "C" collation, so ORDER BY and
// UNIQUE compare bytes as SQLite does, whatever the database's locale. Open applies the
// embedded migrations in one transaction under a transaction-scoped advisory lock keyed by
// the current schema, and records them in schema_migrations, so replicas that start together
// migrate once and opening an up-to-date database changes nothing. The schema is the first
// one on the connection's search_path (for example ?search_path=hangar in the URL).
//
// Transactions. Write runs fn in one SERIALIZABLE transaction. That is what the store
// contract promises ("writes are serialisable"), and it is what the service was written
// against: SQLite runs one write at a time. Under SERIALIZABLE, PostgreSQL aborts a
// transaction that could break that promise with a serialization failure (40001), and a
// deadlock aborts one of its transactions (40P01); Write then rolls back and runs fn again
// in a new transaction (the contract allows fn to be retried), after a randomised
// exponential backoff, up to Options.MaxAttempts times. A statement that hit such a failure
// marks the transaction for retry even if fn swallows the error. Read runs fn in a READ
// ONLY REPEATABLE READ transaction: one snapshot, never blocked and never retried.
//
// Failed statements. A failed statement aborts a whole PostgreSQL transaction, but the
// contract lets fn catch a Conflict (or NotFound) and carry on. Inserts whose only possible
// failure is a duplicate key use INSERT ... ON CONFLICT DO NOTHING and report Conflict when
// no row was inserted: no error is raised, so nothing is aborted. Statements that can also
// fail on a foreign key or CHECK constraint, or that change a unique column (CreateUser,
// UpdateUser, CreateAPIKey, CreateAccessToken, UpdateHost, and AddHostUsage's update and
// insert), run inside SAVEPOINT ... RELEASE, sent in one pipelined round trip with the
// statement; on failure the store rolls back to the savepoint, so only that statement is
// undone.
//
// Locking. Inside Write, ListHosts locks the listed host rows (SELECT ... FOR UPDATE, in name
// order), so concurrent placements on a region queue behind each other; SERIALIZABLE makes
// any placement that read stale usage fail and retry, so capacity is never oversubscribed.
// ClaimDue picks due machines with FOR UPDATE SKIP LOCKED, so claimers on several replicas
// take disjoint sets instead of queueing on each other's rows.
//
// Errors. No rows is core.NotFound, a unique violation (23505) or a skipped ON CONFLICT
// insert is core.Conflict, a CHECK violation on host usage is Conflict and a foreign key
// violation there NotFound (as in the sqlite package); everything else is Internal.
package postgres

// Package sqlite implements store.Store on an embedded SQLite database through the pure-Go
// driver modernc.org/sqlite, so Hangar builds with CGO_ENABLED=0.
//
// The store's statements are package sqlstore's, shared with the postgres package; this
// package holds what is SQLite's own: opening the database, its migrations, the single
// writer with group commit, the prepared-statement cache, and the dialect (error codes,
// LIMIT -1).
//
// The database runs in WAL mode with foreign keys on and a busy timeout. Open applies the
// embedded migrations (migrations/*.sql) in one transaction and records them in the
// schema_migrations table, so opening an up-to-date database changes nothing.
//
// Connections. One writer connection (SetMaxOpenConns(1), BEGIN IMMEDIATE) serves every
// Write; a separate pool of query_only connections serves Read, each Read seeing one WAL
// snapshot. Fixed statements are prepared once per connection (stmtCache); temp_store is
// MEMORY so that savepoint sub-journals stay off disk.
//
// Group commit. Write hands fn to a single writer goroutine. The goroutine takes every
// request queued at that moment (up to Options.MaxBatch), runs them one after another in ONE
// transaction and commits once. A fn that returns an error or panics is undone alone; the
// others commit. Each caller then receives its own result. Savepoints make that possible, but
// cost three statements and a sub-journal copy of every page a fn touches, so a batch runs
// first without them (unless the previous batch had a failing fn): a lone failing fn is undone
// by rolling the transaction back; in a larger batch, a failing fn — or one during which a
// statement failed in a way that may have ended the transaction (SQLITE_FULL, SQLITE_IOERR, …)
// — rolls the attempt back and the batch runs again at once, each fn inside its own SAVEPOINT.
// fns reach the database only through store.Tx, so a failing statement is the only way a fn
// can end the transaction under the writer. Because fns run one at a time on one connection, writes are serialisable. If
// the shared transaction itself fails (BEGIN, a savepoint or COMMIT), every fn of the batch is
// run again in a transaction of its own, which the store contract allows ("fn may be
// retried"). A Tx method that fails leaves the transaction usable: SQLite undoes only the
// failed statement, so fn may handle a Conflict and carry on.
//
// Write's ctx bounds only the wait in the queue. Statements inside fn run without it, since
// interrupting one would roll back the whole shared transaction; a fn whose ctx ended while
// it was queued is not run. Read runs its statements under ctx.
//
// Durability. With synchronous=NORMAL (the default) a committed transaction survives the
// process being killed (kill -9), which is what Hangar's crash test exercises: the WAL is in
// the operating system's page cache. Only a power loss or kernel crash can lose the last
// transactions. synchronous=FULL fsyncs the WAL on every commit and also survives power loss;
// group commit amortises that fsync over the whole batch.
//
// Schema. Times are INTEGER unix milliseconds (UTC) and pointer fields are nullable columns.
// Destroyed machines and deleted networks keep their row with deleted_at set and are left
// out of every query; their ids stay taken. Host capacity is a JSON column on hosts and usage
// a host_usage(host_id, machine_type, used) table, so ListHosts reads both with two indexed
// queries. Machine leases are the lease_owner and lease_until columns, which only ClaimDue,
// ReleaseLease, ResetLeases and DeleteMachine write. Foreign keys guard only the rows that are
// always written in order (users to teams, keys and tokens to users, host usage to hosts);
// machines, events, IPs and grants carry plain ids, because callers may write them in any
// order within a transaction and a deferred check would fail a whole group commit.
package sqlite

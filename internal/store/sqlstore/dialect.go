package sqlstore

// Dialect is what differs between the SQL backends. Everything else about a statement is
// the same on both.
type Dialect struct {
	// Name names the backend in the messages of Internal errors ("sqlite", "postgres").
	Name string
	// Classify tells what a driver error means. It is never called with nil.
	Classify func(error) ErrorKind
	// IntCast is appended to the placeholder of an integer filter in a machine listing:
	// "::bigint" on PostgreSQL, which would otherwise type the parameter like its INTEGER
	// column and refuse a larger value; empty on SQLite.
	IntCast string
	// NoLimit is the LIMIT value that means no limit: int64(-1) on SQLite, nil (NULL) on
	// PostgreSQL.
	NoLimit any
	// RowLocks is set where write transactions run concurrently (PostgreSQL): then
	// ListHosts in a write transaction locks the rows it reads (FOR UPDATE), and the claims
	// skip rows locked by other claimers (FOR UPDATE SKIP LOCKED). SQLite runs one write
	// transaction at a time and needs neither.
	RowLocks bool
	// FoldASCII lowers the ASCII letters of a text expression (%s) and leaves every other
	// character as it is: lower(%s) on SQLite, whose lower() is ASCII only; a translate() on
	// PostgreSQL, whose lower() follows the locale.
	FoldASCII string
	// MigrationsTable is the CREATE TABLE IF NOT EXISTS statement of schema_migrations
	// (version, name, applied_at), in the backend's own types.
	MigrationsTable string
}

// ErrorKind is what a driver error means to the store.
type ErrorKind int

// The kinds of driver errors that the store treats apart; any other is ErrOther.
const (
	ErrOther      ErrorKind = iota // anything else: Internal
	ErrNoRows                      // a single-row query found no row: NotFound
	ErrUnique                      // a UNIQUE or PRIMARY KEY violation: Conflict
	ErrForeignKey                  // a FOREIGN KEY violation
	ErrCheck                       // a CHECK violation
	ErrRetry                       // a serialization failure or deadlock: run the transaction again
)

// Executor runs the statements of one transaction. A backend implements it over its
// driver's transaction, whose context it holds.
type Executor interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(query string, args ...any) (int64, error)
	// ExecGuarded is Exec for a statement that may fail on a constraint other than a
	// duplicate key: its failure must undo only this statement and leave the transaction
	// usable (a savepoint on PostgreSQL; SQLite undoes a failed statement by itself).
	ExecGuarded(query string, args ...any) (int64, error)
	// Query runs a fixed statement and returns its rows. A backend may prepare and cache
	// it.
	Query(query string, args ...any) (Rows, error)
	// QueryBuilt is Query for a statement built at run time, which a statement cache
	// should not keep.
	QueryBuilt(query string, args ...any) (Rows, error)
	// QueryRow runs a fixed statement that returns at most one row; its error, including
	// the absence of a row, comes from Scan.
	QueryRow(query string, args ...any) Row
}

// Row is one result row (a *sql.Row or a pgx.Row).
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set (a *sql.Rows or a pgx.Rows).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}
